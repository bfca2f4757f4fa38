package raster

/*
#include <stdlib.h>
#include "raster.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"unsafe"
)

// ErrTooLarge marks a page (or file) over a limit: it may be sound, it is
// just not decoded here.
var ErrTooLarge = errors.New("over the limit")

// Decode decodes page n (from 0) of the file Inspect described. A JPEG
// 2000 image is decoded at 1/2^reduce of its size (its wavelet levels make
// that cheap); other formats ignore reduce.
func Decode(path string, info *Info, n, reduce int) (*Pix, error) {
	if n < 0 || n >= len(info.Pages) {
		return nil, fmt.Errorf("page %d: the file has %d", n+1, len(info.Pages))
	}
	calls.Lock()
	defer calls.Unlock()
	C.sr_msgs_reset()
	var p *C.PIX
	switch info.Format {
	case TIFF:
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		p = C.sr_tiff_decode(cpath, C.uint64_t(info.Pages[n].offset))
	case JP2, J2K:
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		p = C.sr_jp2_decode(cpath, boolInt(info.Format == J2K), C.int(reduce))
	case JPEG:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var warnings C.l_int32
		p = C.pixReadMemJpeg((*C.l_uint8)(unsafe.Pointer(&data[0])), C.size_t(len(data)), 0, 1, &warnings, 0)
		if p != nil && warnings > 0 {
			// libjpeg fills what is missing with grey and only warns: a
			// truncated or damaged scan must not pass as sound.
			C.pixDestroy(&p)
			return nil, fmt.Errorf("%w: JPEG data: libjpeg reported %d problems (truncated or damaged data)", ErrCorrupt, warnings)
		}
	case PNG, GIF, BMP, WebP, PNM:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		p = C.pixReadMem((*C.l_uint8)(unsafe.Pointer(&data[0])), C.size_t(len(data)))
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, info.Format)
	}
	if p == nil {
		return nil, failure(fmt.Sprintf("%s page %d", info.Format, n+1))
	}
	p = C.sr_normalise(p)
	if p == nil {
		return nil, failure(fmt.Sprintf("%s page %d: convert", info.Format, n+1))
	}
	return newPix(p), nil
}
