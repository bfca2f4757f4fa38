package storage

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Lazy is a Store that opens its backend in the background, so that a
// daemon starts while the store is down (an S3 service restarting, a
// network share not yet mounted) and goes on once it answers. Until then
// every call fails with ErrTransient: the pipeline waits, audits report an
// error, not damage.
type Lazy struct {
	open func(context.Context) (Store, error)

	mu  sync.Mutex
	st  Store
	err error
}

var _ Store = (*Lazy)(nil)

// NewLazy returns a store that opens with open; Run does the opening.
func NewLazy(open func(context.Context) (Store, error)) *Lazy {
	return &Lazy{open: open, err: fmt.Errorf("%w: not opened yet", ErrTransient)}
}

// Run opens the store, trying again with growing pauses (1 s up to 1 min)
// until it opens or ctx ends.
func (l *Lazy) Run(ctx context.Context, log *slog.Logger) {
	open := func() (Store, error) {
		st, err := l.open(ctx)
		if err != nil {
			l.mu.Lock()
			l.err = fmt.Errorf("%w: the store could not be opened: %v", ErrTransient, err)
			l.mu.Unlock()
		}
		return st, err
	}
	b := &backoff.ExponentialBackOff{InitialInterval: time.Second, RandomizationFactor: 0.1, Multiplier: 2, MaxInterval: time.Minute}
	st, err := backoff.Retry(ctx, open, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			log.Error("store unavailable; trying again", "in", next.Round(time.Second), "err", err)
		}))
	if err != nil {
		return // ctx ended
	}
	l.mu.Lock()
	l.st, l.err = st, nil
	l.mu.Unlock()
	log.Info("store open")
}

// Ready returns nil once the store is open, else why it is not.
func (l *Lazy) Ready() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Lazy) store() (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st, l.err
}

// Put implements Store.
func (l *Lazy) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) error {
	st, err := l.store()
	if err != nil {
		return err
	}
	return st.Put(ctx, key, r, size, opts)
}

// PutFile implements FilePutter where the store does.
func (l *Lazy) PutFile(ctx context.Context, key, path string) (bool, error) {
	st, err := l.store()
	if err != nil {
		return false, err
	}
	if fp, ok := st.(FilePutter); ok {
		return fp.PutFile(ctx, key, path)
	}
	return false, nil
}

// Flush implements FilePutter where the store does.
func (l *Lazy) Flush(ctx context.Context, prefix string) error {
	st, err := l.store()
	if err != nil {
		return err
	}
	if fp, ok := st.(FilePutter); ok {
		return fp.Flush(ctx, prefix)
	}
	return nil
}

// Get implements Store.
func (l *Lazy) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	st, err := l.store()
	if err != nil {
		return nil, err
	}
	return st.Get(ctx, key)
}

// Stat implements Store.
func (l *Lazy) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	st, err := l.store()
	if err != nil {
		return ObjectInfo{}, err
	}
	return st.Stat(ctx, key)
}

// List implements Store.
func (l *Lazy) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	st, err := l.store()
	if err != nil {
		return func(yield func(ObjectInfo, error) bool) { yield(ObjectInfo{}, err) }
	}
	return st.List(ctx, prefix)
}

// Delete implements Store.
func (l *Lazy) Delete(ctx context.Context, key string) error {
	st, err := l.store()
	if err != nil {
		return err
	}
	return st.Delete(ctx, key)
}

// Unwrap returns the store once it is open (ErrNotReady-like error before),
// so that callers can ask it for what only some stores do (S3 Object Lock).
func (l *Lazy) Unwrap() (Store, error) { return l.store() }

// Unwrap returns the store behind a Lazy one, or st itself.
func Unwrap(st Store) (Store, error) {
	if l, ok := st.(*Lazy); ok {
		return l.Unwrap()
	}
	return st, nil
}
