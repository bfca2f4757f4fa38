package pgfts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/searchtest"
)

func TestSuite(t *testing.T) {
	s := pgtest.Start(t)
	n := 0
	searchtest.Run(t, func(t *testing.T) search.Index {
		n++
		x, err := Open(context.Background(), s.NewDatabase(t, fmt.Sprintf("index%d", n)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	})
}

// TestRebuild: a rebuild replaces the whole index at once; one whose fill
// fails leaves the old index as it was.
func TestRebuild(t *testing.T) {
	s := pgtest.Start(t)
	ctx := context.Background()
	x, err := Open(ctx, s.NewDatabase(t, "rebuild"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	searchtest.Seed(t, x)
	fail := errors.New("the store went away")
	err = x.Rebuild(ctx, func(into search.Index) error {
		if err := into.PutBag(ctx, search.Doc{Bag: "b9", Title: "New"}, []search.Page{searchtest.Page("data/access/new.pdf", 1, "fresh weaver")}); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("failed rebuild: %v", err)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "weaver"}); searchtest.Hits(r) != "b1/2" {
		t.Errorf("after a failed rebuild: %s", searchtest.Hits(r))
	}
	err = x.Rebuild(ctx, func(into search.Index) error {
		return into.PutBag(ctx, search.Doc{Bag: "b9", Title: "New"}, []search.Page{searchtest.Page("data/access/new.pdf", 1, "fresh weaver")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "weaver"}); searchtest.Hits(r) != "b9/1" {
		t.Errorf("after the rebuild: %s", searchtest.Hits(r))
	}
}

// TestBenchIndex is scripts/bench-search (STRONGROOM_BENCH=1) on
// PostgreSQL: the same pages and queries as the embedded index's, into the
// database at STRONGROOM_BENCH_PG (the script's server, fsync on), or a
// private server of the test's own.
func TestBenchIndex(t *testing.T) {
	n := searchtest.BenchPages(t)
	url := os.Getenv("STRONGROOM_BENCH_PG")
	if url == "" {
		url = pgtest.Start(t).NewDatabase(t, "bench")
	}
	ctx := context.Background()
	x, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	searchtest.Bench(t, x, n, func() int64 {
		x.pool.Exec(ctx, `VACUUM ANALYZE search_pages`)
		var size int64
		if err := x.pool.QueryRow(ctx, `SELECT pg_total_relation_size('search_pages') + pg_total_relation_size('search_docs')`).Scan(&size); err != nil {
			t.Fatal(err)
		}
		return size
	})
}
