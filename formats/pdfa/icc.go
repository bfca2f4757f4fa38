package pdfa

import (
	"bytes"
	"encoding/binary"
	"math"
)

// SRGBProfile builds an ICC v2 display profile for sRGB (IEC 61966-2.1):
// D50-adapted primaries and the sRGB tone curve. strongroom builds it rather
// than shipping a file, so no profile licence travels with the binary.
func SRGBProfile() []byte {
	s15 := func(v float64) uint32 { return uint32(int32(math.Round(v * 65536))) }
	xyz := func(x, y, z float64) []byte {
		b := make([]byte, 20)
		copy(b, "XYZ ")
		binary.BigEndian.PutUint32(b[8:], s15(x))
		binary.BigEndian.PutUint32(b[12:], s15(y))
		binary.BigEndian.PutUint32(b[16:], s15(z))
		return b
	}
	desc := func(s string) []byte {
		var b bytes.Buffer
		b.WriteString("desc")
		b.Write(make([]byte, 4))
		binary.Write(&b, binary.BigEndian, uint32(len(s)+1))
		b.WriteString(s)
		b.WriteByte(0)
		b.Write(make([]byte, 4+4+2+1+67)) // no Unicode, no ScriptCode description
		return b.Bytes()
	}
	text := func(s string) []byte {
		return append(append([]byte("text\x00\x00\x00\x00"), s...), 0)
	}
	// The sRGB transfer function, sampled.
	const n = 1024
	curv := make([]byte, 12+2*n)
	copy(curv, "curv")
	binary.BigEndian.PutUint32(curv[8:], n)
	for i := range n {
		v := float64(i) / (n - 1)
		var lin float64
		if v <= 0.04045 {
			lin = v / 12.92
		} else {
			lin = math.Pow((v+0.055)/1.055, 2.4)
		}
		binary.BigEndian.PutUint16(curv[12+2*i:], uint16(math.Round(lin*65535)))
	}
	type tag struct {
		sig  string
		data []byte
	}
	tags := []tag{
		{"desc", desc("sRGB IEC61966-2.1 (strongroom)")},
		{"cprt", text("No copyright, use freely")},
		{"wtpt", xyz(0.9642, 1.0, 0.8249)},
		{"rXYZ", xyz(0.4360747, 0.2225045, 0.0139322)},
		{"gXYZ", xyz(0.3850649, 0.7168786, 0.0971045)},
		{"bXYZ", xyz(0.1430804, 0.0606169, 0.7141733)},
		{"rTRC", curv}, {"gTRC", curv}, {"bTRC", curv},
	}
	pad := func(b []byte) []byte {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	tableLen := 4 + 12*len(tags)
	offset := 128 + tableLen
	var table, data bytes.Buffer
	binary.Write(&table, binary.BigEndian, uint32(len(tags)))
	curvAt := 0
	for _, t := range tags {
		at := offset + data.Len()
		if t.sig[1:] == "TRC" {
			if curvAt == 0 {
				curvAt = at
				data.Write(pad(append([]byte(nil), t.data...)))
			}
			at = curvAt // the three curves share one table
		} else {
			data.Write(pad(append([]byte(nil), t.data...)))
		}
		table.WriteString(t.sig)
		binary.Write(&table, binary.BigEndian, uint32(at))
		binary.Write(&table, binary.BigEndian, uint32(len(t.data)))
	}
	size := 128 + table.Len() + data.Len()
	h := make([]byte, 128)
	binary.BigEndian.PutUint32(h[0:], uint32(size))
	copy(h[4:], "none")
	binary.BigEndian.PutUint32(h[8:], 0x02100000) // version 2.1
	copy(h[12:], "mntr")
	copy(h[16:], "RGB ")
	copy(h[20:], "XYZ ")
	binary.BigEndian.PutUint16(h[24:], 2026) // creation date: fixed, so the profile is reproducible
	binary.BigEndian.PutUint16(h[26:], 1)
	binary.BigEndian.PutUint16(h[28:], 1)
	copy(h[36:], "acsp")
	binary.BigEndian.PutUint32(h[68:], s15(0.9642))
	binary.BigEndian.PutUint32(h[72:], s15(1.0))
	binary.BigEndian.PutUint32(h[76:], s15(0.8249))
	copy(h[80:], "none")
	return append(append(h, table.Bytes()...), data.Bytes()...)
}
