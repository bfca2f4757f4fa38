package pagehash

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// page draws a Size×Size thumbnail of a page: grey paper, a dark block
// (a picture) at x0,y0 of side n, and noise of amplitude noise.
func page(rng *rand.Rand, x0, y0, n, noise int) []byte {
	t := make([]byte, Size*Size)
	for y := range Size {
		for x := range Size {
			v := 220
			if x >= x0 && x < x0+n && y >= y0 && y < y0+n {
				v = 60 + 4*(x-x0) // a gradient in the picture
			}
			if noise > 0 {
				v += rng.IntN(2*noise+1) - noise
			}
			t[y*Size+x] = byte(min(max(v, 0), 255))
		}
	}
	return t
}

// TestHash: the same page scanned twice (different noise, a slightly
// darker scan) hashes within a few bits; a different page far apart.
func TestHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := Hash(page(rng, 4, 6, 14, 6))
	again := page(rng, 4, 6, 14, 6)
	for i := range again {
		again[i] = byte(max(int(again[i])-12, 0))
	}
	for _, tc := range []struct {
		name     string
		b        uint64
		min, max int
	}{
		{"the same page scanned again", Hash(again), 0, 6},
		{"the picture elsewhere", Hash(page(rng, 16, 14, 12, 6)), 16, 63},
		{"a blank page", Hash(page(rng, 0, 0, 0, 6)), 12, 63},
	} {
		if d := Distance(a, tc.b); d < tc.min || d > tc.max {
			t.Errorf("%s: distance %d, want %d to %d", tc.name, d, tc.min, tc.max)
		}
	}
	if Hash(make([]byte, 10)) != 0 {
		t.Error("a thumbnail of the wrong size hashes")
	}
}

func TestBigrams(t *testing.T) {
	a := Bigrams(strings.Fields("The parish register of 1801 records forty-two baptisms"))
	if got := Shared(a, Bigrams(strings.Fields("the PARISH register of 1801 records forty-two baptisms"))); got != 1 {
		t.Errorf("the same words, another case: shared %.2f, want 1", got)
	}
	if got := Shared(a, Bigrams(strings.Fields("The vestry minutes of 1802 record the new roof of the church"))); got > 0.1 {
		t.Errorf("other words: shared %.2f", got)
	}
	if got := Shared(a, Bigrams(strings.Fields("The parish register of 1801 records forty-two burials"))); got < 0.7 || got == 1 {
		t.Errorf("one word read differently: shared %.2f", got)
	}
}
