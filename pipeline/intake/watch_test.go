package intake

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// recorder is a Sink that records what was taken, like the catalog would.
type recorder struct {
	mu    sync.Mutex
	taken map[string]Candidate
	order []string
}

func (r *recorder) Taken(_ context.Context, p string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.taken[p]
	return ok, nil
}

func (r *recorder) Take(_ context.Context, c Candidate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taken[c.Path] = c
	r.order = append(r.order, c.Name)
	return nil
}

func (r *recorder) get(p string) (Candidate, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.taken[p]
	return c, ok
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.order)
}

func start(t *testing.T, cfg Config) (*recorder, context.CancelFunc) {
	t.Helper()
	rec := &recorder{taken: map[string]Candidate{}}
	ctx, cancel := context.WithCancel(context.Background())
	w := NewWatcher(cfg, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return rec, cancel
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func config(hot string, poll bool, marker string) Config {
	// Settle is well above the 100 ms between test writes, so a loaded CI
	// machine that stalls a writer does not make a file look settled.
	return Config{HotFolders: []HotFolder{{Path: hot}}, Settle: time.Second, BatchQuiet: time.Second, Poll: poll,
		PollInterval: 100 * time.Millisecond, BatchMarker: marker}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWatcher runs one scenario through fsnotify, on the real clock, and
// through the polling watcher in a synctest bubble: its clock is fake, so
// "still growing", "settled" and "quiet" are decided by the scenario's own
// pauses, never by how loaded the machine is.
func TestWatcher(t *testing.T) {
	t.Run("fsnotify", func(t *testing.T) { watcherScenario(t, false) })
	t.Run("poll", func(t *testing.T) { synctest.Test(t, func(t *testing.T) { watcherScenario(t, true) }) })
}

func watcherScenario(t *testing.T, poll bool) {
	hot := filepath.Join(t.TempDir(), "hot")
	write(t, filepath.Join(hot, "at-startup.tif"), "x") // present before start
	rec, _ := start(t, config(hot, poll, ""))
	waitFor(t, "start-up file", func() bool { _, ok := rec.get(filepath.Join(hot, "at-startup.tif")); return ok })

	// Temporary and hidden names are never taken.
	for _, n := range []string{".hidden", "~$lock.docx", "upload.part", "x.tmp", "dl.crdownload"} {
		write(t, filepath.Join(hot, n), "x")
	}
	// A file being written is not taken until it holds still.
	growing := filepath.Join(hot, "growing.tif")
	for i := range 8 {
		f, _ := os.OpenFile(growing, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		f.WriteString("more")
		f.Close()
		if _, ok := rec.get(growing); ok {
			t.Fatalf("taken while still growing (write %d)", i)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "settled file", func() bool { _, ok := rec.get(growing); return ok })

	// A batch folder without a marker closes when it is quiet.
	write(t, filepath.Join(hot, "book", "p1.tif"), "1")
	time.Sleep(150 * time.Millisecond)
	write(t, filepath.Join(hot, "book", "deep", "p2.tif"), "2")
	waitFor(t, "batch", func() bool { c, ok := rec.get(filepath.Join(hot, "book")); return ok && c.Kind == catalog.KindBatch })

	// An empty folder is not a batch yet.
	os.MkdirAll(filepath.Join(hot, "empty"), 0o755)
	time.Sleep(1500 * time.Millisecond)
	if _, ok := rec.get(filepath.Join(hot, "empty")); ok {
		t.Error("empty folder taken")
	}
	// A symlink is handed over at once, to be refused with a reason.
	os.Symlink("/etc/passwd", filepath.Join(hot, "link"))
	waitFor(t, "symlink", func() bool { c, ok := rec.get(filepath.Join(hot, "link")); return ok && c.Kind == catalog.KindSymlink })

	time.Sleep(500 * time.Millisecond)
	if n := rec.count(); n != 4 {
		t.Errorf("took %d entries (%v), want 4, each once", n, rec.order)
	}
}

func TestBatchMarker(t *testing.T) {
	hot := filepath.Join(t.TempDir(), "hot")
	rec, _ := start(t, config(hot, false, ".complete"))
	write(t, filepath.Join(hot, "box", "a.tif"), "a")
	time.Sleep(1500 * time.Millisecond) // well past settle: no marker, no batch
	if _, ok := rec.get(filepath.Join(hot, "box")); ok {
		t.Fatal("batch taken without its marker")
	}
	write(t, filepath.Join(hot, "box", ".complete"), "")
	waitFor(t, "batch with marker", func() bool { _, ok := rec.get(filepath.Join(hot, "box")); return ok })
}

// TestSlowScanner: a book scanner writes a page every 30 s (turning the
// page, refocusing). With the default quiet period of a batch folder
// (2 minutes; settle, 5 s, is for single files) the book is taken once,
// whole, 2 minutes after its last page; a quiet period under a scanner's
// pause is warned of. On synctest's fake clock: minutes in milliseconds.
func TestSlowScanner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hot := filepath.Join(t.TempDir(), "hot")
		cfg := config(hot, true, "")
		cfg.Settle, cfg.BatchQuiet, cfg.PollInterval = 5*time.Second, 2*time.Minute, 5*time.Second
		if w := cfg.Warnings(); len(w) != 0 {
			t.Errorf("warned of the default: %q", w)
		}
		rec, _ := start(t, cfg)
		book := filepath.Join(hot, "book-17")
		for i := range 6 {
			write(t, filepath.Join(book, fmt.Sprintf("page %d.tif", i+1)), "scan")
			time.Sleep(30 * time.Second)
			if _, ok := rec.get(book); ok {
				t.Fatalf("taken after page %d, while the scanner was still at work", i+1)
			}
		}
		time.Sleep(95 * time.Second) // 2 minutes since the last page, and a poll
		c, ok := rec.get(book)
		if !ok || rec.count() != 1 || c.Kind != catalog.KindBatch {
			t.Fatalf("book not taken once as a batch: %v", rec.order)
		}
	})
	short := config("/hot", false, "")
	short.BatchQuiet = 5 * time.Second
	if w := short.Warnings(); len(w) != 1 || !strings.Contains(w[0], "splits the book") {
		t.Errorf("a 5 s batch quiet without a marker: warnings %q", w)
	}
	short.BatchMarker = ".complete"
	if w := short.Warnings(); len(w) != 0 {
		t.Errorf("warned though a marker closes the batch: %q", w)
	}
}

func TestConfigValidate(t *testing.T) {
	root := t.TempDir()
	good := config(filepath.Join(root, "hot"), false, "")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	// done_dir inside a hot folder: configs checks it (it composes both).
	bad := good
	bad.HotFolders = append(bad.HotFolders, HotFolder{Path: filepath.Join(root, "hot", "sub")})
	if err := bad.Validate(); err == nil {
		t.Error("nested hot folders accepted")
	}
	bad = good
	bad.Settle = 0
	if err := bad.Validate(); err == nil {
		t.Error("zero settle accepted")
	}
}
