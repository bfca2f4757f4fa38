package pipeline

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// fixity is the first stage: every original is read once, before anything
// else reads it, for its SHA-256 and SHA-512, and copied in the same read
// into the item's work area (bag/data/original/...). The later stages read
// that copy: what they identify, check and OCR is exactly what was hashed,
// whatever happens to the hot folder meanwhile.
func (e *Engine) fixity(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	taken := "taken from " + it.Source
	if it.Follows != "" {
		taken += "; follows item " + it.Follows + ", whose originals changed at this place after it took them"
	}
	if it.Kind == catalog.KindReprocess {
		return e.fixityFromStore(ctx, it, log)
	}
	events := []catalog.Event{{Type: catalog.EvIngestion, Outcome: catalog.OutcomeSuccess, Detail: taken, Agent: e.Agent, At: it.Created}}
	origs, clutter, err := e.originals(it)
	if err != nil {
		return events, err
	}
	if len(clutter) > 0 {
		events = append(events, catalog.Event{Type: catalog.EvIngestion, Outcome: catalog.OutcomeSuccess, Agent: e.Agent, At: it.Created,
			Detail: "left out of the bag as operating-system clutter (pipeline.clutter), and left where they were: " + strings.Join(clutter, ", ")})
	}
	if err := os.RemoveAll(e.workDir(it)); err != nil {
		return events, err
	}
	dest := bagit.NewDirDest(e.bagDir(it))
	files := make([]catalog.File, 0, len(origs))
	for _, o := range origs {
		f, err := dest.Create(ctx, "data/"+o.rel)
		if err != nil {
			return events, fmt.Errorf("%s: work area: %w", o.rel, err)
		}
		st, err := readFixity(ctx, o.source, f)
		if err != nil {
			f.Abort()
			return events, fmt.Errorf("%s: reading for fixity: %w", o.rel, err)
		}
		if err := f.Commit(); err != nil {
			return events, fmt.Errorf("%s: work area: %w", o.rel, err)
		}
		if st.size == 0 {
			return events, permanent("%s: zero-byte file", o.rel)
		}
		files = append(files, catalog.File{Path: o.rel, Source: o.source, Size: st.size, ModTime: st.modTime, Inode: st.inode, SHA256: st.sha256, SHA512: st.sha512})
		events = append(events, catalog.Event{File: o.rel, Type: catalog.EvDigest, Outcome: catalog.OutcomeSuccess,
			Detail: "sha256:" + st.sha256 + " sha512:" + st.sha512, Agent: "strongroom " + e.Agent, At: e.Now()})
	}
	// The copies must outlive a power cut once the stage is recorded done.
	if err := dest.Sync(); err != nil {
		return events, fmt.Errorf("work area: %w", err)
	}
	log.Info("fixity taken", "files", len(files))
	return events, e.Catalog.PutFiles(ctx, it.ID, files)
}

// original is one file of an item as found at intake.
type original struct {
	source string // absolute path
	rel    string // payload path below data/
}

// originals lists an item's files, and the clutter left out of its bag.
// Symlinks and special files are refused with the file named: a symlink
// is never followed, inside a batch or not.
func (e *Engine) originals(it *catalog.Item) (out []original, clutter []string, err error) {
	fi, err := os.Lstat(it.Source)
	if err != nil {
		return nil, nil, permanent("%s: %w", it.Source, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(it.Source)
		return nil, nil, permanent("%s: is a symlink to %q; symlinks are refused, not followed", it.Name, target)
	case fi.Mode().IsRegular() && e.Cfg.clutter(it.Name):
		return nil, nil, permanent("%s: operating-system clutter (pipeline.clutter): not archived", it.Name)
	case fi.Mode().IsRegular():
		return []original{{it.Source, "original/" + it.Name}}, nil, nil
	case !fi.IsDir():
		return nil, nil, permanent("%s: not a regular file or folder (%s)", it.Name, fi.Mode().Type())
	}
	err = filepath.WalkDir(it.Source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return permanent("%s: %w", p, err)
		}
		if p == it.Source {
			return nil
		}
		rel, _ := filepath.Rel(it.Source, p)
		if e.Cfg.clutter(d.Name()) {
			what := filepath.ToSlash(rel)
			if d.IsDir() {
				clutter = append(clutter, what+"/")
				return filepath.SkipDir
			}
			if info, err := d.Info(); err == nil {
				what += fmt.Sprintf(" (%d bytes)", info.Size())
			}
			clutter = append(clutter, what)
			return nil
		}
		if intake.Ignored(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // temporary files and the batch marker stay out of the bag
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			return permanent("%s/%s: is a symlink to %q; symlinks are refused, not followed", it.Name, filepath.ToSlash(rel), target)
		case d.IsDir():
			return nil
		case !t.IsRegular():
			return permanent("%s/%s: not a regular file (%s)", it.Name, filepath.ToSlash(rel), t)
		}
		out = append(out, original{p, "original/" + it.Name + "/" + filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(out) == 0 {
		return nil, nil, permanent("%s: batch folder has no files", it.Name)
	}
	return out, clutter, nil
}

// fixityFromStore is fixity for a reprocess item: the originals of the
// bag it makes a new version of are read back from the store into the
// work area, each checked against the digests recorded when it was stored.
func (e *Engine) fixityFromStore(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	bagID := catalog.ReprocessedBag(it)
	bag, err := e.Catalog.Bag(ctx, bagID)
	if err != nil {
		return nil, permanent("bag %s: %w", bagID, err)
	}
	old, err := e.Catalog.Files(ctx, bag.ItemID)
	if err != nil {
		return nil, err
	}
	events := []catalog.Event{{Type: catalog.EvIngestion, Outcome: catalog.OutcomeSuccess, Agent: e.Agent, At: it.Created,
		Detail: fmt.Sprintf("a new version of bag %s (stored %s): its originals read back from %s and checked against the digests recorded then",
			bagID, bag.StoredAt.UTC().Format(time.RFC3339), e.StoreURL)}}
	if err := os.RemoveAll(e.workDir(it)); err != nil {
		return events, err
	}
	fsys, err := storage.BagFS(ctx, e.Store, bagID)
	if err != nil {
		return events, err
	}
	dest := bagit.NewDirDest(e.bagDir(it))
	files := make([]catalog.File, 0, len(old))
	for _, o := range old {
		f, err := dest.Create(ctx, "data/"+o.Path)
		if err != nil {
			return events, fmt.Errorf("%s: work area: %w", o.Path, err)
		}
		r, err := fsys.Open("data/" + o.Path)
		if err != nil {
			f.Abort()
			return events, fmt.Errorf("bag %s: %s: %w", bagID, o.Path, err)
		}
		d, n, err := bagit.Copy(ctx, f, r, []bagit.Algorithm{bagit.SHA256, bagit.SHA512})
		r.Close()
		if err != nil {
			f.Abort()
			return events, fmt.Errorf("bag %s: %s: %w", bagID, o.Path, err)
		}
		if d[bagit.SHA256] != o.SHA256 || d[bagit.SHA512] != o.SHA512 || n != o.Size {
			f.Abort()
			return events, permanent("bag %s: %s read back as %d bytes, sha256 %s; recorded %d bytes, sha256 %s: the stored bag is damaged (see strongroom audit)",
				bagID, o.Path, n, d[bagit.SHA256], o.Size, o.SHA256)
		}
		if err := f.Commit(); err != nil {
			return events, fmt.Errorf("%s: work area: %w", o.Path, err)
		}
		files = append(files, catalog.File{Path: o.Path, Source: catalog.ReprocessSource(bagID) + "/data/" + o.Path, Size: n, ModTime: o.ModTime,
			SHA256: o.SHA256, SHA512: o.SHA512})
		events = append(events, catalog.Event{File: o.Path, Type: catalog.EvDigest, Outcome: catalog.OutcomeSuccess,
			Detail: "sha256:" + o.SHA256 + " sha512:" + o.SHA512 + " (as recorded in bag " + bagID + ")", Agent: "strongroom " + e.Agent, At: e.Now()})
	}
	if err := dest.Sync(); err != nil {
		return events, fmt.Errorf("work area: %w", err)
	}
	log.Info("originals read back from the store", "bag", bagID, "files", len(files))
	return events, e.Catalog.PutFiles(ctx, it.ID, files)
}

// fixityStat is a file's digests and stat, as fixity read it.
type fixityStat struct {
	size    int64
	modTime time.Time
	inode   string
	sha256  string
	sha512  string
}

// readFixity reads the file at p once for both digests, copying it to dst
// (if not nil) in the same read, and checks that the file did not change
// while it was read: its stat before and after, and the name still naming
// the file read. Errors opening or reading it are the file's own
// (sourceError); a change is retried later.
func readFixity(ctx context.Context, p string, dst io.Writer) (fixityStat, error) {
	f, err := os.Open(p)
	if err != nil {
		return fixityStat{}, &sourceError{err}
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return fixityStat{}, &sourceError{err}
	}
	if !before.Mode().IsRegular() {
		return fixityStat{}, permanent("%s: not a regular file (%s)", p, before.Mode().Type())
	}
	d, n, err := bagit.Copy(ctx, dst, f, []bagit.Algorithm{bagit.SHA256, bagit.SHA512})
	if err != nil {
		return fixityStat{}, &sourceError{err}
	}
	after, err := f.Stat()
	if err != nil {
		return fixityStat{}, &sourceError{err}
	}
	named, err := os.Lstat(p)
	if err != nil {
		return fixityStat{}, &sourceError{fmt.Errorf("%s: gone while it was read: %w", p, err)}
	}
	if n != before.Size() || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, named) {
		return fixityStat{}, fmt.Errorf("%s: changed while it was read (size %d, then %d; %d bytes read); it is read again later", p, before.Size(), after.Size(), n)
	}
	return fixityStat{size: n, modTime: before.ModTime(), inode: inode(before), sha256: d[bagit.SHA256], sha512: d[bagit.SHA512]}, nil
}

func inode(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	return ""
}

// differs says how s differs from what fixity recorded for f ("" if not).
func (s fixityStat) differs(f catalog.File) string {
	switch {
	case s.sha256 != f.SHA256:
		return fmt.Sprintf("sha256 %s, was %s", s.sha256, f.SHA256)
	case s.size != f.Size:
		return fmt.Sprintf("%d bytes, were %d", s.size, f.Size)
	case !f.ModTime.IsZero() && !s.modTime.Equal(f.ModTime):
		return fmt.Sprintf("modified %s, was %s", s.modTime.Format(time.RFC3339Nano), f.ModTime.Format(time.RFC3339Nano))
	case f.Inode != "" && s.inode != f.Inode:
		return "replaced by another file with the same bytes (inode " + s.inode + ", was " + f.Inode + ")"
	}
	return ""
}

// workFile is where the fixity stage put an original (or a stage a file of
// its own) in the item's bag.
func (e *Engine) workFile(it *catalog.Item, path string) string {
	return filepath.Join(e.bagDir(it), "data", filepath.FromSlash(path))
}
