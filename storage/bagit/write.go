package bagit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Dest receives the files of a bag as it is written. A Dest that also has
// a Sync() error method is synced by Writer.Close: files then need not be
// made durable one by one.
type Dest interface {
	// Create starts the file at name (slash-separated, relative to the bag
	// root). The file becomes visible only when Commit returns nil; Abort
	// discards it. Creating an existing name replaces it on Commit.
	Create(ctx context.Context, name string) (File, error)
}

// File is a file being written to a Dest.
type File interface {
	io.Writer
	Commit() error
	Abort()
}

// Options configure a Writer. The zero value writes SHA-512 and SHA-256
// manifests and stamps the current date.
type Options struct {
	Algorithms []Algorithm
	// Agent is written as Bag-Software-Agent unless Info already has one.
	Agent string
	// Now stamps Bagging-Date; tests set it for golden files.
	Now func() time.Time
}

// Writer writes one BagIt 1.0 bag. Payload and tag files are streamed and
// hashed with every algorithm in the same read; manifests, bagit.txt,
// bag-info.txt and tag manifests are written by Close. AddPayload and
// AddTagFile may be called from several goroutines at once.
type Writer struct {
	dest Dest
	opts Options
	Info Info // fields for bag-info.txt, in order; set before Close

	mu      sync.Mutex // guards the fields below
	payload map[string]Digests
	tags    map[string]Digests
	octets  int64
	closed  bool
}

// NewWriter returns a Writer that writes into dest.
func NewWriter(dest Dest, opts Options) *Writer {
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = DefaultAlgorithms
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{dest: dest, opts: opts, payload: map[string]Digests{}, tags: map[string]Digests{}}
}

// reservedTagNames are written by Close and can't be added as tag files.
func reservedTagName(name string) bool {
	return name == "bagit.txt" || name == "bag-info.txt" || name == "fetch.txt" ||
		strings.HasPrefix(name, "manifest-") || strings.HasPrefix(name, "tagmanifest-")
}

// AddPayload streams r into data/<rel> and returns its digests.
func (w *Writer) AddPayload(ctx context.Context, rel string, r io.Reader) (Digests, int64, error) {
	name := "data/" + rel
	if err := CheckPath(rel); err != nil {
		return nil, 0, fmt.Errorf("bagit: add payload: %w", err)
	}
	w.mu.Lock()
	_, dup := w.payload[name]
	if !dup {
		w.payload[name] = nil // reserved while it is written
	}
	w.mu.Unlock()
	if dup {
		return nil, 0, fmt.Errorf("bagit: add payload %q: already in the bag", name)
	}
	d, n, err := w.write(ctx, name, r)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		delete(w.payload, name)
		return nil, 0, err
	}
	w.payload[name] = d
	w.octets += n
	return d, n, nil
}

// AddPayloadFile copies the regular file at src into data/<rel>. A symlink
// is refused rather than followed.
func (w *Writer) AddPayloadFile(ctx context.Context, rel, src string) (Digests, int64, error) {
	f, err := openRegular(src)
	if err != nil {
		return nil, 0, fmt.Errorf("bagit: add payload %q: %w", rel, err)
	}
	defer f.Close()
	return w.AddPayload(ctx, rel, f)
}

// AddPayloadAt records data/<rel>, a file the caller has put in the
// destination already (a bag built in place, in stages), with its size and
// digests: its bytes are not read here. d must hold every algorithm the
// writer writes manifests for. Close declares the bag; validating it after
// reads every byte against these digests.
func (w *Writer) AddPayloadAt(rel string, size int64, d Digests) error {
	name := "data/" + rel
	if err := CheckPath(rel); err != nil {
		return fmt.Errorf("bagit: add payload: %w", err)
	}
	for _, a := range w.opts.Algorithms {
		if d[a] == "" {
			return fmt.Errorf("bagit: add payload %q: no %s digest", name, a)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.payload[name]; dup {
		return fmt.Errorf("bagit: add payload %q: already in the bag", name)
	}
	w.payload[name] = d
	w.octets += size
	return nil
}

// AddTagFile writes a tag file (name outside data/, e.g. "premis.xml" or
// "metadata/ids.json"; tag directories are allowed).
func (w *Writer) AddTagFile(ctx context.Context, name string, r io.Reader) error {
	if err := CheckPath(name); err != nil {
		return fmt.Errorf("bagit: add tag file: %w", err)
	}
	if name == "data" || strings.HasPrefix(name, "data/") || reservedTagName(name) {
		return fmt.Errorf("bagit: add tag file %q: name is reserved", name)
	}
	d, _, err := w.write(ctx, name, r)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.tags[name] = d
	w.mu.Unlock()
	return nil
}

func (w *Writer) write(ctx context.Context, name string, r io.Reader) (Digests, int64, error) {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return nil, 0, errors.New("bagit: writer is closed")
	}
	f, err := w.dest.Create(ctx, name)
	if err != nil {
		return nil, 0, fmt.Errorf("bagit: create %q: %w", name, err)
	}
	d, n, err := Copy(ctx, f, r, w.opts.Algorithms)
	if err != nil {
		f.Abort()
		return nil, 0, fmt.Errorf("bagit: write %q: %w", name, err)
	}
	if err := f.Commit(); err != nil {
		return nil, 0, fmt.Errorf("bagit: commit %q: %w", name, err)
	}
	return d, n, nil
}

// Result describes a written bag.
type Result struct {
	Payload     map[string]Digests // by path relative to the bag root ("data/...")
	Oxum        string
	Algorithms  []Algorithm
	PayloadSize int64
}

// Close writes the payload manifests, bagit.txt, bag-info.txt and the tag
// manifests, in that order, so a bag is only declared once its manifests are
// in place. Every Add call must have returned before Close is called.
func (w *Writer) Close(ctx context.Context) (*Result, error) {
	if w.closed {
		return nil, errors.New("bagit: writer already closed")
	}
	oxum := FormatOxum(w.octets, int64(len(w.payload)))
	for _, a := range w.opts.Algorithms {
		if err := w.writeTag(ctx, "manifest-"+string(a)+".txt", manifestBytes(w.payload, a)); err != nil {
			return nil, err
		}
	}
	if err := w.writeTag(ctx, "bagit.txt", []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")); err != nil {
		return nil, err
	}
	info := Info{Fields: slices.Clone(w.Info.Fields)}
	if info.Get("Bagging-Date") == "" {
		info.Add("Bagging-Date", w.opts.Now().Format("2006-01-02"))
	}
	if info.Get("Bag-Software-Agent") == "" && w.opts.Agent != "" {
		info.Add("Bag-Software-Agent", w.opts.Agent)
	}
	info.Set("Payload-Oxum", oxum)
	ib, err := info.Marshal()
	if err != nil {
		return nil, err
	}
	if err := w.writeTag(ctx, "bag-info.txt", ib); err != nil {
		return nil, err
	}
	for _, a := range w.opts.Algorithms {
		if _, _, err := w.write(ctx, "tagmanifest-"+string(a)+".txt", bytes.NewReader(manifestBytes(w.tags, a))); err != nil {
			return nil, err
		}
	}
	if s, ok := w.dest.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			return nil, fmt.Errorf("bagit: sync: %w", err)
		}
	}
	w.closed = true
	return &Result{Payload: w.payload, Oxum: oxum, Algorithms: w.opts.Algorithms, PayloadSize: w.octets}, nil
}

func (w *Writer) writeTag(ctx context.Context, name string, b []byte) error {
	d, _, err := w.write(ctx, name, bytes.NewReader(b))
	if err == nil {
		w.mu.Lock()
		w.tags[name] = d
		w.mu.Unlock()
	}
	return err
}

func manifestBytes(files map[string]Digests, a Algorithm) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(files[n][a])
		b.WriteByte(' ')
		b.WriteString(EncodePath(n))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// foldWidth is where Marshal folds long values, as RFC 8493 suggests (79).
const foldWidth = 79

// Marshal renders bag-info.txt. Labels must not contain ":" or line breaks
// (§2.2.2); a value's own line breaks and its long lines are folded onto
// continuation lines that start with a space, which ParseInfo joins back.
func (in *Info) Marshal() ([]byte, error) {
	var b bytes.Buffer
	for _, f := range in.Fields {
		if f.Label == "" || strings.ContainsAny(f.Label, ":\r\n") || f.Label != strings.TrimSpace(f.Label) || !utf8.ValidString(f.Label) {
			return nil, fmt.Errorf("bagit: bag-info label %q: must be non-empty, without colon, line break or surrounding space", f.Label)
		}
		if !utf8.ValidString(f.Value) {
			return nil, fmt.Errorf("bagit: bag-info %s: value is not UTF-8", f.Label)
		}
		line := f.Label + ": "
		col := len(line)
		b.WriteString(line)
		words := strings.Fields(f.Value)
		for i, word := range words {
			if i > 0 {
				if col+1+len(word) > foldWidth {
					b.WriteString("\n ")
					col = 1
				} else {
					b.WriteByte(' ')
					col++
				}
			}
			b.WriteString(word)
			col += len(word)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// openRegular opens path only if it is a regular file, without following a
// final symlink.
func openRegular(p string) (*os.File, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", p, fi.Mode().Type())
	}
	return os.Open(p)
}

// DirDest writes a bag into a local directory. Each file is written under a
// temporary name and renamed into place when committed, so no half-written
// file ever carries a bag name. Durability comes from Sync (called by
// Writer.Close): one syncfs of the file system and an fsync of every folder
// written, rather than an fsync per file, which costs bags of thousands of
// small pages dearly. A crash before Sync leaves an unfinished bag, which is
// what it is: it is not declared complete until Close returns.
type DirDest struct {
	Root string
	mu   *sync.Mutex
	dirs map[string]bool
}

// NewDirDest returns a DirDest writing below root.
func NewDirDest(root string) *DirDest {
	return &DirDest{Root: root, mu: &sync.Mutex{}, dirs: map[string]bool{}}
}

var _ Dest = (*DirDest)(nil)

// Create implements Dest.
func (d *DirDest) Create(ctx context.Context, name string) (File, error) {
	if err := CheckPath(name); err != nil {
		return nil, err
	}
	final := filepath.Join(d.Root, filepath.FromSlash(name))
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d.mu.Lock()
	for p := dir; ; p = filepath.Dir(p) {
		d.dirs[p] = true
		if p == d.Root || p == filepath.Dir(p) {
			break
		}
	}
	d.mu.Unlock()
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, err
	}
	return &dirFile{f: tmp, final: final}, nil
}

// Sync makes everything written so far durable.
func (d *DirDest) Sync() error {
	root, err := os.Open(d.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := unix.Syncfs(int(root.Fd())); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for dir := range d.dirs {
		if err := SyncDir(dir); err != nil {
			return err
		}
	}
	if err := SyncDir(filepath.Dir(d.Root)); err != nil {
		return err
	}
	return nil
}

type dirFile struct {
	f     *os.File
	final string
}

func (f *dirFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *dirFile) Commit() error {
	err := f.f.Close()
	if err == nil {
		err = os.Rename(f.f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.f.Name())
	}
	return err
}

func (f *dirFile) Abort() {
	f.f.Close()
	os.Remove(f.f.Name())
}

// SyncDir fsyncs a directory so that a rename in it survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CreateFromDir bags every regular file below src into a new bag at dest
// (which must not exist or be empty), keeping relative paths under data/.
// Symlinks and other special files are refused, naming the file. Two files
// are copied at once, so hashing one overlaps writing the other.
func CreateFromDir(ctx context.Context, src, dest string, opts Options, info Info) (*Result, error) {
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("bagit: create: %s is not empty", dest)
	}
	var files []string
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("bagit: create: %s: not a regular file (%s)", p, d.Type())
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	w := NewWriter(NewDirDest(dest), opts)
	w.Info = info
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan string)
	errc := make(chan error, 2)
	for range 2 {
		go func() {
			var first error
			for p := range work {
				if first != nil {
					continue
				}
				rel, err := filepath.Rel(src, p)
				if err == nil {
					_, _, err = w.AddPayloadFile(ctx, filepath.ToSlash(rel), p)
				}
				if err != nil {
					first = err
					cancel()
				}
			}
			errc <- first
		}()
	}
	for _, p := range files {
		work <- p
	}
	close(work)
	err = errors.Join(<-errc, <-errc)
	if err != nil {
		return nil, err
	}
	return w.Close(ctx)
}

// FormatOxum formats a Payload-Oxum value.
func FormatOxum(octets, streams int64) string {
	return strconv.FormatInt(octets, 10) + "." + strconv.FormatInt(streams, 10)
}
