package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *Queue {
	t.Helper()
	q, err := Open(context.Background(), Config{AckWait: 2 * time.Second}, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestQueue(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir)
	ctx := context.Background()
	// The same item and stage published twice is one message (Nats-Msg-Id).
	for _, id := range []string{"a", "a", "b", "c"} {
		if err := q.Publish(ctx, "prepare", id); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := q.Depth(ctx); n != 3 {
		t.Fatalf("depth %d, want 3", n)
	}
	var mu sync.Mutex
	seen, finished := map[string]int{}, map[string]int{}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- q.Consume(cctx, "prepare", 2, func(ctx context.Context, id string) error {
			mu.Lock()
			seen[id]++
			n := seen[id]
			mu.Unlock()
			switch {
			case id == "b" && n == 1:
				return &RetryLater{After: 50 * time.Millisecond, Err: errors.New("not yet")}
			case id == "c":
				time.Sleep(2500 * time.Millisecond) // longer than AckWait: extended, not redelivered
			}
			mu.Lock()
			finished[id]++
			mu.Unlock()
			return nil
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		ok := finished["a"] == 1 && finished["b"] == 1 && finished["c"] == 1
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("deliveries %v", seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if seen["c"] != 1 || seen["a"] != 1 {
		t.Errorf("redelivered: %v", seen)
	}
	mu.Unlock()
	if n, _ := q.Depth(ctx); n != 0 {
		t.Errorf("depth %d after all acks", n)
	}
	q.Close()

	// What was published survives a restart of the embedded server.
	q = open(t, dir)
	defer q.Close()
	q.Publish(ctx, "store", "d")
	q.Close()
	q = open(t, dir)
	if n, _ := q.Depth(ctx); n != 1 {
		t.Errorf("depth %d after restart, want 1", n)
	}
}

// TestSlowStepsFullQueue: with more messages queued than workers and every
// step longer than the ack deadline, no message is delivered again while
// it is being handled or waiting to be (each is handled exactly once).
// Messages used to wait in a client buffer with no one extending their
// deadline, and were delivered a second time to another worker.
func TestSlowStepsFullQueue(t *testing.T) {
	q, err := Open(context.Background(), Config{AckWait: time.Second}, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := []string{"i1", "i2", "i3", "i4", "i5", "i6"}
	for _, id := range ids {
		if err := q.Publish(ctx, "prepare", id); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	handled, running := map[string]int{}, map[string]int{}
	var overlap []string
	done := make(chan error)
	go func() {
		done <- q.Consume(ctx, "prepare", 2, func(ctx context.Context, id string) error {
			mu.Lock()
			handled[id]++
			running[id]++
			if running[id] > 1 {
				overlap = append(overlap, id)
			}
			mu.Unlock()
			time.Sleep(1500 * time.Millisecond)
			mu.Lock()
			running[id]--
			mu.Unlock()
			return nil
		})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(handled)
		mu.Unlock()
		if n == len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // room for any redelivery to show
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(overlap) > 0 {
		t.Errorf("handled twice at once: %v", overlap)
	}
	for _, id := range ids {
		if handled[id] != 1 {
			t.Errorf("%s handled %d times, want once (all: %v)", id, handled[id], handled)
		}
	}
}

// TestPrune: messages of a stage that is no more (an earlier version's)
// are dropped; the others stay.
func TestPrune(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx := context.Background()
	q.Publish(ctx, "prepare", "old")
	q.Publish(ctx, "fixity", "new")
	if err := q.Prune(ctx, []string{"fixity", "store"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Depth(ctx); n != 1 {
		t.Errorf("depth %d after pruning, want 1", n)
	}
}
