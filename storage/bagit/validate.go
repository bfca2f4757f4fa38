package bagit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/unicode/norm"
)

// Kind classifies a problem so that callers (the audit, the CLI, tests)
// branch on it instead of matching strings.
type Kind string

// Problem kinds. Every kind but DigestMismatch makes a bag incomplete
// (RFC 8493 §3: a complete bag has every required element, every listed
// file, and every element conforms); a digest mismatch makes it invalid.
const (
	BadDeclaration     Kind = "bad-bagit-txt"
	BadBagInfo         Kind = "bad-bag-info"
	BadManifest        Kind = "bad-manifest"
	BadTagManifest     Kind = "bad-tag-manifest"
	BadFetch           Kind = "bad-fetch"
	NoPayloadDir       Kind = "no-payload-dir"
	NoPayloadManifest  Kind = "no-payload-manifest"
	MissingFile        Kind = "missing-file"
	NotInEveryManifest Kind = "not-in-every-manifest"
	ExtraFile          Kind = "unlisted-file"
	DuplicateEntry     Kind = "duplicate-entry"
	OxumMismatch       Kind = "oxum-mismatch"
	UnsafePath         Kind = "unsafe-path"
	Symlink            Kind = "symlink"
	NotRegular         Kind = "not-regular-file"
	ReadError          Kind = "read-error"
	DigestMismatch     Kind = "digest-mismatch"
)

// Problem is one thing wrong with a bag (or, in Warnings, one thing odd).
type Problem struct {
	Kind   Kind
	Path   string // file the problem is about, relative to the bag root
	Detail string
}

func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%s: %s", p.Kind, p.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", p.Kind, quotePath(p.Path), p.Detail)
}

// quotePath quotes a path only when it would be ambiguous on one line.
func quotePath(p string) string {
	if p != strings.TrimSpace(p) || strings.ContainsAny(p, "\r\n\t\"") || p == "" {
		return fmt.Sprintf("%q", p)
	}
	return p
}

// Report is the outcome of a validation. Complete and Valid are separate, as
// in RFC 8493 §3; Problems lists every problem found, not only the first.
type Report struct {
	Declaration Declaration
	Info        *Info
	Complete    bool
	Valid       bool
	Problems    []Problem
	Warnings    []Problem
	// Payload is every payload file found on disk with its size.
	Payload map[string]int64
	// Manifests maps algorithm to the entries of manifest-<alg>.txt.
	Manifests map[Algorithm]map[string]string
	Fetch     []FetchItem
	Checked   int // files whose digests were verified
}

func (r *Report) problem(k Kind, p, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{k, p, fmt.Sprintf(format, args...)})
}

func (r *Report) warn(p, format string, args ...any) {
	r.Warnings = append(r.Warnings, Problem{"warning", p, fmt.Sprintf(format, args...)})
}

// Err returns nil for a valid bag, or an error listing the first problems.
func (r *Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	var msgs []string
	for i, p := range r.Problems {
		if i == 5 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(r.Problems)-5))
			break
		}
		msgs = append(msgs, p.String())
	}
	return &InvalidError{Report: r, msg: strings.Join(msgs, "; ")}
}

// InvalidError is returned for a bag that is not valid; it carries the report.
type InvalidError struct {
	Report *Report
	msg    string
}

func (e *InvalidError) Error() string { return "bagit: invalid bag: " + e.msg }

// ValidateOptions tune a validation.
type ValidateOptions struct {
	// Fast checks completeness and Payload-Oxum only, reading no payload bytes.
	Fast bool
	// Workers hash this many files at once (default 2).
	Workers int
	// MaxTagFileSize bounds how much of one tag file or manifest is read
	// into memory (default 1 GiB).
	MaxTagFileSize int64
}

// ValidateDir validates the bag in directory dir. It opens the bag through
// os.Root, so that no symlink inside can lead the validator out of it.
func ValidateDir(ctx context.Context, dir string, opts ValidateOptions) (*Report, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("bagit: open bag %s: %w", dir, err)
	}
	defer root.Close()
	return Validate(ctx, root.FS(), opts)
}

// Validate validates the bag whose root is fsys. It never follows a symlink:
// a symlink anywhere in the bag is a problem. The error is only for a failure
// to validate at all (the context ended); everything wrong with the bag is in
// the report.
func Validate(ctx context.Context, fsys fs.FS, opts ValidateOptions) (*Report, error) {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.MaxTagFileSize <= 0 {
		opts.MaxTagFileSize = 1 << 30
	}
	v := &validator{fsys: fsys, opts: opts, r: &Report{
		Payload:   map[string]int64{},
		Manifests: map[Algorithm]map[string]string{},
	}}
	v.run(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := v.r
	r.Valid = len(r.Problems) == 0
	r.Complete = true
	for _, p := range r.Problems {
		if p.Kind != DigestMismatch {
			r.Complete = false
		}
	}
	return r, nil
}

type validator struct {
	fsys fs.FS
	opts ValidateOptions
	r    *Report
	dec  func([]byte) ([]byte, error) // tag file decoding
	tags map[string]int64             // tag files found on disk (not tag manifests)
}

func (v *validator) readTag(name string) ([]byte, error) {
	fi, err := fs.Lstat(v.fsys, name)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symlink", name)
	}
	f, err := v.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, v.opts.MaxTagFileSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > v.opts.MaxTagFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, v.opts.MaxTagFileSize)
	}
	if v.dec != nil && name != "bagit.txt" {
		return v.dec(b)
	}
	return b, nil
}

func (v *validator) run(ctx context.Context) {
	r := v.r
	// bagit.txt first: the version decides the rules for everything else.
	b, err := v.readTag("bagit.txt")
	if err != nil {
		r.problem(BadDeclaration, "bagit.txt", "cannot read: %v", errPlain(err))
		r.Declaration = Declaration{Version: "1.0", Encoding: "UTF-8"}
	} else {
		d, warns, err := ParseDeclaration(b)
		if err != nil {
			r.problem(BadDeclaration, "bagit.txt", "%v", err)
			d = Declaration{Version: "1.0", Encoding: "UTF-8"}
		}
		for _, w := range warns {
			r.warn("bagit.txt", "%s", w)
		}
		r.Declaration = d
		if d.Is1() && !strings.EqualFold(d.Encoding, "UTF-8") {
			r.warn("bagit.txt", "tag files declared as %s; UTF-8 is recommended", d.Encoding)
		}
		if !strings.EqualFold(d.Encoding, "UTF-8") {
			if enc, err := tagEncoding(d.Encoding); err != nil {
				r.problem(BadDeclaration, "bagit.txt", "unknown Tag-File-Character-Encoding %q", d.Encoding)
			} else {
				v.dec = enc.NewDecoder().Bytes
			}
		}
	}
	decode := r.Declaration.Is1()

	v.walk()

	infoName := "bag-info.txt"
	if _, ok := v.tags[infoName]; !ok && !r.Declaration.at(0, 94) {
		if _, ok := v.tags["package-info.txt"]; ok {
			infoName = "package-info.txt" // the 0.93 name
		}
	}
	if _, ok := v.tags[infoName]; ok {
		v.checkInfo(infoName)
	}

	// Payload manifests.
	var algs []Algorithm
	entries, _ := fs.ReadDir(v.fsys, ".")
	for _, e := range entries {
		n := e.Name()
		if a, ok := strings.CutPrefix(n, "manifest-"); ok && strings.HasSuffix(a, ".txt") {
			algs = append(algs, Algorithm(strings.TrimSuffix(a, ".txt")))
		}
	}
	if len(algs) == 0 {
		r.problem(NoPayloadManifest, "", "no manifest-<algorithm>.txt")
	}
	v.checkFetch(decode)
	// want maps a file to the digests it must have, by algorithm.
	want := map[string]Digests{}
	for _, a := range algs {
		name := "manifest-" + string(a) + ".txt"
		m := v.readManifest(name, a, decode, true, want)
		if m != nil {
			r.Manifests[a] = m
		}
	}
	for p := range r.Payload {
		n := 0
		for _, m := range r.Manifests {
			if _, ok := m[p]; ok {
				n++
			}
		}
		switch {
		case n == 0 && len(r.Manifests) > 0:
			r.problem(ExtraFile, p, "payload file is in no payload manifest")
		case n < len(r.Manifests) && decode:
			r.problem(NotInEveryManifest, p, "payload file is in %d of %d payload manifests", n, len(r.Manifests))
		case n < len(r.Manifests):
			r.warn(p, "payload file is in %d of %d payload manifests", n, len(r.Manifests))
		}
	}
	for _, it := range r.Fetch {
		for a, m := range r.Manifests {
			if _, ok := m[it.Path]; !ok {
				r.problem(BadFetch, it.Path, "fetch.txt line %d: not listed in manifest-%s.txt", it.Line, a)
			}
		}
	}

	// Tag manifests.
	for _, e := range entries {
		n := e.Name()
		a, ok := strings.CutPrefix(n, "tagmanifest-")
		if !ok || !strings.HasSuffix(a, ".txt") {
			continue
		}
		alg := Algorithm(strings.TrimSuffix(a, ".txt"))
		m := v.readManifest(n, alg, decode, false, want)
		if m == nil {
			continue
		}
		for _, pa := range algs {
			pm := "manifest-" + string(pa) + ".txt"
			if _, ok := m[pm]; !ok && decode {
				r.problem(BadTagManifest, n, "does not list payload manifest %s", pm)
			}
		}
		for t := range v.tags {
			if _, ok := m[t]; !ok && !strings.HasPrefix(t, "manifest-") {
				r.warn(t, "tag file is not listed in %s", n)
			}
		}
	}

	v.checkOxum(infoName)
	v.warnLookalikes()

	if v.opts.Fast {
		return
	}
	v.verify(ctx, want)
}

// walk lists payload files and tag files, flagging symlinks and special
// files; nothing is followed.
func (v *validator) walk() {
	r := v.r
	v.tags = map[string]int64{}
	fi, err := fs.Lstat(v.fsys, "data")
	switch {
	case err != nil:
		r.problem(NoPayloadDir, "data", "payload directory missing")
	case fi.Mode()&fs.ModeSymlink != 0:
		r.problem(Symlink, "data", "payload directory is a symlink; not followed")
	case !fi.IsDir():
		r.problem(NoPayloadDir, "data", "is not a directory")
	}
	fs.WalkDir(v.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			r.problem(ReadError, p, "%v", errPlain(err))
			return nil
		}
		if p == "." {
			return nil
		}
		payload := p == "data" || strings.HasPrefix(p, "data/")
		if p == "data" && r.hasProblemAt("data") {
			return fs.SkipDir
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			r.problem(Symlink, p, "symlink in bag; not followed")
			return nil
		case d.IsDir():
			return nil
		case !t.IsRegular():
			r.problem(NotRegular, p, "special file (%s) in bag", t)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			r.problem(ReadError, p, "%v", errPlain(err))
			return nil
		}
		if payload {
			r.Payload[p] = info.Size()
		} else if !strings.HasPrefix(p, "tagmanifest-") || strings.Contains(p, "/") {
			v.tags[p] = info.Size()
		}
		return nil
	})
}

func (r *Report) hasProblemAt(p string) bool {
	for _, x := range r.Problems {
		if x.Path == p {
			return true
		}
	}
	return false
}

func (v *validator) checkInfo(name string) {
	r := v.r
	b, err := v.readTag(name)
	if err != nil {
		r.problem(BadBagInfo, name, "cannot read: %v", errPlain(err))
		return
	}
	info, errs := parseInfo(name, b, !r.Declaration.Is1())
	for _, e := range errs {
		r.problem(BadBagInfo, name, "%v", e)
	}
	r.Info = info
	for _, label := range []string{"Payload-Oxum", "Bagging-Date", "Bag-Size", "Bag-Count", "Bag-Group-Identifier"} {
		if n := len(info.All(label)); n > 1 {
			r.warn(name, "%s appears %d times; it should not be repeated", label, n)
		}
	}
	if d := info.Get("Bagging-Date"); d != "" && !dateRe.MatchString(d) {
		r.warn(name, "Bagging-Date %q is not YYYY-MM-DD", d)
	}
}

var dateRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// readManifest parses one manifest, checks each entry's path and digest,
// and adds the entries to want. Payload manifests may only list data/...,
// tag manifests never data/... nor tag manifests.
func (v *validator) readManifest(name string, a Algorithm, decode, payload bool, want map[string]Digests) map[string]string {
	r := v.r
	kind := BadManifest
	if !payload {
		kind = BadTagManifest
	}
	b, err := v.readTag(name)
	if err != nil {
		r.problem(kind, name, "cannot read: %v", errPlain(err))
		return nil
	}
	hexLen := a.HexLen()
	if hexLen == 0 {
		r.warn(name, "algorithm %q is not supported; its digests are not verified", string(a))
	}
	entries, errs := ParseManifest(name, b, decode)
	for _, e := range errs {
		r.problem(kind, name, "%v", e)
	}
	m := map[string]string{}
	seen := map[string]int{}
	for _, e := range entries {
		// md5sum and sha*sum write "digest *path" for files read in
		// binary mode: the path is what follows the marker.
		if p, ok := strings.CutPrefix(e.Path, "*"); ok && p != "" {
			r.warn(p, "%s line %d: a \"*\" (md5sum's binary-mode marker) before the path", name, e.Line)
			e.Path = p
		}
		// Before 1.0 a path might be written ./data/x (bagit-python and
		// the 0.97 spec take it); 1.0 forbids it.
		if p, ok := strings.CutPrefix(e.Path, "./"); ok && !r.Declaration.Is1() {
			e.Path = p
		}
		if err := CheckPath(e.Path); err != nil {
			r.problem(UnsafePath, e.Path, "%s line %d: %v", name, e.Line, err)
			continue
		}
		if first, dup := seen[e.Path]; dup {
			if m[e.Path] == strings.ToLower(e.Digest) { // the same entry twice: harmless, but not tidy
				r.warn(e.Path, "%s lists it twice with the same digest, on lines %d and %d", name, first, e.Line)
			} else {
				r.problem(DuplicateEntry, e.Path, "%s lists it on lines %d and %d", name, first, e.Line)
			}
			continue
		}
		seen[e.Path] = e.Line
		if payload && systemFile(e.Path) {
			r.warn(e.Path, "%s line %d: an operating system's file (not content) is part of the payload", name, e.Line)
		}
		inData := strings.HasPrefix(e.Path, "data/")
		switch {
		case payload && !inData:
			r.problem(kind, e.Path, "%s line %d: payload manifest lists a file outside data/", name, e.Line)
			continue
		case !payload && inData:
			r.problem(kind, e.Path, "%s line %d: tag manifest lists a payload file", name, e.Line)
			continue
		case !payload && strings.HasPrefix(e.Path, "tagmanifest-") && !strings.Contains(e.Path, "/"):
			r.problem(kind, e.Path, "%s line %d: tag manifest lists a tag manifest", name, e.Line)
			continue
		}
		if hexLen != 0 && len(e.Digest) != hexLen {
			r.problem(kind, e.Path, "%s line %d: %s digest has %d hex digits, want %d", name, e.Line, a, len(e.Digest), hexLen)
			continue
		}
		m[e.Path] = strings.ToLower(e.Digest)
		if payload {
			if _, ok := r.Payload[e.Path]; !ok && !v.inFetch(e.Path) {
				r.problem(MissingFile, e.Path, "listed in %s but not in the bag", name)
			}
		} else if _, ok := v.tags[e.Path]; !ok {
			r.problem(MissingFile, e.Path, "listed in %s but not in the bag", name)
		}
		if hexLen != 0 {
			if want[e.Path] == nil {
				want[e.Path] = Digests{}
			}
			want[e.Path][a] = m[e.Path]
		}
	}
	return m
}

// tagEncoding is the encoding a bag declares its tag files in. UTF-16
// files carry a byte-order mark, which decides their byte order (the web's
// label table would read them as little-endian whatever their mark).
func tagEncoding(name string) (encoding.Encoding, error) {
	switch strings.ToUpper(name) {
	case "UTF-16", "UTF-16BE":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), nil
	case "UTF-16LE":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	}
	return htmlindex.Get(name)
}

// systemFile reports whether a payload path names a file an operating
// system leaves in folders (Finder's .DS_Store, Explorer's Thumbs.db, a
// resource fork): valid in a bag, but rarely meant to be preserved.
func systemFile(p string) bool {
	base := path.Base(p)
	switch strings.ToLower(base) {
	case ".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini":
		return true
	}
	return strings.HasPrefix(base, "._") || strings.Contains(p, "/__MACOSX/")
}

func (v *validator) inFetch(p string) bool {
	for _, f := range v.r.Fetch {
		if f.Path == p {
			return true
		}
	}
	return false
}

// checkFetch parses fetch.txt. Items listed there and absent from the bag
// make it incomplete: strongroom never fetches unless asked (see Fetch).
func (v *validator) checkFetch(decode bool) {
	r := v.r
	if _, ok := v.tags["fetch.txt"]; !ok {
		return
	}
	b, err := v.readTag("fetch.txt")
	if err != nil {
		r.problem(BadFetch, "fetch.txt", "cannot read: %v", errPlain(err))
		return
	}
	items, errs := ParseFetch(b, decode)
	for _, e := range errs {
		r.problem(BadFetch, "fetch.txt", "%v", e)
	}
	for _, it := range items {
		switch err := CheckPath(it.Path); {
		case err != nil:
			r.problem(UnsafePath, it.Path, "fetch.txt line %d: %v", it.Line, err)
			continue
		case !strings.HasPrefix(it.Path, "data/"):
			r.problem(BadFetch, it.Path, "fetch.txt line %d: path outside data/", it.Line)
			continue
		}
		r.Fetch = append(r.Fetch, it)
		size, present := r.Payload[it.Path]
		switch {
		case !present:
			r.problem(MissingFile, it.Path, "listed in fetch.txt and not fetched")
		case it.Length >= 0 && size != it.Length:
			r.problem(BadFetch, it.Path, "fetch.txt says %d bytes, file has %d", it.Length, size)
		}
	}
}

func (v *validator) checkOxum(infoName string) {
	r := v.r
	if r.Info == nil {
		return
	}
	ox := r.Info.Get("Payload-Oxum")
	if ox == "" {
		return
	}
	octets, streams, err := ParseOxum(ox)
	if err != nil {
		r.problem(BadBagInfo, infoName, "%v", err)
		return
	}
	var n int64
	for _, s := range r.Payload {
		n += s
	}
	if octets != n || streams != int64(len(r.Payload)) {
		r.problem(OxumMismatch, infoName, "Payload-Oxum %s, payload has %d.%d", ox, n, len(r.Payload))
	}
}

// warnLookalikes warns about payload names that differ only in case or in
// Unicode normalisation: they collide on macOS, Windows and many tools.
func (v *validator) warnLookalikes() {
	byFold := map[string][]string{}
	for p := range v.r.Payload {
		k := strings.ToLower(norm.NFC.String(p))
		byFold[k] = append(byFold[k], p)
	}
	for _, ps := range byFold {
		if len(ps) < 2 {
			continue
		}
		sort.Strings(ps)
		why := "differ only in case"
		if norm.NFC.String(ps[0]) == norm.NFC.String(ps[1]) {
			why = "differ only in Unicode normalisation"
		}
		v.r.warn(ps[0], "%q and %q %s", ps[0], ps[1], why)
	}
}

// verify reads every listed file once, computing all its manifests'
// digests in that read, with a few files in flight at once.
func (v *validator) verify(ctx context.Context, want map[string]Digests) {
	r := v.r
	names := make([]string, 0, len(want))
	for n := range want {
		if _, ok := r.Payload[n]; ok {
			names = append(names, n)
		} else if _, ok := v.tags[n]; ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(v.opts.Workers)
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			var err error
			defer func() {
				if err != nil { // a panic, told as this file's problem
					mu.Lock()
					r.Problems = append(r.Problems, Problem{ReadError, n, err.Error()})
					mu.Unlock()
				}
			}()
			defer recovered(&err)
			probs := v.verifyFile(ctx, n, want[n])
			mu.Lock()
			defer mu.Unlock()
			r.Problems = append(r.Problems, probs...)
			r.Checked++
			return nil
		})
	}
	g.Wait()
}

func (v *validator) verifyFile(ctx context.Context, name string, want Digests) []Problem {
	algs := make([]Algorithm, 0, len(want))
	for a := range want {
		algs = append(algs, a)
	}
	sort.Slice(algs, func(i, j int) bool { return algs[i] < algs[j] })
	f, err := v.fsys.Open(name)
	if err != nil {
		return []Problem{{ReadError, name, errPlain(err).Error()}}
	}
	defer f.Close()
	got, _, err := Copy(ctx, nil, f, algs)
	if err != nil {
		return []Problem{{ReadError, name, errPlain(err).Error()}}
	}
	var out []Problem
	for _, a := range algs {
		if got[a] != want[a] {
			out = append(out, Problem{DigestMismatch, name, fmt.Sprintf("%s is %s, manifest says %s", a, got[a], want[a])})
		}
	}
	return out
}

// errPlain drops the *PathError wrapper whose path is relative to the bag
// and would repeat the file name we already print.
func errPlain(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// recovered turns a panic on this goroutine into *err: on a goroutine of
// its own, a panic is out of reach of the caller's recover and would end
// the daemon, not the item.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error (a panic, reported): %v\n%s", r, debug.Stack())
	}
}
