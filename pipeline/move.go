package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Moving originals out of the hot folder without ever replacing or losing
// anything, across file systems too; names that fit a file system.

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
