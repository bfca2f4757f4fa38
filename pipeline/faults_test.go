package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
)

// faultyStore wraps the real local store and injects faults a real disk
// won't produce on demand. It stands beside the tests on the real store.
type faultyStore struct {
	storage.Store
	put func(key string) error
}

func (f *faultyStore) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) error {
	if err := f.put(key); err != nil {
		return err
	}
	return f.Store.Put(ctx, key, r, size, o)
}

func (f *faultyStore) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return f.Store.List(ctx, prefix)
}

func TestStoreOutageWaitsThenStores(t *testing.T) {
	te := newTestEnv(t)
	var calls atomic.Int32
	// Down for more calls than max_attempts allows: waiting errors must not
	// count, so the item waits and then goes through.
	te.Store = &faultyStore{Store: te.Store, put: func(string) error {
		if calls.Add(1) <= 6 {
			return fmt.Errorf("connection refused: %w", storage.ErrTransient)
		}
		return nil
	}}
	it := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 20, 20)))
	if it.Stage != catalog.StageDone {
		t.Fatalf("stage %s: %s", it.Stage, it.LastError)
	}
	if calls.Load() < 7 {
		t.Errorf("store called %d times", calls.Load())
	}
}

func TestPersistentErrorFailsAfterMaxAttempts(t *testing.T) {
	te := newTestEnv(t)
	var calls atomic.Int32
	te.Store = &faultyStore{Store: te.Store, put: func(string) error {
		calls.Add(1)
		return errors.New("403 AccessDenied")
	}}
	it := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 20, 20)))
	if it.Stage != catalog.StageFailed || it.FailStage != catalog.StageStore {
		t.Fatalf("stage %s (failed at %q): %s", it.Stage, it.FailStage, it.LastError)
	}
	if it.Attempts != te.Cfg.MaxAttempts || calls.Load() < int32(te.Cfg.MaxAttempts) {
		t.Errorf("%d attempts (%d uploads), want max_attempts = %d", it.Attempts, calls.Load(), te.Cfg.MaxAttempts)
	}
	if !exists(filepath.Join(te.failed, "page.png")) || !exists(filepath.Join(te.failed, "page.png.reason.json")) {
		t.Error("original and reason not in failed/")
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
