package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
)

// TestBackupRestore: a backup of the catalog and the index, restored into
// a data_dir that was lost, passes an audit of every bag and lists them;
// a data_dir with a catalog is not overwritten without --force, and with it
// the catalog replaced is kept beside; a backup whose file was changed is
// refused before anything is replaced.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	var paths []string
	for i := range 2 {
		p := filepath.Join(dir, "in", fmt.Sprintf("p%d.png", i))
		clitest.PNG(t, p, 12+i, 10)
		paths = append(paths, p)
	}
	if out, _, code := clitest.Run(t, dir, append([]string{"ingest", "--config", cfg}, paths...)...); code != 0 {
		t.Fatalf("ingest: %d %s", code, out)
	}
	bk := filepath.Join(dir, "backup")
	out, errs, code := clitest.Run(t, dir, "backup", "--config", cfg, bk)
	var made struct {
		Files map[string]backupFile `json:"files"`
	}
	if json.Unmarshal([]byte(out), &made); code != 0 || made.Files["catalog.db"].Size == 0 || made.Files["index.db"].Size == 0 {
		t.Fatalf("backup: exit %d %q %s", code, out, errs)
	}
	if _, errs, code := clitest.Run(t, dir, "backup", "--config", cfg, bk); code != exitUsage || !strings.Contains(errs, "not empty") {
		t.Errorf("a backup into a folder that has one: exit %d %q", code, errs)
	}

	data := filepath.Join(dir, "data")
	if err := os.RemoveAll(data); err != nil { // the disk is lost; the store is not
		t.Fatal(err)
	}
	if out, errs, code := clitest.Run(t, dir, "restore", "--config", cfg, bk); code != 0 {
		t.Fatalf("restore: exit %d %q %s", code, out, errs)
	}
	out, errs, code = clitest.Run(t, dir, "audit", "--config", cfg, "--all")
	if code != 0 || strings.Count(out, `"status":"intact"`) != 2 {
		t.Errorf("audit after the restore: exit %d\n%s%s", code, out, clitest.LastLines(errs, 3))
	}
	if out, _, _ := clitest.Run(t, dir, "bags", "list", "--json", "--config", cfg); strings.Count(out, "\n") != 2 {
		t.Errorf("bags after the restore:\n%s", out)
	}

	if _, errs, code := clitest.Run(t, dir, "restore", "--config", cfg, bk); code != exitUsage || !strings.Contains(errs, "--force") {
		t.Errorf("restore over a catalog: exit %d %q", code, errs)
	}
	if _, errs, code := clitest.Run(t, dir, "restore", "--force", "--config", cfg, bk); code != 0 {
		t.Errorf("restore --force: exit %d %q", code, errs)
	}
	if kept, _ := filepath.Glob(filepath.Join(data, "catalog.db.replaced-*")); len(kept) != 1 {
		t.Errorf("the replaced catalog is not kept beside: %v", kept)
	}

	b, _ := os.ReadFile(filepath.Join(bk, "catalog.db"))
	b[len(b)/2] ^= 0xff
	os.WriteFile(filepath.Join(bk, "catalog.db"), b, 0o600)
	before, _ := os.ReadFile(filepath.Join(data, "catalog.db"))
	if _, errs, code := clitest.Run(t, dir, "restore", "--force", "--config", cfg, bk); code != exitFailed || !strings.Contains(errs, "not what backup.json says") {
		t.Errorf("a changed backup: exit %d %q", code, errs)
	}
	if after, _ := os.ReadFile(filepath.Join(data, "catalog.db")); string(after) != string(before) {
		t.Error("a changed backup replaced the catalog")
	}
}
