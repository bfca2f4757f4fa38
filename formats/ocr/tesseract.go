package ocr

/*
#cgo pkg-config: tesseract lept
#include <stdlib.h>
#include "tesseract.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/strongroom-archive/strongroom/formats/raster"
)

// tesseract is one Tesseract engine with its languages loaded, through
// Tesseract's C API: pages go to it as the Leptonica images package raster
// decodes, with their resolution.
type tesseract struct {
	api *C.TessBaseAPI
}

// newTesseract loads languages (e.g. "eng+deu", or "osd" for orientation
// detection) from Tesseract's data folder ($TESSDATA_PREFIX or the
// system's).
func newTesseract(languages string, psm int) (*tesseract, error) {
	api := C.TessBaseAPICreate()
	if api == nil {
		return nil, errors.New("tesseract: create failed")
	}
	cl := C.CString(languages)
	defer C.free(unsafe.Pointer(cl))
	if C.TessBaseAPIInit3(api, nil, cl) != 0 {
		C.TessBaseAPIDelete(api)
		return nil, fmt.Errorf("tesseract: cannot load %s", languages)
	}
	C.TessBaseAPISetPageSegMode(api, C.TessPageSegMode(psm))
	t := &tesseract{api: api}
	// Tesseract writes its debug and "Estimating resolution" chatter here.
	t.set("debug_file", "/dev/null")
	return t, nil
}

func (t *tesseract) set(name, value string) {
	cn, cv := C.CString(name), C.CString(value)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cv))
	C.TessBaseAPISetVariable(t.api, cn, cv)
}

func (t *tesseract) close() {
	C.TessBaseAPIEnd(t.api)
	C.TessBaseAPIDelete(t.api)
}

func (t *tesseract) setImage(pix *raster.Pix, dpi float64) {
	C.TessBaseAPISetImage2(t.api, (*C.struct_Pix)(pix.Pointer()))
	if dpi >= 1 {
		C.TessBaseAPISetSourceResolution(t.api, C.int(dpi+0.5))
	}
}

// recognize returns the words on pix, scanned at dpi, and the skew of
// their lines that Tesseract's layout analysis found (degrees
// anticlockwise that level them; the median over the words).
func (t *tesseract) recognize(pix *raster.Pix, dpi float64) ([]Word, float64, error) {
	defer C.TessBaseAPIClear(t.api)
	var cw *C.sr_word
	var n int
	if err := raster.Watch(func() {
		t.setImage(pix, dpi)
		n = int(C.sr_recognize(t.api, &cw))
	}); err != nil {
		if n > 0 {
			C.sr_free_words(cw, C.int(n))
		}
		return nil, 0, fmt.Errorf("%w (in Tesseract)", err)
	}
	if n < 0 {
		return nil, 0, errors.New("tesseract: recognition failed")
	}
	defer C.sr_free_words(cw, C.int(n))
	words := make([]Word, 0, n)
	skews := make([]float64, 0, n)
	for _, w := range unsafe.Slice(cw, n) {
		text := strings.TrimSpace(C.GoString(w.text))
		if text == "" || speckle(text, float64(w.conf)) {
			continue
		}
		skews = append(skews, float64(w.skew)*180/math.Pi)
		words = append(words, Word{Text: text, Box: image.Rect(int(w.x1), int(w.y1), int(w.x2), int(w.y2)), Confidence: float64(w.conf),
			Block: int(w.block), Paragraph: int(w.para), Line: int(w.line)})
	}
	var skew float64
	if len(skews) > 0 {
		slices.Sort(skews)
		skew = skews[len(skews)/2]
	}
	return words, skew, nil
}

// orientation asks Tesseract's orientation and script detection (an
// engine loaded with "osd") how far pix is turned: it returns the
// clockwise quarter turns that set it upright, and Tesseract's confidence.
// ok is false when the page has too little text to tell.
func (t *tesseract) orientation(pix *raster.Pix, dpi float64) (quarters int, conf float64, ok bool) {
	t.setImage(pix, dpi)
	defer C.TessBaseAPIClear(t.api)
	var deg C.int
	var oconf, sconf C.float
	var script *C.char
	if C.TessBaseAPIDetectOrientationScript(t.api, &deg, &oconf, &script, &sconf) == 0 {
		return 0, 0, false
	}
	// deg is how far the page is turned clockwise; turning it back is the
	// rest of the circle.
	return (4 - int(deg)/90%4) % 4, float64(oconf), true
}

// tesseractVersion is the library's version, e.g. "5.3.0".
func tesseractVersion() string { return C.GoString(C.TessVersion()) }
