package pdfa

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"time"
)

// glyphless finds Tesseract's glyphless font (tesseract-ocr ships it).
func glyphless(t *testing.T) []byte {
	t.Helper()
	b, err := GlyphlessFont()
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	return b
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func writeSample(t *testing.T, conformance string) string {
	t.Helper()
	gray := image.NewGray(image.Rect(0, 0, 850, 1100))
	for i := range gray.Pix {
		gray.Pix[i] = 255
	}
	rgb := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range rgb.Pix {
		rgb.Pix[i] = uint8(i * 13)
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, rgb, nil)
	bw := image.NewPaletted(image.Rect(0, 0, 640, 480), color.Palette{color.Black, color.White})
	p1, _ := FromImage(gray)
	p2, _ := FromJPEG(jb.Bytes())
	p3, _ := FromImage(bw)
	if p3.BitsPerComponent != 1 || p1.ColorSpace != "DeviceGray" || p2.Filter != "DCTDecode" {
		t.Fatalf("image choices: %+v %+v %+v", p1.BitsPerComponent, p2.Filter, p3.BitsPerComponent)
	}
	var out bytes.Buffer
	w, err := NewWriter(&out, Options{Conformance: conformance, Title: "Book of hours – ünïcode (1801)", Creator: "strongroom/test",
		Created: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Font: glyphless(t)})
	if err != nil {
		t.Fatal(err)
	}
	pages := []Page{
		{Image: p1, DPIX: 100, DPIY: 100, Words: []Word{{Text: "Strongroom", X0: 100, Y0: 100, X1: 400, Y1: 140}, {Text: "Grüße", X0: 420, Y0: 100, X1: 600, Y1: 140}}},
		{Image: p2, DPIX: 300, DPIY: 300, Words: []Word{{Text: "second", X0: 10, Y0: 10, X1: 100, Y1: 40}}},
		{Image: p3, DPIX: 200, DPIY: 200},
	}
	for _, p := range pages {
		if err := w.AddPage(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	os.WriteFile(path, out.Bytes(), 0o644)
	return path
}

// TestIndependentTools checks what we write with Debian's qpdf and poppler.
func TestIndependentTools(t *testing.T) {
	path := writeSample(t, "B")
	tool(t, "qpdf", "--check", path)
	fonts := tool(t, "pdffonts", path)
	if !strings.Contains(fonts, "GlyphLessFont") || strings.Contains(fonts, " no  ") && !strings.Contains(fonts, "yes") {
		t.Errorf("pdffonts:\n%s", fonts)
	}
	for _, l := range strings.Split(fonts, "\n")[2:] {
		if l != "" && !strings.Contains(l, " yes ") {
			t.Errorf("font not embedded: %s", l)
		}
	}
	info := tool(t, "pdfinfo", path)
	if f := strings.Join(strings.Fields(info), " "); !strings.Contains(f, "Pages: 3") || !strings.Contains(f, "Page size: 612 x 792 pts") {
		t.Errorf("pdfinfo:\n%s", info)
	}
	text := tool(t, "pdftotext", path, "-")
	for _, w := range []string{"Strongroom", "Grüße", "second"} {
		if !strings.Contains(text, w) {
			t.Errorf("pdftotext lacks %q:\n%s", w, text)
		}
	}
}

// TestPNGPassThrough: 8-bit grey and RGB PNGs are embedded from their own
// rows without image decoding; poppler gives them back pixel for pixel.
func TestPNGPassThrough(t *testing.T) {
	font := glyphless(t)
	gray := image.NewGray(image.Rect(0, 0, 37, 23))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	rgb := image.NewRGBA(image.Rect(0, 0, 29, 17))
	for i := range rgb.Pix {
		rgb.Pix[i] = uint8(i * 5)
		if i%4 == 3 {
			rgb.Pix[i] = 255
		}
	}
	for name, img := range map[string]image.Image{"gray": gray, "rgb": rgb} {
		var b bytes.Buffer
		png.Encode(&b, img)
		im, ok := FromPNG(b.Bytes())
		if !ok {
			t.Fatalf("%s: not passed through", name)
		}
		var out bytes.Buffer
		w, _ := NewWriter(&out, Options{Title: name, Creator: "t", Font: font})
		w.AddPage(Page{Image: im, DPIX: 72, DPIY: 72})
		w.Close()
		dir := t.TempDir()
		p := filepath.Join(dir, "x.pdf")
		os.WriteFile(p, out.Bytes(), 0o644)
		if rep, err := Check(p, CheckOptions{Strict: true}); err != nil || !rep.Valid() {
			t.Fatalf("%s: %v %+v", name, err, rep)
		}
		// pdfimages -png extracts the image as poppler decodes it.
		tool(t, "pdfimages", "-png", p, filepath.Join(dir, "img"))
		f, err := os.Open(filepath.Join(dir, "img-000.png"))
		if err != nil {
			t.Fatal(err)
		}
		back, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		bnd := img.Bounds()
		for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
			for x := bnd.Min.X; x < bnd.Max.X; x++ {
				r1, g1, b1, _ := img.At(x, y).RGBA()
				r2, g2, b2, _ := back.At(x, y).RGBA()
				if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
					t.Fatalf("%s: pixel %d,%d differs", name, x, y)
				}
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 3, 3)))
	if _, ok := FromPNG(b.Bytes()); ok {
		t.Error("a PNG with alpha was passed through")
	}
}

// TestImageKinds: 1-bit, palette, 16-bit and alpha images embed losslessly
// and the result passes the checker, strict.
func TestImageKinds(t *testing.T) {
	font := glyphless(t)
	r := image.Rect(0, 0, 64, 48)
	bw := image.NewPaletted(r, color.Palette{color.Black, color.White})
	pal := image.NewPaletted(r, color.Palette{color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}})
	g16 := image.NewGray16(r)
	alpha := image.NewNRGBA(r)
	for i := range alpha.Pix {
		alpha.Pix[i] = uint8(i)
	}
	for _, c := range []struct {
		name string
		img  image.Image
		bits int
		cs   string
	}{{"1-bit", bw, 1, "DeviceGray"}, {"palette", pal, 8, "DeviceRGB"}, {"16-bit", g16, 1, "DeviceGray"}, {"alpha", alpha, 8, "DeviceRGB"}} {
		im, err := FromImage(c.img)
		if err != nil || im.BitsPerComponent != c.bits || im.ColorSpace != c.cs {
			t.Errorf("%s: %v %d %s", c.name, err, im.BitsPerComponent, im.ColorSpace)
			continue
		}
		var out bytes.Buffer
		w, _ := NewWriter(&out, Options{Title: c.name, Creator: "t", Font: font})
		w.AddPage(Page{Image: im, DPIX: 300, DPIY: 300})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), c.name+".pdf")
		os.WriteFile(p, out.Bytes(), 0o644)
		if rep, err := Check(p, CheckOptions{Strict: true}); err != nil || !rep.Valid() {
			t.Errorf("%s: %v %+v", c.name, err, rep)
		}
	}
}
