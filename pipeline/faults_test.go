package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
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
	// The dead-letter path: failing every attempt raises an alert.
	if a := itemFailedAlerts(t, te); len(a) != 1 || a[0].Key != it.ID || !strings.Contains(a[0].Detail, "403 AccessDenied") {
		t.Errorf("item-failed alerts: %+v", a)
	}
}

// itemFailedAlerts are the open item-failed alerts.
func itemFailedAlerts(t *testing.T, te *testEnv) []*catalog.Alert {
	t.Helper()
	all, err := te.cat.Alerts(context.Background(), "", catalog.AlertOpen)
	if err != nil {
		t.Fatal(err)
	}
	var out []*catalog.Alert
	for _, a := range all {
		if a.Problem == catalog.ProblemItemFailed {
			out = append(out, a)
		}
	}
	return out
}

// TestPanicFailsTheItem: a Go panic during a step (a store client meeting
// what it was not made for) costs that item, not the daemon. The uploads
// run on goroutines of their own, where the step's recover cannot reach:
// such a panic ended the process. Now it is the item's error, retried as
// any other, and the item fails with the panic and its stack as the
// reason, its original in failed/; the next item is stored by the same
// engine.
func TestPanicFailsTheItem(t *testing.T) {
	te := newTestEnv(t)
	var poison atomic.Bool
	poison.Store(true)
	te.Store = &faultyStore{Store: te.Store, put: func(string) error {
		if poison.Load() {
			var m map[string]int
			m["boom"]++ // a nil map: a panic, as a library's bug would be
		}
		return nil
	}}
	it := te.ingest(t, put(t, filepath.Join(te.hot, "first.png"), pngBytes(t, 20, 20)))
	poison.Store(false)
	if it.Stage != catalog.StageFailed || it.FailStage != catalog.StageStore ||
		!strings.Contains(it.LastError, "a panic") || !strings.Contains(it.LastError, "assignment to entry in nil map") {
		t.Fatalf("after a panic: stage %s (failed at %q, %d attempts): %s", it.Stage, it.FailStage, it.Attempts, it.LastError)
	}
	if !exists(filepath.Join(te.failed, "first.png")) || !exists(filepath.Join(te.failed, "first.png.reason.json")) {
		t.Error("original and reason not in failed/")
	}
	next := te.ingest(t, put(t, filepath.Join(te.hot, "second.png"), pngBytes(t, 21, 20)))
	if next.Stage != catalog.StageDone {
		t.Fatalf("the item after a panic: %s: %s", next.Stage, next.LastError)
	}
}

// TestAtOnce: what a step runs on goroutines of its own (identifying,
// validating files and pages) has each one's panic turned into that one's
// error, out of the step's own recover as it is: the others still run,
// and the daemon lives.
func TestAtOnce(t *testing.T) {
	var ran atomic.Int32
	errs := atOnce(5, func(i int) error {
		if i == 2 {
			var m map[string]int
			m["boom"]++
		}
		ran.Add(1)
		return nil
	})
	var perm *Permanent
	if len(errs) != 5 || ran.Load() != 4 || !errors.As(errs[2], &perm) || !strings.Contains(errs[2].Error(), "nil map") {
		t.Fatalf("errs %v, %d ran", errs, ran.Load())
	}
	for i, err := range errs {
		if i != 2 && err != nil {
			t.Errorf("task %d: %v", i, err)
		}
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestReadOnlyStoreWaits: a store that refuses writes because its disk is
// read-only or a permission is missing is the machine's problem: the item
// waits (however long, without using up its attempts) and is stored once
// the store takes writes again; an alert tells staff once it has waited
// longer than environment_alert_after, and is resolved once the store works
// again. (Injected: as root, a test cannot
// make the real disk refuse; cmd's TestReadOnlyStoreAsServiceUser does it
// for real as an unprivileged user.)
func TestReadOnlyStoreWaits(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EROFS, syscall.EACCES, syscall.EPERM} {
		te := newTestEnv(t)
		te.Cfg.EnvironmentAlertAfter = time.Millisecond
		var calls atomic.Int32
		te.Store = &faultyStore{Store: te.Store, put: func(key string) error {
			if calls.Add(1) <= 8 {
				return fmt.Errorf("local: put %s: %w", key, &fs.PathError{Op: "open", Path: key, Err: errno})
			}
			return nil
		}}
		it := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 20, 20)))
		if it.Stage != catalog.StageDone {
			t.Fatalf("%v: stage %s: %s", errno, it.Stage, it.LastError)
		}
		if te.EnvironmentErrors() < 1 {
			t.Errorf("%v: no environment error counted", errno)
		}
		alerts, _ := te.cat.Alerts(context.Background(), "")
		if len(alerts) != 1 || alerts[0].Problem != "environment" || alerts[0].Key != envKind(errno) {
			t.Errorf("%v: alerts %+v", errno, alerts)
		}
		// Once the store takes writes again, the alert is resolved: it
		// stayed open after the store recovered.
		if len(alerts) == 1 && alerts[0].State != catalog.AlertResolved {
			t.Errorf("%v: the environment alert is %s after the store recovered", errno, alerts[0].State)
		}
	}
}

// TestErrorClasses: a permission error on the store or a work folder is the
// machine's (wait); reading an original, the item's; names no retry fixes
// give up at once.
func TestErrorClasses(t *testing.T) {
	for _, c := range []struct {
		err  error
		want errClass
	}{
		{fmt.Errorf("store: %w", syscall.EACCES), waitEnvironment},
		{fmt.Errorf("work: %w", syscall.EROFS), waitEnvironment},
		{&sourceError{fmt.Errorf("open page.tif: %w", syscall.EACCES)}, retry},
		{fmt.Errorf("alto: %w", syscall.ENAMETOOLONG), giveUp},
		{fmt.Errorf("bag: %w", bagit.ErrUnsafePath), giveUp},
		{permanent("zero-byte"), giveUp},
		{errors.New("something odd"), retry},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestBadNameNotRetried: an error no retry can fix (a name the file system
// refuses) fails the item at once instead of after max_attempts.
func TestBadNameNotRetried(t *testing.T) {
	te := newTestEnv(t)
	te.Cfg.MaxAttempts = 5
	te.Store = &faultyStore{Store: te.Store, put: func(key string) error {
		return &fs.PathError{Op: "open", Path: key, Err: syscall.ENAMETOOLONG}
	}}
	it := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 20, 20)))
	if it.Stage != catalog.StageFailed || it.Attempts != 1 {
		t.Fatalf("stage %s after %d attempts", it.Stage, it.Attempts)
	}
	if a := itemFailedAlerts(t, te); len(a) != 0 {
		t.Errorf("an item that failed at once raised %+v: its reason file is the message", a)
	}
}
