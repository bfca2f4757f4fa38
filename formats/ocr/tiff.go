package ocr

import (
	"encoding/binary"
	"fmt"
)

// splitTIFF returns the pages of a TIFF. A one-page TIFF is its own page;
// each page of a multi-page TIFF becomes a TIFF of its own, holding that
// page's directory and data only (no strip is decoded here), so that a
// book of N pages costs its size once in memory, not N times.
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
	var offs []uint32
	seen := map[uint32]bool{}
	for off := bo.Uint32(data[4:8]); off != 0; {
		if seen[off] || int(off)+2 > len(data) || len(offs) >= MaxPages {
			return nil, fmt.Errorf("%w: TIFF directory chain is broken", ErrUnsupported)
		}
		seen[off] = true
		end := int(off) + 2 + 12*int(bo.Uint16(data[off:]))
		if end+4 > len(data) {
			return nil, fmt.Errorf("%w: TIFF directory %d truncated", ErrUnsupported, len(offs)+1)
		}
		offs = append(offs, off)
		off = bo.Uint32(data[end : end+4])
	}
	if len(offs) == 0 {
		return nil, fmt.Errorf("%w: TIFF has no pages", ErrUnsupported)
	}
	pages := make([]SourcePage, len(offs))
	for i, off := range offs {
		n := int(bo.Uint16(data[off:]))
		p := SourcePage{Data: data, Format: "tiff"}
		p.DPIX, p.DPIY = tiffDPI(data, bo, int(off), n)
		if len(offs) > 1 {
			page, err := tiffPage(data, bo, int(off), n)
			if err != nil {
				return nil, fmt.Errorf("%w: TIFF page %d: %v", ErrUnsupported, i+1, err)
			}
			p.Data = page
		}
		pages[i] = p
	}
	return pages, nil
}

// TIFF tags whose values are offsets into the file.
const (
	tagStripOffsets    = 273
	tagStripByteCounts = 279
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
	tagJPEGIF          = 513 // old-style JPEG: JPEGInterchangeFormat
	tagJPEGIFLength    = 514
)

// subIFDTags point at further directories (EXIF, GPS, sub-images) that a
// page's image does not need: they are left out of a page's TIFF.
var subIFDTags = map[uint16]bool{330: true, 34665: true, 34853: true, 40965: true}

// typeSize is the size in bytes of one value of a TIFF field type.
func typeSize(t uint16) int {
	switch t {
	case 1, 2, 6, 7:
		return 1
	case 3, 8:
		return 2
	case 4, 9, 11, 13:
		return 4
	case 5, 10, 12:
		return 8
	}
	return 0
}

// tiffPage writes a TIFF of the one directory at off (n entries): its
// fields, their out-of-line values and its image data, with every offset
// rewritten for the new file.
func tiffPage(data []byte, bo binary.ByteOrder, off, n int) ([]byte, error) {
	type entry struct {
		tag, typ uint16
		count    uint32
		value    []byte // 4 bytes inline, or the out-of-line values
	}
	var entries []entry
	fields := map[uint16]entry{}
	for i := range n {
		e := data[off+2+12*i:]
		en := entry{tag: bo.Uint16(e), typ: bo.Uint16(e[2:]), count: bo.Uint32(e[4:])}
		if subIFDTags[en.tag] {
			continue
		}
		size := typeSize(en.typ) * int(en.count)
		if size <= 4 {
			en.value = e[8:12]
		} else {
			at := int(bo.Uint32(e[8:]))
			if at < 0 || size < 0 || at+size > len(data) {
				return nil, fmt.Errorf("field %d points outside the file", en.tag)
			}
			en.value = data[at : at+size]
		}
		entries = append(entries, en)
		fields[en.tag] = en
	}
	uints := func(en entry) []uint64 {
		out := make([]uint64, en.count)
		for i := range out {
			switch en.typ {
			case 3:
				out[i] = uint64(bo.Uint16(en.value[2*i:]))
			case 4, 13:
				out[i] = uint64(bo.Uint32(en.value[4*i:]))
			}
		}
		return out
	}
	// The image data: strips, tiles, or an old-style JPEG stream.
	type chunks struct{ offsets, counts uint16 }
	var data2 []chunks
	for _, c := range []chunks{{tagStripOffsets, tagStripByteCounts}, {tagTileOffsets, tagTileByteCounts}, {tagJPEGIF, tagJPEGIFLength}} {
		if _, ok := fields[c.offsets]; ok {
			data2 = append(data2, c)
		}
	}
	ifdLen := 2 + 12*len(entries) + 4
	out := make([]byte, 8+ifdLen)
	copy(out, data[:4])
	bo.PutUint32(out[4:], 8)
	bo.PutUint16(out[8:], uint16(len(entries)))
	place := func(b []byte) uint32 {
		if len(out)%2 == 1 {
			out = append(out, 0) // values start on a word boundary
		}
		at := uint32(len(out))
		out = append(out, b...)
		return at
	}
	newOffsets := map[uint16][]uint32{}
	for _, c := range data2 {
		offs, counts := uints(fields[c.offsets]), uints(fields[c.counts])
		if len(counts) != len(offs) {
			return nil, fmt.Errorf("%d offsets but %d byte counts", len(offs), len(counts))
		}
		for i, o := range offs {
			if o+counts[i] > uint64(len(data)) {
				return nil, fmt.Errorf("image data %d of %d points outside the file", i+1, len(offs))
			}
			newOffsets[c.offsets] = append(newOffsets[c.offsets], place(data[o:o+counts[i]]))
		}
	}
	for i, en := range entries {
		e := out[8+2+12*i:]
		bo.PutUint16(e, en.tag)
		bo.PutUint32(e[4:], en.count)
		value := en.value
		if no, ok := newOffsets[en.tag]; ok {
			// Offsets are written as LONGs whatever they were.
			bo.PutUint16(e[2:], 4)
			value = make([]byte, 4*len(no))
			for k, v := range no {
				bo.PutUint32(value[4*k:], v)
			}
		} else {
			bo.PutUint16(e[2:], en.typ)
		}
		if len(value) <= 4 {
			copy(e[8:12], value)
			continue
		}
		// place may grow out: write the offset through a fresh slice.
		at := place(value)
		bo.PutUint32(out[8+2+12*i+8:], at)
	}
	return out, nil
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
