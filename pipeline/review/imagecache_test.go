package review

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestImageCachePrune: over its bound, the image cache drops the least
// recently used files (a hit makes a file recent) until it holds under
// nine tenths of the bound.
func TestImageCachePrune(t *testing.T) {
	dir := t.TempDir()
	c := &imageCache{dir: dir, limit: 10_000}
	old := time.Now().Add(-time.Hour)
	for i := range 20 { // 20 × 1000 bytes, oldest first
		p := filepath.Join(dir, fmt.Sprintf("tile%02d.jpg", i))
		os.WriteFile(p, make([]byte, 1000), 0o644)
		at := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(p, at, at)
	}
	c.touch(filepath.Join(dir, "tile00.jpg")) // used just now
	if kept := c.prune(); kept > 9_000 {
		t.Fatalf("kept %d bytes over the bound's nine tenths", kept)
	}
	for _, name := range []string{"tile00.jpg", "tile19.jpg", "tile12.jpg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s, recently used, was removed", name)
		}
	}
	for _, name := range []string{"tile01.jpg", "tile05.jpg", "tile10.jpg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s, among the least recently used, was kept", name)
		}
	}
	if kept := c.prune(); kept > 9_000 || kept < 8_000 {
		t.Errorf("a second prune: %d bytes", kept)
	}
}
