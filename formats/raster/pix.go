package raster

/*
#include <stdlib.h>
#include "raster.h"
*/
import "C"

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"unsafe"
)

// Pix is a decoded page: 1 bit (1 = black), 8-bit grey or RGB. Its pixels
// are C memory the Go collector does not see: Close each one.
type Pix struct {
	p *C.PIX
}

func newPix(p *C.PIX) *Pix { return &Pix{p: p} }

// Close frees the pixels.
func (x *Pix) Close() {
	if x != nil && x.p != nil {
		C.pixDestroy(&x.p)
	}
}

// Width, Height and Depth (1, 8 or 32) of the page.
func (x *Pix) Width() int  { return int(C.pixGetWidth(x.p)) }
func (x *Pix) Height() int { return int(C.pixGetHeight(x.p)) }
func (x *Pix) Depth() int  { return int(C.pixGetDepth(x.p)) }

// Pointer is the Leptonica PIX, for Tesseract (which takes one).
func (x *Pix) Pointer() unsafe.Pointer { return unsafe.Pointer(x.p) }

// replace swaps in a new C image, freeing the old one.
// ErrNoMemory marks a Leptonica operation on a valid page that returned
// nothing: on a page within the pixel limits that means an allocation
// failed (the worker's memory cap), which a fresh worker may not hit.
var ErrNoMemory = fmt.Errorf("%w: out of memory", ErrTooLarge)

func outOfMemory(what string) error { return fmt.Errorf("%w (raster: %s)", ErrNoMemory, what) }

func (x *Pix) replace(p *C.PIX, what string) error {
	if p == nil {
		return outOfMemory(what)
	}
	if p != x.p {
		C.pixDestroy(&x.p)
		x.p = p
	}
	return nil
}

// Orient turns a page stored with TIFF or Exif orientation o (1 to 8) the
// right way up.
func (x *Pix) Orient(o int) error {
	calls.Lock()
	defer calls.Unlock()
	rot := map[int]int{3: 2, 5: 1, 6: 1, 7: 1, 8: 3}[o]
	if rot != 0 {
		if err := x.replace(C.pixRotateOrth(x.p, C.l_int32(rot)), "rotate"); err != nil {
			return err
		}
	}
	switch o {
	case 2, 5:
		return x.replace(C.pixFlipLR(nil, x.p), "flip")
	case 4, 7:
		return x.replace(C.pixFlipTB(nil, x.p), "flip")
	}
	return nil
}

// Rotate turns the page clockwise by quarter turns.
func (x *Pix) Rotate(quarters int) error {
	if quarters%4 == 0 {
		return nil
	}
	calls.Lock()
	defer calls.Unlock()
	return x.replace(C.pixRotateOrth(x.p, C.l_int32((quarters%4+4)%4)), "rotate")
}

// Deskew straightens a page scanned at a slight angle and returns the
// angle it was turned by (degrees, clockwise), or 0 when Leptonica finds
// no skew it is confident of.
func (x *Pix) Deskew() (float64, error) {
	calls.Lock()
	defer calls.Unlock()
	var angle, conf C.l_float32
	p := C.pixDeskewGeneral(x.p, 0, 0, 0, 0, 0, &angle, &conf)
	if err := x.replace(p, "deskew"); err != nil {
		return 0, err
	}
	// pixDeskewGeneral returns a copy, unturned, below its confidence and
	// minimum angle thresholds (3.0 and 0.1°).
	if conf < 3 || angle > -0.1 && angle < 0.1 {
		return 0, nil
	}
	return float64(angle), nil
}

// Thumbnail returns the page as 8-bit grey scaled down (averaged) to
// w×h pixels, row by row: a perceptual hash's input.
func (x *Pix) Thumbnail(w, h int) ([]byte, error) {
	out := make([]byte, w*h)
	calls.Lock()
	defer calls.Unlock()
	if C.sr_thumb(x.p, C.int(w), C.int(h), (*C.uint8_t)(unsafe.Pointer(&out[0]))) != 0 {
		return nil, outOfMemory("thumbnail")
	}
	return out, nil
}

// Scaled returns a copy scaled by f (below 1: grey or RGB, never 1 bit).
func (x *Pix) Scaled(f float64) (*Pix, error) {
	calls.Lock()
	defer calls.Unlock()
	p := C.pixScale(x.p, C.l_float32(f), C.l_float32(f))
	if p == nil {
		return nil, outOfMemory("scale")
	}
	return newPix(p), nil
}

// FromPixels makes a page from 8-bit grey (channels 1) or RGBA rows
// (channels 4; alpha ignored), stride bytes apart.
func FromPixels(pix []byte, w, h, channels, stride int) (*Pix, error) {
	if w <= 0 || h <= 0 || len(pix) < (h-1)*stride+w*channels {
		return nil, fmt.Errorf("raster: %d×%d×%d pixels in %d bytes", w, h, channels, len(pix))
	}
	calls.Lock()
	defer calls.Unlock()
	p := C.sr_from_rows((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h), C.int(channels), C.int(stride))
	if p == nil {
		return nil, outOfMemory("copy")
	}
	p = C.sr_normalise(p)
	if p == nil {
		return nil, outOfMemory("convert")
	}
	return newPix(p), nil
}

// Encoded is a page image compressed for a PDF: the stream data and what
// its dictionary must say.
type Encoded struct {
	Filter     string // CCITTFaxDecode, FlateDecode or DCTDecode
	Data       []byte
	Width      int
	Height     int
	Colors     int // 1 or 3
	Bits       int // 1 or 8
	BlackIs1   bool
	ByteLength int // the size of the pixels unpacked, for ratios in logs
}

// G4 encodes a 1-bit page with CCITT Group 4, the fax compression every
// PDF reader decodes.
func (x *Pix) G4() (*Encoded, error) {
	if x.Depth() != 1 {
		return nil, fmt.Errorf("raster: G4 needs a 1-bit page, not %d bits", x.Depth())
	}
	calls.Lock()
	defer calls.Unlock()
	var cid *C.L_COMP_DATA
	if C.pixGenerateCIData(x.p, C.L_G4_ENCODE, 0, 0, &cid) != 0 || cid == nil {
		return nil, failure("G4 encode")
	}
	defer C.l_CIDataDestroy(&cid)
	return &Encoded{Filter: "CCITTFaxDecode", Data: C.GoBytes(unsafe.Pointer(cid.datacomp), C.int(cid.nbytescomp)), Width: x.Width(), Height: x.Height(),
		Colors: 1, Bits: 1, BlackIs1: cid.minisblack != 0}, nil
}

// JPEG encodes a grey or RGB page as a baseline JPEG of the given quality.
func (x *Pix) JPEG(quality int) (*Encoded, error) {
	if x.Depth() == 1 {
		return nil, errors.New("raster: a 1-bit page is not encoded as JPEG")
	}
	calls.Lock()
	defer calls.Unlock()
	var data *C.l_uint8
	var size C.size_t
	if C.pixWriteMemJpeg(&data, &size, x.p, C.l_int32(quality), 0) != 0 {
		return nil, failure("JPEG encode")
	}
	defer C.free(unsafe.Pointer(data))
	return &Encoded{Filter: "DCTDecode", Data: C.GoBytes(unsafe.Pointer(data), C.int(size)), Width: x.Width(), Height: x.Height(),
		Colors: x.colors(), Bits: 8}, nil
}

// Flate encodes the page without loss: 1-bit, 8-bit grey or 8-bit RGB rows
// deflated.
func (x *Pix) Flate() (*Encoded, error) {
	raw := x.Rows()
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	bits := 8
	if x.Depth() == 1 {
		bits = 1
	}
	return &Encoded{Filter: "FlateDecode", Data: z.Bytes(), Width: x.Width(), Height: x.Height(), Colors: x.colors(), Bits: bits}, nil
}

func (x *Pix) colors() int {
	if x.Depth() == 32 {
		return 3
	}
	return 1
}

// Rows returns the pixels packed row by row as PDF reads them: 1 bit with
// 1 = white, 8-bit grey, or 8-bit RGB.
func (x *Pix) Rows() []byte {
	w, h := x.Width(), x.Height()
	var n int
	switch x.Depth() {
	case 1:
		n = (w + 7) / 8 * h
	case 8:
		n = w * h
	default:
		n = 3 * w * h
	}
	out := make([]byte, n)
	calls.Lock()
	defer calls.Unlock()
	C.sr_rows(x.p, (*C.uint8_t)(unsafe.Pointer(&out[0])))
	return out
}
