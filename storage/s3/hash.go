package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// hashCheck computes the SHA-256 of what passes through it.
type hashCheck struct {
	r io.Reader
	h hash.Hash
}

func newHashCheck(r io.Reader) *hashCheck { return &hashCheck{r: r, h: sha256.New()} }

func (c *hashCheck) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	return n, err
}

func (c *hashCheck) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }
