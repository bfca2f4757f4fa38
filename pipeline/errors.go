package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Permanent marks an error that retrying cannot fix (bad input, a rejected
// format): the item fails at once.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

func permanent(format string, args ...any) error {
	return &Permanent{Err: fmt.Errorf(format, args...)}
}

// sourceError marks an error reading an original: a file the archivist
// dropped that cannot be read is the item's problem, where the same error
// on the store or a work folder is the machine's.
type sourceError struct{ err error }

func (s *sourceError) Error() string { return s.err.Error() }
func (s *sourceError) Unwrap() error { return s.err }

// errClass is what a failed step does next.
type errClass int

const (
	retry           errClass = iota // the item's error: retried up to max_attempts
	giveUp                          // retrying cannot help: the item fails now
	waitEnvironment                 // the machine's error: wait, however long, without counting
)

// classify sorts a step's error. The environment: a store that is down, a
// full or read-only disk, a permission missing on the store, the work area,
// or the done and failed folders (an operator fixes those; the item is
// fine). Given up at once: bad input, and names the file system or a bag
// cannot hold.
func classify(err error) errClass {
	var perm *Permanent
	var src *sourceError
	switch {
	case errors.Is(err, storage.ErrTransient), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS):
		return waitEnvironment
	case (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)) && !errors.As(err, &src):
		return waitEnvironment
	case errors.As(err, &perm), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.EILSEQ), errors.Is(err, bagit.ErrUnsafePath):
		return giveUp
	}
	return retry
}

// safely runs f, turning a panic (a decoder meeting a file it was not made
// for) into an error that fails the item, so that one bad file cannot take
// the daemon down.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Permanent{Err: fmt.Errorf("internal error on this item (reported, not retried): %v\n%s", r, debug.Stack())}
		}
	}()
	return f()
}

// atOnce runs f(0) … f(n-1) as many at a time as there are cores, each
// under safely (a panic on a goroutine of its own is out of the step's
// reach), and returns each one's error by its index: the caller takes
// the results in order, so the first failure is the one it reports.
func atOnce(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		g.Go(func() error {
			errs[i] = safely(func() error { return f(i) })
			return nil
		})
	}
	g.Wait()
	return errs
}

// envWatch tracks how long the environment has been failing, for the
// alert and the metric.
type envWatch struct {
	// Errors counts steps that waited for the environment, for metrics.
	Errors atomic.Int64

	mu      sync.Mutex
	since   time.Time // first failure since the last success; zero if none
	alerted bool
	// raised are the environment alerts raised, by the stage whose
	// waiting raised them: that stage passing again resolves them.
	raised map[catalog.Stage]int64
}

// ok notes that a step of stage passed: the environment works for it. An
// environment alert its waiting raised is resolved: the store that was
// down is up, the disk that was full has room.
func (w *envWatch) ok(ctx context.Context, e *Engine, stage catalog.Stage) {
	w.mu.Lock()
	w.since, w.alerted = time.Time{}, false
	id, raised := w.raised[stage]
	delete(w.raised, stage)
	w.mu.Unlock()
	if !raised {
		return
	}
	note := fmt.Sprintf("resolved by strongroom: a %s step passed at %s", stage, e.Now().Format(time.RFC3339))
	if _, err := e.Catalog.ChangeAlert(ctx, id, catalog.AlertResolved, e.Agent, note, e.Now()); err != nil && !errors.Is(err, catalog.ErrBadTransition) {
		e.Log.Error("could not resolve the environment alert", "alert", id, "err", err)
	}
}

// failed counts a step of stage that waits for the environment and raises
// an alert once it has waited longer than Cfg.EnvironmentAlertAfter.
func (w *envWatch) failed(ctx context.Context, e *Engine, stage catalog.Stage, err error) {
	w.Errors.Add(1)
	now := e.Now()
	w.mu.Lock()
	if w.since.IsZero() {
		w.since = now
	}
	due := !w.alerted && now.Sub(w.since) >= e.Cfg.EnvironmentAlertAfter
	since := w.since
	w.alerted = w.alerted || due
	w.mu.Unlock()
	if !due {
		return
	}
	detail := fmt.Sprintf("items have been waiting since %s: %v", since.Format(time.RFC3339), err)
	a, _, aerr := e.Catalog.RaiseAlert(ctx, "", catalog.ProblemEnvironment, envKind(err), detail, now)
	if aerr != nil {
		e.Log.Error("could not raise the environment alert", "err", aerr)
		return
	}
	w.mu.Lock()
	if w.raised == nil {
		w.raised = map[catalog.Stage]int64{}
	}
	w.raised[stage] = a.ID
	w.mu.Unlock()
}

// envKind names what is wrong, as the alert's key.
func envKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{{storage.ErrTransient, "store unavailable"}, {syscall.ENOSPC, "no space left"}, {syscall.EDQUOT, "quota exceeded"},
		{syscall.EROFS, "read-only file system"}, {syscall.EACCES, "permission denied"}, {syscall.EPERM, "operation not permitted"}} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "environment"
}

// EnvironmentErrors counts steps that waited for the environment since
// start (for metrics).
func (e *Engine) EnvironmentErrors() int64 { return e.env.Errors.Load() }
