package pipeline

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
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
	events := []catalog.Event{{Type: catalog.EvIngestion, Outcome: catalog.OutcomeSuccess, Detail: taken, Agent: e.Agent, At: it.Created}}
	origs, err := originals(it)
	if err != nil {
		return events, err
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

// originals lists an item's files. Symlinks and special files are refused
// with the file named: a symlink is never followed, inside a batch or not.
func originals(it *catalog.Item) ([]original, error) {
	fi, err := os.Lstat(it.Source)
	if err != nil {
		return nil, permanent("%s: %w", it.Source, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(it.Source)
		return nil, permanent("%s: is a symlink to %q; symlinks are refused, not followed", it.Name, target)
	case fi.Mode().IsRegular():
		return []original{{it.Source, "original/" + it.Name}}, nil
	case !fi.IsDir():
		return nil, permanent("%s: not a regular file or folder (%s)", it.Name, fi.Mode().Type())
	}
	var out []original
	err = filepath.WalkDir(it.Source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return permanent("%s: %w", p, err)
		}
		if p == it.Source {
			return nil
		}
		rel, _ := filepath.Rel(it.Source, p)
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
		return nil, err
	}
	if len(out) == 0 {
		return nil, permanent("%s: batch folder has no files", it.Name)
	}
	return out, nil
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
