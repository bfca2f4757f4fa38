package catalog

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
)

// Config is the catalog section of the configuration.
type Config struct {
	// URL names the catalog: sqlite:///path/catalog.db, or
	// postgres://user@host:port/database (the password from PGPASSWORD or
	// ~/.pgpass, not the file). Empty: the embedded catalog under
	// data_dir.
	URL string `yaml:"url"`
}

// Validate checks the URL's form; whether a backend serves it is known
// when the daemon is wired (Registered).
func (c Config) Validate() error {
	if c.URL == "" {
		return nil
	}
	if u, err := url.Parse(c.URL); err != nil || u.Scheme == "" {
		return fmt.Errorf("catalog.url: want sqlite:///path or postgres://user@host/database")
	}
	return nil
}

// Opener opens the catalog a URL names.
type Opener func(ctx context.Context, u *url.URL) (Catalog, error)

var (
	regMu   sync.Mutex
	openers = map[string]Opener{}
)

// Register makes a backend available under a URL scheme; backends call it
// from init. A second registration of a scheme panics.
func Register(scheme string, o Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("catalog: scheme registered twice: " + scheme)
	}
	openers[scheme] = o
}

// Open opens the catalog rawURL names.
func Open(ctx context.Context, rawURL string) (Catalog, error) {
	o, u, err := opener(rawURL)
	if err != nil {
		return nil, err
	}
	return o(ctx, u)
}

// Registered reports whether a backend serves rawURL's scheme.
func Registered(rawURL string) error {
	_, _, err := opener(rawURL)
	return err
}

func opener(rawURL string) (Opener, *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's message quotes the URL, and a URL can hold a password.
		return nil, nil, fmt.Errorf("catalog: the catalog URL does not parse")
	}
	regMu.Lock()
	defer regMu.Unlock()
	if o := openers[u.Scheme]; o != nil {
		return o, u, nil
	}
	have := make([]string, 0, len(openers))
	for s := range openers {
		have = append(have, s+"://")
	}
	slices.Sort(have)
	return nil, nil, fmt.Errorf("catalog: no catalog for scheme %q (have %v)", u.Scheme, have)
}
