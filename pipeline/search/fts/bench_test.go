package fts

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/search/searchtest"
)

// TestBenchIndex is scripts/bench-search (STRONGROOM_BENCH=1) on the
// embedded index: STRONGROOM_BENCH_PAGES pages (default 100,000).
func TestBenchIndex(t *testing.T) {
	n := searchtest.BenchPages(t)
	dir := os.Getenv("STRONGROOM_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "index.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	x, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	searchtest.Bench(t, x, n, func() int64 {
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				size += fi.Size()
			}
		}
		return size
	})
}
