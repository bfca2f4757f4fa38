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
