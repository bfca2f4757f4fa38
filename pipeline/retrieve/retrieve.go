// Package retrieve gives stored bags back: a bag into a folder, or as a
// tar or zip stream, and single files into a local cache (the access copy,
// for HTTP Range requests). Every byte is checked on the way out against
// the digests the catalog recorded when the bag was stored, while it
// streams; a mismatch stops the retrieval with a *Mismatch, which the
// caller raises as an alert.
package retrieve

import (
	"archive/tar"
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Mismatch is an object that did not come back as it was stored.
type Mismatch struct {
	Bag     string
	Key     string
	Problem catalog.Problem
	Detail  string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("bag %s: %s: %s (%s)", m.Bag, m.Key, m.Detail, m.Problem)
}

// Raise records the mismatch as an alert of its bag, one per file and
// problem (the audit's deduplication), saying it was seen on retrieval.
func (m *Mismatch) Raise(ctx context.Context, alerts catalog.Alerts, at time.Time) error {
	_, _, err := alerts.RaiseAlert(ctx, m.Bag, m.Problem, m.Key, "on retrieval: "+m.Detail, at)
	return err
}

// algorithms are the digests compared: both that the catalog records.
var algorithms = []bagit.Algorithm{bagit.SHA256, bagit.SHA512}

// Fetch streams one object to w, checking its size and digests.
func Fetch(ctx context.Context, st storage.Store, o catalog.Object, w io.Writer) error {
	rc, err := st.Get(ctx, o.BagID+"/"+o.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return &Mismatch{o.BagID, o.Key, catalog.ProblemMissing, "the store has no such object"}
	}
	if err != nil {
		return fmt.Errorf("bag %s: %s: %w", o.BagID, o.Key, err)
	}
	defer rc.Close()
	// One byte more than recorded is read, so that a longer object shows.
	d, n, err := bagit.Copy(ctx, w, io.LimitReader(rc, o.Size+1), algorithms)
	if err != nil {
		return fmt.Errorf("bag %s: %s: %w", o.BagID, o.Key, err)
	}
	problem := catalog.ProblemAltered
	if !strings.HasPrefix(o.Key, "data/") {
		problem = catalog.ProblemTagAltered
	}
	switch {
	case n < o.Size:
		return &Mismatch{o.BagID, o.Key, catalog.ProblemTruncated, fmt.Sprintf("%d bytes, recorded %d", n, o.Size)}
	case n > o.Size:
		return &Mismatch{o.BagID, o.Key, problem, fmt.Sprintf("longer than the %d bytes recorded", o.Size)}
	case d[bagit.SHA256] != o.SHA256:
		return &Mismatch{o.BagID, o.Key, problem, fmt.Sprintf("sha256 %s, recorded %s", d[bagit.SHA256], o.SHA256)}
	case o.SHA512 != "" && d[bagit.SHA512] != o.SHA512:
		return &Mismatch{o.BagID, o.Key, problem, "sha512 differs from the record"}
	}
	return nil
}

// Get downloads a bag into dest, a folder that must not exist. It is
// built under dest + ".partial" (left there if anything fails, never
// under dest), each object checked while it streams, then validated as a
// bag, synced, and renamed to dest.
func Get(ctx context.Context, st storage.Store, objs []catalog.Object, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s already exists", dest)
	}
	tmp := dest + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	for _, o := range objs {
		if err := bagit.CheckPath(o.Key); err != nil { // never trust a key with a path
			return fmt.Errorf("bag %s: %w", o.BagID, err)
		}
		p := filepath.Join(tmp, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		err = Fetch(ctx, st, o, f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	r, err := bagit.ValidateDir(ctx, tmp, bagit.ValidateOptions{})
	if err != nil {
		return err
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("the bag as downloaded is not valid: %w", err)
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	return bagit.SyncDir(filepath.Dir(dest))
}

// syncTree syncs every folder under dir (the files were synced as they
// were written), so that the rename publishes a bag that is on disk.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return bagit.SyncDir(p)
	})
}

// Format is an archive format for Archive.
type Format string

const (
	Tar Format = "tar"
	Zip Format = "zip"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Tar, Zip:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want tar or zip", s)
}

// Archive writes a bag to w as one archive whose entries are under the
// bag's id (as `bagit` tools unpack them). Each object is checked while
// it streams; on a mismatch the archive is cut short without its end
// (tar's closing blocks, zip's central directory), so that no tool takes
// what was written as a whole archive.
func Archive(ctx context.Context, st storage.Store, bag string, objs []catalog.Object, w io.Writer, f Format) error {
	mtime := time.Now()
	switch f {
	case Tar:
		tw := tar.NewWriter(w)
		for _, o := range objs {
			if err := tw.WriteHeader(&tar.Header{Name: bag + "/" + o.Key, Mode: 0o644, Size: o.Size, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return err
			}
			if err := Fetch(ctx, st, o, tw); err != nil {
				return err
			}
		}
		return tw.Close()
	case Zip:
		zw := zip.NewWriter(w)
		for _, o := range objs {
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: bag + "/" + o.Key, Method: zip.Store, Modified: mtime})
			if err != nil {
				return err
			}
			if err := Fetch(ctx, st, o, fw); err != nil {
				return err
			}
		}
		return zw.Close()
	}
	return fmt.Errorf("format %q: want tar or zip", f)
}

// Cache keeps verified copies of single objects (access copies) on local
// disk, named by their SHA-256, so that HTTP can answer Range requests
// from a file whose every byte was checked. Past MaxBytes the least
// recently used files go.
type Cache struct {
	Dir      string
	Store    storage.Store
	MaxBytes int64 // 0: 2 GiB
	// Altered, if set, is told of a cached copy that no longer matched
	// its record (a disk's fault, or a hand): it was evicted, and the
	// object fetched again from the store and checked.
	Altered func(ctx context.Context, o catalog.Object, detail string)
}

// Path returns a local, verified copy of o, fetching it if needed. A copy
// already in the cache is hashed again before it is handed out: the cache
// is a disk like any other, and what leaves strongroom is checked.
func (c *Cache) Path(ctx context.Context, o catalog.Object) (string, error) {
	if _, err := hex.DecodeString(o.SHA256); err != nil || len(o.SHA256) != 2*sha256.Size {
		return "", fmt.Errorf("bag %s: %s: no SHA-256 recorded", o.BagID, o.Key)
	}
	p := filepath.Join(c.Dir, o.SHA256)
	if fi, err := os.Stat(p); err == nil {
		got, err := fileSHA256(p)
		switch {
		case err == nil && got == o.SHA256 && fi.Size() == o.Size:
			now := time.Now()
			os.Chtimes(p, now, now) // used: the last to go
			return p, nil
		case err == nil:
			os.Remove(p)
			if c.Altered != nil {
				c.Altered(ctx, o, fmt.Sprintf("the retrieval cache's copy %s (%d bytes, sha256 %s) differed from the record (%d bytes, sha256 %s); evicted and fetched again from the store",
					p, fi.Size(), got, o.Size, o.SHA256))
			}
		default:
			os.Remove(p) // unreadable: fetched again
		}
	}
	c.prune(o.Size)
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(c.Dir, ".fetch-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	err = Fetch(ctx, c.Store, o, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return p, os.Rename(f.Name(), p)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// prune removes the least recently used files until room more bytes fit
// under MaxBytes.
func (c *Cache) prune(room int64) {
	limit := c.MaxBytes
	if limit <= 0 {
		limit = 2 << 30
	}
	PruneLRU(c.Dir, limit-room, limit-room)
}

// PruneLRU bounds the files below dir: when they hold more than over
// bytes, the least recently used (by modification time: a cache touches
// what it serves) go until they hold at most target. It returns the bytes
// kept.
func PruneLRU(dir string, over, target int64) int64 {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				all = append(all, entry{p, fi.Size(), fi.ModTime()})
				total += fi.Size()
			}
		}
		return nil
	})
	if total <= over {
		return total
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range all {
		if total <= target {
			break
		}
		if os.Remove(e.path) == nil {
			total -= e.size
		}
	}
	return total
}
