package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
)

// TestBackupRestore: a backup of the catalog and the index, restored into
// a data_dir that was lost, passes an audit of every bag and lists them;
// a data_dir with a catalog is not overwritten without --force, and with it
// the catalog replaced is kept beside; a backup whose file was changed is
// refused before anything is replaced.
func TestBackupRestore(t *testing.T) {
	clitest.Embedded(t)
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

// TestBackupWhileIngesting: a backup made while another process stores
// bags is one consistent snapshot: restored, its catalog opens and every
// bag it lists passes its audit.
func TestBackupWhileIngesting(t *testing.T) {
	clitest.Embedded(t)
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	var paths []string
	for i := range 30 {
		p := filepath.Join(dir, "in", fmt.Sprintf("p%02d.png", i))
		clitest.PNG(t, p, 12+i, 10)
		paths = append(paths, p)
	}
	if _, _, code := clitest.Run(t, dir, "ingest", "--config", cfg, paths[0]); code != 0 {
		t.Fatal("first ingest")
	}
	done := make(chan int)
	go func() {
		_, _, code := clitest.Run(t, dir, append([]string{"ingest", "--config", cfg}, paths[1:]...)...)
		done <- code
	}()
	bk := filepath.Join(dir, "backup")
	time.Sleep(500 * time.Millisecond) // the ingest under way
	if out, errs, code := clitest.Run(t, dir, "backup", "--config", cfg, bk); code != 0 {
		t.Fatalf("backup while ingesting: exit %d %s %s", code, out, errs)
	}
	if code := <-done; code != 0 {
		t.Fatalf("the ingest beside the backup: exit %d", code)
	}
	other := filepath.Join(dir, "restored.yaml") // the same store, another data_dir
	os.WriteFile(other, []byte(strings.Replace(clitest.ReadFile(t, cfg), "data_dir: data", "data_dir: "+filepath.Join(dir, "restored"), 1)), 0o644)
	if _, errs, code := clitest.Run(t, dir, "restore", "--config", other, bk); code != 0 {
		t.Fatalf("restore: exit %d %s", code, errs)
	}
	out, _, _ := clitest.Run(t, dir, "bags", "list", "--json", "--config", other)
	bags := strings.Split(strings.TrimSpace(out), "\n")
	if len(bags) < 1 || len(bags) > 30 {
		t.Fatalf("%d bags in the backup", len(bags))
	}
	for _, line := range bags {
		var b struct {
			ID string `json:"id"`
		}
		json.Unmarshal([]byte(line), &b)
		if out, errs, code := clitest.Run(t, dir, "audit", "--config", other, "--bag", b.ID); code != 0 || !strings.Contains(out, `"status":"intact"`) {
			t.Errorf("bag %s of the backup: exit %d %s %s", b.ID, code, out, clitest.LastLines(errs, 3))
		}
	}
	t.Logf("%d of 30 bags were in the backup", len(bags))
}
