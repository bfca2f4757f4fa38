package ocr

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
	"github.com/strongroom-archive/strongroom/formats/testenv"
)

func testConfig() Config {
	return Config{Languages: []string{"eng"}, PSM: 3, Workers: 1, DefaultDPI: 300, MaxPixels: 50_000_000, WorkerMemory: 2 << 30, PageTimeout: 5 * time.Minute}
}

func engine(t *testing.T) *Engine {
	t.Helper()
	return engineWith(t, testConfig())
}

func engineWith(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func pngOf(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// pageFile writes img as a PNG and returns its path.
func pageFile(t *testing.T, img image.Image) string {
	t.Helper()
	return dataFile(t, "page.png", pngOf(img))
}

func dataFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecognizeRenderedPage(t *testing.T) {
	page := testpage.Render(testpage.Text[:4], testpage.Options{DPI: 300, PointSize: 12, SkewDeg: 0.6, Noise: 0.001, Seed: 1})
	p, err := engine(t).MakePage(context.Background(), pageFile(t, page), 0, Settings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	words := p.Words
	got := Text(words)
	want := strings.Join(testpage.Text[:4], "\n")
	if cer := testpage.CER(want, got); cer > 0.03 {
		t.Errorf("CER %.3f\n got: %q", cer, got)
	}
	for _, w := range words {
		if w.Box.Empty() || w.Confidence <= 0 || !w.Box.In(page.Bounds()) {
			t.Errorf("word %+v", w)
		}
	}
	// A blank page is no error, just no words.
	blank := image.NewGray(image.Rect(0, 0, 600, 800))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	if p, err := engine(t).MakePage(context.Background(), pageFile(t, blank), 0, Settings{}, false); err != nil || len(p.Words) != 0 || len(p.Notes) != 0 {
		t.Errorf("blank page: %+v %v", p, err)
	}
}

// TestMultiPageTIFF: every page of a G4 book as tiffcp writes it, and of
// the same book in the other compressions scanners write, is read with
// its own resolution; one without a resolution gets the default, recorded
// as assumed.
func TestMultiPageTIFF(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("p%d.tif", i))
		os.WriteFile(p, bilevelTIFF(40+i, 30, 300), 0o644)
		files = append(files, p)
	}
	joined := filepath.Join(dir, "book.tif")
	tiffcp := testenv.Tool(t, "tiffcp")
	args := append([]string{"-c", "g4"}, append(files, joined)...)
	if out, err := exec.Command(tiffcp, args...).CombinedOutput(); err != nil {
		t.Fatalf("tiffcp: %v %s", err, out)
	}
	e := engine(t)
	ctx := context.Background()
	for _, c := range []string{"g4", "none", "lzw", "zip", "packbits"} {
		book := filepath.Join(dir, c+".tif")
		if b, err := exec.Command(tiffcp, "-c", c, joined, book).CombinedOutput(); err != nil {
			t.Fatalf("tiffcp -c %s: %v %s", c, err, b)
		}
		f, err := e.Inspect(ctx, book)
		if err != nil || f.NumPages() != 3 {
			t.Fatalf("%s: %+v %v", c, f, err)
		}
		for i := range 3 {
			p, err := e.MakePage(ctx, book, i, Settings{}, true)
			if err != nil {
				t.Fatalf("%s page %d: %v", c, i+1, err)
			}
			if p.Width != 40+i || p.Height != 30 || p.DPI != 300 || p.DPIAssumed || p.Image == nil || p.Image.Filter != "CCITTFaxDecode" {
				t.Errorf("%s page %d: %dx%d at %g dpi (assumed %v), image %+v", c, i+1, p.Width, p.Height, p.DPI, p.DPIAssumed, p.Image)
			}
		}
	}
	png := filepath.Join(dir, "nodpi.png")
	os.WriteFile(png, pngOf(image.NewGray(image.Rect(0, 0, 5, 5))), 0o644)
	if p, err := e.MakePage(ctx, png, 0, Settings{}, false); err != nil || !p.DPIAssumed || p.DPI != 300 {
		t.Errorf("png: %+v %v", p, err)
	}
	garbage := filepath.Join(dir, "garbage.tif")
	os.WriteFile(garbage, []byte("not an image"), 0o644)
	if _, err := e.Inspect(ctx, garbage); err == nil {
		t.Error("garbage inspected")
	}
}

// bilevelTIFF writes an uncompressed 1-bit little-endian TIFF, white with
// a black bar, at dpi: what tiffcp needs to make CCITT G4 pages.
func bilevelTIFF(w, h int, dpi uint32) []byte {
	stride := (w + 7) / 8
	pix := make([]byte, stride*h)
	for y := 10; y < 20; y++ {
		for x := 0; x < stride; x++ {
			pix[y*stride+x] = 0xff // black (WhiteIsZero)
		}
	}
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	const ifdAt = 8
	entries := []entry{{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 1}, {259, 3, 1}, {262, 3, 0},
		{273, 4, 0}, {278, 4, uint32(h)}, {279, 4, uint32(len(pix))}, {282, 5, 0}, {283, 5, 0}, {296, 3, 2}}
	ifdLen := 2 + 12*len(entries) + 4
	resAt := uint32(ifdAt + ifdLen)
	pixAt := resAt + 16
	b := make([]byte, int(pixAt)+len(pix))
	le := binary.LittleEndian
	copy(b, "II*\x00")
	le.PutUint32(b[4:], ifdAt)
	le.PutUint16(b[ifdAt:], uint16(len(entries)))
	for i, e := range entries {
		at := ifdAt + 2 + 12*i
		le.PutUint16(b[at:], e.tag)
		le.PutUint16(b[at+2:], e.typ)
		le.PutUint32(b[at+4:], 1)
		switch e.tag {
		case 273:
			e.val = pixAt
		case 282:
			e.val = resAt
		case 283:
			e.val = resAt + 8
		}
		if e.typ == 3 {
			le.PutUint16(b[at+8:], uint16(e.val))
		} else {
			le.PutUint32(b[at+8:], e.val)
		}
	}
	le.PutUint32(b[resAt:], dpi)
	le.PutUint32(b[resAt+4:], 1)
	le.PutUint32(b[resAt+8:], dpi)
	le.PutUint32(b[resAt+12:], 1)
	copy(b[pixAt:], pix)
	return b
}

// turnCW returns img turned clockwise by quarter turns.
func turnCW(img *image.Gray, quarters int) *image.Gray {
	for range quarters % 4 {
		b := img.Bounds()
		out := image.NewGray(image.Rect(0, 0, b.Dy(), b.Dx()))
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				out.Pix[x*out.Stride+(b.Dy()-1-y)] = img.Pix[y*img.Stride+x]
			}
		}
		img = out
	}
	return img
}

// TestOrientation: a page scanned sideways or upside down is detected
// (Tesseract OSD), turned and OCRed upright; the words' boxes are those of
// the upright page, and the page says how it was turned.
func TestOrientation(t *testing.T) {
	cfg := testConfig()
	cfg.RotatePages, cfg.RotateConfidence = true, 2
	e := engineWith(t, cfg)
	page := testpage.Render(testpage.Text, testpage.Options{DPI: 300, PointSize: 12, Seed: 4})
	want := strings.Join(testpage.Text, "\n")
	for _, q := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprint(90*q), func(t *testing.T) {
			if q != 1 {
				testenv.Long(t) // one turned page in the fast tier
			}
			p, err := e.MakePage(context.Background(), pageFile(t, turnCW(page, q)), 0, Settings{}, true)
			if err != nil {
				t.Fatal(err)
			}
			if p.Turn != (4-q)%4 || p.ImageTurn != p.Turn {
				t.Errorf("scanned turned %d°: turned back by %d quarter turns (image %d), notes %q", 90*q, p.Turn, p.ImageTurn, p.Notes)
			}
			if p.Width != page.Bounds().Dx() || p.Height != page.Bounds().Dy() {
				t.Errorf("upright size %dx%d, want %v", p.Width, p.Height, page.Bounds())
			}
			if cer := testpage.CER(want, Text(p.Words)); cer > 0.03 {
				t.Errorf("CER %.3f: %q", cer, Text(p.Words))
			}
		})
	}
}

// TestReadsUpright: the words Tesseract reads from a page as it is tell
// an upright page (no orientation detection needed) from one on its side
// (read by Tesseract turning it: tall boxes) or upside down (nonsense of
// low confidence), and a page with a line of text cannot tell.
func TestReadsUpright(t *testing.T) {
	e := engine(t)
	page := testpage.Render(testpage.Text, testpage.Options{DPI: 300, PointSize: 12, Seed: 6})
	line := testpage.Render(testpage.Text[:1], testpage.Options{DPI: 300, PointSize: 12, Seed: 6})
	for _, tc := range []struct {
		name string
		img  image.Image
		want bool
	}{
		{"upright", page, true},
		{"90", turnCW(page, 1), false},
		{"180", turnCW(page, 2), false},
		{"270", turnCW(page, 3), false},
		{"one line", line, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "180" || tc.name == "270" {
				testenv.Long(t)
			}
			p, err := e.MakePage(context.Background(), pageFile(t, tc.img), 0, Settings{}, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := readsUpright(p.Words); got != tc.want {
				t.Errorf("readsUpright = %v, want %v (%d words: %q)", got, tc.want, len(p.Words), Text(p.Words))
			}
		})
	}
}

// TestDeskew: with Deskew, a page scanned 2.5° askew is straightened
// before OCR, the note says by how much, and the access copy gets the
// straightened pixels, not the file as stored; without it, nothing is
// noted and the page image is the one passed through.
func TestDeskew(t *testing.T) {
	page := testpage.Render(testpage.Text, testpage.Options{DPI: 300, PointSize: 12, SkewDeg: 2.5, Seed: 5})
	path := pageFile(t, page)
	pageWith := func(deskew bool) (*Page, float64) {
		cfg := testConfig()
		cfg.Deskew = deskew
		p, err := engineWith(t, cfg).MakePage(context.Background(), path, 0, Settings{}, true)
		if err != nil {
			t.Fatal(err)
		}
		if p.Image == nil {
			t.Fatal("no page image")
		}
		var straightened float64
		for _, n := range p.Notes {
			if _, after, ok := strings.Cut(n, "straightened by "); ok {
				fmt.Sscanf(after, "%f", &straightened)
			}
		}
		return p, straightened
	}
	as, none := pageWith(false)
	if none != 0 {
		t.Errorf("without deskew: notes %q", as.Notes)
	}
	p, straightened := pageWith(true)
	if a := math.Abs(straightened); a < 2 || a > 3 {
		t.Errorf("straightened by %.2f°, want about 2.5: notes %q", straightened, p.Notes)
	}
	if bytes.Equal(p.Image.Data, as.Image.Data) {
		t.Error("the access copy's image is the page as stored, not the straightened one")
	}
	// The skew is the scan's, straightened or not: its lines run down to
	// the right by 2.5° (turned clockwise).
	for _, pg := range []*Page{as, p} {
		if pg.Skew < -3 || pg.Skew > -2 {
			t.Errorf("skew %.2f°, want about -2.5 (notes %q)", pg.Skew, pg.Notes)
		}
	}
	if cer := testpage.CER(strings.Join(testpage.Text, "\n"), Text(p.Words)); cer > 0.03 {
		t.Errorf("CER %.3f after deskew: %q", cer, Text(p.Words))
	}
}

// TestAccessJPEG: a continuous-tone page from a lossless source goes into
// the access copy as JPEG at the configured quality where that is smaller
// (a scan's grain makes lossless large); a clean page stays lossless, and
// so does every page with Lossless. The words are the same either way:
// OCR reads the page's own pixels.
func TestAccessJPEG(t *testing.T) {
	clean := testpage.Render(testpage.Text[:6], testpage.Options{DPI: 300, PointSize: 12, Seed: 7})
	grainy := image.NewGray(clean.Bounds())
	copy(grainy.Pix, clean.Pix)
	seed := uint32(1)
	for i, v := range grainy.Pix { // a scanner's grain: ±24 levels
		seed = seed*1664525 + 1013904223
		grainy.Pix[i] = uint8(min(max(int(v)+int(seed>>24)%49-24, 0), 255))
	}
	for _, c := range []struct {
		name     string
		img      image.Image
		lossless bool
		jpeg     bool
	}{
		{"clean", clean, false, false},
		{"grainy", grainy, false, true},
		{"grainy, lossless", grainy, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.JPEGQuality, cfg.Lossless = 85, c.lossless
			path := pageFile(t, c.img)
			p, err := engineWith(t, cfg).MakePage(context.Background(), path, 0, Settings{}, true)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(path)
			if got := p.Image.Filter == "DCTDecode"; got != c.jpeg {
				t.Errorf("JPEG %v (filter %q, %d bytes; the PNG is %d), want %v", got, p.Image.Filter, len(p.Image.Data), fi.Size(), c.jpeg)
			}
			if c.jpeg && float64(len(p.Image.Data)) > 0.6*float64(fi.Size()) {
				t.Errorf("JPEG of %d bytes for a PNG of %d", len(p.Image.Data), fi.Size())
			}
			if cer := testpage.CER(strings.Join(testpage.Text[:6], "\n"), Text(p.Words)); cer > 0.05 {
				t.Errorf("CER %.3f", cer)
			}
		})
	}
}
