package ocr

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
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

func TestRecognizeRenderedPage(t *testing.T) {
	if os.Getenv("CI") != "true" && testing.Short() {
		t.Skip("OCR is slow")
	}
	page := testpage.Render(testpage.Text[:4], testpage.Options{DPI: 300, PointSize: 12, SkewDeg: 0.6, Noise: 0.001, Seed: 1})
	p, err := engine(t).Recognize(context.Background(), pngOf(page), Settings{})
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
	if p, err := engine(t).Recognize(context.Background(), pngOf(blank), Settings{}); err != nil || len(p.Words) != 0 || p.Scale != 1 {
		t.Errorf("blank page: %+v %v", p, err)
	}
}

func TestSplitAndResolution(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("p%d.tif", i))
		os.WriteFile(p, bilevelTIFF(40+i, 30, 300), 0o644)
		files = append(files, p)
	}
	// tiffcp (libtiff-tools) joins them into one 3-page TIFF, G4-compressed
	// as scanners write bilevel pages.
	joined := filepath.Join(dir, "book.tif")
	tiffcp := testenv.Tool(t, "tiffcp")
	args := append([]string{"-c", "g4"}, append(files, joined)...)
	if out, err := exec.Command(tiffcp, args...).CombinedOutput(); err != nil {
		t.Fatalf("tiffcp: %v %s", err, out)
	}
	data, _ := os.ReadFile(joined)
	pages, err := Split(data, 200, pdfread.Limits{})
	if err != nil || len(pages) != 3 {
		t.Fatalf("split: %d pages, %v", len(pages), err)
	}
	for i, p := range pages {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
		if err != nil || cfg.Width != 40+i || p.DPIAssumed || p.DPIX != 300 {
			t.Errorf("page %d: %+v %v dpi %g assumed %v", i, cfg, err, p.DPIX, p.DPIAssumed)
		}
	}
	// The other compressions scanners write decode too.
	for _, c := range []string{"none", "lzw", "zip", "packbits"} {
		out := filepath.Join(dir, c+".tif")
		if b, err := exec.Command(tiffcp, "-c", c, joined, out).CombinedOutput(); err != nil {
			t.Fatalf("tiffcp -c %s: %v %s", c, err, b)
		}
		data, _ := os.ReadFile(out)
		pages, err := Split(data, 200, pdfread.Limits{})
		if err != nil || len(pages) != 3 {
			t.Fatalf("%s: %d pages, %v", c, len(pages), err)
		}
		size := 0
		for i, p := range pages {
			if _, _, err := image.Decode(bytes.NewReader(p.Data)); err != nil {
				t.Errorf("%s page %d: %v", c, i+1, err)
			}
			size += len(p.Data)
		}
		// Each page holds its own data only: the book once, not once a page.
		if size > len(data)+3*512 {
			t.Errorf("%s: pages of %d bytes in all from a %d-byte file", c, size, len(data))
		}
		// The same pixels as libtiff's own split of the book.
		prefix := filepath.Join(dir, c+"-split-")
		if b, err := exec.Command(testenv.Tool(t, "tiffsplit"), out, prefix).CombinedOutput(); err != nil {
			t.Fatalf("tiffsplit: %v %s", err, b)
		}
		for i, p := range pages {
			theirs, _ := os.ReadFile(prefix + "aa" + string(rune('a'+i)) + ".tif")
			a, _, err1 := image.Decode(bytes.NewReader(p.Data))
			b, _, err2 := image.Decode(bytes.NewReader(theirs))
			if err1 != nil || err2 != nil || !samePixels(a, b) {
				t.Errorf("%s page %d differs from tiffsplit's: %v %v", c, i+1, err1, err2)
			}
		}
	}
	// A PNG without pHYs gets the default, recorded as assumed.
	pages, err = Split(pngOf(image.NewGray(image.Rect(0, 0, 5, 5))), 200, pdfread.Limits{})
	if err != nil || len(pages) != 1 || !pages[0].DPIAssumed || pages[0].DPIX != 200 {
		t.Errorf("png: %+v %v", pages, err)
	}
	if _, err := Split([]byte("not an image"), 300, pdfread.Limits{}); err == nil {
		t.Error("garbage split")
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
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

// TestStderrSurvivesParallelStarts: starting several clients must leave the
// process's stderr where it was (gosseract redirects it while Tesseract
// initialises).
func TestStderrSurvivesParallelStarts(t *testing.T) {
	before, err := os.Readlink("/proc/self/fd/2")
	if err != nil {
		t.Skip("no /proc")
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := testConfig()
			cfg.Workers = 2
			e, err := NewEngine(cfg)
			if err != nil {
				t.Error(err)
				return
			}
			e.Recognize(context.Background(), pngOf(image.NewGray(image.Rect(0, 0, 50, 50))), Settings{})
			e.Close()
		}()
	}
	wg.Wait()
	if after, _ := os.Readlink("/proc/self/fd/2"); after != before {
		t.Fatalf("stderr was %s, is now %s", before, after)
	}
}
