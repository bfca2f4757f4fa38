package fts

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/searchtest"
)

func open(t *testing.T) *Index {
	t.Helper()
	x, err := Open(context.Background(), filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func TestSuite(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index { return open(t) })
}

// TestFileRemovedOrReplaced: deleting index.db under a running daemon left
// it writing to the deleted file: the next items were found by the daemon
// but not by the CLI, and by neither after a restart. The index now
// notices that the file at its path is another (or none) and reopens it.
func TestFileRemovedOrReplaced(t *testing.T) {
	ctx := context.Background()
	x := open(t)
	searchtest.Seed(t, x)
	p := x.path
	for _, sfx := range []string{"", "-wal", "-shm"} {
		os.Remove(p + sfx)
	}
	if err := x.PutBag(ctx, search.Doc{Bag: "b9", Title: "After", Meta: catalog.Metadata{Access: catalog.AccessOpen}},
		[]search.Page{searchtest.Page("data/access/a.pdf", 1, "written after the file was removed")}); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, p) // the CLI, or the daemon after a restart
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if r, err := other.Search(ctx, search.Query{Text: "removed"}); err != nil || searchtest.Hits(r) != "b9/1" {
		t.Errorf("another reader finds %v %v, want b9/1", r, err)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "weaver"}); len(r.Hits) != 0 {
		t.Errorf("the removed file is still searched: %s", searchtest.Hits(r))
	}

	// Replace: what the fresh file holds, and nothing else.
	fresh, err := Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	fresh.PutBag(ctx, search.Doc{Bag: "b7", Title: "Rebuilt", Meta: catalog.Metadata{Access: catalog.AccessOpen}},
		[]search.Page{searchtest.Page("data/access/r.pdf", 1, "rebuilt from the store")})
	fresh.Close()
	if err := x.Replace(ctx, fresh.path); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"rebuilt": "b7/1", "removed": ""} {
		if r, err := other.Search(ctx, search.Query{Text: q}); err != nil || searchtest.Hits(r) != want {
			t.Errorf("after Replace, %q finds %q %v, want %q", q, searchtest.Hits(r), err, want)
		}
	}
}
