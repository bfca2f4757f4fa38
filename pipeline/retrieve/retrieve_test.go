package retrieve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
	_ "github.com/strongroom-archive/strongroom/storage/local"
)

func stored(t *testing.T, st storage.Store, bag, key string, data []byte) catalog.Object {
	t.Helper()
	if err := st.Put(context.Background(), bag+"/"+key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	a, b := sha256.Sum256(data), sha512.Sum512(data)
	return catalog.Object{BagID: bag, Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(a[:]), SHA512: hex.EncodeToString(b[:])}
}

// TestFetchTellsProblemsApart: what comes back differently from how it was
// stored is named as the audit names it.
func TestFetchTellsProblemsApart(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(context.Background(), storage.Config{URL: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	o := stored(t, st, "b", "data/a.txt", []byte("the original bytes"))
	tag := stored(t, st, "b", "bag-info.txt", []byte("Title: x\n"))
	for _, c := range []struct {
		name  string
		obj   catalog.Object
		write []byte // what the store holds instead; nil: removed
		want  catalog.Problem
	}{
		{"intact", o, []byte("the original bytes"), ""},
		{"altered", o, []byte("the original bytez"), catalog.ProblemAltered},
		{"truncated", o, []byte("the original"), catalog.ProblemTruncated},
		{"longer", o, []byte("the original bytes and more"), catalog.ProblemAltered},
		{"tag file altered", tag, []byte("Title: y\n"), catalog.ProblemTagAltered},
		{"missing", o, nil, catalog.ProblemMissing},
	} {
		p := filepath.Join(dir, "b", filepath.FromSlash(c.obj.Key))
		os.Chmod(p, 0o644)
		os.Remove(p)
		if c.write != nil {
			os.WriteFile(p, c.write, 0o644)
		}
		err := Fetch(context.Background(), st, c.obj, io.Discard)
		var m *Mismatch
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.As(err, &m) || m.Problem != c.want || m.Key != c.obj.Key):
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

// TestCacheKeepsRecentlyUsed: past its limit the cache lets the least
// recently used copy go, and every copy it hands out was checked.
func TestCacheKeepsRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	st, _ := storage.Open(context.Background(), storage.Config{URL: "file://" + filepath.Join(dir, "store")})
	c := &Cache{Dir: filepath.Join(dir, "cache"), Store: st, MaxBytes: 250}
	ctx := context.Background()
	var objs []catalog.Object
	for i, fill := range []byte("abc") {
		objs = append(objs, stored(t, st, "b", "data/f"+string(rune('0'+i)), bytes.Repeat([]byte{fill}, 100)))
	}
	p0, err := c.Path(ctx, objs[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Path(ctx, objs[1])
	c.Path(ctx, objs[0]) // used again: f1 is now the oldest
	c.Path(ctx, objs[2])
	if _, err := os.Stat(p0); err != nil {
		t.Error("the recently used copy went")
	}
	if _, err := os.Stat(filepath.Join(c.Dir, objs[1].SHA256)); !os.IsNotExist(err) {
		t.Error("the least recently used copy stayed past the limit")
	}
	bad := objs[1]
	bad.SHA256 = objs[2].SHA256 // a record that the stored bytes do not match
	os.Remove(filepath.Join(c.Dir, bad.SHA256))
	var m *Mismatch
	if _, err := c.Path(ctx, bad); !errors.As(err, &m) {
		t.Errorf("an unchecked copy was handed out: %v", err)
	}
}
