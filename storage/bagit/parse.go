package bagit

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every parse error of a tag file.
var ErrSyntax = errors.New("syntax error")

func syntaxErr(file string, line int, format string, args ...any) error {
	return fmt.Errorf("%s line %d: %w: %s", file, line, ErrSyntax, fmt.Sprintf(format, args...))
}

// splitLines splits on LF, CR and CRLF, the three line endings RFC 8493
// allows in tag files. A final line without terminator is kept; the empty
// string after a trailing terminator is not. Lines may be of any length.
func splitLines(b []byte) []string {
	var lines []string
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			lines = append(lines, string(b))
			break
		}
		lines = append(lines, string(b[:i]))
		if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i++
		}
		b = b[i+1:]
	}
	return lines
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

var versionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// Declaration is the content of bagit.txt.
type Declaration struct {
	Version  string // "1.0", "0.97", ...
	Encoding string // Tag-File-Character-Encoding
}

// Major and minor of the version, for comparisons.
func (d Declaration) at(major, minor int) bool {
	ma, mi, _ := strings.Cut(d.Version, ".")
	a, _ := strconv.Atoi(ma)
	b, _ := strconv.Atoi(mi)
	return a > major || (a == major && b >= minor)
}

// Is1 reports whether the bag declares BagIt 1.0 or later, whose rules are
// applied strictly.
func (d Declaration) Is1() bool { return d.at(1, 0) }

// ParseDeclaration parses bagit.txt. A 1.0 declaration must be exactly the
// two lines of RFC 8493 §2.1.1, in that order, in UTF-8 without a BOM;
// older drafts get the leniency their writers needed (any order, a BOM).
func ParseDeclaration(b []byte) (Declaration, []string, error) {
	var warns []string
	const name = "bagit.txt"
	hadBOM := bytes.HasPrefix(b, utf8BOM)
	b = bytes.TrimPrefix(b, utf8BOM)
	if !utf8.Valid(b) {
		return Declaration{}, nil, syntaxErr(name, 1, "not UTF-8")
	}
	lines := splitLines(b)
	var d Declaration
	var order []string
	for i, l := range lines {
		label, value, ok := strings.Cut(l, ": ")
		if !ok {
			return d, nil, syntaxErr(name, i+1, "want \"Label: value\", got %q", l)
		}
		switch label {
		case "BagIt-Version":
			if d.Version != "" {
				return d, nil, syntaxErr(name, i+1, "BagIt-Version repeated")
			}
			d.Version = value
		case "Tag-File-Character-Encoding":
			if d.Encoding != "" {
				return d, nil, syntaxErr(name, i+1, "Tag-File-Character-Encoding repeated")
			}
			d.Encoding = value
		default:
			return d, nil, syntaxErr(name, i+1, "unknown label %q", label)
		}
		order = append(order, label)
	}
	if d.Version == "" {
		return d, nil, syntaxErr(name, len(lines), "BagIt-Version missing")
	}
	if !versionRe.MatchString(d.Version) {
		return d, nil, syntaxErr(name, 1, "BagIt-Version %q is not M.N", d.Version)
	}
	if d.Encoding == "" {
		return d, nil, syntaxErr(name, len(lines), "Tag-File-Character-Encoding missing")
	}
	if d.Is1() {
		if hadBOM {
			return d, nil, syntaxErr(name, 1, "byte-order mark not allowed in BagIt 1.0")
		}
		if order[0] != "BagIt-Version" {
			return d, nil, syntaxErr(name, 1, "BagIt-Version must be the first line")
		}
	} else if hadBOM {
		// bagit.txt is UTF-8 without a BOM in every version (0.97 §2.2.2
		// too): bagit-python refuses it, and so do we.
		return d, nil, syntaxErr(name, 1, "byte-order mark not allowed")
	}
	return d, warns, nil
}

// Entry is one line of a manifest.
type Entry struct {
	Digest string // as written (either case)
	Path   string // decoded, slash-separated, relative to the bag root
	Line   int
}

// ParseManifest parses a payload or tag manifest: "digest<ws>path" per line,
// one or more spaces or tabs between. Paths of 1.0 bags are percent-decoded.
// It reports syntax problems per line and keeps going, so that a validator
// can list all of them.
func ParseManifest(name string, b []byte, decode bool) ([]Entry, []error) {
	var out []Entry
	var errs []error
	for i, l := range splitLines(b) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		j := strings.IndexAny(l, " \t")
		if j <= 0 {
			errs = append(errs, syntaxErr(name, i+1, "want \"digest path\", got %q", truncate(l)))
			continue
		}
		digest := l[:j]
		p := strings.TrimLeft(l[j:], " \t")
		if p == "" {
			errs = append(errs, syntaxErr(name, i+1, "no path after digest"))
			continue
		}
		if !isHex(digest) {
			errs = append(errs, syntaxErr(name, i+1, "digest %q is not hex", truncate(digest)))
			continue
		}
		if decode {
			p = DecodePath(p)
		}
		out = append(out, Entry{Digest: digest, Path: p, Line: i + 1})
	}
	return out, errs
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Field is one metadata element of bag-info.txt.
type Field struct {
	Label, Value string
}

// Info is bag-info.txt: an ordered list of fields, labels may repeat.
type Info struct {
	Fields []Field
}

// Get returns the first value for label (case-insensitive), or "".
func (in *Info) Get(label string) string {
	for _, f := range in.Fields {
		if strings.EqualFold(f.Label, label) {
			return f.Value
		}
	}
	return ""
}

// All returns every value for label (case-insensitive), in order.
func (in *Info) All(label string) []string {
	var vs []string
	for _, f := range in.Fields {
		if strings.EqualFold(f.Label, label) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Add appends a field; labels may repeat.
func (in *Info) Add(label, value string) { in.Fields = append(in.Fields, Field{label, value}) }

// Set replaces every field named label with one, or appends it.
func (in *Info) Set(label, value string) {
	for i, f := range in.Fields {
		if strings.EqualFold(f.Label, label) {
			in.Fields[i].Value = value
			in.Fields = append(in.Fields[:i+1], deleteLabel(in.Fields[i+1:], label)...)
			return
		}
	}
	in.Add(label, value)
}

func deleteLabel(fs []Field, label string) []Field {
	out := fs[:0]
	for _, f := range fs {
		if !strings.EqualFold(f.Label, label) {
			out = append(out, f)
		}
	}
	return out
}

// ParseInfo parses bag-info.txt (RFC 8493 §2.2.2): "Label: value" lines,
// a value continued on lines that start with a space or tab. Continuation
// lines are joined with a single space, the inverse of how Info.Marshal folds.
func ParseInfo(name string, b []byte) (*Info, []error) { return parseInfo(name, b, false) }

// parseInfo is ParseInfo; lenient takes white space around a label, as
// bags before 1.0 may have it (0.97: "Test-Tag : 3").
func parseInfo(name string, b []byte, lenient bool) (*Info, []error) {
	in := &Info{}
	var errs []error
	for i, l := range splitLines(b) {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(in.Fields) == 0 {
				errs = append(errs, syntaxErr(name, i+1, "continuation line before any label"))
				continue
			}
			f := &in.Fields[len(in.Fields)-1]
			f.Value += " " + strings.TrimLeft(l, " \t")
			continue
		}
		label, value, ok := strings.Cut(l, ":")
		if !ok {
			errs = append(errs, syntaxErr(name, i+1, "want \"Label: value\", got %q", truncate(l)))
			continue
		}
		if strings.TrimSpace(label) == "" {
			errs = append(errs, syntaxErr(name, i+1, "empty label"))
			continue
		}
		if label != strings.TrimSpace(label) {
			if !lenient {
				errs = append(errs, syntaxErr(name, i+1, "label %q has surrounding white space", label))
				continue
			}
			label = strings.TrimSpace(label)
		}
		in.Add(label, strings.TrimLeft(value, " \t"))
	}
	return in, errs
}

// ParseOxum parses a Payload-Oxum value "OctetCount.StreamCount".
func ParseOxum(s string) (octets, streams int64, err error) {
	a, b, ok := strings.Cut(s, ".")
	if ok {
		octets, err = strconv.ParseInt(a, 10, 64)
		if err == nil {
			streams, err = strconv.ParseInt(b, 10, 64)
		}
	}
	if !ok || err != nil || octets < 0 || streams < 0 {
		return 0, 0, fmt.Errorf("Payload-Oxum %q is not OctetCount.StreamCount", s)
	}
	return octets, streams, nil
}

// FetchItem is one line of fetch.txt.
type FetchItem struct {
	URL    string
	Length int64 // -1 when written as "-"
	Path   string
	Line   int
}

// ParseFetch parses fetch.txt: "url length path" per line (RFC 8493 §2.2.3).
// URLs must be absolute; the checks on paths happen in the validator.
func ParseFetch(b []byte, decode bool) ([]FetchItem, []error) {
	var out []FetchItem
	var errs []error
	for i, l := range splitLines(b) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		fields := strings.SplitN(l, " ", 3)
		if len(fields) != 3 {
			fields = strings.Fields(l)
			if len(fields) < 3 {
				errs = append(errs, syntaxErr("fetch.txt", i+1, "want \"url length path\", got %q", truncate(l)))
				continue
			}
			fields = []string{fields[0], fields[1], strings.Join(fields[2:], " ")}
		}
		it := FetchItem{URL: fields[0], Path: fields[2], Line: i + 1, Length: -1}
		if decode {
			it.Path = DecodePath(it.Path)
		}
		if !isAbsoluteURL(it.URL) {
			errs = append(errs, syntaxErr("fetch.txt", i+1, "URL %q is not absolute", truncate(it.URL)))
			continue
		}
		if fields[1] != "-" {
			n, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || n < 0 {
				errs = append(errs, syntaxErr("fetch.txt", i+1, "length %q is neither a number nor -", fields[1]))
				continue
			}
			it.Length = n
		}
		out = append(out, it)
	}
	return out, errs
}

var schemeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://[^/\s]`)

func isAbsoluteURL(u string) bool { return schemeRe.MatchString(u) }
