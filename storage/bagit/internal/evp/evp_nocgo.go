//go:build !(cgo && linux)

package evp

import "hash"

// New512 returns nil without cgo: callers fall back to crypto/sha512.
func New512() hash.Hash { return nil }
