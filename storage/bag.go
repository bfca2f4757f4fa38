package storage

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/strongroom-archive/strongroom/storage/bagit"
	"golang.org/x/sync/errgroup"
)

// PutBag uploads the bag in dir to store under bagID/. Payload and tag files
// go first and bagit.txt and the tag manifests last, so that a bag whose
// upload broke off never looks declared. Each object carries its SHA-256
// for the store to verify, taken from the bag's SHA-256 manifests where it
// has them (computed otherwise); a store on the same filesystem takes the
// files as they are (FilePutter), unread. Either way the caller reads the
// bag back. Re-running PutBag for the same bag is safe.
func PutBag(ctx context.Context, st Store, bagID, dir string, o BagOptions) (int64, error) {
	if err := bagit.CheckPath(bagID); err != nil || strings.Contains(bagID, "/") {
		return 0, fmt.Errorf("storage: bag id %q is not a single safe name", bagID)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("storage: put bag: %s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return 0, err
	}
	sha256s := map[string]string{}
	for _, m := range []string{"manifest-sha256.txt", "tagmanifest-sha256.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, m))
		if err != nil {
			continue
		}
		entries, _ := bagit.ParseManifest(m, b, true)
		for _, e := range entries {
			sha256s[e.Path] = strings.ToLower(e.Digest)
		}
	}
	last := func(n string) bool { return n == "bagit.txt" || strings.HasPrefix(n, "tagmanifest-") }
	var first, final []string
	for _, f := range files {
		if last(f) {
			final = append(final, f)
		} else {
			first = append(first, f)
		}
	}
	put := func(rel string) (int64, error) {
		return putFile(ctx, st, bagID+"/"+rel, filepath.Join(dir, filepath.FromSlash(rel)), sha256s[rel], bagID, o)
	}
	// Uploads overlap: a store's round trips, not its bandwidth, bound a bag
	// of many pages. The declaring files go last, one by one.
	// A store that links files makes their names durable in one pass per
	// folder: the payload's before the files that declare the bag, and
	// those before the bag counts as stored.
	flush := func() error {
		if fp, ok := st.(FilePutter); ok {
			return fp.Flush(ctx, bagID+"/")
		}
		return nil
	}
	total, err := putAll(ctx, first, putUploads, put)
	if err == nil {
		err = flush()
	}
	if err != nil {
		return total, err
	}
	n, err := putAll(ctx, final, 1, put)
	if err == nil {
		err = flush()
	}
	return total + n, err
}

// putUploads is how many objects of a bag are uploaded at once.
const putUploads = 4

func putAll(ctx context.Context, files []string, workers int, put func(string) (int64, error)) (int64, error) {
	var total atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, f := range files {
		if gctx.Err() != nil {
			break // the first error stops the rest
		}
		g.Go(func() (err error) {
			defer Recovered(&err)
			n, err := put(f)
			total.Add(n)
			return err
		})
	}
	err := g.Wait()
	return total.Load(), err
}

// Recovered, deferred, turns a panic on this goroutine into *err: on a
// goroutine of its own, a panic is out of reach of the caller's recover
// and would end the daemon, not the item. Stores use it on theirs.
func Recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error (a panic, reported): %v\n%s", r, debug.Stack())
	}
}

// BagOptions say how a bag's objects are stored.
type BagOptions struct {
	// RetainUntil is how long a store that locks objects keeps them from
	// deletion: the bag's disposal due date (zero: the store's default).
	RetainUntil time.Time
}

func putFile(ctx context.Context, st Store, key, src, sha string, bagID string, o BagOptions) (int64, error) {
	if fp, ok := st.(FilePutter); ok {
		switch linked, err := fp.PutFile(ctx, key, src); {
		case err != nil:
			return 0, fmt.Errorf("storage: put %s: %w", key, err)
		case linked:
			fi, err := os.Stat(src)
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		}
	}
	f, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("storage: put %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if sha == "" {
		d, _, err := bagit.Copy(ctx, nil, f, []bagit.Algorithm{bagit.SHA256})
		if err != nil {
			return 0, fmt.Errorf("storage: put %s: %w", key, err)
		}
		sha = d[bagit.SHA256]
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
	}
	opts := PutOptions{SHA256: sha, Metadata: map[string]string{"bag": bagID}, RetainUntil: o.RetainUntil, ReadBack: true}
	if err := st.Put(ctx, key, f, fi.Size(), opts); err != nil {
		return 0, fmt.Errorf("storage: put %s: %w", key, err)
	}
	return fi.Size(), nil
}

// BagFS is a read-only view of the objects under a bag's prefix as an
// io/fs.FS, so that the BagIt validator reads a stored bag back byte by byte
// without a local copy. Objects are listed once, when it is made; Open
// streams from the store.
func BagFS(ctx context.Context, st Store, bagID string) (fs.FS, error) {
	b := &bagFS{ctx: ctx, st: st, prefix: bagID + "/", files: map[string]ObjectInfo{}, dirs: map[string][]fs.DirEntry{".": nil}}
	for oi, err := range st.List(ctx, b.prefix) {
		if err != nil {
			return nil, fmt.Errorf("storage: list bag %s: %w", bagID, err)
		}
		rel := strings.TrimPrefix(oi.Key, b.prefix)
		b.files[rel] = oi
		dir := path.Dir(rel)
		b.ensureDir(dir)
		b.dirs[dir] = append(b.dirs[dir], dirEntry{name: path.Base(rel), info: oi})
	}
	return b, nil
}

// ensureDir registers directory d and its parents.
func (b *bagFS) ensureDir(d string) {
	if _, ok := b.dirs[d]; ok {
		return
	}
	b.dirs[d] = nil
	parent := path.Dir(d)
	b.ensureDir(parent)
	b.dirs[parent] = append(b.dirs[parent], dirEntry{name: path.Base(d), dir: true})
}

type bagFS struct {
	ctx    context.Context
	st     Store
	prefix string
	files  map[string]ObjectInfo
	dirs   map[string][]fs.DirEntry
}

func (b *bagFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if oi, ok := b.files[name]; ok {
		rc, err := b.st.Get(b.ctx, b.prefix+name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &objFile{ReadCloser: rc, info: fileInfo{name: path.Base(name), oi: oi}}, nil
	}
	if _, ok := b.dirs[name]; ok {
		return &dirFile{info: fileInfo{name: path.Base(name), dir: true}}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (b *bagFS) Stat(name string) (fs.FileInfo, error) {
	if oi, ok := b.files[name]; ok {
		return fileInfo{name: path.Base(name), oi: oi}, nil
	}
	if _, ok := b.dirs[name]; ok {
		return fileInfo{name: path.Base(name), dir: true}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

func (b *bagFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, ok := b.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := append([]fs.DirEntry(nil), entries...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

type fileInfo struct {
	name string
	dir  bool
	oi   ObjectInfo
}

func (f fileInfo) Name() string { return f.name }
func (f fileInfo) Size() int64  { return f.oi.Size }
func (f fileInfo) Mode() fs.FileMode {
	if f.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (f fileInfo) ModTime() time.Time { return f.oi.Modified }
func (f fileInfo) IsDir() bool        { return f.dir }
func (f fileInfo) Sys() any           { return f.oi }

type dirEntry struct {
	name string
	dir  bool
	info ObjectInfo
}

func (d dirEntry) Name() string { return d.name }
func (d dirEntry) IsDir() bool  { return d.dir }
func (d dirEntry) Type() fs.FileMode {
	if d.dir {
		return fs.ModeDir
	}
	return 0
}
func (d dirEntry) Info() (fs.FileInfo, error) {
	return fileInfo{name: d.name, dir: d.dir, oi: d.info}, nil
}

type objFile struct {
	io.ReadCloser
	info fileInfo
}

func (f *objFile) Stat() (fs.FileInfo, error) { return f.info, nil }

type dirFile struct{ info fileInfo }

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fs.ErrInvalid}
}
func (d *dirFile) Close() error { return nil }
