package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

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
