package ocr

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
)

func engine(t *testing.T) *Engine {
	t.Helper()
	e, err := NewEngine(Config{Languages: []string{"eng"}, PSM: 3, Workers: 1, DefaultDPI: 300})
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
	words, err := engine(t).Recognize(context.Background(), pngOf(page))
	if err != nil {
		t.Fatal(err)
	}
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
	if words, err := engine(t).Recognize(context.Background(), pngOf(blank)); err != nil || len(words) != 0 {
		t.Errorf("blank page: %v %v", words, err)
	}
}

func TestSplitAndResolution(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		img := image.NewGray(image.Rect(0, 0, 40+i, 30))
		var b bytes.Buffer
		tiff.Encode(&b, img, nil)
		p := filepath.Join(dir, fmt.Sprintf("p%d.tif", i))
		os.WriteFile(p, b.Bytes(), 0o644)
		files = append(files, p)
	}
	// tiffcp (libtiff-tools) joins them into one 3-page TIFF, G4-compressed
	// as scanners write bilevel pages, with 300 dpi recorded.
	joined := filepath.Join(dir, "book.tif")
	args := append([]string{"-c", "g4", "-x", "300", "-y", "300"}, append(files, joined)...)
	if out, err := exec.Command("tiffcp", args...).CombinedOutput(); err != nil {
		t.Skipf("tiffcp: %v %s", err, out)
	}
	data, _ := os.ReadFile(joined)
	pages, err := Split(data, 200)
	if err != nil || len(pages) != 3 {
		t.Fatalf("split: %d pages, %v", len(pages), err)
	}
	for i, p := range pages {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
		if err != nil || cfg.Width != 40+i || p.DPIAssumed {
			t.Errorf("page %d: %+v %v dpi %g assumed %v", i, cfg, err, p.DPIX, p.DPIAssumed)
		}
	}
	// A PNG without pHYs gets the default, recorded as assumed.
	pages, err = Split(pngOf(image.NewGray(image.Rect(0, 0, 5, 5))), 200)
	if err != nil || len(pages) != 1 || !pages[0].DPIAssumed || pages[0].DPIX != 200 {
		t.Errorf("png: %+v %v", pages, err)
	}
	if _, err := Split([]byte("not an image"), 300); err == nil {
		t.Error("garbage split")
	}
}
