package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLeased means another live worker holds the item: the step waits.
var ErrLeased = errors.New("another worker is working on this item")

// Holder names this process in item leases: host, pid and the process's
// start time, so that a later process with a recycled pid is not mistaken
// for it.
func Holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), procStart(os.Getpid()))
}

// procStart is a process's start time in clock ticks since boot (field 22
// of /proc/PID/stat), or "" where there is no /proc.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// pid (comm) state ppid ...: comm may hold spaces, so count after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// gone reports whether the process that holder names is known to have
// ended: it ran on this host, and no process with its pid and start time
// is running. A holder on another host is never known to be gone; its lease
// lapses instead.
func gone(holder string) bool {
	parts := strings.Split(holder, "/")
	host, _ := os.Hostname()
	if len(parts) != 3 || parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	return parts[2] != "" && procStart(pid) != "" && procStart(pid) != parts[2]
}

// lease is the engine's claim on one item while a step runs.
type lease struct {
	ctx    context.Context // ends when the step must stop: the lease was lost
	cancel context.CancelFunc
	lost   chan struct{}
	done   chan struct{}
	// tookOver names the holder the lease was taken from: a process that
	// died while it ran a step of this item (a graceful stop gives its
	// leases up), or "" when the lease was free.
	tookOver string
}

// acquire takes the lease on item id (from a holder known to be dead, too)
// and keeps renewing it until end is called. When another live worker
// holds the item it returns a *RetryLater wrapping ErrLeased.
func (e *Engine) acquire(ctx context.Context, id string) (*lease, error) {
	ttl := e.Cfg.Lease
	now := e.Now()
	ok, current, err := e.Catalog.Lease(ctx, id, e.Holder, now, now.Add(ttl))
	if err != nil {
		return nil, err
	}
	tookOver := ""
	if !ok && gone(current) {
		if ok, err = e.Catalog.TakeLease(ctx, id, current, e.Holder, now.Add(ttl)); err != nil {
			return nil, err
		}
		if ok {
			tookOver = current
			e.Log.Warn("took over the lease of a worker that is gone: it died during a step of this item", "item", id, "from", current)
		}
	}
	if !ok {
		return nil, &RetryLater{After: min(ttl/3, 5*time.Second), Err: fmt.Errorf("item %s: %w (%s)", id, ErrLeased, current)}
	}
	return e.hold(ctx, id, tookOver), nil
}

// hold keeps renewing a lease this worker has taken (acquired, or claimed
// from the work list) until end is called.
func (e *Engine) hold(ctx context.Context, id, tookOver string) *lease {
	l := &lease{lost: make(chan struct{}), done: make(chan struct{}), tookOver: tookOver}
	l.ctx, l.cancel = context.WithCancel(ctx)
	go e.renew(l, id, e.Cfg.Lease)
	return l
}

// RetryLater is a step's error that asks for the step to run again after
// a pause (the item's ReadyAt says until when).
type RetryLater struct {
	After time.Duration
	Err   error
}

func (r *RetryLater) Error() string { return fmt.Sprintf("retry in %s: %v", r.After, r.Err) }
func (r *RetryLater) Unwrap() error { return r.Err }

// renew extends the item's lease until the step ends or the lease is lost
// (keep).
func (e *Engine) renew(l *lease, id string, ttl time.Duration) {
	defer close(l.done)
	e.keep(l.ctx, ttl, "item", e.Log.With("item", id), func(ctx context.Context, now, until time.Time) (bool, string, error) {
		return e.Catalog.Lease(ctx, id, e.Holder, now, until)
	}, func() {
		close(l.lost)
		l.cancel()
	})
}

// keep renews a lease (an item's, a page's) every ttl/3 until ctx ends. If
// it cannot for longer than the lease lasts (the catalog is unusable), or
// another holder has it, it calls lost and returns: work must not run on
// without its lease.
func (e *Engine) keep(ctx context.Context, ttl time.Duration, what string, log *slog.Logger,
	renew func(ctx context.Context, now, until time.Time) (ok bool, current string, err error), lost func()) {
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	until := e.Now().Add(ttl)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := e.Now()
		ok, current, err := renew(ctx, now, now.Add(ttl))
		switch {
		case ok:
			until = now.Add(ttl)
			continue
		case err != nil && now.Before(until):
			log.Warn("could not renew the "+what+"'s lease; trying again", "err", err)
			continue
		}
		log.Error("lost the "+what+"'s lease; stopping", "holder", current, "err", err)
		lost()
		return
	}
}

// end stops renewing and gives the lease up.
func (e *Engine) end(l *lease, id string) {
	l.cancel()
	<-l.done
	// The step's own context may be over (shutdown): give up the lease
	// anyway, so that the next process need not wait for it to lapse.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.ctx), 10*time.Second)
	defer cancel()
	if err := e.Catalog.Unlease(ctx, id, e.Holder); err != nil {
		e.Log.Warn("could not give up the item's lease; it will lapse", "item", id, "err", err)
	}
}

// wasLost reports whether the lease was lost during the step.
func (l *lease) wasLost() bool {
	select {
	case <-l.lost:
		return true
	default:
		return false
	}
}
