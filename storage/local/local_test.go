package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/storetest"
)

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		st, err := storage.Open(context.Background(), storage.Config{URL: "file://" + t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestSymlinkInStoreNotFollowed(t *testing.T) {
	root := t.TempDir()
	st, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	secret := storetest.WriteTemp(t, "secret", "do not read")
	os.MkdirAll(filepath.Join(root, "bag"), 0o755)
	os.Symlink(secret, filepath.Join(root, "bag", "link"))
	if rc, err := st.Get(context.Background(), "bag/link"); err == nil {
		b, _ := io.ReadAll(rc)
		t.Fatalf("followed a symlink out of the store: %q", b)
	}
	if _, err := st.Stat(context.Background(), "bag/link"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat of a symlink: %v", err)
	}
}

func TestRelativeRootRefused(t *testing.T) {
	if _, err := storage.Open(context.Background(), storage.Config{URL: "file://relative/path"}); err == nil {
		t.Error("file://relative/path accepted")
	}
}

// TestSymlinkIsNotRegular: a symlink where an object should be is told
// apart from a missing object and from a store that does not answer.
func TestSymlinkIsNotRegular(t *testing.T) {
	root := t.TempDir()
	st, _ := New(root)
	os.MkdirAll(filepath.Join(root, "bag"), 0o755)
	os.Symlink("/etc/hostname", filepath.Join(root, "bag", "link"))
	if _, err := st.Get(context.Background(), "bag/link"); !errors.Is(err, storage.ErrNotRegular) {
		t.Errorf("get of a symlink: %v", err)
	}
}

// TestLeftoversRemovedAtStart: uploads a killed process left in .incoming
// are removed when the store opens, once they are a day old; younger ones
// may be another process's upload in progress.
func TestLeftoversRemovedAtStart(t *testing.T) {
	root := t.TempDir()
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(root, tmpDir, "put-old")
	young := filepath.Join(root, tmpDir, "put-young")
	os.WriteFile(old, []byte("half an upload"), 0o644)
	os.WriteFile(young, []byte("an upload in progress"), 0o644)
	day := time.Now().Add(-25 * time.Hour)
	os.Chtimes(old, day, day)
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old leftover still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young upload removed: %v", err)
	}
}

// TestObjectMode: stored objects were mode 0600, unreadable by the
// service's group (a backup job, an access server). They are 0440.
func TestObjectMode(t *testing.T) {
	root := t.TempDir()
	st, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), "bag/data/p.tif", strings.NewReader("scan"), 4, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "bag", "data", "p.tif"))
	if err != nil || fi.Mode().Perm() != ObjectMode {
		t.Errorf("stored object mode %v %v, want %v", fi.Mode().Perm(), err, os.FileMode(ObjectMode))
	}
}

// TestPutFileLinks: a file on the store's filesystem becomes the object by
// a hard link (its bytes are not copied), read-only, under its key, its
// name made durable by Flush; one on
// another filesystem is not taken (the caller copies it with Put), and
// nothing is left in .incoming either way.
func TestPutFileLinks(t *testing.T) {
	root := t.TempDir()
	st, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "page.tif")
	os.WriteFile(src, []byte("scan bytes"), 0o644)
	linked, err := st.PutFile(ctx, "bag/data/original/page.tif", src)
	if err != nil || !linked {
		t.Fatalf("PutFile on the same filesystem: %v %v", linked, err)
	}
	a, _ := os.Stat(src)
	b, err := os.Stat(filepath.Join(root, "bag", "data", "original", "page.tif"))
	if err != nil || !os.SameFile(a, b) || b.Mode().Perm() != ObjectMode {
		t.Errorf("the object is not the file, read-only: %v %v", err, b)
	}
	if err := st.Flush(ctx, "bag/"); err != nil {
		t.Errorf("flush: %v", err)
	}
	// Again (a store step run twice): the same, nothing left behind.
	if linked, err := st.PutFile(ctx, "bag/data/original/page.tif", src); err != nil || !linked {
		t.Fatalf("PutFile again: %v %v", linked, err)
	}
	if shm, err := os.MkdirTemp("/dev/shm", "strongroom-"); err == nil {
		defer os.RemoveAll(shm)
		other := filepath.Join(shm, "page.tif")
		os.WriteFile(other, []byte("elsewhere"), 0o644)
		if linked, err := st.PutFile(ctx, "bag/data/original/other.tif", other); err != nil || linked {
			t.Errorf("PutFile across filesystems: %v %v, want false and nothing done", linked, err)
		}
		if _, err := st.Stat(ctx, "bag/data/original/other.tif"); err == nil {
			t.Error("a file on another filesystem was stored")
		}
	}
	if left, _ := os.ReadDir(filepath.Join(root, tmpDir)); len(left) != 0 {
		t.Errorf(".incoming holds %d entries", len(left))
	}
}
