package pdfa

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
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
	var raw []byte
	out := Image{Filter: "FlateDecode", Width: w, Height: h}
	switch {
	case bilevel:
		out.ColorSpace, out.BitsPerComponent = "DeviceGray", 1
		stride := (w + 7) / 8
		raw = make([]byte, stride*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if c := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray); c.Y >= 128 {
					raw[y*stride+x/8] |= 0x80 >> (x % 8)
				}
			}
		}
	case gray:
		out.ColorSpace, out.BitsPerComponent = "DeviceGray", 8
		raw = make([]byte, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				raw[y*w+x] = flatten(img.At(b.Min.X+x, b.Min.Y+y))[0]
			}
		}
	default:
		out.ColorSpace, out.BitsPerComponent = "DeviceRGB", 8
		raw = make([]byte, 3*w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				copy(raw[3*(y*w+x):], flatten(img.At(b.Min.X+x, b.Min.Y+y)))
			}
		}
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(raw)
	zw.Close()
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
