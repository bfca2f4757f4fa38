package evp

import (
	"bytes"
	"crypto/sha512"
	"testing"
)

func TestMatchesCryptoSHA512(t *testing.T) {
	h := New512()
	if h == nil {
		t.Skip("built without cgo")
	}
	ref := sha512.New()
	for _, n := range []int{0, 1, 127, 128, 129, 1 << 20} {
		p := bytes.Repeat([]byte{byte(n)}, n)
		h.Write(p)
		ref.Write(p)
		if !bytes.Equal(h.Sum(nil), ref.Sum(nil)) {
			t.Fatalf("after %d more bytes the digests differ", n)
		}
	}
	h.Reset()
	if !bytes.Equal(h.Sum([]byte("x"))[1:], sha512.New().Sum(nil)) {
		t.Fatal("Reset or Sum with a prefix is wrong")
	}
}

func BenchmarkSHA512(b *testing.B) {
	buf := make([]byte, 1<<20)
	for _, c := range []struct {
		name string
		h    func() interface{ Write([]byte) (int, error) }
	}{{"openssl", func() interface{ Write([]byte) (int, error) } { return New512() }}, {"go", func() interface{ Write([]byte) (int, error) } { return sha512.New() }}} {
		b.Run(c.name, func(b *testing.B) {
			h := c.h()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}
