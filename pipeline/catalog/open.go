package catalog

import (
	"context"
	"fmt"
	"net/url"

	"github.com/strongroom-archive/strongroom/pipeline/registry"
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

var backends = registry.New[Catalog]("catalog")

// Register makes a backend available under a URL scheme; backends call it
// from init.
func Register(scheme string, o registry.Opener[Catalog]) { backends.Register(scheme, o) }

// Open opens the catalog rawURL names.
func Open(ctx context.Context, rawURL string) (Catalog, error) { return backends.Open(ctx, rawURL) }

// Registered reports whether a backend serves rawURL's scheme.
func Registered(rawURL string) error { return backends.Registered(rawURL) }
