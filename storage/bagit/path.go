package bagit

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnsafePath is wrapped by every error about a path that could reach
// outside a bag, whether it came from a manifest, fetch.txt or a caller.
var ErrUnsafePath = errors.New("unsafe path")

// CheckPath reports whether p, a slash-separated path read from a manifest,
// fetch.txt or an upload, stays inside the bag: relative, no "." or ".."
// segments, no "~" home prefix, no drive letter, no backslash tricks, no NUL,
// valid UTF-8. It never touches the file system; symlinks are checked where
// files are opened.
func CheckPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrUnsafePath, p, why) }
	switch {
	case p == "":
		return bad("empty")
	case !utf8.ValidString(p):
		return bad("not UTF-8")
	case strings.ContainsRune(p, 0):
		return bad("contains NUL")
	case p[0] == '/' || p[0] == '\\':
		return bad("absolute")
	case p[0] == '~':
		return bad("starts with ~")
	case len(p) >= 2 && p[1] == ':' && isASCIILetter(p[0]):
		return bad("has a drive letter")
	}
	// Backslash is a legal file name character on POSIX, but a Windows tool
	// would treat it as a separator, so ".." between backslashes counts too.
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." || seg == "." {
			return bad("has a " + seg + " segment")
		}
	}
	if strings.Contains(p, "//") || strings.HasSuffix(p, "/") {
		return bad("has an empty segment")
	}
	return nil
}

func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// EncodePath percent-encodes the three characters RFC 8493 §2.1.3 requires
// in a 1.0 manifest path: CR, LF and "%". Nothing else is touched.
func EncodePath(p string) string {
	if !strings.ContainsAny(p, "\r\n%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			b.WriteString("%25")
		case '\r':
			b.WriteString("%0D")
		case '\n':
			b.WriteString("%0A")
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// DecodePath reverses EncodePath. Only %25, %0D and %0A (either case) are
// decoded: any other "%XY" stays as written, because a 1.0 writer would
// have encoded a literal "%" as %25.
func DecodePath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			switch strings.ToUpper(p[i+1 : i+3]) {
			case "25":
				b.WriteByte('%')
				i += 2
				continue
			case "0D":
				b.WriteByte('\r')
				i += 2
				continue
			case "0A":
				b.WriteByte('\n')
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
