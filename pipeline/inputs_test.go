package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr/ocrtest"
	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// What scanners and digitisation studios write, and what goes wrong with
// it, made here with the tools that write it (ImageMagick, libtiff's tools,
// OpenJPEG, img2pdf, qpdf, Ghostscript) or taken from shared/testdata; each
// goes through the whole pipeline, and the bag is checked.

// outcome is how an input should end.
type outcome int

const (
	withCopy outcome = iota // stored, with an access copy
	noCopy                  // stored with its originals, without an access copy (event + alert)
	failed                  // the item fails, with a reason naming the file (and page)
)

// inputCase is one input.
type inputCase struct {
	name string
	// make writes the input (a file or a folder) into dir and returns it.
	make func(t *testing.T, dir string) string
	want outcome
	says string // in the failure's reason, or the no-access-copy event
	// known says the input holds the test page's text, upright: the
	// access copy must give it back, on the right spot of the page.
	known bool
	// words the access copy must hold (inputs from shared/testdata).
	words []string
	// within is the largest access copy / original size ratio (0: any).
	within float64
	pages  int  // pages of known text (0: 1)
	full   bool // the known text is the full sheet's
}

// knownLines are the short test page's lines of text.
var knownLines = testpage.Text[:3]

// sheet is the test page's size: short (three lines, 8.27 × 2.3 inches)
// keeps OCR quick; full (eight lines on A4) is what orientation detection
// needs to tell which way up a page is, and what a real page weighs.
type sheet bool

const short, full sheet = false, true

// testPage is a page of known text (the text an inch from the left and
// top edge), as a scanner gives it in grey, or on cream paper in colour.
func testPage(dpi float64, colour bool, size sheet) image.Image {
	lines, h := knownLines, int(dpi*2.3)
	if size == full {
		lines, h = testpage.Text, int(dpi*11.69)
	}
	page := testpage.Render(lines, testpage.Options{DPI: dpi, PointSize: 14, Noise: 0.0005, Seed: 9})
	grey := page.SubImage(image.Rect(0, 0, page.Bounds().Dx(), h)).(*image.Gray)
	if !colour {
		out := image.NewGray(image.Rect(0, 0, grey.Bounds().Dx(), h))
		for y := range h {
			copy(out.Pix[y*out.Stride:], grey.Pix[y*grey.Stride:y*grey.Stride+out.Stride])
		}
		return out
	}
	out := image.NewRGBA(image.Rect(0, 0, grey.Bounds().Dx(), h))
	paper, ink := color.RGBA{255, 248, 225, 255}, color.RGBA{20, 30, 90, 255}
	for y := range h {
		for x := range out.Bounds().Dx() {
			v := float64(grey.GrayAt(x, y).Y) / 255
			mix := func(a, b uint8) uint8 { return uint8(float64(a)*v + float64(b)*(1-v)) }
			out.SetRGBA(x, y, color.RGBA{mix(paper.R, ink.R), mix(paper.G, ink.G), mix(paper.B, ink.B), 255})
		}
	}
	return out
}

// pagePNG writes the test page as a PNG with its resolution.
func pagePNG(t *testing.T, dir string, dpi float64, colour bool, size sheet) string {
	t.Helper()
	var b bytes.Buffer
	png.Encode(&b, testPage(dpi, colour, size))
	p := filepath.Join(dir, fmt.Sprintf("page-%g-%v-%v.png", dpi, colour, size))
	return put(t, p, withPHYs(b.Bytes(), uint32(dpi/0.0254+0.5)))
}

// magick writes out from the short test page with ImageMagick.
func magick(dpi float64, colour bool, out string, args ...string) func(*testing.T, string) string {
	return magickSheet(short, dpi, colour, out, args...)
}

func magickSheet(size sheet, dpi float64, colour bool, out string, args ...string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, out)
		run(t, testenv.Convert(t), append(append([]string{pagePNG(t, dir, dpi, colour, size)}, args...), p)...)
		return p
	}
}

// then runs a tool on what first wrote: {in} and {out} in args are
// replaced by its input and output.
func then(first func(*testing.T, string) string, out string, tool string, args ...string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		in := first(t, dir)
		p := filepath.Join(dir, out)
		r := strings.NewReplacer("{in}", in, "{out}", p)
		a := make([]string, len(args))
		for i, s := range args {
			a[i] = r.Replace(s)
		}
		run(t, tool, a...)
		return p
	}
}

func shared(name string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		return filepath.Join(testenv.Shared(t, "testdata/scanner-pdfs"), name)
	}
}

// inputPolicy is the embedded defaults' format policy, in short.
func inputPolicy() identify.Policy {
	n := identify.Normalise
	return identify.Policy{
		PUID: map[string]identify.Action{"fmt/353": n, "fmt/43": n, "fmt/44": n, "fmt/645": n, "fmt/11": n, "fmt/12": n, "fmt/13": n, "x-fmt/392": n,
			"fmt/95": n, "fmt/354": n, "fmt/476": n, "fmt/477": n, "fmt/478": n, "x-fmt/409": identify.Reject},
		MIME:    map[string]identify.Action{"image/tiff": n, "image/jpeg": n, "image/png": n, "image/jp2": n, "application/pdf": n},
		Default: identify.Preserve, Unknown: identify.Preserve,
	}
}

// accessEnv is a test environment that makes access copies.
func accessEnv(t *testing.T) *testEnv {
	t.Helper()
	if _, err := pdfa.GlyphlessFont(); err != nil {
		testenv.Missing(t, "%v", err)
	}
	te := newTestEnv(t)
	te.Policy = inputPolicy()
	te.Cfg.Clutter = []string{"Thumbs.db", "ehthumbs.db", "desktop.ini", ".DS_Store", "._*", "__MACOSX"}
	te.Access = &access.Maker{Cfg: access.Config{PDFA: "2b", OCR: ocrtest.Config(2, te.Cfg.MaxPixels)}, Creator: "strongroom/test",
		MaxPixel: te.Cfg.MaxPixels, MaxDecoded: te.Cfg.MaxDecodedBytes}
	t.Cleanup(te.Access.Close)
	return te
}

// TestEveryInputKind: every kind of input the issue lists, through the
// whole pipeline. A readable original of an accepted format is always
// stored; where it gets an access copy, the copy passes the checker,
// qpdf and pdffonts, pdftotext gives back the ALTO's words, and the test
// page's text is found upright where it is on the page.
func TestEveryInputKind(t *testing.T) {
	te := accessEnv(t)
	for _, c := range inputCases() {
		t.Run(c.name, func(t *testing.T) {
			if !fastInputs[c.name] {
				testenv.Long(t)
			}
			in := c.make(t, t.TempDir())
			p := filepath.Join(te.hot, c.name)
			copyInput(t, in, p)
			it := te.ingest(t, p)
			te.checkOutcome(t, it, c, in)
		})
	}
}

// fastInputs is one case of each family for the fast tier: a studio TIFF,
// a JPEG 2000 master, a page scanned turned, a scanner's JBIG2 PDF, bad
// input, a file over a limit, a valid file no decoder here reads. The
// long tier runs every case.
var fastInputs = map[string]bool{"cmyk.tif": true, "lossy.jp2": true, "exif-orientation-8.jpg": true,
	"jbig2-globals.pdf": true, "truncated.pdf": true, "bilevel-35000.tif": true, "lossless-jpeg.jpg": true}

func inputCases() []inputCase {
	return []inputCase{
		// TIFF as studios write it.
		{name: "grey-alpha.tif", make: magick(300, grey, "x.tif", "-attenuate", "0.2", "+noise", "Gaussian", "-alpha", "on", "-depth", "8"), known: true},
		{name: "rgba-unassociated.tif", make: magick(300, colour, "x.tif", "-alpha", "on", "-define", "tiff:alpha=unassociated", "-depth", "8"), known: true},
		{name: "rgba-associated.tif", make: magick(300, colour, "x.tif", "-alpha", "on", "-define", "tiff:alpha=associated", "-depth", "8"), known: true},
		{name: "rgb16.tif", make: magick(300, colour, "x.tif", "-depth", "16"), known: true},
		{name: "grey16.tif", make: magick(300, grey, "x.tif", "-depth", "16"), known: true},
		{name: "cmyk.tif", make: magick(300, colour, "x.tif", "-colorspace", "cmyk", "-depth", "8"), known: true},
		{name: "tiled.tif", make: magick(300, colour, "x.tif", "-define", "tiff:tile-geometry=256x256", "-depth", "8"), known: true},
		{name: "jpeg-in-tiff.tif", make: magick(300, colour, "x.tif", "-compress", "jpeg", "-quality", "85"), known: true},
		{name: "planar.tif", make: magick(300, colour, "x.tif", "-interlace", "plane", "-depth", "8"), known: true},
		{name: "big-endian.tif", make: magick(300, grey, "x.tif", "-define", "tiff:endian=msb", "-depth", "8"), known: true},
		{name: "g4.tif", make: magick(300, grey, "x.tif", "-threshold", "50%", "-compress", "group4"), known: true},
		{name: "mixed-pages.tif", make: mixedTIFF, known: true, pages: 3},
		// JPEG 2000 masters.
		{name: "lossless.jp2", make: opj(300, colour, "x.jp2"), known: true},
		{name: "lossy.jp2", make: opj(300, colour, "x.jp2", "-r", "20"), known: true},
		{name: "grey16.jp2", make: then(magick(300, grey, "x.pgm", "-depth", "16"), "x.jp2", "opj_compress", "-i", "{in}", "-o", "{out}"), known: true},
		{name: "codestream.j2k", make: opj(300, grey, "x.j2k"), known: true},
		// Orientation: tagged, and scanned turned without a tag.
		{name: "tiff-orientation-6.tif", make: then(magick(300, grey, "x.tif", "-rotate", "-90", "-depth", "8"), "y.tif", "sh", "-c",
			"cp {in} {out} && tiffset -s 274 6 {out}"), known: true},
		{name: "exif-orientation-8.jpg", make: exifJPEG(8), known: true},
		{name: "upside-down.png", make: magickSheet(full, 300, grey, "x.png", "-rotate", "180"), known: true, full: true},
		{name: "sideways.tif", make: magickSheet(full, 300, colour, "x.tif", "-rotate", "90", "-depth", "8"), known: true, full: true},
		// Image-only PDFs as scanners write them.
		{name: "dct.pdf", make: then(magick(300, colour, "x.jpg", "-quality", "85"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}"), known: true, within: 1.5},
		{name: "flate.pdf", make: then(magick(300, grey, "x.png"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}"), known: true, within: 1.5},
		{name: "jpx.pdf", make: then(opj(300, colour, "x.jp2", "-r", "20"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}"), known: true, within: 1.5},
		{name: "ccitt-g4.pdf", make: then(magickSheet(full, 300, grey, "x.tif", "-threshold", "50%", "-compress", "group4"), "x.pdf", "tiff2pdf", "-o", "{out}", "{in}"), known: true, full: true, within: 1.5},
		{name: "ccitt-g3.pdf", make: then(magickSheet(full, 300, grey, "x.tif", "-threshold", "50%", "-compress", "fax"), "x.pdf", "tiff2pdf", "-o", "{out}", "{in}"), known: true, full: true, within: 1.5},
		// tiff2pdf -j (libtiff 4.5) writes JPEG TIFFs into PDFs poppler,
		// Ghostscript and MuPDF cannot show either: corrupt, page named.
		{name: "tiff2pdf-j.pdf", make: then(magick(300, colour, "x.tif", "-compress", "jpeg"), "x.pdf", "tiff2pdf", "-j", "-o", "{out}", "{in}"),
			want: failed, says: "tiff2pdf-j.pdf: corrupt: page 1: image 1 (2481×690 pixels, DCTDecode) does not decode"},
		{name: "jbig2-globals.pdf", make: shared("jbig2.pdf"), words: []string{"LinnSequencer", "Sequence"}, within: 1.5},
		{name: "jbig2-no-globals.pdf", make: jbig2PDF, known: true, full: true, within: 1.5},
		{name: "ccitt-scan.pdf", make: shared("ccitt.pdf"), words: []string{"LinnSequencer"}, within: 1.5},
		{name: "masks.pdf", make: shared("masks.pdf"), words: []string{"Linux", "Wikipedia"}, within: 1.5},
		{name: "jpeg2000-photo.pdf", make: shared("lichtenstein.pdf"), within: 1.5},
		{name: "rotate-90.pdf", make: then(then(magick(300, grey, "x.png", "-rotate", "-90"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}"),
			"y.pdf", "qpdf", "--rotate=+90", "{in}", "{out}"), known: true, within: 1.5},
		{name: "form-xobject.pdf", make: formPDF, known: true},
		{name: "soft-mask.pdf", make: softMaskPDF, known: true},
		{name: "odd-boxes.pdf", make: oddBoxesPDF, known: true},
		{name: "vector-only.pdf", make: vectorPDF, words: []string{"Strongroom", "outlines"}},
		{name: "pdfa-image-only.pdf", make: pdfaImageOnly, known: true},
		// Bad input.
		{name: "encrypted-password.pdf", make: then(then(magick(150, grey, "x.png"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}"), "y.pdf",
			"qpdf", "--encrypt", "user", "owner", "256", "--", "{in}", "{out}"), want: failed, says: "encrypted-password.pdf: encrypted: it needs a password"},
		{name: "encrypted-no-password.pdf", make: then(then(magick(300, grey, "x.png"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}"), "y.pdf",
			"qpdf", "--encrypt", "", "owner", "256", "--", "{in}", "{out}"), known: true},
		{name: "truncated.pdf", make: truncated(then(magick(300, grey, "x.jpg"), "x.pdf", "img2pdf", "-s", "300dpix300dpi", "-o", "{out}", "{in}")), want: failed, says: "truncated.pdf: corrupt"},
		{name: "one-dpi.png", make: oneDPI, want: noCopy, says: "one-dpi.png page 1: 2 dpi makes a page too small to read"},
		{name: "truncated.png", make: truncated(magick(300, grey, "x.png")), want: failed, says: "truncated.png: corrupt"},
		{name: "malformed.pdf", make: func(t *testing.T, dir string) string {
			return put(t, filepath.Join(dir, "m.pdf"), []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> garbage\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
		}, want: failed, says: "malformed.pdf: corrupt"},
		{name: "jbig2-broken-globals.pdf", make: brokenStream("jbig2.pdf", "JBIG2Globals"), want: failed, says: "page 1: image 1 (2550×3300 pixels, JBIG2Decode) does not decode"},
		{name: "jpx-bad-codestream.pdf", make: brokenStream("lichtenstein.pdf", "JPXDecode"), want: failed, says: "page 1: image 1 (512×512 pixels, JPXDecode) does not decode"},
		{name: "bilevel-35000.tif", make: hugeG4, want: noCopy, says: "bilevel-35000.tif page 1: over the limit: page 1 is 35000×35000"},
		{name: "page-200-inches.pdf", make: hugePagePDF, words: []string{"ENORMOUS"}},
		{name: "empty-10000.pdf", make: emptyPagesPDF(10000)},
		{name: "tiff-unknown-compression.tif", make: unknownCompressionTIFF, want: noCopy, says: "not supported by the decoder"},
		{name: "lossless-jpeg.jpg", make: losslessJPEG, want: noCopy, says: "SOF3"},
	}
}

func opj(dpi float64, colour bool, out string, args ...string) func(*testing.T, string) string {
	return then(magick(dpi, colour, "x.ppm"), out, "opj_compress", append([]string{"-i", "{in}", "-o", "{out}"}, args...)...)
}

// copyInput puts an input file or folder into the hot folder.
func copyInput(t *testing.T, from, to string) {
	t.Helper()
	fi, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		run(t, "cp", "-r", from, to)
		return
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	put(t, to, b)
}

var (
	firstWordRe = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="[0-9.]+" yMax="[0-9.]+">([^<]*)</word>`)
	altoStrRe   = regexp.MustCompile(`<String [^>]*CONTENT="([^"]*)"`)
)

// checkOutcome checks how an item ended and what its bag holds.
func (te *testEnv) checkOutcome(t *testing.T, it *catalog.Item, c inputCase, input string) {
	t.Helper()
	ctx := context.Background()
	if c.want == failed {
		if it.Stage != catalog.StageFailed || !strings.Contains(it.LastError, c.says) {
			t.Fatalf("stage %s, reason %q; want failed saying %q", it.Stage, it.LastError, c.says)
		}
		return
	}
	if it.Stage != catalog.StageDone {
		t.Fatalf("stage %s: %s", it.Stage, it.LastError)
	}
	bag := filepath.Join(te.storeDir, it.BagID)
	orig, _ := os.ReadFile(input)
	if fi, _ := os.Stat(input); !fi.IsDir() {
		if stored, err := os.ReadFile(filepath.Join(bag, "data", "original", c.name)); err != nil || !bytes.Equal(stored, orig) {
			t.Fatalf("the original is not in the bag as it was: %v", err)
		}
	}
	evs, _ := te.cat.Events(ctx, it.ID)
	alerts, _ := te.cat.Alerts(ctx, it.BagID)
	stem := strings.TrimSuffix(c.name, filepath.Ext(c.name))
	pdf := filepath.Join(bag, "data", "access", stem+".pdf")
	if c.want == noCopy {
		if _, err := os.Stat(pdf); err == nil {
			t.Fatal("an access copy was made")
		}
		failure := ""
		for _, e := range evs {
			if e.Type == catalog.EvNormalization && e.Outcome == catalog.OutcomeFailure {
				failure = e.Detail
			}
		}
		if !strings.Contains(failure, c.says) {
			t.Errorf("normalization failure event %q; want it to say %q", failure, c.says)
		}
		if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemNoAccessCopy || !strings.Contains(alerts[0].Detail, "strongroom reprocess "+it.BagID) {
			t.Errorf("alerts: %+v", alerts)
		}
		return
	}
	if len(alerts) > 0 {
		t.Errorf("alerts: %+v", alerts[0])
	}
	rep, err := pdfa.Check(pdf, pdfa.CheckOptions{Strict: true})
	if err != nil {
		t.Fatalf("access copy: %v", err)
	}
	if !rep.Valid() {
		t.Fatalf("access copy: %v", rep.Err())
	}
	run(t, "qpdf", "--check", pdf)
	// Poppler reads the output intent's ICC profile again for every page
	// (13 ms each): the 10,000-page copy is read by poppler up to page 50.
	if fonts := run(t, "pdffonts", "-l", "50", pdf); !strings.Contains(fonts, "GlyphLessFont") || strings.Contains(fonts, " no  no ") {
		t.Errorf("pdffonts:\n%s", fonts)
	}
	// -raw keeps the content stream's order, which is the ALTO's.
	text := run(t, "pdftotext", "-raw", "-l", "50", pdf, "-")
	alto, _ := os.ReadFile(filepath.Join(bag, "data", "alto", stem+".alto.xml"))
	var altoWords []string
	for _, m := range altoStrRe.FindAllStringSubmatch(string(alto), -1) {
		altoWords = append(altoWords, xmlUnescape(m[1]))
	}
	if got, want := strings.Fields(text), altoWords; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pdftotext does not give the ALTO's words:\n pdftotext %q\n alto      %q", strings.Join(got, " "), strings.Join(want, " "))
	}
	for _, w := range c.words {
		if !strings.Contains(text, w) {
			t.Errorf("the access copy lacks %q: %q", w, text)
		}
	}
	if c.within > 0 {
		a, _ := os.Stat(input)
		b, _ := os.Stat(pdf)
		if r := float64(b.Size()) / float64(a.Size()); r > c.within {
			t.Errorf("access copy %d bytes, %.2f× the original's %d", b.Size(), r, a.Size())
		}
	}
	if !c.known {
		return
	}
	lines := knownLines
	if c.full {
		lines = testpage.Text
	}
	want := strings.Repeat(strings.Join(lines, "\n")+"\n", max(c.pages, 1))
	if cer := testpage.CER(want, text); cer > 0.05 {
		t.Errorf("CER %.3f: %q", cer, text)
	}
	// The first word lies where the page has it: an inch from the left
	// and from the top of the page as shown.
	m := firstWordRe.FindStringSubmatch(run(t, "pdftotext", "-bbox", "-cropbox", "-f", "1", "-l", "1", pdf, "-"))
	if m == nil {
		t.Fatal("pdftotext -bbox found no word")
	}
	x, _ := strconv.ParseFloat(m[1], 64)
	y, _ := strconv.ParseFloat(m[2], 64)
	if x < 60 || x > 90 || y < 60 || y > 110 {
		t.Errorf("first word %q at x %.0f, y %.0f points; the page has it at about 72, 80", m[3], x, y)
	}
}

func xmlUnescape(s string) string {
	var out string
	if err := xml.Unmarshal([]byte("<x>"+s+"</x>"), &out); err != nil {
		return s
	}
	return out
}

// mixedTIFF is a three-page TIFF whose pages differ: CCITT G4 at 300 dpi,
// 8-bit grey at 200 dpi, JPEG colour at 300 dpi.
func mixedTIFF(t *testing.T, dir string) string {
	a := magick(300, grey, "a.tif", "-threshold", "50%", "-compress", "group4")(t, dir)
	b := magick(200, grey, "b.tif", "-depth", "8")(t, dir)
	c := magick(300, colour, "c.tif", "-compress", "jpeg")(t, dir)
	out := filepath.Join(dir, "book.tif")
	run(t, "tiffcp", a, b, c, out)
	return out
}

const grey, colour = false, true

// exifJPEG is a camera JPEG stored turned, with Exif orientation o.
func exifJPEG(o int) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		rot := map[int]string{3: "180", 6: "-90", 8: "90"}[o]
		p := magick(300, colour, "x.jpg", "-rotate", rot, "-quality", "90")(t, dir)
		b, _ := os.ReadFile(p)
		var e bytes.Buffer
		e.WriteString("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
		binary.Write(&e, binary.BigEndian, uint16(o))
		e.Write([]byte{0, 0, 0, 0, 0, 0})
		seg := append([]byte{0xFF, 0xE1, byte((e.Len() + 2) >> 8), byte(e.Len() + 2)}, e.Bytes()...)
		return put(t, filepath.Join(dir, "exif.jpg"), append(append(append([]byte{}, b[:2]...), seg...), b[2:]...))
	}
}

// truncated cuts what make wrote to two thirds.
func truncated(first func(*testing.T, string) string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		b, _ := os.ReadFile(first(t, dir))
		return put(t, filepath.Join(dir, "cut"), b[:len(b)*2/3])
	}
}

// brokenStream garbles the data of the stream whose dictionary names key
// (a JBIG2 globals stream, a JPEG 2000 image) in a shared scanner PDF,
// keeping its length.
func brokenStream(name, key string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		qdf := filepath.Join(dir, "q.pdf")
		run(t, "qpdf", "--qdf", "--object-streams=disable", filepath.Join(testenv.Shared(t, "testdata/scanner-pdfs"), name), qdf)
		b, _ := os.ReadFile(qdf)
		at := bytes.Index(b, []byte("/"+key))
		if key == "JBIG2Globals" { // the globals are the object the image's DecodeParms name
			var n int
			fmt.Sscanf(string(b[at+len("/JBIG2Globals"):]), "%d", &n)
			at = bytes.Index(b, []byte(fmt.Sprintf("\n%d 0 obj", n)))
		}
		s := at + bytes.Index(b[at:], []byte("stream\n")) + 7
		e := s + bytes.Index(b[s:], []byte("endstream"))
		for k := s + 20; k < e-1; k++ {
			b[k] = b[k]*7 + 13
		}
		return put(t, filepath.Join(dir, "broken.pdf"), b)
	}
}

// hugeG4 is a 35,000 × 35,000 white page, CCITT G4: 1.2 billion pixels
// in 4 KB (each row codes as one bit: no change from the row above).
func hugeG4(t *testing.T, dir string) string {
	const side = 35000
	data := append(bytes.Repeat([]byte{0xFF}, side/8), 0x00, 0x10, 0x01, 0x00, 0x10, 0x01) // rows, then EOFB
	return put(t, filepath.Join(dir, "big.tif"), tiffFile(side, side, 4, data))
}

// tiffFile writes a one-strip little-endian 1-bit TIFF.
func tiffFile(w, h, compression int, data []byte) []byte {
	type entry struct{ tag, typ, val uint32 }
	entries := []entry{{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 1}, {259, 3, uint32(compression)}, {262, 3, 0},
		{273, 4, 0}, {278, 4, uint32(h)}, {279, 4, uint32(len(data))}}
	ifd := 8
	dataAt := ifd + 2 + 12*len(entries) + 4
	b := make([]byte, dataAt, dataAt+len(data))
	copy(b, "II*\x00")
	binary.LittleEndian.PutUint32(b[4:], uint32(ifd))
	binary.LittleEndian.PutUint16(b[ifd:], uint16(len(entries)))
	for i, e := range entries {
		at := ifd + 2 + 12*i
		if e.tag == 273 {
			e.val = uint32(dataAt)
		}
		binary.LittleEndian.PutUint16(b[at:], uint16(e.tag))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(e.typ))
		binary.LittleEndian.PutUint32(b[at+4:], 1)
		binary.LittleEndian.PutUint32(b[at+8:], e.val)
	}
	return append(b, data...)
}

// unknownCompressionTIFF is a valid TIFF whose compression (50009) no
// decoder here implements.
func unknownCompressionTIFF(t *testing.T, dir string) string {
	return put(t, filepath.Join(dir, "u.tif"), tiffFile(64, 64, 50009, make([]byte, 512)))
}

// oneDPI is a PNG whose pHYs says 1 dpi: a 400 × 300-inch page, over
// the 200 inches a PDF page may measure; at the 2 dpi that fits, nothing
// can be read.
func oneDPI(t *testing.T, dir string) string {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 400, 300)))
	return put(t, filepath.Join(dir, "one.png"), withPHYs(b.Bytes(), 39)) // 39 pixels a metre ≈ 1 dpi
}

// losslessJPEG is a lossless JPEG (SOF3): valid, but libjpeg decodes only
// the lossy processes.
func losslessJPEG(t *testing.T, dir string) string {
	b, _ := os.ReadFile(magick(150, grey, "x.jpg")(t, dir))
	return put(t, filepath.Join(dir, "sof3.jpg"), bytes.Replace(b, []byte{0xFF, 0xC0}, []byte{0xFF, 0xC3}, 1))
}

// pdfFile writes a PDF from object texts: 1 the catalog, 2 the page tree
// holding pages (their object numbers), the rest in order from 3.
func pdfFile(t *testing.T, path string, pages []int, objs ...string) string {
	kids := make([]string, len(pages))
	for i, p := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", p)
	}
	all := append([]string{"<< /Type /Catalog /Pages 2 0 R >>", fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages))}, objs...)
	return put(t, path, testenv.PDF(all...))
}

// pageImage is the test page's grey pixels at dpi, for an image XObject.
func pageImage(dpi float64) (w, h int, pix []byte) {
	g := testPage(dpi, false, short).(*image.Gray)
	return g.Bounds().Dx(), g.Bounds().Dy(), g.Pix
}

// formPDF draws the page image from inside a form XObject.
func formPDF(t *testing.T, dir string) string {
	w, h, pix := pageImage(300)
	pw, ph := float64(w)*72/300, float64(h)*72/300
	return pdfFile(t, filepath.Join(dir, "form.pdf"), []int{3},
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /XObject << /Fm 4 0 R >> >> /Contents 6 0 R >>", pw, ph),
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 %g %g] /Resources << /XObject << /Im 5 0 R >> >>", pw, ph),
			[]byte(fmt.Sprintf("q %g 0 0 %g 0 0 cm /Im Do Q", pw, ph))),
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8", w, h), pix),
		testenv.Stream("", []byte("/Fm Do")))
}

// softMaskPDF draws the page over a coloured background through a soft
// mask (the page's ink as the mask's alpha): transparency, as mixed raster
// content scanners use it.
func softMaskPDF(t *testing.T, dir string) string {
	w, h, pix := pageImage(300)
	alpha := make([]byte, len(pix))
	for i, v := range pix {
		alpha[i] = 255 - v
	}
	pw, ph := float64(w)*72/300, float64(h)*72/300
	return pdfFile(t, filepath.Join(dir, "smask.pdf"), []int{3},
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /XObject << /Ink 4 0 R >> >> /Contents 6 0 R >>", pw, ph),
		testenv.Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceRGB /BitsPerComponent 8 /SMask 5 0 R", []byte{20, 30, 90}),
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8", w, h), alpha),
		testenv.Stream("", []byte(fmt.Sprintf("1 0.97 0.88 rg 0 0 %g %g re f q %g 0 0 %g 0 0 cm /Ink Do Q", pw, ph, pw, ph))))
}

// oddBoxesPDF has a media box that does not start at the origin and a
// smaller crop box: the page shown is the crop box.
func oddBoxesPDF(t *testing.T, dir string) string {
	w, h, pix := pageImage(300)
	pw, ph := float64(w)*72/300, float64(h)*72/300
	return pdfFile(t, filepath.Join(dir, "boxes.pdf"), []int{3},
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [-100 50 %g %g] /CropBox [0 200 %g %g] /Resources << /XObject << /Im 4 0 R >> >> /Contents 5 0 R >>",
			pw+100, ph+300, pw, ph+200),
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8", w, h), pix),
		testenv.Stream("", []byte(fmt.Sprintf("q %g 0 0 %g 0 200 cm /Im Do Q", pw, ph))))
}

// vectorPDF is a page drawn with paths only: its text set by Ghostscript
// as outlines, no fonts.
func vectorPDF(t *testing.T, dir string) string {
	ps := put(t, filepath.Join(dir, "v.ps"), []byte("%!PS\n<< /PageSize [595 300] >> setpagedevice\n/Helvetica findfont 28 scalefont setfont\n"+
		"72 200 moveto (Strongroom reads outlines) show\n72 150 moveto (as well as images) show\nshowpage\n"))
	out := filepath.Join(dir, "v.pdf")
	run(t, "gs", "-q", "-dBATCH", "-dNOPAUSE", "-dNoOutputFonts", "-sDEVICE=pdfwrite", "-o", out, ps)
	if fonts := run(t, "pdffonts", out); strings.Count(fonts, "\n") > 2 {
		t.Fatalf("the vector page has fonts:\n%s", fonts)
	}
	return out
}

// pdfaImageOnly is an image-only PDF/A-2b as scanners with a PDF/A button
// write it: no text layer yet.
func pdfaImageOnly(t *testing.T, dir string) string {
	var b bytes.Buffer
	font, _ := pdfa.GlyphlessFont()
	w, _ := pdfa.NewWriter(&b, pdfa.Options{Title: "scan", Creator: "scanner", Font: font})
	im, _ := pdfa.FromImage(testPage(300, false, short))
	w.AddPage(pdfa.Page{Image: im, DPIX: 300, DPIY: 300})
	w.Close()
	return put(t, filepath.Join(dir, "a.pdf"), b.Bytes())
}

// hugePagePDF is a page of 200 × 200 inches (the largest ISO 32000
// allows) with a word drawn as a path, large.
func hugePagePDF(t *testing.T, dir string) string {
	ps := put(t, filepath.Join(dir, "h.ps"), []byte("%!PS\n<< /PageSize [14400 14400] >> setpagedevice\n/Helvetica-Bold findfont 1200 scalefont setfont\n"+
		"1000 10000 moveto (ENORMOUS) show\nshowpage\n"))
	out := filepath.Join(dir, "h.pdf")
	run(t, "gs", "-q", "-dBATCH", "-dNOPAUSE", "-dNoOutputFonts", "-sDEVICE=pdfwrite", "-o", out, ps)
	return out
}

// emptyPagesPDF has n pages with nothing on them.
func emptyPagesPDF(n int) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		pages := make([]int, n)
		objs := make([]string, n)
		for i := range n {
			pages[i] = i + 3
			objs[i] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
		}
		return pdfFile(t, filepath.Join(dir, "empty.pdf"), pages, objs...)
	}
}

// jbig2PDF holds the test page as a JBIG2 generic region without globals:
// the region coded with MMR, which is CCITT G4's coding (made here by
// libtiff, through tiffcp), in a JBIG2 stream of the embedded kind.
func jbig2PDF(t *testing.T, dir string) string {
	tif := magickSheet(full, 300, grey, "x.tif", "-threshold", "50%", "-compress", "group4", "-define", "tiff:rows-per-strip=100000")(t, dir)
	b, _ := os.ReadFile(tif)
	w, h, off, n := stripOf(t, b)
	g4 := b[off : off+n]
	var s bytes.Buffer
	seg := func(num uint32, typ byte, data []byte) {
		binary.Write(&s, binary.BigEndian, num)
		s.WriteByte(typ)
		s.WriteByte(0) // no referred-to segments
		s.WriteByte(1) // page 1
		binary.Write(&s, binary.BigEndian, uint32(len(data)))
		s.Write(data)
	}
	var pi bytes.Buffer // page information
	binary.Write(&pi, binary.BigEndian, []uint32{uint32(w), uint32(h), 0, 0})
	pi.Write([]byte{0, 0, 0})
	seg(0, 48, pi.Bytes())
	var gr bytes.Buffer // immediate lossless generic region, MMR
	binary.Write(&gr, binary.BigEndian, []uint32{uint32(w), uint32(h), 0, 0})
	gr.WriteByte(0)
	gr.WriteByte(1) // MMR
	gr.Write(g4)
	seg(1, 39, gr.Bytes())
	pw, ph := float64(w)*72/300, float64(h)*72/300
	return pdfFile(t, filepath.Join(dir, "jbig2.pdf"), []int{3},
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /XObject << /Im 4 0 R >> >> /Contents 5 0 R >>", pw, ph),
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode", w, h), s.Bytes()),
		testenv.Stream("", []byte(fmt.Sprintf("q %g 0 0 %g 0 0 cm /Im Do Q", pw, ph))))
}

// stripOf reads a one-strip TIFF's size and its strip's offset and length.
func stripOf(t *testing.T, b []byte) (w, h, off, n int) {
	le := binary.LittleEndian
	if string(b[:2]) != "II" {
		t.Fatal("want a little-endian TIFF")
	}
	ifd := int(le.Uint32(b[4:]))
	val := func(e int) int {
		if le.Uint16(b[e+2:]) == 3 {
			return int(le.Uint16(b[e+8:]))
		}
		return int(le.Uint32(b[e+8:]))
	}
	for k := range int(le.Uint16(b[ifd:])) {
		e := ifd + 2 + 12*k
		switch le.Uint16(b[e:]) {
		case 256:
			w = val(e)
		case 257:
			h = val(e)
		case 273:
			off = val(e)
		case 279:
			n = val(e)
		}
	}
	return w, h, off, n
}

// TestPDFAVerdicts: the validation event of an incoming PDF says what the
// PDF/A check found and no more: a file declaring PDF/A-2b or PDF/A-1b
// with no finding is a success that names the clauses checked and says
// the check is partial; a declared PDF/A with a finding is a failure with
// it; a PDF that claims no PDF/A is not faulted, only said not to.
func TestPDFAVerdicts(t *testing.T) {
	font, err := pdfa.GlyphlessFont()
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	var out bytes.Buffer
	w, _ := pdfa.NewWriter(&out, pdfa.Options{Title: "Minutes", Creator: "t", Font: font})
	im, _ := pdfa.FromImage(image.NewGray(image.Rect(0, 0, 200, 100)))
	w.AddPage(pdfa.Page{Image: im, DPIX: 72, DPIY: 72})
	w.Close()
	te := newTestEnv(t)
	ctx := context.Background()
	for name, c := range map[string]struct {
		from, to string
		outcome  catalog.Outcome
		detail   string
	}{
		"declared-2b.pdf": {"", "", catalog.OutcomeSuccess, "PDF/A-2b: clauses 6.1.2, "},
		"declared-1b.pdf": {"<pdfaid:part>2<", "<pdfaid:part>1<", catalog.OutcomeSuccess, "PDF/A-1b: clauses 6.1.2, "},
		"broken-2b.pdf":   {"<pdfaid:conformance>B<", "<pdfaid:conformance>Z<", catalog.OutcomeFailure, "declared PDF/A-2, but: 6.6.4: pdfaid:conformance is \"Z\""},
		"plain.pdf":       {"<pdfaid:part>2</pdfaid:part>", "<pdfaid:xxxx>2</pdfaid:xxxx>", catalog.OutcomeWarning, "not declared PDF/A"},
	} {
		b := out.Bytes()
		if c.from != "" {
			b = bytes.Replace(b, []byte(c.from), []byte(c.to), 1)
		}
		it := te.ingest(t, put(t, filepath.Join(te.hot, name), b))
		evs, _ := te.cat.Events(ctx, it.ID)
		var got *catalog.Event
		for i, e := range evs {
			if e.Type == catalog.EvValidation && e.File == "original/"+name {
				got = &evs[i]
			}
		}
		if got == nil || got.Outcome != c.outcome || !strings.Contains(got.Detail, c.detail) {
			t.Errorf("%s: %+v, want %s with %q", name, got, c.outcome, c.detail)
			continue
		}
		if c.outcome == catalog.OutcomeSuccess && !strings.Contains(got.Detail, "a partial check: full validation needs veraPDF") {
			t.Errorf("%s: the success does not say the check is partial: %s", name, got.Detail)
		}
	}
	// Where veraPDF is configured (a stand-in script here: it cannot be
	// installed on this machine), its verdict is the outcome, for the
	// flavour the file declares, and ours a second detail.
	for verdict, want := range map[string]catalog.Outcome{"PASS": catalog.OutcomeSuccess, "FAIL": catalog.OutcomeFailure} {
		script := filepath.Join(t.TempDir(), "verapdf")
		os.WriteFile(script, []byte("#!/bin/sh\n# args: --flavour F --format text FILE\necho \""+verdict+" $5 $2\"\n"), 0o755)
		te.Access = &access.Maker{Cfg: access.Config{PDFA: "2b", VeraPDF: script}}
		t.Cleanup(te.Access.Close)
		name := "verapdf-" + verdict + ".pdf"
		it := te.ingest(t, put(t, filepath.Join(te.hot, name), bytes.Replace(out.Bytes(), []byte("<pdfaid:part>2<"), []byte("<pdfaid:part>1<"), 1)))
		evs, _ := te.cat.Events(ctx, it.ID)
		var got *catalog.Event
		for i, e := range evs {
			if e.Type == catalog.EvValidation && e.File == "original/"+name {
				got = &evs[i]
			}
		}
		if got == nil || got.Outcome != want || !strings.HasPrefix(got.Detail, "veraPDF: "+verdict) || !strings.Contains(got.Detail, " 1b; strongroom's own check: PDF/A-1b: ") {
			t.Errorf("veraPDF %s: %+v", verdict, got)
		}
	}
}
