package raster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// magick runs ImageMagick's convert (not a stand-in of the same name).
func magick(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(testenv.Convert(t), args...).Output()
	if err != nil {
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("convert %v: %v %s", args, err, ee.Stderr)
	}
	return out
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(testenv.Tool(t, name), args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// base draws a test page with ImageMagick: colour, a gradient and black
// text, 8-bit RGB.
func base(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "base.png")
	magick(t, "-size", "240x160", "gradient:#fff0d0-#3050a0", "-fill", "black", "-draw", "rectangle 20,20 110,50",
		"-fill", "#a02020", "-draw", "circle 170,100 200,120", "-depth", "8", "-type", "TrueColor", p)
	return p
}

// reference is how ImageMagick decodes page n of a file: upright (its
// orientation applied), alpha laid over white, as 8-bit RGB.
func reference(t *testing.T, path string, n int) (w, h int, rgb []byte) {
	t.Helper()
	spec := fmt.Sprintf("%s[%d]", path, n)
	ppm := magick(t, spec, "-auto-orient", "-background", "white", "-alpha", "remove", "-alpha", "off", "-colorspace", "sRGB", "-depth", "8", "ppm:-")
	var magic string
	var maxval int
	if _, err := fmt.Fscan(bytes.NewReader(ppm), &magic, &w, &h, &maxval); err != nil || magic != "P6" || maxval != 255 {
		t.Fatalf("ppm header: %v", err)
	}
	return w, h, ppm[len(ppm)-3*w*h:]
}

// ours decodes page n as strongroom does, upright, as 8-bit RGB.
func ours(t *testing.T, path string, n int) (w, h int, rgb []byte, depth int) {
	t.Helper()
	info, err := Inspect(path, 100)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	pix, err := Decode(path, info, n, 0)
	if err != nil {
		t.Fatalf("decode page %d: %v", n+1, err)
	}
	defer pix.Close()
	if err := pix.Orient(info.Pages[n].Orientation); err != nil {
		t.Fatal(err)
	}
	w, h, depth = pix.Width(), pix.Height(), pix.Depth()
	rows := pix.Rows()
	switch depth {
	case 32:
		return w, h, rows, depth
	case 8:
		for _, v := range rows {
			rgb = append(rgb, v, v, v)
		}
	case 1:
		stride := (w + 7) / 8
		for y := range h {
			for x := range w {
				v := byte(0)
				if rows[y*stride+x/8]&(0x80>>(x%8)) != 0 {
					v = 255
				}
				rgb = append(rgb, v, v, v)
			}
		}
	}
	return w, h, rgb, depth
}

// TestDecodeLikeImageMagick: what studios and scanners write decodes to
// the pixels ImageMagick (its own TIFF, PNG and JPEG readers; OpenJPEG for
// JPEG 2000) gives: TIFF with alpha (grey, RGB associated and not), 16-bit
// samples, CMYK, tiles, JPEG inside, separate planes, big-endian, CCITT,
// palettes; JPEG 2000 lossless and lossy, 8 and 16 bits, grey and RGB,
// JP2 and a bare codestream; PNG, GIF, BMP, WebP, CMYK JPEG.
func TestDecodeLikeImageMagick(t *testing.T) {
	dir := t.TempDir()
	src := base(t, dir)
	grey := filepath.Join(dir, "grey.pgm")
	magick(t, src, "-colorspace", "gray", "-depth", "8", grey)
	grey16 := filepath.Join(dir, "grey16.pgm")
	magick(t, src, "-colorspace", "gray", "-depth", "16", grey16)
	rgb16 := filepath.Join(dir, "rgb16.ppm")
	magick(t, src, "-depth", "16", rgb16)
	type tc struct {
		name  string
		make  func(out string)
		tol   float64 // mean difference allowed, in 8-bit levels
		depth int
	}
	im := func(in string, args ...string) func(string) {
		return func(out string) { magick(t, append(append([]string{in}, args...), out)...) }
	}
	opj := func(in string, args ...string) func(string) {
		return func(out string) { run(t, "opj_compress", append([]string{"-i", in, "-o", out}, args...)...) }
	}
	cases := []tc{
		{"grey-alpha.tif", im(src, "-colorspace", "gray", "-alpha", "on", "-channel", "A", "-evaluate", "set", "60%", "+channel", "-depth", "8"), 1, 8},
		{"grey-alpha16.tif", im(src, "-colorspace", "gray", "-alpha", "on", "-channel", "A", "-evaluate", "set", "60%", "+channel", "-depth", "16"), 1, 8},
		{"rgba-unassociated.tif", im(src, "-alpha", "on", "-channel", "A", "-evaluate", "set", "70%", "+channel", "-define", "tiff:alpha=unassociated", "-depth", "8"), 1, 32},
		{"rgba-associated.tif", im(src, "-alpha", "on", "-channel", "A", "-evaluate", "set", "70%", "+channel", "-define", "tiff:alpha=associated", "-depth", "8"), 1, 32},
		{"rgb16.tif", im(src, "-depth", "16"), 1, 32},
		{"grey16.tif", im(src, "-colorspace", "gray", "-depth", "16"), 1, 8},
		{"cmyk.tif", im(src, "-colorspace", "cmyk", "-depth", "8"), 2, 32},
		{"cmyk16.tif", im(src, "-colorspace", "cmyk", "-depth", "16"), 2, 32},
		{"tiled.tif", im(src, "-define", "tiff:tile-geometry=64x64", "-depth", "8"), 1, 32},
		{"jpeg-in-tiff.tif", im(src, "-compress", "jpeg", "-quality", "90"), 2, 32},
		{"jpeg-in-tiff-grey.tif", im(src, "-colorspace", "gray", "-compress", "jpeg"), 2, 8},
		{"planar.tif", im(src, "-interlace", "plane", "-depth", "8"), 1, 32},
		{"planar16.tif", im(src, "-interlace", "plane", "-depth", "16"), 1, 32},
		{"big-endian.tif", im(src, "-define", "tiff:endian=msb", "-depth", "16"), 1, 32},
		{"g4.tif", im(src, "-colorspace", "gray", "-threshold", "50%", "-compress", "group4"), 0, 1},
		{"g3.tif", im(src, "-colorspace", "gray", "-threshold", "50%", "-compress", "fax"), 0, 1},
		{"palette-lzw.tif", im(src, "-colors", "16", "-type", "Palette", "-compress", "lzw"), 1, 32},
		{"packbits-grey.tif", im(src, "-colorspace", "gray", "-compress", "rle", "-depth", "8"), 0, 8},
		{"lossless.jp2", opj(src), 1, 32},
		{"lossy.jp2", opj(src, "-r", "20"), 1, 32},
		{"grey.jp2", opj(grey), 1, 8},
		{"grey16.jp2", opj(grey16), 1, 8},
		{"rgb16.jp2", opj(rgb16), 1, 32},
		{"codestream.j2k", opj(src), 1, 32},
		{"grey16.png", im(src, "-colorspace", "gray", "-depth", "16"), 1, 8},
		{"palette.png", im(src, "-colors", "16", "-type", "Palette"), 1, 32},
		{"alpha.png", im(src, "-alpha", "on", "-channel", "A", "-evaluate", "set", "50%", "+channel"), 1, 32},
		{"page.gif", im(src), 1, 32},
		{"page.bmp", im(src), 1, 32},
		{"page.webp", im(src, "-define", "webp:lossless=true"), 1, 32},
		{"cmyk.jpg", im(src, "-colorspace", "cmyk", "-quality", "95"), 3, 32},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			c.make(p)
			w, h, want := reference(t, p, 0)
			gw, gh, got, depth := ours(t, p, 0)
			if gw != w || gh != h {
				t.Fatalf("%dx%d, want %dx%d", gw, gh, w, h)
			}
			if depth != c.depth {
				t.Errorf("depth %d, want %d", depth, c.depth)
			}
			if d := diff(got, want); d > c.tol {
				t.Errorf("mean difference %.2f levels from ImageMagick's pixels (allowed %.1f)", d, c.tol)
			}
		})
	}
}

func diff(a, b []byte) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s / float64(len(a))
}

// TestMixedMultiPage: a TIFF whose pages differ (CCITT, grey, 16-bit RGB,
// JPEG) reads page by page, each as its own kind, each with its own
// resolution; orientation tags are applied as ImageMagick applies them.
func TestMixedMultiPage(t *testing.T) {
	dir := t.TempDir()
	src := base(t, dir)
	var pages []string
	for i, args := range [][]string{
		{"-colorspace", "gray", "-threshold", "50%", "-compress", "group4", "-density", "300", "-units", "PixelsPerInch"},
		{"-colorspace", "gray", "-depth", "8", "-density", "200", "-units", "PixelsPerInch"},
		{"-depth", "16", "-density", "118", "-units", "PixelsPerCentimeter"},
		{"-compress", "jpeg", "-density", "400", "-units", "PixelsPerInch"},
	} {
		p := filepath.Join(dir, fmt.Sprintf("p%d.tif", i))
		magick(t, append(append([]string{src}, args...), p)...)
		pages = append(pages, p)
	}
	run(t, "tiffset", "-s", "274", "6", pages[1]) // the grey page stored sideways
	book := filepath.Join(dir, "book.tif")
	run(t, "tiffcp", append(pages, book)...)
	info, err := Inspect(book, 100)
	if err != nil || len(info.Pages) != 4 {
		t.Fatalf("%+v %v", info, err)
	}
	wantDPI := []float64{300, 200, 299.72, 400}
	wantDepth := []int{1, 8, 32, 32}
	for i := range 4 {
		if p := info.Pages[i]; math.Abs(p.DPIX-wantDPI[i]) > 0.5 {
			t.Errorf("page %d: %g dpi, want %g", i+1, p.DPIX, wantDPI[i])
		}
		w, h, want := reference(t, book, i)
		gw, gh, got, depth := ours(t, book, i)
		if gw != w || gh != h || depth != wantDepth[i] || diff(got, want) > 2 {
			t.Errorf("page %d: %dx%d depth %d, difference %.2f; want %dx%d depth %d", i+1, gw, gh, depth, diff(got, want), w, h, wantDepth[i])
		}
	}
	if info.Pages[1].Orientation != 6 {
		t.Errorf("orientation %d", info.Pages[1].Orientation)
	}
}

// TestExifOrientation: a camera JPEG stored sideways says so in Exif; it is
// read with that orientation, and turned as ImageMagick turns it.
func TestExifOrientation(t *testing.T) {
	dir := t.TempDir()
	jpg := filepath.Join(dir, "plain.jpg")
	magick(t, base(t, dir), "-quality", "95", jpg)
	data, _ := os.ReadFile(jpg)
	for _, o := range []int{3, 6, 8, 5} {
		p := filepath.Join(dir, fmt.Sprintf("o%d.jpg", o))
		os.WriteFile(p, withExifOrientation(data, o), 0o644)
		info, err := Inspect(p, 1)
		if err != nil || info.Pages[0].Orientation != o {
			t.Fatalf("orientation %d: %+v %v", o, info, err)
		}
		w, h, want := reference(t, p, 0)
		gw, gh, got, _ := ours(t, p, 0)
		if gw != w || gh != h || diff(got, want) > 1 {
			t.Errorf("orientation %d: %dx%d, difference %.2f; ImageMagick %dx%d", o, gw, gh, diff(got, want), w, h)
		}
	}
}

// withExifOrientation puts an Exif segment with one tag, Orientation,
// after a JPEG's SOI marker.
func withExifOrientation(jpg []byte, o int) []byte {
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	binary.Write(&t, binary.BigEndian, uint16(1))
	binary.Write(&t, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&t, binary.BigEndian, uint32(1))
	binary.Write(&t, binary.BigEndian, []uint16{uint16(o), 0})
	binary.Write(&t, binary.BigEndian, uint32(0))
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

// TestCorruptOrUnsupported: damaged data is corrupt; a valid file in an
// encoding no decoder here reads says so, and is not called corrupt.
func TestCorruptOrUnsupported(t *testing.T) {
	dir := t.TempDir()
	src := base(t, dir)
	file := func(name string, args ...string) []byte {
		p := filepath.Join(dir, name)
		magick(t, append(append([]string{src}, args...), p)...)
		b, _ := os.ReadFile(p)
		return b
	}
	half := func(b []byte) []byte { return b[:len(b)/2] }
	tif := file("ok.tif", "-compress", "zip")
	jpg := file("ok.jpg")
	png := file("ok.png")
	jp2p := filepath.Join(dir, "ok.jp2")
	run(t, "opj_compress", "-i", src, "-o", jp2p)
	jp2, _ := os.ReadFile(jp2p)
	unknown := file("none.tif", "-compress", "none")
	unknownCompression(t, unknown, 50009)
	lossless := bytes.Replace(jpg, []byte{0xFF, 0xC0}, []byte{0xFF, 0xC3}, 1)
	for _, c := range []struct {
		name string
		data []byte
		want error
		says string
	}{
		{"truncated.tif", half(tif), ErrCorrupt, ""},
		{"truncated.jpg", half(jpg), ErrCorrupt, "read error"},
		{"truncated.png", half(png), ErrCorrupt, ""},
		{"truncated.jp2", half(jp2), ErrCorrupt, ""},
		{"compression50009.tif", unknown, ErrUnsupported, "50009"},
		{"lossless.jpg", lossless, ErrUnsupported, "SOF3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			os.WriteFile(p, c.data, 0o644)
			info, err := Inspect(p, 10)
			if err == nil {
				var pix *Pix
				pix, err = Decode(p, info, 0, 0)
				pix.Close()
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
			if c.want == ErrUnsupported && errors.Is(err, ErrCorrupt) {
				t.Errorf("a valid file called corrupt: %v", err)
			}
		})
	}
}

// unknownCompression sets the Compression tag of a one-page little- or
// big-endian TIFF's first directory.
func unknownCompression(t *testing.T, tif []byte, c uint16) {
	t.Helper()
	var bo binary.ByteOrder = binary.LittleEndian
	if string(tif[:2]) == "MM" {
		bo = binary.BigEndian
	}
	off := int(bo.Uint32(tif[4:]))
	n := int(bo.Uint16(tif[off:]))
	for k := range n {
		e := off + 2 + 12*k
		if bo.Uint16(tif[e:]) == 259 {
			bo.PutUint16(tif[e+8:], c)
			return
		}
	}
	t.Fatal("no Compression tag")
}
