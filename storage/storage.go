// Package storage holds the object store interface that every backend
// implements (a local directory, S3-compatible services), a registry that
// opens a store by URL scheme, and helpers that work on any store: putting a
// bag, and reading a bag back as an io/fs.FS for validation.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Store is what a backend implements. Keys are slash-separated, relative,
// and checked with bagit.CheckPath by every implementation.
type Store interface {
	// Put stores size bytes from r at key. The object becomes visible only
	// when complete; an existing object is replaced. If opts.SHA256 is set,
	// the store verifies the bytes against it and fails with ErrChecksum
	// (leaving the old object, if any) when they differ.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) error
	// Get opens the object at key; ErrNotFound if there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes the object at key; ErrNotFound if there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List yields every object whose key starts with prefix, in no promised
	// order; an error ends the sequence.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Delete removes the object at key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// FilePutter is a store that can take a file already on its own
// filesystem without copying its bytes (the local store, by a hard link):
// a bag's payload is then written once, into the work area, and becomes
// the stored object. Put verifies bytes as it copies them; a linked file
// is not read, so callers read what they stored back, as PutBag's do.
type FilePutter interface {
	// PutFile stores the file at path under key, the file as it is. It
	// reports false, having done nothing, where it cannot (another
	// filesystem): the caller then copies it with Put. The object's name
	// is durable only after Flush of a prefix of its key.
	PutFile(ctx context.Context, key, path string) (bool, error)
	// Flush makes the names of the objects put under prefix durable (one
	// sync per folder, not one per object: a batch of 2,000 pages).
	Flush(ctx context.Context, prefix string) error
}

// Lock is what holds an object back from deletion in a store that locks
// objects (S3 Object Lock): the latest retain-until of any of its
// versions with its mode (governance or compliance), and legal hold.
type Lock struct {
	Until     time.Time `json:"until"`
	Mode      string    `json:"mode,omitempty"`
	LegalHold bool      `json:"legal_hold"`
}

// PutOptions carry what a Put should check and record.
type PutOptions struct {
	SHA256   string            // hex; verified, and recorded as metadata, by the store when set
	Metadata map[string]string // recorded with the object where the store can (e.g. "bag")
	// RetainUntil, where the store locks objects, is the time the lock
	// runs to (zero: the store's default); a time already past locks
	// nothing.
	RetainUntil time.Time
	// ReadBack says the caller reads the object back against SHA256
	// before it relies on it (PutBag's callers do): a store may then leave
	// the digest of a large upload to that read rather than hash the bytes
	// a second time on the way, and upload its parts in parallel.
	ReadBack bool
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
	// SHA256 is the store's own checksum claim, where it keeps one.
	SHA256 string
}

// Errors callers branch on. Backends wrap them.
var (
	ErrNotFound = errors.New("object not found")
	// ErrNotRegular: something other than a plain object is stored under
	// the key (a symlink, a folder, a device), which a store never writes.
	ErrNotRegular = errors.New("not a regular object")
	ErrChecksum   = errors.New("checksum mismatch")
	// ErrTransient marks failures worth retrying (the store is down, a
	// timeout); anything else is permanent.
	ErrTransient = errors.New("transient store error")
)

// Config is the storage section of the configuration: the store's URL and
// the settings of the backends that need more than a URL.
type Config struct {
	URL string   `yaml:"url"`
	S3  S3Config `yaml:"s3"`
}

// S3Config configures s3:// stores (see storage/s3). Credentials are never
// part of it: they come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a
// shared credentials file.
type S3Config struct {
	Endpoint        string        `yaml:"endpoint"` // host[:port]; empty: AWS S3 for the region
	Region          string        `yaml:"region"`
	Secure          *bool         `yaml:"secure"` // TLS; default true
	PathStyle       bool          `yaml:"path_style"`
	CredentialsFile string        `yaml:"credentials_file"` // default ~/.aws/credentials
	Profile         string        `yaml:"profile"`
	PartSize        int64         `yaml:"part_size"` // multipart part size in bytes; default 64 MiB
	Lock            S3Lock        `yaml:"lock"`
	Timeout         time.Duration `yaml:"timeout"` // per request; default 5m
}

// S3Lock asks for S3 Object Lock on every object stored.
type S3Lock struct {
	Mode      string        `yaml:"mode"` // "", "governance" or "compliance"
	RetainFor time.Duration `yaml:"retain_for"`
	LegalHold bool          `yaml:"legal_hold"`
}

// Validate checks the storage section.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("storage.url %q: want file:///path or s3://bucket/prefix", c.URL)
	}
	l := c.S3.Lock
	switch {
	case l.Mode != "" && l.Mode != "governance" && l.Mode != "compliance":
		return fmt.Errorf("storage.s3.lock.mode %q: want governance or compliance", l.Mode)
	case l.Mode != "" && l.RetainFor <= 0:
		return fmt.Errorf("storage.s3.lock.retain_for: must be positive with lock.mode %s", l.Mode)
	case c.S3.PartSize != 0 && c.S3.PartSize < 5<<20:
		return fmt.Errorf("storage.s3.part_size %d: S3 needs at least 5 MiB", c.S3.PartSize)
	}
	return nil
}

// Opener opens a store from its configuration.
type Opener func(ctx context.Context, u *url.URL, cfg Config) (Store, error)

var (
	regMu   sync.Mutex
	openers = map[string]Opener{}
)

// Register makes a backend available under a URL scheme. Backends call it
// from init; a second registration of a scheme panics.
func Register(scheme string, o Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("storage: scheme registered twice: " + scheme)
	}
	openers[scheme] = o
}

// Open opens the store for cfg.URL (file:///srv/bags, s3://bucket/prefix).
func Open(ctx context.Context, cfg Config) (Store, error) {
	if err := Registered(cfg.URL); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	u, _ := url.Parse(cfg.URL)
	regMu.Lock()
	o := openers[u.Scheme]
	regMu.Unlock()
	return o(ctx, u, cfg)
}

// Registered reports whether a store is registered for the URL's scheme,
// so that a wrong scheme is a configuration error at start, not an outage
// the daemon waits out.
func Registered(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", rawURL, err)
	}
	regMu.Lock()
	defer regMu.Unlock()
	if openers[u.Scheme] != nil {
		return nil
	}
	have := make([]string, 0, len(openers))
	for s := range openers {
		have = append(have, s+"://")
	}
	sort.Strings(have)
	return fmt.Errorf("no store for scheme %q (have %v)", u.Scheme, have)
}
