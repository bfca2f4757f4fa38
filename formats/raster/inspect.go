package raster

/*
#include <stdlib.h>
#include "raster.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"unsafe"
)

// Page describes one page of a file, from its headers.
type Page struct {
	Width, Height int
	Bits          int    // per sample
	Samples       int    // per pixel, extra samples (alpha) included
	Colour        string // grey, RGB, CMYK, palette, YCbCr, …
	Compression   string
	DPIX, DPIY    float64 // 0: the file records none
	// Orientation is the TIFF or Exif orientation, 1 to 8 (1: rows top
	// down, columns left to right, as stored).
	Orientation int
	// Lossy is true for pages stored with lossy compression (JPEG inside a
	// TIFF): a copy of them need not be lossless either.
	Lossy bool

	offset uint64 // TIFF: the page's directory
}

// Pixels is the page's width times height.
func (p Page) Pixels() int64 { return int64(p.Width) * int64(p.Height) }

// Info describes a file.
type Info struct {
	Format Format
	Pages  []Page
}

// Inspect reads the headers of the image file at path: its format and,
// for each page, its size and layout. No pixel is decoded. A file with
// more than maxPages pages is refused.
func Inspect(path string, maxPages int) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 1024)
	n, _ := io.ReadFull(f, head)
	f.Close()
	info := &Info{Format: Sniff(head[:n])}
	calls.Lock()
	defer calls.Unlock()
	C.sr_msgs_reset()
	switch info.Format {
	case TIFF:
		return info, inspectTIFF(path, info, maxPages)
	case JP2, J2K:
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		var h C.sr_jp2_info
		if C.sr_jp2_header(cpath, boolInt(info.Format == J2K), &h) == 0 {
			return info, failure("JPEG 2000 header")
		}
		p := Page{Width: int(h.w), Height: int(h.h), Bits: int(h.prec), Samples: int(h.comps), Colour: jp2Colour(int(h.colorspace), int(h.comps)),
			Compression: "JPEG 2000", Orientation: 1}
		if info.Format == JP2 {
			p.DPIX, p.DPIY = jp2DPI(path)
		}
		info.Pages = []Page{p}
	case JPEG, PNG, GIF, BMP, WebP, PNM:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if sof := jpegProcess(data); info.Format == JPEG && sof != 0 && sof != 0xC0 && sof != 0xC1 && sof != 0xC2 && sof != 0xC9 && sof != 0xCA {
			return info, fmt.Errorf("%w: JPEG process SOF%d (lossless or hierarchical JPEG): libjpeg does not decode it", ErrUnsupported, sof-0xC0)
		}
		var format, w, h, bps, spp, cmap C.l_int32
		if len(data) == 0 || C.pixReadHeaderMem((*C.l_uint8)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &format, &w, &h, &bps, &spp, &cmap) != 0 {
			return info, failure(string(info.Format) + " header")
		}
		p := Page{Width: int(w), Height: int(h), Bits: int(bps), Samples: int(spp), Colour: colour(int(spp), cmap != 0), Compression: string(info.Format), Orientation: 1}
		switch info.Format {
		case JPEG:
			p.DPIX, p.DPIY = jpegDPI(data)
			p.Orientation = exifOrientation(data)
			p.Lossy = true
		case PNG:
			p.DPIX, p.DPIY = pngDPI(data)
		}
		info.Pages = []Page{p}
	default:
		return info, fmt.Errorf("%w: not a raster image format read here", ErrUnsupported)
	}
	return info, nil
}

func inspectTIFF(path string, info *Info, maxPages int) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	buf := make([]C.sr_tiff_page, maxPages+1)
	n := int(C.sr_tiff_pages(cpath, &buf[0], C.int(len(buf)-1)))
	switch {
	case n < 0:
		return failure("TIFF header")
	case n > maxPages:
		return fmt.Errorf("%w: more than %d pages", ErrTooLarge, maxPages)
	}
	if said := C.GoString(C.sr_msgs()); said != "" {
		// libtiff stopped reading directories on an error: the chain is
		// damaged after page n.
		return failure(fmt.Sprintf("TIFF directory after page %d", n))
	}
	for _, t := range buf[:n] {
		p := Page{Width: int(t.w), Height: int(t.h), Bits: int(t.bps), Samples: int(t.spp), Orientation: int(t.orientation), offset: uint64(t.offset),
			Colour: tiffPhotometric[int(t.photometric)], Compression: tiffCompression(int(t.compression))}
		if p.Colour == "" {
			p.Colour = fmt.Sprintf("photometric %d", t.photometric)
		}
		if p.Orientation < 1 || p.Orientation > 8 {
			p.Orientation = 1
		}
		switch t.compression {
		case 6, 7, 34712, 50001: // old and new JPEG, JPEG 2000, WebP
			p.Lossy = true
		}
		if t.xres > 0 && t.yres > 0 {
			switch t.resunit {
			case 2:
				p.DPIX, p.DPIY = float64(t.xres), float64(t.yres)
			case 3:
				p.DPIX, p.DPIY = float64(t.xres)*2.54, float64(t.yres)*2.54
			}
		}
		info.Pages = append(info.Pages, p)
	}
	return nil
}

var tiffPhotometric = map[int]string{0: "grey (min-is-white)", 1: "grey", 2: "RGB", 3: "palette", 4: "mask", 5: "CMYK", 6: "YCbCr", 8: "CIELab", 9: "ICCLab", 10: "ITULab", 32844: "LogL", 32845: "LogLuv"}

func tiffCompression(c int) string {
	if s, ok := map[int]string{1: "none", 2: "CCITT RLE", 3: "CCITT G3", 4: "CCITT G4", 5: "LZW", 6: "old JPEG", 7: "JPEG", 8: "Deflate", 32773: "PackBits",
		32946: "Deflate", 34712: "JPEG 2000", 34887: "LERC", 34925: "LZMA", 50000: "ZSTD", 50001: "WebP"}[c]; ok {
		return s
	}
	return fmt.Sprintf("compression %d", c)
}

func colour(spp int, cmap bool) string {
	switch {
	case cmap:
		return "palette"
	case spp <= 2:
		return "grey"
	}
	return "RGB"
}

func jp2Colour(cs, comps int) string {
	switch cs {
	case 1:
		return "RGB"
	case 2:
		return "grey"
	case 3:
		return "YCC"
	case 4:
		return "e-YCC"
	case 5:
		return "CMYK"
	}
	return colour(comps, false)
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// pngDPI reads the pHYs chunk (pixels per metre).
func pngDPI(data []byte) (float64, float64) {
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		if typ == "pHYs" && n >= 9 && i+8+9 <= len(data) {
			if data[i+16] != 1 { // unit: metre
				return 0, 0
			}
			return float64(binary.BigEndian.Uint32(data[i+8:])) * 0.0254, float64(binary.BigEndian.Uint32(data[i+12:])) * 0.0254
		}
		if typ == "IDAT" || n < 0 {
			break
		}
		i += 12 + n
	}
	return 0, 0
}

// jpegDPI reads the JFIF APP0 density.
func jpegDPI(data []byte) (float64, float64) {
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xE0 && i+4+12 <= len(data) && string(data[i+4:i+9]) == "JFIF\x00" {
			unit := data[i+11]
			x, y := float64(binary.BigEndian.Uint16(data[i+12:])), float64(binary.BigEndian.Uint16(data[i+14:]))
			switch unit {
			case 1:
				return x, y
			case 2:
				return x * 2.54, y * 2.54
			}
			return 0, 0
		}
		if marker == 0xDA {
			break
		}
		i += 2 + n
	}
	return 0, 0
}

// jpegProcess returns the first start-of-frame marker (0xC0 baseline,
// 0xC2 progressive, 0xC3 lossless, …), or 0.
func jpegProcess(data []byte) byte {
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			return marker
		}
		if marker == 0xDA {
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return 0
}

// exifOrientation reads the Orientation tag (0x0112) of a JPEG's Exif
// APP1 segment; 1 when there is none.
func exifOrientation(data []byte) int {
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xDA || n < 2 || i+2+n > len(data) {
			break
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads the Orientation tag of the first directory of a
// TIFF structure in memory (Exif's).
func tiffOrientation(t []byte) int {
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:8]))
	if off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			break
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
		}
	}
	return 1
}

// jp2DPI reads the capture resolution (resc) of a JP2's res box, else its
// default display resolution (resd).
func jp2DPI(path string) (float64, float64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	head := make([]byte, 4096) // the header box comes before the codestream
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	var dpi [2]float64
	found := false
	boxes(head, func(typ string, body []byte) {
		if typ != "jp2h" {
			return
		}
		boxes(body, func(typ string, body []byte) {
			if typ != "res " {
				return
			}
			boxes(body, func(typ string, b []byte) {
				if len(b) < 10 || (found && typ == "resd") {
					return
				}
				num := func(at int) float64 {
					n, d, e := float64(binary.BigEndian.Uint16(b[at:])), float64(binary.BigEndian.Uint16(b[at+2:])), int8(b[8+at/4])
					if d == 0 {
						return 0
					}
					v := n / d
					for ; e > 0; e-- {
						v *= 10
					}
					for ; e < 0; e++ {
						v /= 10
					}
					return v * 0.0254 // per metre to per inch
				}
				dpi = [2]float64{num(4), num(0)} // vertical first, then horizontal
				found = typ == "resc"
			})
		})
	})
	return dpi[0], dpi[1]
}

// boxes calls fn for each JP2 box in b.
func boxes(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		n := int(binary.BigEndian.Uint32(b))
		hdr := 8
		if n == 1 && len(b) >= 16 {
			n, hdr = int(binary.BigEndian.Uint64(b[8:])), 16
		}
		if n == 0 || n > len(b) {
			n = len(b)
		}
		if n < hdr {
			return
		}
		fn(string(b[4:8]), b[hdr:n])
		b = b[n:]
	}
}
