package review

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/retrieve"
)

// imageCache bounds a folder of kept images: after a write, at most once a
// pruneEvery, the least recently used files go until what is kept is
// under nine tenths of the bound. A file's modification time is its last
// use (touch on every hit).
type imageCache struct {
	dir   string
	limit int64
	last  atomic.Int64 // unix nanos of the last prune
	mu    sync.Mutex   // one prune at a time
}

const pruneEvery = 30 * time.Second

// touch marks a kept file as just used.
func (c *imageCache) touch(p string) {
	now := time.Now()
	os.Chtimes(p, now, now)
}

// wrote prunes, when a prune is due, in the background.
func (c *imageCache) wrote() {
	if c == nil || c.limit <= 0 {
		return
	}
	now := time.Now().UnixNano()
	if last := c.last.Load(); now-last < int64(pruneEvery) || !c.last.CompareAndSwap(last, now) {
		return
	}
	go c.prune()
}

// prune removes the least recently used files until the folder holds
// under nine tenths of the limit; it returns the bytes kept.
func (c *imageCache) prune() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return retrieve.PruneLRU(c.dir, c.limit, c.limit/10*9)
}
