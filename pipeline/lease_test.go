package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// second returns another worker on the same catalog, store and folders.
func (te *testEnv) second(holder string) *Engine {
	e := te.Engine
	return &Engine{Cfg: e.Cfg, Bag: e.Bag, DataDir: e.DataDir, DoneDir: e.DoneDir, FailedDir: e.FailedDir, Catalog: e.Catalog,
		Store: e.Store, StoreURL: e.StoreURL, Identify: e.Identify, Policy: e.Policy, Agent: e.Agent, Log: e.Log, Now: e.Now, Holder: holder,
		Decoder: e.Decoder}
}

// TestOneWorkerPerItem: while one worker holds an item, another worker's
// step for it waits (RetryLater), and runs once the first lets go.
func TestOneWorkerPerItem(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	it, _ := te.NewItem(ctx, ItemSpec{Path: put(t, filepath.Join(te.hot, "a.png"), pngBytes(t, 20, 20)), HotFolder: te.hot, Release: catalog.ReleaseMove})
	l, err := te.acquire(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := te.second("other-host/1/1")
	_, err = other.Step(ctx, it.ID)
	var retry *RetryLater
	if !errors.As(err, &retry) || !errors.Is(err, ErrLeased) {
		t.Fatalf("second worker: %v, want to wait", err)
	}
	if got, _ := te.cat.Item(ctx, it.ID); got.Stage != FirstStage() {
		t.Fatalf("the second worker ran the step: %s", got.Stage)
	}
	te.end(l, it.ID)
	if got, err := other.Step(ctx, it.ID); err != nil || got.Stage != stages[0].next {
		t.Fatalf("after the first let go: %v %v", got.Stage, err)
	}
}

// TestStaleStepCannotMoveBack: a worker whose lease lapsed (it was too slow
// to renew) cannot write its result over the worker that took the item on.
func TestStaleStepCannotMoveBack(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	it, _ := te.NewItem(ctx, ItemSpec{Path: put(t, filepath.Join(te.hot, "a.png"), pngBytes(t, 20, 20)), HotFolder: te.hot, Release: catalog.ReleaseMove})
	stale, err := te.acquire(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.cancel()
	// Seen from an hour later, the first lease has lapsed: another worker
	// takes the item and moves it on.
	other := te.second("other-host/1/1")
	other.Now = func() time.Time { return time.Now().Add(time.Hour) }
	for _, st := range stages[:8] { // fixity … release
		got, err := other.Step(ctx, it.ID)
		if err != nil || got.Stage != st.next {
			t.Fatalf("other worker: %s %v, want %s", got.Stage, err, st.next)
		}
	}
	// The stale worker, still at the first stage, tries to record a failure.
	old := *it
	old.Stage, old.LastError = catalog.StageFail, "a stale step's error"
	if err := te.cat.UpdateItem(ctx, &old, FirstStage(), te.Holder); !errors.Is(err, catalog.ErrStale) {
		t.Fatalf("stale update: %v, want ErrStale", err)
	}
	if got, _ := te.cat.Item(ctx, it.ID); got.Stage != catalog.StageDone || got.LastError != "" {
		t.Fatalf("the stale step moved the item: %s %q", got.Stage, got.LastError)
	}
}

// TestDeadWorkersLeaseTakenAtOnce: the lease of a process on this host that
// is gone (killed) is taken over at once, not after it lapses.
func TestDeadWorkersLeaseTakenAtOnce(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	it, _ := te.NewItem(ctx, ItemSpec{Path: put(t, filepath.Join(te.hot, "a.png"), pngBytes(t, 20, 20)), HotFolder: te.hot, Release: catalog.ReleaseMove})
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead := fmt.Sprintf("%s/%d/1", host, cmd.Process.Pid)
	if !gone(dead) || gone(te.Holder) {
		t.Fatalf("gone(dead) %v, gone(self) %v", gone(dead), gone(te.Holder))
	}
	if ok, _, err := te.cat.Lease(ctx, it.ID, dead, time.Now(), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	got, err := te.Step(ctx, it.ID)
	if err != nil || got.Stage != stages[0].next {
		t.Fatalf("%s %v", got.Stage, err)
	}
}

// TestDyingStepIsCounted: an item whose step killed the daemon (the OOM
// killer, a crash in a library) was run again at every start, with 0
// attempts: a crash loop. A lease taken from a dead process is that death,
// counted as an attempt before the step runs again; at max_attempts the
// item fails with the reason instead of running the step again.
func TestDyingStepIsCounted(t *testing.T) {
	te := newTestEnv(t)
	te.Cfg.MaxAttempts = 3
	ctx := context.Background()
	it, _ := te.NewItem(ctx, ItemSpec{Path: put(t, filepath.Join(te.hot, "a.png"), pngBytes(t, 20, 20)), HotFolder: te.hot, Release: catalog.ReleaseMove})
	host, _ := os.Hostname()
	die := func() { // a process that held the item's lease dies mid-step
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		dead := fmt.Sprintf("%s/%d/1", host, cmd.Process.Pid)
		if ok, _, err := te.cat.Lease(ctx, it.ID, dead, time.Now(), time.Now().Add(time.Hour)); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	// Up to the store stage; there every step dies (the store never
	// answers in time, and the process is killed).
	for it.Stage != catalog.StageStore {
		var err error
		if it, err = te.Step(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
	}
	te.Store = &faultyStore{Store: te.Store, put: func(key string) error { return fmt.Errorf("put %s: %w", key, syscall.EROFS) }}
	var got *catalog.Item
	for range 2 {
		die()
		got, _ = te.Step(ctx, it.ID)
	}
	if got.Stage != catalog.StageStore || got.Attempts != 2 {
		t.Fatalf("after two deaths in one stage: stage %s, attempts %d, %q", got.Stage, got.Attempts, got.LastError)
	}
	// The third death in the same stage: failed, not run again.
	die()
	if got, _ = te.Step(ctx, it.ID); got.Stage != catalog.StageFail || !strings.Contains(got.LastError, "stopped 3 times during") {
		t.Fatalf("after three deaths: stage %s, %q", got.Stage, got.LastError)
	}
	if got, err := te.Run(ctx, it.ID); err != nil || got.Stage != catalog.StageFailed || !exists(filepath.Join(te.failed, "a.png")) {
		t.Fatalf("failed item: %v %s; in failed/: %v", err, got.Stage, exists(filepath.Join(te.failed, "a.png")))
	}
}

// TestClockJumps: the wall clock jumps (an NTP step after a long suspend, a
// wrong clock corrected by an operator) forward and back by two hours at
// every reading while items are taken, leased, renewed, stored and
// released: each is stored once and no lease is lost to its own worker.
func TestClockJumps(t *testing.T) {
	te := newTestEnv(t)
	te.Cfg.Lease = 3 * time.Second // renewed every second: several renewals per item
	var n atomic.Int64
	te.Now = func() time.Time {
		if n.Add(1)%2 == 0 {
			return time.Now().Add(2 * time.Hour)
		}
		return time.Now().Add(-2 * time.Hour)
	}
	ctx := context.Background()
	for i := range 3 {
		dir := filepath.Join(te.hot, fmt.Sprintf("book-%d", i))
		for p := range 3 {
			put(t, filepath.Join(dir, fmt.Sprintf("p%d.png", p)), pngBytes(t, 30+i, 20+p))
		}
		it, err := te.NewItem(ctx, ItemSpec{Path: dir, HotFolder: te.hot, Release: catalog.ReleaseMove})
		if err != nil {
			t.Fatal(err)
		}
		l, err := te.acquire(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // a renewal under the jumping clock
		if l.wasLost() {
			t.Fatal("the lease was lost to its own worker")
		}
		te.end(l, it.ID)
		it, err = te.Run(ctx, it.ID)
		if err != nil || it.Stage != catalog.StageDone {
			t.Fatalf("book-%d: %v, stage %s: %s", i, err, it.Stage, it.LastError)
		}
	}
	if bags, _ := te.cat.BagIDs(ctx); len(bags) != 3 {
		t.Errorf("%d bags for 3 books", len(bags))
	}
}
