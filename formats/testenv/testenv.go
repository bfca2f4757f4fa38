// Package testenv holds the one rule tests follow for what lives outside
// the repository (Debian tools, Tesseract's data, shared/ beside the
// clone): on a laptop a missing piece skips the test; in CI (CI=true),
// where scripts/deps installs everything, it fails it.
package testenv

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Missing skips t, or fails it when CI=true, saying what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: nothing may be skipped; scripts/deps and scripts/s3-servers install what tests need)")
	}
	t.Skip(msg)
}

// Tool returns the path of command name, or calls Missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "command %s is not installed", name)
	}
	return p
}

// Shared finds sub (e.g. "schemas") in the project's shared folder beside
// the repository: $STRONGROOM_SHARED, or a "shared" folder next to the
// working directory or any of its parents. It calls Missing when there is
// none.
func Shared(t testing.TB, sub string) string {
	t.Helper()
	if p := SharedDir(sub); p != "" {
		return p
	}
	Missing(t, "shared/%s not found beside the repository", sub)
	return ""
}

// SharedDir is Shared without a test: "" when there is none.
func SharedDir(sub string) string {
	if s := os.Getenv("STRONGROOM_SHARED"); s != "" {
		if p := filepath.Join(s, sub); isDir(p) {
			return p
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if p := filepath.Join(d, "shared", sub); isDir(p) {
			return p
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Convert returns ImageMagick's convert: Debian's own binary where it is
// installed (convert-im6.q16; a "convert" earlier on PATH may be a slower
// stand-in), else convert, which must be ImageMagick.
func Convert(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("convert-im6.q16"); err == nil {
		return p
	}
	p := Tool(t, "convert")
	if v, _ := exec.Command(p, "-version").Output(); !strings.Contains(string(v), "ImageMagick") {
		Missing(t, "ImageMagick is not installed (%s is something else)", p)
	}
	return p
}

// PDFiumCache is where tests keep PDFium's compiled code between worker
// processes and test runs (compiling it takes seconds).
func PDFiumCache() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("strongroom-test-pdfium-%d", os.Getuid()))
}

// PDF writes a PDF from object texts, numbered from 1 in order; object 1
// is the catalog. The cross-reference table and trailer are made here, so
// a test can write exactly the objects it is about.
func PDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /ID [<01> <01>] >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// Stream is the text of a stream object: dict (without Length) and data.
func Stream[T string | []byte](dict string, data T) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// Long marks t as part of the long tier: trials that repeat what a fast
// test already covers once (kill -9 trials, long-step trials, the memory
// budget, the full input matrix, every rotation). It runs when
// STRONGROOM_LONG=1, as scripts/test (and so CI) sets; scripts/test-fast
// leaves it out.
func Long(t testing.TB) {
	t.Helper()
	if !LongTier() {
		t.Skip("long tier: set STRONGROOM_LONG=1 (scripts/test does)")
	}
}

// LongTier reports whether the long tier runs.
func LongTier() bool { return os.Getenv("STRONGROOM_LONG") == "1" }

// Flate is n bytes of b, zlib-compressed (a PDF's FlateDecode), made a
// MiB at a time: a hostile PDF's 255 MiB stream costs 260 KB on disk and
// never 255 MiB in the test.
func Flate(b byte, n int) []byte {
	var out bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&out, zlib.BestSpeed)
	chunk := bytes.Repeat([]byte{b}, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		zw.Write(chunk[:k])
		n -= k
	}
	zw.Close()
	return out.Bytes()
}

// BlankPDF is a one-page PDF whose content streams are each n bytes of
// spaces: valid (qpdf, Ghostscript and pdftotext take it), large to read.
func BlankPDF(n int, streams int) []byte {
	refs := make([]string, streams)
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", ""}
	for i := range streams {
		refs[i] = fmt.Sprintf("%d 0 R", 4+i)
		objs = append(objs, Stream("/Filter /FlateDecode", Flate(' ', n)))
	}
	objs[2] = fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [%s] >>", strings.Join(refs, " "))
	return PDF(objs...)
}

// ImagePDF is a one-page PDF filling a page of w×h pixels at dpi with one
// image: dict names its colour space and filter (e.g. "/ColorSpace
// /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode"), data its bytes.
func ImagePDF(w, h int, dpi float64, dict string, data []byte) []byte {
	pw, ph := float64(w)*72/dpi, float64(h)*72/dpi
	return PDF("<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>", pw, ph),
		Stream("", fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", pw, ph)),
		Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d %s", w, h, dict), data))
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// NotSnakeCase lists the keys of a decoded JSON value, at any depth, that
// are not snake_case, except inside the maps named in data (maps whose keys
// are data, not fields: bag-info labels, MIME types).
func NotSnakeCase(v any, data ...string) []string {
	return notSnake(v, "", data)
}

func notSnake(v any, at string, data []string) []string {
	var bad []string
	switch v := v.(type) {
	case map[string]any:
		if slices.Contains(data, at) {
			return nil
		}
		for k, x := range v {
			if !snakeCase.MatchString(k) {
				bad = append(bad, at+"."+k)
			}
			bad = append(bad, notSnake(x, k, data)...)
		}
	case []any:
		for _, x := range v {
			bad = append(bad, notSnake(x, at, data)...)
		}
	}
	return bad
}

// RampPNG writes a w×30 grey PNG of a ramp at p, making its folder: a
// small page whose bytes differ with its width (distinct digests).
func RampPNG(t testing.TB, p string, w int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 3)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TesseractBox is Tesseract's own box for word on the page image at p
// (from its TSV output): what a test compares the boxes strongroom shows
// with.
func TesseractBox(t testing.TB, p, word string) (x, y, w, h int) {
	t.Helper()
	out, err := exec.Command(Tool(t, "tesseract"), p, "-", "tsv").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 12 && f[0] == "5" && f[11] == word {
			v := func(i int) int { n, _ := strconv.Atoi(f[i]); return n }
			return v(6), v(7), v(8), v(9)
		}
	}
	t.Fatalf("tesseract does not see %q on %s", word, p)
	return
}
