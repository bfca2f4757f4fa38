// Package registry maps URL schemes to the backends that open them: the
// catalog's (sqlite://, postgres://) and the search index's, each
// registered by its backend's package, so that the daemon is wired from
// URLs in one place and a wrong scheme is a configuration error at start.
package registry

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
)

// Opener opens a T from its URL.
type Opener[T any] func(ctx context.Context, u *url.URL) (T, error)

// Of is the backends of one kind of thing.
type Of[T any] struct {
	what    string // "catalog", "search index": for messages
	mu      sync.Mutex
	openers map[string]Opener[T]
}

// New returns an empty registry of what.
func New[T any](what string) *Of[T] { return &Of[T]{what: what, openers: map[string]Opener[T]{}} }

// Register makes a backend available under a scheme; backends call it from
// init. A second registration of a scheme panics.
func (r *Of[T]) Register(scheme string, o Opener[T]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.openers[scheme]; dup {
		panic(r.what + ": scheme registered twice: " + scheme)
	}
	r.openers[scheme] = o
}

// Open opens what rawURL names.
func (r *Of[T]) Open(ctx context.Context, rawURL string) (T, error) {
	o, u, err := r.opener(rawURL)
	if err != nil {
		var zero T
		return zero, err
	}
	return o(ctx, u)
}

// Registered reports whether a backend serves rawURL's scheme.
func (r *Of[T]) Registered(rawURL string) error {
	_, _, err := r.opener(rawURL)
	return err
}

func (r *Of[T]) opener(rawURL string) (Opener[T], *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's message quotes the URL, and a URL can hold a password.
		return nil, nil, fmt.Errorf("%s: the URL does not parse", r.what)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if o := r.openers[u.Scheme]; o != nil {
		return o, u, nil
	}
	have := make([]string, 0, len(r.openers))
	for s := range r.openers {
		have = append(have, s+"://")
	}
	slices.Sort(have)
	return nil, nil, fmt.Errorf("%s: no backend for scheme %q (have %v)", r.what, u.Scheme, have)
}
