// Package ocr turns scanned images into pages with recognised words:
// it splits multi-page TIFFs, reads each page's resolution, and runs
// Tesseract (through gosseract) on every page, keeping word boxes and
// confidences.
package ocr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for page images
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"

	"github.com/strongroom-archive/strongroom/formats/pdfread"
)

// SourcePage is one page of an original file: its own encoded bytes (a
// single-page TIFF for a page of a multi-page one) and what the file says
// of its resolution.
type SourcePage struct {
	Data   []byte
	Format string // jpeg, png, tiff, gif, bmp
	DPIX   float64
	DPIY   float64
	// DPIAssumed is true when the file gave no resolution and the
	// configured default was used (recorded in the PREMIS event).
	DPIAssumed bool
}

// Decodable reports whether pages of this MIME type can be OCRed here
// (PDFs: if they turn out image-only). JPEG 2000 cannot: neither Go nor
// this Leptonica decodes it.
func Decodable(mime string) bool {
	switch mime {
	case "image/tiff", "image/jpeg", "image/png", "image/gif", "image/bmp", "application/pdf":
		return true
	}
	return false
}

// MaxPages is the most pages one file may have (a TIFF's directory chain,
// a PDF's page tree): a hostile file claiming a million pages is refused
// before any page is read.
const MaxPages = 10000

// ErrUnsupported is returned for files that cannot be split into pages.
var ErrUnsupported = errors.New("not a supported page image")

// Split returns the pages of an image file or an image-only PDF.
// defaultDPI is used when the file records no resolution; lim bounds what
// reading a PDF may cost.
func Split(data []byte, defaultDPI float64, lim pdfread.Limits) ([]SourcePage, error) {
	var pages []SourcePage
	var err error
	format := "pdf"
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		if _, format, err = image.DecodeConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
	}
	switch format {
	case "pdf":
		if pages, err = SplitPDF(data, lim); err != nil {
			return nil, err
		}
	case "tiff":
		pages, err = splitTIFF(data)
		if err != nil {
			return nil, err
		}
	default:
		p := SourcePage{Data: data, Format: format}
		switch format {
		case "png":
			p.DPIX, p.DPIY = pngDPI(data)
		case "jpeg":
			p.DPIX, p.DPIY = jpegDPI(data)
		}
		pages = []SourcePage{p}
	}
	for i := range pages {
		if pages[i].DPIX <= 0 || pages[i].DPIY <= 0 {
			pages[i].DPIX, pages[i].DPIY, pages[i].DPIAssumed = defaultDPI, defaultDPI, true
		}
	}
	return pages, nil
}

// splitTIFF makes a single-page TIFF of each IFD: the same bytes with the
// header pointing at that IFD and its next-IFD link cut, so no strip is
// copied or decoded here.
func splitTIFF(data []byte) ([]SourcePage, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: TIFF header truncated", ErrUnsupported)
	}
	var bo binary.ByteOrder
	switch string(data[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: not a TIFF", ErrUnsupported)
	}
	var pages []SourcePage
	seen := map[uint32]bool{}
	for off := bo.Uint32(data[4:8]); off != 0; {
		if seen[off] || int(off)+2 > len(data) || len(pages) >= MaxPages {
			return nil, fmt.Errorf("%w: TIFF directory chain is broken", ErrUnsupported)
		}
		seen[off] = true
		n := int(bo.Uint16(data[off:]))
		end := int(off) + 2 + 12*n
		if end+4 > len(data) {
			return nil, fmt.Errorf("%w: TIFF directory %d truncated", ErrUnsupported, len(pages)+1)
		}
		page := append([]byte(nil), data...)
		bo.PutUint32(page[4:8], off)
		bo.PutUint32(page[end:end+4], 0)
		p := SourcePage{Data: page, Format: "tiff"}
		p.DPIX, p.DPIY = tiffDPI(data, bo, int(off), n)
		pages = append(pages, p)
		off = bo.Uint32(data[end : end+4])
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: TIFF has no pages", ErrUnsupported)
	}
	return pages, nil
}

// tiffDPI reads XResolution, YResolution and ResolutionUnit of one IFD.
func tiffDPI(data []byte, bo binary.ByteOrder, off, n int) (float64, float64) {
	rational := func(at uint32) float64 {
		if int(at)+8 > len(data) {
			return 0
		}
		num, den := bo.Uint32(data[at:]), bo.Uint32(data[at+4:])
		if den == 0 {
			return 0
		}
		return float64(num) / float64(den)
	}
	var x, y float64
	unit := uint16(2) // inches, the TIFF default
	for i := range n {
		e := data[off+2+12*i:]
		tag := bo.Uint16(e)
		switch tag {
		case 282:
			x = rational(bo.Uint32(e[8:]))
		case 283:
			y = rational(bo.Uint32(e[8:]))
		case 296:
			unit = bo.Uint16(e[8:])
		}
	}
	switch unit {
	case 3: // centimetres
		return x * 2.54, y * 2.54
	case 1: // no absolute unit
		return 0, 0
	}
	return x, y
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
