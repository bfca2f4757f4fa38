// Package intake finds items in hot folders: files at the top of a folder
// and batch folders, each taken once it has settled. fsnotify gives quick
// notice; periodic scans are the truth, so a network share where inotify
// sees nothing (or an inotify queue that overflowed) loses nothing.
package intake

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Candidate is a settled entry of a hot folder, ready to become an item.
type Candidate struct {
	HotFolder string
	Path      string // absolute
	Name      string
	Kind      catalog.Kind // file or batch; symlinks and special files are refused with a reason
}

// Sink receives candidates. Taken reports whether a path already has an
// item in progress; Take makes it one. Take must be idempotent per path.
type Sink interface {
	Taken(ctx context.Context, path string) (bool, error)
	Take(ctx context.Context, c Candidate) error
}

// Watcher watches the hot folders of a Config.
type Watcher struct {
	cfg  Config
	sink Sink
	log  *slog.Logger
	// rescan is how often a watched folder is scanned in full anyway.
	rescan time.Duration
}

// NewWatcher returns a watcher that hands settled entries to sink.
func NewWatcher(cfg Config, sink Sink, log *slog.Logger) *Watcher {
	return &Watcher{cfg: cfg, sink: sink, log: log, rescan: 30 * time.Second}
}

// Run watches until ctx ends. Entries present at start-up are picked up.
func (w *Watcher) Run(ctx context.Context) error {
	errc := make(chan error, len(w.cfg.HotFolders))
	for _, h := range w.cfg.Folders() {
		if err := os.MkdirAll(h.Path, 0o755); err != nil {
			return fmt.Errorf("intake: hot folder %s: %w", h.Path, err)
		}
		f := &folder{HotFolder: h, w: w, pending: map[string]*pending{}}
		go func() { errc <- f.run(ctx) }()
	}
	var first error
	for range w.cfg.HotFolders {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

type pending struct {
	sig   uint64
	since time.Time
}

type folder struct {
	HotFolder
	w       *Watcher
	pending map[string]*pending // by top-level entry path
	fsw     *fsnotify.Watcher
}

func (f *folder) run(ctx context.Context) error {
	log := f.w.log.With("hot_folder", f.Path)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if !f.Poll {
		fsw, err := fsnotify.NewWatcher()
		if err == nil {
			err = fsw.Add(f.Path)
		}
		if err != nil {
			log.Warn("intake: cannot watch, polling instead", "err", err)
			if fsw != nil {
				fsw.Close()
			}
		} else {
			f.fsw = fsw
			defer fsw.Close()
			events, errs = fsw.Events, fsw.Errors
		}
	}
	// A settling entry is re-checked often enough to be taken soon after
	// it settles; a full scan runs at the poll interval when polling, and
	// now and then when watching, to catch what notifications missed.
	tick := min(max(f.Settle/4, 100*time.Millisecond), time.Second)
	full := f.w.cfg.PollInterval
	if f.fsw != nil {
		full = f.w.rescan
	}
	f.scan(ctx, log)
	check := time.NewTicker(tick)
	defer check.Stop()
	scan := time.NewTicker(full)
	defer scan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if top := f.topEntry(ev.Name); top != "" {
				if _, ok := f.pending[top]; !ok {
					f.pending[top] = &pending{}
				}
				f.checkEntry(ctx, log, top)
			}
		case err, ok := <-errs:
			if ok {
				// Overflow or a watch lost: a full scan makes up for it.
				log.Warn("intake: watch error; rescanning", "err", err)
				f.scan(ctx, log)
			}
		case <-check.C:
			for p := range f.pending {
				f.checkEntry(ctx, log, p)
			}
		case <-scan.C:
			f.scan(ctx, log)
		}
	}
}

// topEntry maps a path anywhere below the hot folder to its top-level entry.
func (f *folder) topEntry(p string) string {
	rel, err := filepath.Rel(f.Path, p)
	if err != nil || rel == "." || rel == ".." || filepath.IsAbs(rel) || len(rel) >= 3 && rel[:3] == "../" {
		return ""
	}
	first := rel
	if i := strings.IndexRune(rel, filepath.Separator); i >= 0 {
		first = rel[:i]
	}
	if Ignored(first) {
		return ""
	}
	return filepath.Join(f.Path, first)
}

// scan lists the top of the hot folder and checks every entry.
func (f *folder) scan(ctx context.Context, log *slog.Logger) {
	entries, err := os.ReadDir(f.Path)
	if err != nil {
		log.Error("intake: scan", "err", err)
		return
	}
	for _, e := range entries {
		if Ignored(e.Name()) {
			continue
		}
		p := filepath.Join(f.Path, e.Name())
		if _, ok := f.pending[p]; !ok {
			f.pending[p] = &pending{}
		}
		f.checkEntry(ctx, log, p)
	}
}

// checkEntry takes p if it has settled.
func (f *folder) checkEntry(ctx context.Context, log *slog.Logger, p string) {
	st := f.pending[p]
	fi, err := os.Lstat(p)
	if err != nil {
		delete(f.pending, p) // gone: taken and released, or moved away
		return
	}
	c := Candidate{HotFolder: f.Path, Path: p, Name: filepath.Base(p)}
	var sig uint64
	var marker bool
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		c.Kind = catalog.KindSymlink
	case fi.Mode().IsRegular():
		c.Kind, sig = catalog.KindFile, fileSig(fi)
	case fi.IsDir():
		c.Kind = catalog.KindBatch
		sig, marker = f.dirSig(p)
	default:
		c.Kind = catalog.KindSpecial
	}
	now := time.Now()
	if st.since.IsZero() || sig != st.sig {
		st.sig, st.since = sig, now
	}
	quiet := f.Settle
	if c.Kind == catalog.KindBatch {
		quiet = f.BatchQuiet
	}
	settled := sig != 0 && now.Sub(st.since) >= quiet
	var ready bool
	switch {
	case c.Kind == catalog.KindSymlink || c.Kind == catalog.KindSpecial:
		ready = true // refused at once, with a reason
	case c.Kind == catalog.KindBatch && f.BatchMarker != "":
		ready = marker
	default:
		ready = settled
	}
	if !ready {
		return
	}
	taken, err := f.w.sink.Taken(ctx, p)
	if err != nil {
		log.Error("intake: check taken", "path", p, "err", err)
		return
	}
	if taken {
		return
	}
	if err := f.w.sink.Take(ctx, c); err != nil {
		log.Error("intake: take", "path", p, "err", err)
		return
	}
	delete(f.pending, p)
}

func fileSig(fi fs.FileInfo) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d", fi.Size(), fi.ModTime().UnixNano())
	return h.Sum64() | 1 // never 0: 0 means "nothing to take"
}

// dirSig summarises a batch folder: every file's path, size and mtime; 0
// for a folder with no files yet. It also adds subfolders to the fsnotify
// watch, so a deep batch is seen.
func (f *folder) dirSig(dir string) (sig uint64, marker bool) {
	files := 0
	h := fnv.New64a()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "err|%s|", p)
			return nil
		}
		if p != dir && Ignored(d.Name()) && !(f.BatchMarker != "" && d.Name() == f.BatchMarker) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if f.fsw != nil {
				f.fsw.Add(p) // idempotent
			}
			return nil
		}
		if f.BatchMarker != "" && d.Name() == f.BatchMarker && filepath.Dir(p) == dir {
			marker = true
			return nil
		}
		files++
		fi, err := d.Info()
		if err == nil {
			fmt.Fprintf(h, "%s|%d|%d|%d\n", p, fi.Size(), fi.ModTime().UnixNano(), d.Type())
		}
		return nil
	})
	if files == 0 {
		return 0, marker
	}
	return h.Sum64() | 1, marker
}
