// Package queue hands work between pipeline stages through NATS JetStream.
// By default the NATS server runs inside the daemon (no network listener,
// file store under data_dir); with a URL, the same stages run against an
// external NATS cluster, so many workers can share the load.
//
// Messages carry an item id and a stage name, never file bytes. Every
// message has a Nats-Msg-Id of item:stage, so a stage re-published after a
// crash is dropped as a duplicate by the server; stages are idempotent for
// the cases the duplicate window does not cover.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures the queue.
type Config struct {
	// URL of an external NATS server; empty runs one in-process.
	URL string `yaml:"url"`
	// AckWait is how long a delivery may go unacknowledged before the
	// server redelivers it; running steps extend it while they work.
	AckWait time.Duration `yaml:"ack_wait"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.AckWait < time.Second {
		return fmt.Errorf("queue.ack_wait %s: must be at least 1s", c.AckWait)
	}
	return nil
}

const (
	streamName    = "STRONGROOM"
	subjectPrefix = "strongroom.stage."
	dupWindow     = 24 * time.Hour
)

// Queue is a connection to the stream.
type Queue struct {
	cfg Config
	ns  *server.Server // nil when external
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
}

// Open connects to cfg.URL, or starts an in-process server storing its
// stream under storeDir, and makes sure the stream exists.
func Open(ctx context.Context, cfg Config, storeDir string, log *slog.Logger) (*Queue, error) {
	q := &Queue{cfg: cfg, log: log}
	var err error
	if cfg.URL == "" {
		q.ns, err = server.NewServer(&server.Options{
			ServerName: "strongroom", JetStream: true, StoreDir: storeDir, DontListen: true,
			NoSigs: true, NoLog: true, SyncAlways: true, // a published message survives power loss
		})
		if err != nil {
			return nil, fmt.Errorf("queue: start embedded NATS in %s: %w", storeDir, err)
		}
		q.ns.Start()
		if !q.ns.ReadyForConnections(30 * time.Second) {
			q.ns.Shutdown()
			return nil, fmt.Errorf("queue: embedded NATS in %s did not start", storeDir)
		}
		q.nc, err = nats.Connect("", nats.InProcessServer(q.ns), nats.Name("strongroom"))
	} else {
		q.nc, err = nats.Connect(cfg.URL, nats.Name("strongroom"), nats.MaxReconnects(-1))
	}
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: connect: %w", err)
	}
	q.js, err = jetstream.New(q.nc)
	if err == nil {
		_, err = q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: streamName, Subjects: []string{subjectPrefix + "*"}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Duplicates: dupWindow,
		})
	}
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: create stream: %w", err)
	}
	if q.ns != nil {
		// Deliveries held by a process that was killed would wait out
		// their ack deadline. In-process, no other worker can hold them,
		// so the stage consumers start afresh and the messages (kept by
		// the work-queue stream until acknowledged) are delivered at once.
		stream, err := q.js.Stream(ctx, streamName)
		if err != nil {
			q.Close()
			return nil, fmt.Errorf("queue: stream: %w", err)
		}
		names := stream.ConsumerNames(ctx)
		var stale []string
		for name := range names.Name() {
			stale = append(stale, name)
		}
		for _, name := range stale {
			if err := stream.DeleteConsumer(ctx, name); err != nil {
				q.Close()
				return nil, fmt.Errorf("queue: reset consumer %s: %w", name, err)
			}
		}
	}
	return q, nil
}

// Close drains the connection and stops an embedded server.
func (q *Queue) Close() {
	if q.nc != nil {
		q.nc.Drain()
		q.nc.Close()
	}
	if q.ns != nil {
		q.ns.Shutdown()
		q.ns.WaitForShutdown()
	}
}

// Publish hands item itemID to stage. Publishing the same pair twice within
// the duplicate window stores one message.
func (q *Queue) Publish(ctx context.Context, stage, itemID string) error {
	msg := &nats.Msg{Subject: subjectPrefix + stage, Data: []byte(itemID), Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, itemID+":"+stage)
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("queue: publish %s to %s: %w", itemID, stage, err)
	}
	return nil
}

// Prune drops the messages of stages not in keep: stages an earlier
// version had (its "prepare" is five stages now). Nothing consumes them, and
// the catalog re-publishes every unfinished item at its stage anyway.
func (q *Queue) Prune(ctx context.Context, keep []string) error {
	s, err := q.js.Stream(ctx, streamName)
	if err != nil {
		return fmt.Errorf("queue: stream: %w", err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subjectPrefix+"*"))
	if err != nil {
		return fmt.Errorf("queue: stream info: %w", err)
	}
	kept := map[string]bool{}
	for _, k := range keep {
		kept[subjectPrefix+k] = true
	}
	for subj, n := range info.State.Subjects {
		if kept[subj] {
			continue
		}
		if err := s.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("queue: drop %s: %w", subj, err)
		}
		q.log.Info("queue: dropped the messages of a stage that is no more", "subject", subj, "messages", n)
	}
	return nil
}

// Depth returns the number of messages waiting or in flight.
func (q *Queue) Depth(ctx context.Context) (uint64, error) {
	s, err := q.js.Stream(ctx, streamName)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// RetryLater asks for a message to be redelivered after a pause.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (r *RetryLater) Error() string { return fmt.Sprintf("retry in %s: %v", r.After, r.Err) }
func (r *RetryLater) Unwrap() error { return r.Err }

// Handler processes one delivery of itemID. It returns nil when the work is
// done (the message is acknowledged), a *RetryLater to have it redelivered,
// or another error to drop it (the handler has recorded the failure).
type Handler func(ctx context.Context, itemID string) error

// Consume runs h for the messages of stage with up to workers at once, until
// ctx ends. A message is fetched only when a worker is free to take it, so
// no delivery waits in a client buffer (where nothing would extend its ack
// deadline and the server would deliver it again to another worker); while
// h runs, the delivery's ack deadline is extended.
func (q *Queue) Consume(ctx context.Context, stage string, workers int, h Handler) error {
	cons, err := q.js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: "stage-" + stage, FilterSubject: subjectPrefix + stage, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: q.cfg.AckWait, MaxDeliver: -1, MaxAckPending: workers,
	})
	if err != nil {
		return fmt.Errorf("queue: consumer for %s: %w", stage, err)
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		msg, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			<-sem
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
				continue // nothing waiting
			}
			q.log.Warn("queue: next message", "stage", stage, "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			q.handle(ctx, stage, msg, h)
		}()
	}
}

func (q *Queue) handle(ctx context.Context, stage string, msg jetstream.Msg, h Handler) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(q.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				msg.InProgress()
			}
		}
	}()
	err := h(ctx, string(msg.Data()))
	close(done)
	var retry *RetryLater
	switch {
	case ctx.Err() != nil:
		// Shutting down: leave the message for redelivery after restart.
		msg.Nak()
	case err == nil:
		if aerr := msg.DoubleAck(ctx); aerr != nil {
			q.log.Warn("queue: ack", "stage", stage, "item", string(msg.Data()), "err", aerr)
		}
	case errors.As(err, &retry):
		msg.NakWithDelay(retry.After)
	default:
		msg.Term()
	}
}
