package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// The catalog is the work list: an item's stage, lease and ReadyAt say all
// there is to say about what runs next, so a worker claims the oldest ready
// item of a stage (catalog.Claim) and nothing else has to be kept in step
// with the catalog (no message to re-send after a crash, no duplicate
// window). A bell tells idle workers that an item reached a stage, so they
// need not poll for it: in this process, and in every process sharing a
// PostgreSQL catalog (LISTEN/NOTIFY). Workers still look every
// Cfg.Poll, for what no bell announced (a SQLite catalog shared by two
// processes, a notification lost while the database restarted).

// Bell is what a catalog may offer for ringing across processes.
type Bell interface {
	// Ring tells every listening process that an item reached stage.
	Ring(ctx context.Context, stage catalog.Stage) error
	// Listen calls heard for every ring, first with "" (rings before it
	// began were missed), until ctx ends or the connection is lost.
	Listen(ctx context.Context, heard func(catalog.Stage)) error
}

// bell wakes this process's idle workers of a stage.
type bell struct {
	mu sync.Mutex
	ch map[catalog.Stage]chan struct{}
}

// wait returns a channel closed at the next ring of stage. Take it before
// looking for work, so that a ring while looking is not missed.
func (b *bell) wait(stage catalog.Stage) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = map[catalog.Stage]chan struct{}{}
	}
	c, ok := b.ch[stage]
	if !ok {
		c = make(chan struct{})
		b.ch[stage] = c
	}
	return c
}

// ring wakes the workers of stage ("": of every stage).
func (b *bell) ring(stage catalog.Stage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for st, c := range b.ch {
		if stage == "" || st == stage {
			close(c)
			delete(b.ch, st)
		}
	}
}

// announce rings stage here and, through the catalog's Bell, everywhere.
func (d *Daemon) announce(ctx context.Context, stage catalog.Stage) {
	d.bell.ring(stage)
	if b, ok := d.Engine.Catalog.(Bell); ok {
		if err := b.Ring(ctx, stage); err != nil && ctx.Err() == nil {
			d.Engine.Log.Warn("could not tell the other processes about work; they will find it when they look", "stage", stage, "err", err)
		}
	}
}

// listen rings this process's bell for every ring of the other processes,
// listening again after a lost connection (a database restart).
func (d *Daemon) listen(ctx context.Context) {
	b, ok := d.Engine.Catalog.(Bell)
	if !ok {
		return
	}
	pause := time.Second
	for {
		began := time.Now()
		err := b.Listen(ctx, d.bell.ring)
		if time.Since(began) > time.Minute {
			pause = time.Second
		}
		if ctx.Err() != nil {
			return
		}
		d.Engine.Log.Warn("not listening for work from other processes; listening again (workers look every poll interval meanwhile)", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// goneHolders are the holders of item leases known to have died on this
// machine (a restart after kill -9): their items are claimed at once
// rather than after the lease lapses. Looked up at most every few seconds.
type goneHolders struct {
	mu   sync.Mutex
	at   time.Time
	list []string
}

func (g *goneHolders) get(ctx context.Context, cat catalog.Items) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.at) < 5*time.Second {
		return g.list
	}
	holders, err := cat.LeaseHolders(ctx)
	if err != nil {
		return g.list
	}
	g.list, g.at = g.list[:0], time.Now()
	for _, h := range holders {
		if gone(h) {
			g.list = append(g.list, h)
		}
	}
	return g.list
}

// work runs stage's items with up to Cfg.Workers at once (the stage's limit
// in flight in this process: more items wait in the catalog, not in
// memory), claiming the next whenever a worker is free, until ctx ends.
func (d *Daemon) work(ctx context.Context, stage catalog.Stage) {
	d.claimLoop(ctx, d.Engine.Cfg.Workers, stage, func() (func(), error) {
		it, from, err := d.claim(ctx, stage)
		if it == nil {
			return nil, err
		}
		return func() { d.run(ctx, it, from) }, nil
	})
}

// claimLoop runs up to n jobs at once, asking claim for the next whenever
// one is free, until ctx ends. claim returns the job to run, or nil when
// there is none now: the loop waits for a ring of bell or Cfg.Poll. A claim
// that fails (the catalog is down, a restart) is tried again less often, up
// to a minute apart, until the catalog answers.
func (d *Daemon) claimLoop(ctx context.Context, n int, bell catalog.Stage, claim func() (func(), error)) {
	e := d.Engine
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	pause := e.Cfg.Poll
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wake := d.bell.wait(bell)
		job, err := claim()
		if job != nil {
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				job()
			}()
		} else {
			<-slots
		}
		if err == nil {
			pause = e.Cfg.Poll
			if job != nil {
				continue
			}
		} else if ctx.Err() == nil {
			e.Log.Warn("could not claim work; trying again", "for", bell, "err", err, "in", pause)
			wake = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(pause):
		}
		if err != nil {
			pause = min(2*pause, time.Minute)
		}
	}
}

// claim claims the next item of stage, unless an item runs alone in this
// process (then none). One claim at a time in a process, so that a
// process never takes over two items whose worker died: the second would
// wait behind the first, and be charged for its death.
func (d *Daemon) claim(ctx context.Context, stage catalog.Stage) (*catalog.Item, string, error) {
	d.claiming.Lock()
	defer d.claiming.Unlock()
	if d.solos.Load() > 0 {
		return nil, "", nil
	}
	e := d.Engine
	now := e.Now()
	it, from, err := e.Catalog.Claim(ctx, stage, e.Holder, now, now.Add(e.Cfg.Lease), d.gone.get(ctx, e.Catalog))
	if it != nil && e.takenOver(from) {
		d.solos.Add(1)
	}
	return it, from, err
}

// run does the stage of a claimed item and announces where it went: its
// next stage, or its own again once a retry's pause is over.
//
// An item taken over from a worker that stopped during its step runs
// alone in this process: the death is counted against it (an item that
// kills every worker that opens it must fail, not loop), but the dead
// worker may have run several items, and only one of them killed it. It
// waits for the steps under way here to end, and nothing more is claimed
// here until it is done: a death while it runs is its own. A bystander is
// charged one attempt, then runs alone and goes on.
func (d *Daemon) run(ctx context.Context, it *catalog.Item, from string) {
	stage := it.Stage
	wait := func() func() {
		if d.Engine.takenOver(from) {
			d.solo.Lock()
			return func() { d.solo.Unlock(); d.solos.Add(-1); d.bell.ring("") }
		}
		d.solo.RLock()
		return d.solo.RUnlock
	}
	it, err := d.Engine.StepClaimed(ctx, it, from, wait)
	var retry *RetryLater
	switch {
	case ctx.Err() != nil:
	case errors.As(err, &retry):
		time.AfterFunc(retry.After, func() { d.bell.ring(stage) })
	case err != nil:
		d.Engine.Log.Error("step", "item", it.ID, "stage", stage, "err", err)
	case !it.Stage.Terminal():
		d.announce(ctx, it.Stage)
	}
}
