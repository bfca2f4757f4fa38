package pdfa

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// source reads a PDF for copying.
func source(t *testing.T, path string) *Source {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, err := api.ReadContext(f, pdfread.Config(pdfread.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		t.Fatal(err)
	}
	return NewSource(ctx)
}

// copyPages writes pages of src into a new access copy, each with the
// word "Probe" over its top left quarter, and returns its path.
func copyPages(t *testing.T, src *Source, rotate int, pages ...int) string {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, Options{Title: "copy", Creator: "t", Font: glyphless(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range pages {
		cp, err := src.Page(n)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if err := w.AddPage(Page{Copy: cp, Rotate: cp.Rotate + rotate, Words: []Word{{Text: "Probe", X0: 100, Y0: 100, X1: 500, Y1: 200}}, TextWidth: 1000, TextHeight: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "copy.pdf")
	os.WriteFile(p, out.Bytes(), 0o644)
	return p
}

// render returns page 1 of a PDF as poppler draws it, in grey.
func render(t *testing.T, path string, dpi int) *image.Gray {
	t.Helper()
	dir := t.TempDir()
	tool(t, "pdftoppm", "-r", strconv.Itoa(dpi), "-gray", "-png", "-f", "1", "-l", "1", path, filepath.Join(dir, "p"))
	m, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	if len(m) != 1 {
		t.Fatalf("pdftoppm made %v", m)
	}
	f, _ := os.Open(m[0])
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			g.Set(x, y, color.GrayModel.Convert(img.At(x, y)))
		}
	}
	return g
}

// meanDiff is the mean absolute difference of two grey images of one size.
func meanDiff(t *testing.T, a, b *image.Gray) float64 {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("sizes differ: %v, %v", a.Bounds(), b.Bounds())
	}
	var sum float64
	for i := range a.Pix {
		sum += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return sum / float64(len(a.Pix))
}

// TestCopyScannerPDFs: the pages of real scanners' PDFs (JBIG2 with
// globals, CCITT, JPEG 2000, several images with masks) are copied with
// their own image streams: the copy passes the checker, strict, and qpdf,
// renders like the original, is at most a little larger, and carries the
// text layer.
func TestCopyScannerPDFs(t *testing.T) {
	dir := testenv.Shared(t, "testdata/scanner-pdfs")
	for _, name := range []string{"jbig2.pdf", "ccitt.pdf", "lichtenstein.pdf", "masks.pdf"} {
		t.Run(name, func(t *testing.T) {
			orig := filepath.Join(dir, name)
			cp := copyPages(t, source(t, orig), 0, 1)
			rep, err := Check(cp, CheckOptions{Strict: true})
			if err != nil || !rep.Valid() {
				t.Fatalf("%v %v", err, rep.Err())
			}
			tool(t, "qpdf", "--check", cp)
			if d := meanDiff(t, render(t, orig, 40), render(t, cp, 40)); d > 0.5 {
				t.Errorf("renders differently from the original: mean difference %.2f", d)
			}
			a, _ := os.Stat(orig)
			b, _ := os.Stat(cp)
			if ratio := float64(b.Size()) / float64(a.Size()); ratio > 1.5 {
				t.Errorf("copy is %.2f× the original (%d bytes, %d)", ratio, b.Size(), a.Size())
			}
			if txt := tool(t, "pdftotext", cp, "-"); !strings.Contains(txt, "Probe") {
				t.Errorf("pdftotext: %q", txt)
			}
		})
	}
}

var bboxRe = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">|<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">Probe</word>`)

// TestCopyRotated: the text layer of a copied page lands where the words
// are on the page as shown, whatever the source's /Rotate and the turn
// added for a page scanned sideways, and whatever its boxes' origin.
func TestCopyRotated(t *testing.T) {
	dir := testenv.Shared(t, "testdata/scanner-pdfs")
	for _, src := range []int{0, 90, 270} {
		for _, extra := range []int{0, 90, 180, 270} {
			t.Run(fmt.Sprintf("rotate%d+%d", src, extra), func(t *testing.T) {
				in := filepath.Join(dir, "jbig2.pdf")
				if src != 0 {
					in = filepath.Join(t.TempDir(), "rot.pdf")
					tool(t, "qpdf", fmt.Sprintf("--rotate=+%d", src), filepath.Join(dir, "jbig2.pdf"), in)
				}
				cp := copyPages(t, source(t, in), extra, 1)
				out := tool(t, "pdftotext", "-bbox", cp, "-")
				m := bboxRe.FindAllStringSubmatch(out, -1)
				if len(m) != 2 {
					t.Fatalf("pdftotext -bbox: %s", out)
				}
				pw, _ := strconv.ParseFloat(m[0][1], 64)
				ph, _ := strconv.ParseFloat(m[0][2], 64)
				if (src+extra)%180 != 0 { // pdftotext gives the unturned size, the words as shown
					pw, ph = ph, pw
				}
				x0, _ := strconv.ParseFloat(m[1][3], 64)
				y1, _ := strconv.ParseFloat(m[1][6], 64)
				// The word's box, 100 to 200 of 1000 down the page as shown.
				if math.Abs(x0-0.1*pw) > 0.02*pw || math.Abs(y1-0.2*ph) > 0.03*ph {
					t.Errorf("word at x %.0f, bottom %.0f of a %.0f×%.0f page; want %.0f, %.0f", x0, y1, pw, ph, 0.1*pw, 0.2*ph)
				}
			})
		}
	}
}

// rawPDF writes a one-page PDF from object texts; objects 1 and 2 are the
// catalog and page tree, 3 the page, the rest as given (numbered from 4).
func rawPDF(t *testing.T, page string, objs ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "raw.pdf")
	all := append([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page}, objs...)
	if err := os.WriteFile(p, testenv.PDF(all...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCopyMendsOrRefuses: what can be mended on the way is (Interpolate,
// LZW, a form without resources of its own), what cannot makes the page
// not copyable, with the reason.
func TestCopyMendsOrRefuses(t *testing.T) {
	grey := testenv.Stream("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Interpolate true", "\x80\x80\x80\x80")
	page := func(res, contents string) string {
		return fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources %s /Contents %s >>", res, contents)
	}
	lzw := lzwStream(t, []byte("\x00\xff\xff\x00"))
	for _, c := range []struct {
		name    string
		path    string
		refused string // "" if the page copies
	}{
		{"interpolate", rawPDF(t, page("<< /XObject << /I 4 0 R >> >>", "5 0 R"), grey, testenv.Stream("", "q 200 0 0 200 0 0 cm /I Do Q")), ""},
		{"lzw", rawPDF(t, page("<< /XObject << /I 4 0 R >> >>", "5 0 R"),
			testenv.Stream("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /LZWDecode", string(lzw)),
			testenv.Stream("", "q 200 0 0 200 0 0 cm /I Do Q")), ""},
		{"form without resources", rawPDF(t, page("<< /XObject << /I 4 0 R /F 6 0 R >> >>", "5 0 R"), grey, testenv.Stream("", "/F Do"),
			testenv.Stream("/Type /XObject /Subtype /Form /BBox [0 0 200 200]", "q 200 0 0 200 0 0 cm /I Do Q")), ""},
		{"vector only", rawPDF(t, page("<< >>", "4 0 R"), testenv.Stream("", "0.5 g 10 10 100 100 re f")), ""},
		{"cmyk image", rawPDF(t, page("<< /XObject << /I 4 0 R >> >>", "5 0 R"),
			testenv.Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceCMYK /BitsPerComponent 8", "\x00\x00\x00\xff"),
			testenv.Stream("", "q 200 0 0 200 0 0 cm /I Do Q")), "DeviceCMYK"},
		{"cmyk operator", rawPDF(t, page("<< >>", "4 0 R"), testenv.Stream("", "0 0 0 1 k 10 10 100 100 re f")), "DeviceCMYK"},
		{"unknown operator", rawPDF(t, page("<< >>", "4 0 R"), testenv.Stream("", "10 10 100 100 re zap f")), "zap"},
		{"optional content", rawPDF(t, page("<< /XObject << /I 4 0 R >> >>", "5 0 R"),
			testenv.Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /OC 6 0 R", "\x00"),
			testenv.Stream("", "/I Do"), "<< /Type /OCG /Name (x) >>"), "optional content"},
		{"transfer function", rawPDF(t, page("<< /ExtGState << /G 4 0 R >> >>", "5 0 R"), "<< /TR /Identity >>", testenv.Stream("", "/G gs 0 g 0 0 9 9 re f")), "TR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := source(t, c.path)
			_, err := src.Page(1)
			if c.refused != "" {
				if !errors.Is(err, ErrNotCopyable) || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("want not copyable for %q, got %v", c.refused, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cp := copyPages(t, src, 0, 1)
			if rep, err := Check(cp, CheckOptions{Strict: true}); err != nil || !rep.Valid() {
				t.Fatalf("%v %v", err, rep.Err())
			}
			tool(t, "qpdf", "--check", cp)
			if d := meanDiff(t, render(t, c.path, 20), render(t, cp, 20)); d > 0.5 {
				t.Errorf("renders differently: %.2f", d)
			}
		})
	}
}

// lzwStream LZW-encodes data as old scanners' PDFs hold it (no tool here
// writes LZW any more): a clear code, each byte as its own 9-bit code,
// then end of data: valid LZW any decoder reads, if not compressed.
func lzwStream(t *testing.T, data []byte) []byte {
	t.Helper()
	codes := []int{256}
	for _, b := range data {
		codes = append(codes, int(b))
	}
	codes = append(codes, 257)
	var out []byte
	var acc, n uint
	for _, c := range codes {
		acc = acc<<9 | uint(c)
		n += 9
		for n >= 8 {
			out = append(out, byte(acc>>(n-8)))
			n -= 8
		}
	}
	if n > 0 {
		out = append(out, byte(acc<<(8-n)))
	}
	return out
}
