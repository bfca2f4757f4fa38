// Package bagit writes and validates BagIt bags (RFC 8493, BagIt 1.0) and
// reads the older drafts (0.93 to 0.97) that a preservation archive meets.
//
// It depends on nothing else in strongroom: a bag is written through a Dest
// (a directory, or any store that can take named files) and read through an
// io/fs.FS, so the same validator serves local bags, downloads and audits.
package bagit

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"slices"
	"strings"

	"github.com/strongroom-archive/strongroom/storage/bagit/internal/evp"
)

// Algorithm names a manifest algorithm as it appears in manifest file names
// (manifest-sha512.txt).
type Algorithm string

// The algorithms this package can compute. SHA-512 and SHA-256 are the
// BagIt 1.0 defaults; MD5 and SHA-1 exist for partners who still ask.
const (
	MD5    Algorithm = "md5"
	SHA1   Algorithm = "sha1"
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// DefaultAlgorithms is what a writer uses when none are configured.
var DefaultAlgorithms = []Algorithm{SHA512, SHA256}

var hashes = map[Algorithm]func() hash.Hash{
	MD5:    md5.New,
	SHA1:   sha1.New,
	SHA256: sha256.New,
	SHA512: sha512.New,
}

// New returns a fresh hash for a, or an error for an unknown algorithm.
// SHA-512 comes from libcrypto where the build has cgo (see internal/evp).
func (a Algorithm) New() (hash.Hash, error) {
	if a == SHA512 {
		if h := evp.New512(); h != nil {
			return h, nil
		}
	}
	f, ok := hashes[a]
	if !ok {
		return nil, fmt.Errorf("bagit: unsupported algorithm %q", string(a))
	}
	return f(), nil
}

// HexLen is the length of a's hex digest, or 0 when a is unknown.
func (a Algorithm) HexLen() int {
	f, ok := hashes[a]
	if !ok {
		return 0
	}
	return f().Size() * 2
}

// ParseAlgorithms parses a comma-separated list such as "sha512,sha256".
func ParseAlgorithms(s string) ([]Algorithm, error) {
	var out []Algorithm
	for _, f := range strings.Split(s, ",") {
		a := Algorithm(strings.ToLower(strings.TrimSpace(f)))
		if _, ok := hashes[a]; !ok {
			return nil, fmt.Errorf("bagit: unsupported algorithm %q (have md5, sha1, sha256, sha512)", f)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bagit: no algorithm given")
	}
	return out, nil
}

// Digests maps an algorithm to a lowercase hex digest.
type Digests map[Algorithm]string

// copyBufSize is large enough that syscalls don't dominate hashing.
const copyBufSize = 2 << 20
