// Package raster decodes page images for the access copy and OCR: TIFF
// through libtiff (every layout it reads: tiles, planes, 16-bit samples,
// CMYK, alpha, JPEG inside), JPEG 2000 through OpenJPEG, and PNG, JPEG,
// GIF, BMP, WebP and PNM through Leptonica, the library Tesseract reads
// with. Pages come out as Leptonica images of one depth each: 1 bit (black
// and white), 8-bit grey or RGB, alpha laid over white.
//
// These are C libraries reading untrusted files: only OCR worker
// processes call this package (see formats/ocr), so that a crash costs a
// worker, not the daemon.
package raster

/*
#cgo pkg-config: lept libtiff-4 libopenjp2
#include <stdlib.h>
#include "raster.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Format is a raster format this package reads (or PDF, which it only
// names).
type Format string

const (
	TIFF Format = "TIFF"
	JP2  Format = "JPEG 2000 (JP2)"
	J2K  Format = "JPEG 2000 codestream"
	JPEG Format = "JPEG"
	PNG  Format = "PNG"
	GIF  Format = "GIF"
	BMP  Format = "BMP"
	WebP Format = "WebP"
	PNM  Format = "PNM"
	PDF  Format = "PDF"
)

// SniffFile names the format of the file at path from its first KiB
// (where PDF readers look for the header); "" if none or unreadable.
func SniffFile(path string) Format {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, _ := io.ReadFull(f, head)
	return Sniff(head[:n])
}

// Sniff names the format of a file from its first bytes ("" if none).
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")),
		bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")):
		return TIFF
	case bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")):
		return JP2
	case bytes.HasPrefix(head, []byte("\xff\x4f\xff\x51")):
		return J2K
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return JPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF
	case bytes.HasPrefix(head, []byte("BM")):
		return BMP
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP
	case len(head) >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '6':
		return PNM
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		return PDF
	}
	return ""
}

// ErrCorrupt marks a file (or page) whose data is damaged: truncated,
// or not what its format says.
var ErrCorrupt = errors.New("corrupt")

// ErrUnsupported marks a valid file that the decoders here cannot read:
// a compression or layout they do not implement. It is not corrupt.
var ErrUnsupported = errors.New("not supported by the decoder")

// calls serialises the C decoders: the message buffer they write to is one.
var calls sync.Mutex

func init() { C.sr_install() }

func noMemory(said string) bool {
	for _, k := range []string{"malloc fail", "out of memory", "alloc fail", "cannot allocate", "memory allocation"} {
		if strings.Contains(said, k) {
			return true
		}
	}
	return false
}

// Watch runs f, a call into a library that uses Leptonica (Tesseract),
// and reports ErrNoMemory if Leptonica said an allocation failed during
// it: Tesseract carries on without the image it could not make and finds
// no words, which must not pass for a blank page.
func Watch(f func()) error {
	C.sr_msgs_reset()
	f()
	said := C.GoString(C.sr_msgs())
	if noMemory(strings.ToLower(said)) {
		first, _, _ := strings.Cut(said, "\n") // what follows repeats it
		return fmt.Errorf("%w: %s", ErrNoMemory, strings.TrimSpace(first))
	}
	return nil
}

// failure turns what the C libraries said into ErrUnsupported or
// ErrCorrupt, with their words.
func failure(what string) error {
	said := strings.TrimSpace(C.GoString(C.sr_msgs()))
	said = strings.Join(strings.Fields(strings.ReplaceAll(said, "\n", "; ")), " ")
	if said == "" {
		said = "no reason given"
	}
	lower := strings.ToLower(said)
	if noMemory(lower) {
		// The worker's memory cap, not the file: it may well be sound.
		return fmt.Errorf("%w: %s: not enough memory to decode it (access.ocr.worker_memory): %s", ErrNoMemory, what, said)
	}
	for _, k := range []string{"not supported", "unsupported", "not implemented", "can not handle", "cannot handle",
		"not configured", "only handle", "cannot convert", "cannot read this layout"} {
		if strings.Contains(lower, k) {
			return fmt.Errorf("%w: %s: %s", ErrUnsupported, what, said)
		}
	}
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, what, said)
}
