// Package local is the directory store, the embedded default: each object
// is a file under the root, written to a temporary name, fsynced, renamed
// into place and its directory fsynced, so a crash never leaves a partial
// object under a real key.
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

func init() {
	storage.Register("file", func(_ context.Context, u *url.URL, _ storage.Config) (storage.Store, error) {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("local: file URL %q must be file:///absolute/path", u.String())
		}
		return New(u.Path)
	})
}

// tmpDir holds uploads in progress; it is never a key.
const tmpDir = ".incoming"

// Store is a directory store.
type Store struct {
	root string
}

var _ storage.Store = (*Store)(nil)

// New opens (creating if needed) a directory store at root.
func New(root string) (*Store, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("local: store root %q is not absolute", root)
	}
	if err := os.MkdirAll(filepath.Join(root, tmpDir), 0o755); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	s := &Store{root: root}
	s.removeLeftovers(time.Now().Add(-leftoverAge))
	return s, nil
}

// leftoverAge is how old an upload in .incoming must be to count as left
// over by a process that died: no upload takes a day, and a younger one
// may be another process's upload in progress.
const leftoverAge = 24 * time.Hour

// removeLeftovers removes uploads in .incoming last written before cutoff.
func (s *Store) removeLeftovers(cutoff time.Time) {
	dir := filepath.Join(s.root, tmpDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *Store) path(key string) (string, error) {
	if err := bagit.CheckPath(key); err != nil {
		return "", fmt.Errorf("local: key: %w", err)
	}
	if key == tmpDir || strings.HasPrefix(key, tmpDir+"/") {
		return "", fmt.Errorf("local: key %q is reserved", key)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// PutFile implements storage.FilePutter: the file becomes the object by a
// hard link, made under .incoming and renamed into place, its bytes synced
// (cheap for a bag's files, which the work area synced already) and never
// copied; its name is synced by Flush. A file on another filesystem (or
// one that refuses links) is not taken: false, and the caller copies it.
func (s *Store) PutFile(ctx context.Context, key, src string) (bool, error) {
	final, err := s.path(key)
	if err != nil {
		return false, err
	}
	f, err := os.Open(src)
	if err != nil {
		return false, fmt.Errorf("local: put %s: %w", key, err)
	}
	err = f.Sync() // nothing to write if the file was synced already
	f.Close()
	if err != nil {
		return false, fmt.Errorf("local: put %s: %w", key, err)
	}
	var id [8]byte
	rand.Read(id[:])
	tmp := filepath.Join(s.root, tmpDir, "link-"+hex.EncodeToString(id[:]))
	if err := os.Link(src, tmp); err != nil {
		if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.ENOTSUP) {
			return false, nil
		}
		return false, fmt.Errorf("local: put %s: %w", key, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	// Read-only from now: the work area's name for it goes with the work
	// area, and nothing writes a stored object.
	if err := os.Chmod(tmp, ObjectMode); err != nil {
		return false, fmt.Errorf("local: put %s: %w", key, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return false, fmt.Errorf("local: put %s: %w", key, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, fmt.Errorf("local: put %s: %w", key, err)
	}
	ok = true
	os.Remove(tmp) // there still if final was this file already: rename did nothing
	return true, nil
}

// Flush implements storage.FilePutter: every folder under prefix synced,
// so that the names PutFile made there outlive a power cut.
func (s *Store) Flush(ctx context.Context, prefix string) error {
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(s.root, p); rel == tmpDir {
			return fs.SkipDir
		}
		return bagit.SyncDir(p)
	})
	if err != nil {
		return fmt.Errorf("local: flush %s: %w", prefix, err)
	}
	// And the folders above it, which PutFile may have made.
	for dir := start; dir != s.root && strings.HasPrefix(dir, s.root); {
		dir = filepath.Dir(dir)
		if err := bagit.SyncDir(dir); err != nil {
			return fmt.Errorf("local: flush %s: %w", prefix, err)
		}
	}
	return nil
}

// ObjectMode is the mode of every stored object.
const ObjectMode = 0o440

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) error {
	final, err := s.path(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "put-*")
	if err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("local: put %s: got %d bytes, want %d", key, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); opts.SHA256 != "" && !strings.EqualFold(got, opts.SHA256) {
		return fmt.Errorf("local: put %s: %w: sha256 %s, want %s", key, storage.ErrChecksum, got, opts.SHA256)
	}
	// Read-only, for the owner and the service's group (a backup or an
	// access copy server in that group reads the store; others do not):
	// a stored object is never written again.
	if err := tmp.Chmod(ObjectMode); err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("local: put %s: %w", key, err)
	}
	ok = true
	return bagit.SyncDir(filepath.Dir(final))
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get implements storage.Store. It refuses to follow a symlink planted in
// the store (os.Root keeps every open inside the root).
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if _, err := s.path(key); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	defer root.Close()
	// Each folder on the way, then the object: a bag folder swapped for a
	// symlink is something else where the bag should be, not a read error.
	// (One lstat each; the open below goes through os.Root, which no
	// symlink can lead out of, whatever changes meanwhile.)
	p := s.root
	parts := strings.Split(key, "/")
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil {
			break
		}
		if i < len(parts)-1 && !fi.IsDir() || i == len(parts)-1 && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("local: get %s: %w (%s is %s)", key, storage.ErrNotRegular, strings.Join(parts[:i+1], "/"), describe(fi.Mode()))
		}
	}
	f, err := root.Open(filepath.FromSlash(key))
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	return f, nil
}

func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a file"
	}
	return "a special file: " + m.Type().String()
}

func (s *Store) wrap(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: %s %s: %w", op, key, storage.ErrNotFound)
	}
	return fmt.Errorf("local: %s %s: %w", op, key, err)
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return storage.ObjectInfo{}, s.wrap("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, fmt.Errorf("local: stat %s: %w", key, storage.ErrNotFound)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()}, nil
}

// List implements storage.Store. Symlinks and other non-regular files are
// listed too (with size 0) so that an audit sees them as unexpected objects.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		// Walk only the directory the prefix names, not the whole store.
		start := s.root
		if i := strings.LastIndex(prefix, "/"); i >= 0 {
			start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
		}
		err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == start {
					return fs.SkipAll
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rel, _ := filepath.Rel(s.root, p)
			key := filepath.ToSlash(rel)
			if d.IsDir() {
				if key == tmpDir {
					return fs.SkipDir
				}
				return nil
			}
			if !strings.HasPrefix(key, prefix) {
				return nil
			}
			oi := storage.ObjectInfo{Key: key}
			if fi, err := d.Info(); err == nil && d.Type().IsRegular() {
				oi.Size, oi.Modified = fi.Size(), fi.ModTime()
			}
			if !yield(oi, nil) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			yield(storage.ObjectInfo{}, fmt.Errorf("local: list %s: %w", prefix, err))
		}
	}
}

// EmptyFolders returns the folders at the top of the store that hold no
// object: a listing of objects cannot show them, an audit should.
func (s *Store) EmptyFolders(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == tmpDir {
			continue
		}
		empty := true
		filepath.WalkDir(filepath.Join(s.root, e.Name()), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				empty = false
				return fs.SkipAll
			}
			return ctx.Err()
		})
		if empty {
			out = append(out, e.Name())
		}
	}
	return out, ctx.Err()
}

// Delete implements storage.Store and prunes directories it leaves empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: delete %s: %w", key, err)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if os.Remove(filepath.Join(s.root, filepath.FromSlash(dir))) != nil {
			break
		}
	}
	return nil
}
