package pdfa

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
)

// FromJPEG embeds a JPEG as it is (DCTDecode): no recompression, no loss.
func FromJPEG(data []byte) (Image, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Image{}, fmt.Errorf("pdfa: jpeg: %w", err)
	}
	cs := ""
	switch cfg.ColorModel {
	case color.GrayModel:
		cs = "DeviceGray"
	case color.YCbCrModel, color.RGBAModel:
		cs = "DeviceRGB"
	default:
		return Image{}, fmt.Errorf("pdfa: jpeg colour model %T not supported (CMYK JPEGs are re-encoded)", cfg.ColorModel)
	}
	return Image{Filter: "DCTDecode", Data: data, ColorSpace: cs, BitsPerComponent: 8, Width: cfg.Width, Height: cfg.Height}, nil
}

// FromJPX embeds a JPEG 2000 file (JP2) or codestream (J2K) as it is, if
// PDF/A-2 allows its data (6.2.8.3) and it holds grey or RGB (samples: 1
// or 3). A JP2 carries its own colour specification; a bare codestream is
// given DeviceGray or DeviceRGB.
func FromJPX(data []byte, w, h, samples int) (Image, error) {
	if samples != 1 && samples != 3 {
		return Image{}, fmt.Errorf("pdfa: JPEG 2000 with %d channels is not embedded as it is", samples)
	}
	if bad := jpxProblems(data); len(bad) > 0 {
		return Image{}, fmt.Errorf("pdfa: JPEG 2000 data with %s", strings.Join(bad, ", "))
	}
	im := Image{Filter: "JPXDecode", Data: data, Width: w, Height: h}
	if binary.BigEndian.Uint32(data) == 0xFF4FFF51 {
		im.ColorSpace = map[int]string{1: "DeviceGray", 3: "DeviceRGB"}[samples]
	}
	return im, nil
}

// FromPNG embeds a PNG's pixels without decoding it as an image: its rows
// are inflated, unfiltered and deflated again.
// ok is false for PNGs that need converting (palette, alpha, 16-bit,
// interlaced); use FromImage for those.
func FromPNG(data []byte) (im Image, ok bool) {
	if len(data) < 33 || string(data[:8]) != "\x89PNG\r\n\x1a\n" || string(data[12:16]) != "IHDR" {
		return Image{}, false
	}
	w, h := int(binary.BigEndian.Uint32(data[16:])), int(binary.BigEndian.Uint32(data[20:]))
	depth, ctype, interlace := data[24], data[25], data[28]
	colors := map[byte]int{0: 1, 2: 3}[ctype]
	if colors == 0 || interlace != 0 || (depth != 8 && !(depth == 1 && ctype == 0)) {
		return Image{}, false
	}
	var idat bytes.Buffer
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		if n < 0 || i+12+n > len(data) {
			return Image{}, false
		}
		switch string(data[i+4 : i+8]) {
		case "IDAT":
			idat.Write(data[i+8 : i+8+n])
		case "IEND":
			i = len(data)
			continue
		}
		i += 12 + n
	}
	if idat.Len() == 0 {
		return Image{}, false
	}
	cs := "DeviceGray"
	if colors == 3 {
		cs = "DeviceRGB"
	}
	// Undo the PNG row filters and compress the plain rows: for scanned
	// text this is smaller than the filtered rows, and it costs far less
	// than decoding the image.
	zr, err := zlib.NewReader(&idat)
	if err != nil {
		return Image{}, false
	}
	bpp := max(colors*int(depth)/8, 1)
	stride := (w*colors*int(depth) + 7) / 8
	raw, err := unfilter(zr, stride, h, bpp)
	if err != nil {
		return Image{}, false
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(raw)
	zw.Close()
	return Image{Filter: "FlateDecode", Data: z.Bytes(), ColorSpace: cs, BitsPerComponent: int(depth), Width: w, Height: h}, true
}

// unfilter reads PNG-filtered rows (a filter byte, then stride bytes) and
// returns the plain rows.
func unfilter(r io.Reader, stride, h, bpp int) ([]byte, error) {
	out := make([]byte, stride*h)
	row := make([]byte, stride+1)
	prev := make([]byte, stride)
	for y := 0; y < h; y++ {
		if _, err := io.ReadFull(r, row); err != nil {
			return nil, err
		}
		cur := out[y*stride : (y+1)*stride]
		copy(cur, row[1:])
		switch row[0] {
		case 0:
		case 1: // Sub
			for i := bpp; i < stride; i++ {
				cur[i] += cur[i-bpp]
			}
		case 2: // Up
			for i := range cur {
				cur[i] += prev[i]
			}
		case 3: // Average
			for i := range cur {
				var left byte
				if i >= bpp {
					left = cur[i-bpp]
				}
				cur[i] += byte((int(left) + int(prev[i])) / 2)
			}
		case 4: // Paeth
			for i := range cur {
				var a, c byte
				if i >= bpp {
					a, c = cur[i-bpp], prev[i-bpp]
				}
				cur[i] += paeth(a, prev[i], c)
			}
		default:
			return nil, fmt.Errorf("unknown PNG filter %d", row[0])
		}
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// FromImage embeds a decoded image losslessly with Flate: bilevel images as
// 1 bit per pixel, grey as 8-bit grey, anything else as 8-bit RGB (alpha is
// flattened onto white: PDF/A page images carry no transparency).
func FromImage(img image.Image) (Image, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return Image{}, fmt.Errorf("pdfa: empty image")
	}
	gray, bilevel := isGray(img)
	out := Image{Filter: "FlateDecode", Width: w, Height: h}
	// Rows go to the compressor one at a time: memory holds the page's
	// pixels once (the decoded image), not a second raw copy of them.
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	var row []byte
	switch {
	case bilevel:
		out.ColorSpace, out.BitsPerComponent = "DeviceGray", 1
		row = make([]byte, (w+7)/8)
		for y := 0; y < h; y++ {
			clear(row)
			for x := 0; x < w; x++ {
				if c := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray); c.Y >= 128 {
					row[x/8] |= 0x80 >> (x % 8)
				}
			}
			zw.Write(row)
		}
	case gray:
		out.ColorSpace, out.BitsPerComponent = "DeviceGray", 8
		if g, ok := img.(*image.Gray); ok { // most scans: their own rows
			for y := 0; y < h; y++ {
				at := (y+b.Min.Y-g.Rect.Min.Y)*g.Stride + (b.Min.X - g.Rect.Min.X)
				zw.Write(g.Pix[at : at+w])
			}
			break
		}
		row = make([]byte, w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				row[x] = flatten(img.At(b.Min.X+x, b.Min.Y+y))[0]
			}
			zw.Write(row)
		}
	default:
		out.ColorSpace, out.BitsPerComponent = "DeviceRGB", 8
		row = make([]byte, 3*w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				copy(row[3*x:], flatten(img.At(b.Min.X+x, b.Min.Y+y)))
			}
			zw.Write(row)
		}
	}
	if err := zw.Close(); err != nil {
		return Image{}, err
	}
	out.Data = z.Bytes()
	return out, nil
}

// flatten composites a colour onto white and returns 8-bit RGB.
func flatten(c color.Color) []byte {
	r, g, b, a := c.RGBA()
	bg := 0xffff - a
	return []byte{byte((r + bg) >> 8), byte((g + bg) >> 8), byte((b + bg) >> 8)}
}

// isGray reports whether every pixel is grey, and whether it is bilevel.
func isGray(img image.Image) (gray, bilevel bool) {
	switch m := img.(type) {
	case *image.Gray, *image.Gray16:
		gray = true
	case *image.Paletted:
		gray = true
		for _, c := range m.Palette {
			p := flatten(c)
			if p[0] != p[1] || p[1] != p[2] {
				gray = false
			}
		}
	default:
		return false, false
	}
	b := img.Bounds()
	bilevel = true
	for y := b.Min.Y; y < b.Max.Y && bilevel; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if v := flatten(img.At(x, y))[0]; v != 0 && v != 255 {
				bilevel = false
				break
			}
		}
	}
	return gray, bilevel
}
