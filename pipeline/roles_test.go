package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
)

// flaky is a catalog a process loses touch with (its network goes).
type flaky struct {
	catalog.Roles
	down atomic.Bool
}

func (f *flaky) HoldRole(ctx context.Context, role, holder string, now, until time.Time) (bool, string, error) {
	if f.down.Load() {
		return false, "", errors.New("connection refused")
	}
	return f.Roles.HoldRole(ctx, role, holder, now, until)
}

// TestWhileHolding: of two processes wanting one role, one runs it at a
// time. A holder that stops gives it up and the other takes it within a
// try; one that loses the catalog stops before its lease lapses, and the
// other takes it once it has; one that died on this machine (kill -9, then
// a restart) is known gone and its role taken at once.
func TestWhileHolding(t *testing.T) {
	cat, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const ttl = 300 * time.Millisecond
	var running sync.Map // holder → running
	var both atomic.Bool
	worker := func(ctx context.Context, c catalog.Roles, holder string) chan error {
		done := make(chan error, 1)
		go func() {
			done <- WhileHolding(ctx, c, "audit", holder, ttl, log, time.Now, func(ctx context.Context) error {
				running.Store(holder, true)
				n := 0
				running.Range(func(_, v any) bool {
					if v.(bool) {
						n++
					}
					return true
				})
				if n > 1 {
					both.Store(true)
				}
				<-ctx.Done()
				running.Store(holder, false)
				return nil
			})
		}()
		return done
	}
	is := func(holder string) bool { v, _ := running.Load(holder); return v == true }
	waitFor := func(holder string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for !is(holder) {
			if time.Since(start) > within {
				t.Fatalf("%s did not take the role within %s", holder, within)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}
	ctxA, stopA := context.WithCancel(context.Background())
	a := worker(ctxA, cat, "host-a/1/1")
	waitFor("host-a/1/1", time.Second)
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	flakyB := &flaky{Roles: cat}
	b := worker(ctxB, flakyB, "host-b/2/2")
	time.Sleep(3 * ttl)
	if is("host-b/2/2") {
		t.Fatal("two holders")
	}
	// A stops: it gives the role up, and B takes it within one try.
	stopA()
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	if took := waitFor("host-b/2/2", ttl); took > ttl/3+50*time.Millisecond {
		t.Errorf("taken over in %s after a graceful stop", took)
	}
	// B loses the catalog: it stops before its lease lapses; C takes the
	// role once it has lapsed.
	ctxC, stopC := context.WithCancel(context.Background())
	defer stopC()
	c := worker(ctxC, cat, "host-c/3/3")
	flakyB.down.Store(true)
	lost := time.Now()
	took := waitFor("host-c/3/3", 3*ttl)
	if took < ttl-ttl/3-50*time.Millisecond {
		t.Errorf("taken %s after the holder lost the catalog: before its lease could lapse", time.Since(lost))
	}
	if both.Load() {
		t.Error("two processes ran the role at once")
	}
	stopB()
	<-b
	stopC()
	<-c

	// A holder that died on this machine: its role is taken at once, not
	// when its one-hour lease lapses.
	host, _ := os.Hostname()
	dead := host + "/999999/1"
	if ok, _, err := cat.HoldRole(context.Background(), "audit", dead, time.Now(), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ctxD, stopD := context.WithCancel(context.Background())
	defer stopD()
	d := worker(ctxD, cat, "host-d/4/4")
	waitFor("host-d/4/4", ttl)
	stopD()
	<-d
}
