package pdfa

import (
	"encoding/binary"
	"fmt"
)

// jpxProblems lists how JPEG 2000 data falls short of ISO 19005-2 6.2.8.3:
// 1, 3 or 4 colour channels of one bit depth from 1 to 38; at most one
// colour specification without APPROX 1; colr method 1, 2 or 3; not the
// CIEJab enumerated space (19). A raw codestream (no JP2 boxes) has only
// its channels and depths to check.
func jpxProblems(data []byte) []string {
	var bad []string
	if len(data) >= 4 && binary.BigEndian.Uint32(data) == 0xFF4FFF51 {
		return codestreamProblems(data)
	}
	var channels, depth int
	sameDepth := true
	var colr [][]byte
	var palette int
	var codestream []byte
	jp2Boxes(data, func(typ string, body []byte) {
		switch typ {
		case "jp2h":
			jp2Boxes(body, func(typ string, b []byte) {
				switch typ {
				case "ihdr":
					if len(b) >= 14 {
						channels = int(binary.BigEndian.Uint16(b[8:]))
						if bpc := b[10]; bpc != 255 {
							depth = int(bpc&0x7f) + 1
						}
					}
				case "bpcc":
					for i, v := range b {
						d := int(v&0x7f) + 1
						if i == 0 {
							depth = d
						} else if d != depth {
							sameDepth = false
						}
					}
				case "colr":
					colr = append(colr, b)
				case "pclr":
					if len(b) >= 3 {
						palette = int(b[2])
					}
				}
			})
		case "jp2c":
			codestream = body
		}
	})
	if palette > 0 {
		channels = palette
	}
	if channels == 0 && codestream != nil {
		return codestreamProblems(codestream)
	}
	bad = append(bad, channelProblems(channels, depth, sameDepth)...)
	approx := 0
	for _, c := range colr {
		if len(c) < 3 {
			continue
		}
		if c[2] == 1 {
			approx++
		}
		if meth := c[0]; meth < 1 || meth > 3 {
			bad = append(bad, fmt.Sprintf("colr method %d (want 1, 2 or 3)", meth))
		} else if meth == 1 && len(c) >= 7 && binary.BigEndian.Uint32(c[3:]) == 19 {
			bad = append(bad, "enumerated colour space 19 (CIEJab)")
		}
	}
	if len(colr) > 1 && approx != 1 {
		bad = append(bad, fmt.Sprintf("%d colour specifications, %d with APPROX 1 (want exactly one)", len(colr), approx))
	}
	return bad
}

func channelProblems(channels, depth int, sameDepth bool) []string {
	var bad []string
	if channels != 1 && channels != 3 && channels != 4 {
		bad = append(bad, fmt.Sprintf("%d colour channels (want 1, 3 or 4)", channels))
	}
	if depth < 1 || depth > 38 || !sameDepth {
		bad = append(bad, "channels of different bit depths, or a depth outside 1 to 38")
	}
	return bad
}

// codestreamProblems checks a raw JPEG 2000 codestream's SIZ marker.
func codestreamProblems(cs []byte) []string {
	if len(cs) < 42 || binary.BigEndian.Uint16(cs[2:]) != 0xFF51 {
		return []string{"no SIZ marker"}
	}
	n := int(binary.BigEndian.Uint16(cs[40:]))
	depth, same := 0, true
	for i := 0; i < n && 42+3*i < len(cs); i++ {
		d := int(cs[42+3*i]&0x7f) + 1
		if i == 0 {
			depth = d
		} else if d != depth {
			same = false
		}
	}
	return channelProblems(n, depth, same)
}

// jp2Boxes calls fn for each JP2 box in b.
func jp2Boxes(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		n, hdr := int(binary.BigEndian.Uint32(b)), 8
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
