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
