// Package pagehash fingerprints pages: a perceptual hash of a page image (pHash: the signs
// of the lowest frequencies of its discrete cosine transform against their
// median), so that a page scanned twice, or the same plate in two
// batches, is found although the two scans differ in every pixel: the
// hashes of near-identical pages differ in few bits, of different pages in
// about half; and the pairs of words on a page, since pages of text in one
// layout hash alike.
package pagehash

import (
	"hash/fnv"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Size is the side of the grey thumbnail a hash is made from.
const Size = 32

// cosines[u][x] is cos((2x+1)uπ / 2·Size), the DCT-II basis.
var cosines = func() (c [8][Size]float64) {
	for u := range 8 {
		for x := range Size {
			c[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * Size))
		}
	}
	return
}()

// Hash returns the hash of a Size×Size 8-bit grey thumbnail, row by row.
func Hash(thumb []byte) uint64 {
	if len(thumb) != Size*Size {
		return 0
	}
	// The 8×8 lowest frequencies: rows first (8 of Size per row), then
	// columns.
	var rows [Size][8]float64
	for y := range Size {
		for u := range 8 {
			var s float64
			for x := range Size {
				s += float64(thumb[y*Size+x]) * cosines[u][x]
			}
			rows[y][u] = s
		}
	}
	var coef [64]float64
	for v := range 8 {
		for u := range 8 {
			var s float64
			for y := range Size {
				s += rows[y][u] * cosines[v][y]
			}
			coef[v*8+u] = s
		}
	}
	// The mean (the first coefficient) says only how dark the page is:
	// left out of the median.
	ac := slices.Clone(coef[1:])
	slices.Sort(ac)
	median := (ac[31] + ac[30]) / 2
	var h uint64
	for i, c := range coef {
		if i > 0 && c > median {
			h |= 1 << i
		}
	}
	return h
}

// Distance is the number of bits in which a and b differ (0 to 63).
func Distance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// Shared is the share of word pairs two pages have in common (|a∩b| /
// |a∪b| of their Bigrams); 1 for two pages without words.
func Shared(a, b []uint32) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	both, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			both++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}

// Bigrams returns the sorted, distinct hashes of a page's pairs of
// consecutive words, case folded: its text's fingerprint.
func Bigrams(words []string) []uint32 {
	set := map[uint32]bool{}
	for i := 1; i < len(words); i++ {
		h := fnv.New32a()
		h.Write([]byte(strings.ToLower(words[i-1]) + " " + strings.ToLower(words[i])))
		set[h.Sum32()] = true
	}
	out := make([]uint32, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
