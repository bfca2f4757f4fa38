// Package storetest is the conformance suite every storage backend must
// pass: the local directory store and every S3-compatible server run the
// same tests.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// Run runs the suite against a store. newStore must return an empty store
// (or one with a fresh prefix) each time it is called.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	ctx := context.Background()

	t.Run("PutGetStat", func(t *testing.T) {
		st := newStore(t)
		body := bytes.Repeat([]byte("strongroom "), 1000)
		if err := st.Put(ctx, "bag-1/data/a b%.txt", bytes.NewReader(body), int64(len(body)), storage.PutOptions{SHA256: sum(body)}); err != nil {
			t.Fatal(err)
		}
		rc, err := st.Get(ctx, "bag-1/data/a b%.txt")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("read back %d bytes, want %d", len(got), len(body))
		}
		oi, err := st.Stat(ctx, "bag-1/data/a b%.txt")
		if err != nil || oi.Size != int64(len(body)) {
			t.Fatalf("stat: %+v %v", oi, err)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		st := newStore(t)
		for _, s := range []string{"first", "second"} {
			if err := st.Put(ctx, "k", strings.NewReader(s), int64(len(s)), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		rc, err := st.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if b, _ := io.ReadAll(rc); string(b) != "second" {
			t.Fatalf("got %q", b)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		st := newStore(t)
		if _, err := st.Get(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("get: %v", err)
		}
		if _, err := st.Stat(ctx, "nope/x"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("stat: %v", err)
		}
		if err := st.Delete(ctx, "nope"); err != nil {
			t.Errorf("delete of a missing key: %v", err)
		}
	})

	t.Run("ChecksumRefused", func(t *testing.T) {
		st := newStore(t)
		err := st.Put(ctx, "bad", strings.NewReader("abc"), 3, storage.PutOptions{SHA256: sum([]byte("abd"))})
		if !errors.Is(err, storage.ErrChecksum) {
			t.Fatalf("put with a wrong checksum: %v", err)
		}
		if _, err := st.Stat(ctx, "bad"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a refused put left an object: %v", err)
		}
	})

	t.Run("UnsafeKeys", func(t *testing.T) {
		st := newStore(t)
		for _, k := range []string{"../x", "/abs", "a/../../b", ""} {
			if err := st.Put(ctx, k, strings.NewReader("x"), 1, storage.PutOptions{}); err == nil {
				t.Errorf("key %q accepted", k)
			}
		}
	})

	t.Run("ListAndDelete", func(t *testing.T) {
		st := newStore(t)
		keys := []string{"b1/bagit.txt", "b1/data/x", "b1/data/y/z", "b10/bagit.txt", "b2/data/q"}
		for _, k := range keys {
			if err := st.Put(ctx, k, strings.NewReader(k), int64(len(k)), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		list := func(prefix string) []string {
			var got []string
			for oi, err := range st.List(ctx, prefix) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, oi.Key)
				if oi.Size != int64(len(oi.Key)) {
					t.Errorf("%s: size %d", oi.Key, oi.Size)
				}
			}
			slices.Sort(got)
			return got
		}
		if got := list("b1/"); !slices.Equal(got, []string{"b1/bagit.txt", "b1/data/x", "b1/data/y/z"}) {
			t.Errorf("list b1/ = %v", got)
		}
		if got := list("nothing/"); len(got) != 0 {
			t.Errorf("list of an empty prefix = %v", got)
		}
		if err := st.Delete(ctx, "b1/data/y/z"); err != nil {
			t.Fatal(err)
		}
		if got := list("b1/"); !slices.Equal(got, []string{"b1/bagit.txt", "b1/data/x"}) {
			t.Errorf("after delete: %v", got)
		}
	})

	t.Run("BagRoundTrip", func(t *testing.T) {
		st := newStore(t)
		dir := t.TempDir()
		w := bagit.NewWriter(bagit.NewDirDest(dir), bagit.Options{})
		w.Info.Add("Source-Organization", "Suite")
		for i, name := range []string{"page 1.txt", "ü/page%2.txt", "deep/a/b/c.bin"} {
			if _, _, err := w.AddPayload(ctx, name, strings.NewReader(strings.Repeat("x", i*70000+1))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := storage.PutBag(ctx, st, "bag-rt", dir, storage.BagOptions{}); err != nil {
			t.Fatal(err)
		}
		// Twice: a retried upload is idempotent.
		if _, err := storage.PutBag(ctx, st, "bag-rt", dir, storage.BagOptions{}); err != nil {
			t.Fatal(err)
		}
		fsys, err := storage.BagFS(ctx, st, "bag-rt")
		if err != nil {
			t.Fatal(err)
		}
		r, err := bagit.Validate(ctx, fsys, bagit.ValidateOptions{})
		if err != nil || !r.Valid {
			t.Fatalf("stored bag: %v %v", err, r.Problems)
		}

		// Corrupt one object in the store: the read-back must catch it.
		if err := st.Put(ctx, "bag-rt/data/page 1.txt", strings.NewReader("y"), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		fsys, _ = storage.BagFS(ctx, st, "bag-rt")
		r, _ = bagit.Validate(ctx, fsys, bagit.ValidateOptions{})
		if r.Valid || len(r.Problems) != 2 || r.Problems[0].Kind != bagit.DigestMismatch {
			t.Fatalf("corruption not found: %v", r.Problems)
		}
	})
}

// WriteTemp is a helper for backends' own tests.
func WriteTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
