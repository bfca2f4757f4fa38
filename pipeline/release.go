package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Release modes for originals once their bag is stored.
const (
	ReleaseMove   = "move"   // to done_dir
	ReleaseDelete = "delete" // removed
	ReleaseKeep   = "keep"   // left where they are (ingest command)
)

// aside is where release puts an item's originals while it checks them:
// beside them, under a dot-name intake ignores, so that nothing finds them
// by their name any more (a writer that reopens the name makes a new file,
// which becomes a new item). The name says whose they are, for anyone who
// finds them there after a crash; the next run of the stage moves them on.
func aside(it *catalog.Item) string {
	return filepath.Join(filepath.Dir(it.Source), fitName(".strongroom-release-"+it.ID+"-"+it.Name, ""))
}

// release lets the originals go now that their bag is stored and read
// back, but only if they are still exactly what was bagged: every file is
// read again and must have the digest, size, mtime and inode fixity
// recorded, and a batch must hold no file it did not hold then. Originals
// that changed are not released: they go back into the hot folder, where
// intake takes them as a new item, linked to this one; this item is stored
// with the bytes it was taken with.
func (e *Engine) release(ctx context.Context, it *catalog.Item, log *slog.Logger) error {
	if it.Release == ReleaseKeep {
		return os.RemoveAll(e.workDir(it))
	}
	tmp := aside(it)
	if _, err := os.Lstat(tmp); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(it.Source); errors.Is(err, fs.ErrNotExist) {
			// Released before a crash, or removed by someone else: either
			// way the stored bag holds what was taken.
			log.Info("originals no longer in the hot folder; nothing to release")
			return os.RemoveAll(e.workDir(it))
		}
		if err := renameNoReplace(it.Source, tmp); err != nil {
			return fmt.Errorf("%s: set aside for release: %w", it.Source, err)
		}
	}
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return err
	}
	diff, err := compareOriginals(ctx, it, tmp, files)
	if err != nil {
		return err
	}
	if diff.changed() {
		return e.keepChanged(ctx, it, tmp, diff, log)
	}
	if len(diff.missing) > 0 {
		if err := e.event(ctx, it, "", EvFixityCheck, "warning", fmt.Sprintf("removed from the hot folder before release (the bag holds them as taken): %s", strings.Join(diff.missing, ", "))); err != nil {
			return err
		}
	}
	switch it.Release {
	case ReleaseMove:
		dest, err := moveInto(tmp, e.DoneDir, it)
		if err != nil {
			return err
		}
		log.Info("originals released", "to", dest)
	case ReleaseDelete:
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("%s: remove original: %w", it.Source, err)
		}
		log.Info("originals removed")
	}
	return os.RemoveAll(e.workDir(it))
}

// difference is how an item's originals differ from what fixity recorded.
type difference struct {
	altered []string // payload paths whose bytes or stat differ, with why
	added   []string // files that were not there at intake
	missing []string // files that are gone
}

func (d difference) changed() bool { return len(d.altered) > 0 || len(d.added) > 0 }

func (d difference) String() string {
	var parts []string
	for _, p := range []struct {
		what  string
		paths []string
	}{{"changed", d.altered}, {"added", d.added}, {"removed", d.missing}} {
		if len(p.paths) > 0 {
			parts = append(parts, p.what+": "+strings.Join(p.paths, "; "))
		}
	}
	return strings.Join(parts, "; ")
}

// compareOriginals reads the originals now at root (it.Source set aside)
// and compares them with the files recorded at intake.
func compareOriginals(ctx context.Context, it *catalog.Item, root string, files []catalog.File) (difference, error) {
	var d difference
	want := map[string]catalog.File{} // by path below it.Source ("" for a single file)
	for _, f := range files {
		rel, err := filepath.Rel(it.Source, f.Source)
		if err != nil || rel == "." {
			rel = ""
		}
		want[rel] = f
	}
	seen := map[string]bool{}
	check := func(rel, p string) error {
		f, ok := want[rel]
		if !ok {
			d.added = append(d.added, filepath.ToSlash(filepath.Join(it.Name, rel)))
			return nil
		}
		seen[rel] = true
		st, err := statFixity(ctx, p)
		if err != nil {
			return err
		}
		if why := st.differs(f); why != "" {
			d.altered = append(d.altered, f.Path+" ("+why+")")
		}
		return nil
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return d, err
	}
	if !fi.IsDir() {
		if err := check("", root); err != nil {
			return d, err
		}
	} else {
		err = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			if intake.Ignored(de.Name()) {
				if de.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if de.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			return check(rel, p)
		})
		if err != nil {
			return d, err
		}
	}
	for rel, f := range want {
		if !seen[rel] {
			d.missing = append(d.missing, f.Path)
		}
	}
	sort.Strings(d.missing)
	return d, nil
}

// fixityStat is a file's digest and stat, read as fixity reads it.
type fixityStat struct {
	size    int64
	modTime time.Time
	inode   string
	sha256  string
	sha512  string
}

// statFixity reads the file at p once for both digests, checking that it
// did not change while it was read (its stat before and after, and the
// name still naming the file read). Errors are the file's own (sourceError).
func statFixity(ctx context.Context, p string) (fixityStat, error) {
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
	d, n, err := bagit.Copy(ctx, nil, f, []bagit.Algorithm{bagit.SHA256, bagit.SHA512})
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

// keepChanged puts originals that changed after intake back into the hot
// folder for a new item, records why on this item (an event and an alert),
// and lets this item finish: its bag holds the originals as taken.
func (e *Engine) keepChanged(ctx context.Context, it *catalog.Item, tmp string, d difference, log *slog.Logger) error {
	back := it.Source
	if err := renameNoReplace(tmp, back); errors.Is(err, fs.ErrExist) {
		// Something new has the name already: keep both.
		back = filepath.Join(filepath.Dir(it.Source), withSuffix(it.Name, ".changed-"+it.ID))
		err = renameNoReplace(tmp, back)
		if err != nil {
			return fmt.Errorf("%s: put back for a new item: %w", back, err)
		}
	} else if err != nil {
		return fmt.Errorf("%s: put back for a new item: %w", back, err)
	}
	it.Held = back
	detail := fmt.Sprintf("the originals changed after intake, so they were not released (%s); they are back in the hot folder as %s, to be taken as a new item; this bag holds them as they were taken", d, back)
	if err := e.event(ctx, it, "", EvFixityCheck, "failure", detail); err != nil {
		return err
	}
	if _, _, err := e.Catalog.RaiseAlert(ctx, it.BagID, "original-changed", "", detail, e.Now()); err != nil {
		return err
	}
	log.Warn("originals changed after intake: not released; left for a new item", "left_as", back, "changes", d.String())
	return os.RemoveAll(e.workDir(it))
}

// event records one PREMIS event of the item.
func (e *Engine) event(ctx context.Context, it *catalog.Item, file, typ, outcome, detail string) error {
	return e.Catalog.AddEvents(ctx, catalog.Event{ItemID: it.ID, BagID: it.BagID, File: file, Type: typ, Outcome: outcome,
		Detail: detail, Agent: e.Agent, At: e.Now()})
}

// renameNoReplace renames src to dest unless dest exists (fs.ErrExist).
func renameNoReplace(src, dest string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE)
	switch {
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		// A file system without RENAME_NOREPLACE (some network shares).
		if _, serr := os.Lstat(dest); serr == nil {
			return fs.ErrExist
		}
		return os.Rename(src, dest)
	case errors.Is(err, unix.EEXIST):
		return fs.ErrExist
	case err != nil:
		return &os.LinkError{Op: "rename", Old: src, New: dest, Err: err}
	}
	return bagit.SyncDir(filepath.Dir(dest))
}

// Reason is the content of <name>.reason.json in failed_dir.
type Reason struct {
	Item     string    `json:"item"`
	Name     string    `json:"name"`
	Source   string    `json:"source"`
	Stage    string    `json:"stage"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	Time     time.Time `json:"time"`
}

// fail moves the originals to failed_dir with a reason file beside them.
func (e *Engine) fail(ctx context.Context, it *catalog.Item, log *slog.Logger) error {
	defer os.RemoveAll(e.workDir(it))
	if it.Release == ReleaseKeep {
		return nil
	}
	src := it.Source
	if _, err := os.Lstat(aside(it)); err == nil {
		src = aside(it) // set aside by a release that then failed
	}
	dest, err := moveInto(src, e.FailedDir, it)
	if err != nil {
		return err
	}
	reason, _ := json.MarshalIndent(Reason{Item: it.ID, Name: it.Name, Source: it.Source, Stage: it.FailStage,
		Error: it.LastError, Attempts: it.Attempts, Time: e.Now()}, "", "  ")
	reason = append(reason, '\n')
	rp := filepath.Join(filepath.Dir(dest), fitName(filepath.Base(dest), ".reason.json"))
	if err := writeAtomic(rp, bytes.NewReader(reason)); err != nil {
		if classify(err) == waitEnvironment {
			return err
		}
		// Whatever the name's trouble, a reason named by the item id fits.
		rp = filepath.Join(e.FailedDir, it.ID+".reason.json")
		if err := writeAtomic(rp, bytes.NewReader(reason)); err != nil {
			return err
		}
	}
	log.Warn("item moved to failed", "to", dest, "reason_file", rp, "reason", it.LastError)
	return nil
}

// moveInto moves src into dir under the item's name, or the name with the
// item id when that is taken. It never replaces anything. Once src is gone
// there is nothing to do (a crash after the move): it reports where the
// item would have gone.
func moveInto(src, dir string, it *catalog.Item) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dest := filepath.Join(dir, fitName(it.Name, ""))
	alt := filepath.Join(dir, withSuffix(it.Name, "."+it.ID))
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(alt); err == nil {
			return alt, nil
		}
		return dest, nil
	}
	err := moveTree(src, dest, it.ID)
	if errors.Is(err, fs.ErrExist) {
		dest = alt
		err = moveTree(src, dest, it.ID)
	}
	if err != nil {
		return "", fmt.Errorf("%s: move to %s: %w", it.Source, dir, err)
	}
	return dest, nil
}

// moveTree renames src to dest (never replacing dest), copying across file
// systems when rename can't, with modes and modification times kept. The
// copy is fsynced before the source is removed.
func moveTree(src, dest, id string) error {
	err := renameNoReplace(src, dest)
	var le *os.LinkError
	if err == nil || !errors.As(err, &le) || !errors.Is(le.Err, syscall.EXDEV) {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return fs.ErrExist
	}
	tmp := filepath.Join(filepath.Dir(dest), ".strongroom-moving-"+id)
	os.RemoveAll(tmp)
	if err := copyTree(src, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := renameNoReplace(tmp, dest); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return os.RemoveAll(src)
}

// copyTree copies src to dest keeping modes and modification times
// (folders' times are set once their contents are in).
func copyTree(src, dest string) error {
	type dirTimes struct {
		path string
		mod  time.Time
	}
	var dirs []dirTimes
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dest, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, dirTimes{target, info.ModTime()})
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		if err := writeAtomicMode(target, in, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i].path, dirs[i].mod, dirs[i].mod); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes r to p through a temporary file, fsync and rename, as
// a file the usual way is made (0666 less the umask).
func writeAtomic(p string, r io.Reader) error { return writeAtomicMode(p, r, 0) }

// writeAtomicMode is writeAtomic with the file's mode set to perm (0: the
// umask decides).
func writeAtomicMode(p string, r io.Reader, perm fs.FileMode) error {
	tmp := filepath.Join(filepath.Dir(p), fmt.Sprintf(".strongroom-%d-%d", os.Getpid(), time.Now().UnixNano()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil && perm != 0 {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return bagit.SyncDir(filepath.Dir(p))
}

// maxName is the longest file name (in bytes) Linux file systems take.
const maxName = 255

// fitName returns name+suffix, or, when that is longer than a file name
// may be, name cut on a character boundary and marked with a short hash
// of the whole name, so that different long names stay different.
func fitName(name, suffix string) string {
	if len(name)+len(suffix) <= maxName {
		return name + suffix
	}
	sum := sha256.Sum256([]byte(name))
	mark := "~" + hex.EncodeToString(sum[:4])
	keep := maxName - len(suffix) - len(mark)
	for keep > 0 && !utf8.RuneStart(name[keep]) {
		keep--
	}
	return name[:keep] + mark + suffix
}

// withSuffix puts s before the extension: page.tif → page<s>.tif, fitting
// the result to a file name.
func withSuffix(name, s string) string {
	ext := filepath.Ext(name)
	if ext == name || len(ext) > 16 {
		ext = ""
	}
	return fitName(strings.TrimSuffix(name, ext), s+ext)
}
