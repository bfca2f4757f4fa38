package trials

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestDisposalKilled: kill -9 of `strongroom disposal approve` while it
// deletes a bag of 400 objects from MinIO. No tombstone may exist while an
// object of the bag is still in the bucket; the request is left executing;
// `disposal execute` then deletes the rest and writes the tombstone, which
// lists every object the bag had.
func TestDisposalKilled(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	bucket := srv.Bucket(false)
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, `retention:
  schedules:
    - {code: NOTES, title: Working notes, mandate: Records policy 2, trigger: closed, period: P1D, action: destroy}
`)
	clitest.UseS3(t, cfg, bucket, srv.Endpoint, "")
	book := filepath.Join(dir, "in", "notes")
	for i := range 400 {
		os.MkdirAll(book, 0o755)
		os.WriteFile(filepath.Join(book, fmt.Sprintf("note-%03d.txt", i)), []byte(fmt.Sprintf("note %d of the working file\n", i)), 0o644)
	}
	os.WriteFile(filepath.Join(book, "metadata.json"), []byte(`{"retention": "NOTES", "closed": "2020-01-31"}`), 0o644)
	out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfg, book)
	var line struct{ Bag string }
	if json.Unmarshal([]byte(out), &line); code != 0 || line.Bag == "" {
		t.Fatalf("ingest: %d %s %s", code, out, clitest.LastLines(errs, 5))
	}
	prefix := "archive/" + line.Bag + "/"
	count := func() int {
		n := 0
		for oi := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			n++
		}
		return n
	}
	all := count()
	if _, errs, code := clitest.Run(t, dir, "disposal", "request", line.Bag, "--reason", "NOTES ended", "--by", "rm", "--config", cfg); code != 0 {
		t.Fatalf("request: %s", errs)
	}
	cmd := exec.Command(clitest.Bin, "disposal", "approve", "1", "--by", "director", "--config", cfg)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	left := all
	for deadline := time.Now().Add(time.Minute); left == all && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		left = count()
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	left = count()
	t.Logf("killed with %d of %d objects left", left, all)
	if left == 0 || left == all {
		t.Fatalf("the kill came at the wrong moment: %d of %d objects left", left, all)
	}
	if _, _, code := clitest.Run(t, dir, "disposal", "tombstone", line.Bag, "--config", cfg); code == 0 {
		t.Error("a tombstone while objects of the bag are in the bucket")
	}
	out, _, _ = clitest.Run(t, dir, "disposal", "show", "1", "--json", "--config", cfg)
	var d catalog.Disposal
	if json.Unmarshal([]byte(out), &d); d.State != catalog.DisposalExecuting {
		t.Errorf("after the kill the request is %q, want executing", d.State)
	}
	if out, errs, code := clitest.Run(t, dir, "disposal", "execute", "1", "--config", cfg); code != 0 {
		t.Fatalf("execute after the kill: %d %s %s", code, out, errs)
	}
	if n := count(); n != 0 {
		t.Errorf("%d objects left after the second run", n)
	}
	out, _, code = clitest.Run(t, dir, "disposal", "tombstone", line.Bag, "--config", cfg)
	var tomb catalog.Tombstone
	if json.Unmarshal([]byte(out), &tomb); code != 0 || len(tomb.Deleted) != all || tomb.ApprovedBy != "director" {
		t.Errorf("tombstone after the second run: %d keys for %d objects: %s", len(tomb.Deleted), all, out)
	}
}
