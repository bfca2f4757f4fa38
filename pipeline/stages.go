package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/queue"
)

// stage is one step of the pipeline: the function that does it, and the
// stage an item goes to when it succeeds. A stage returns the PREMIS events
// it records (also when it fails: a format the policy rejects is an
// identification event with outcome failure); the engine records them.
// A stage finds what an earlier stage made where that stage put it (the
// catalog, the item's work area), and never runs an earlier stage again.
type stage struct {
	name catalog.Stage
	run  func(e *Engine, ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error)
	next catalog.Stage
}

// stages is the pipeline, in order; fail is where any stage goes when the
// item fails. Adding a stage is a file with its run function and a row.
var stages = []stage{
	{catalog.StageFixity, (*Engine).fixity, catalog.StageIdentify},
	{catalog.StageIdentify, (*Engine).identify, catalog.StageValidate},
	{catalog.StageValidate, (*Engine).validate, catalog.StageNormalise},
	{catalog.StageNormalise, (*Engine).normalise, catalog.StagePackage},
	{catalog.StagePackage, (*Engine).pack, catalog.StageStore},
	{catalog.StageStore, (*Engine).store, catalog.StageIndex},
	{catalog.StageIndex, (*Engine).index, catalog.StageRelease},
	{catalog.StageRelease, (*Engine).release, catalog.StageDone},
	{catalog.StageFail, (*Engine).fail, catalog.StageFailed},
}

// FirstStage is where every item starts: the table's first row.
func FirstStage() catalog.Stage { return stages[0].name }

// Stages names the stages a worker runs, in order.
func Stages() []catalog.Stage {
	out := make([]catalog.Stage, len(stages))
	for i, s := range stages {
		out[i] = s.name
	}
	return out
}

func stageNamed(name catalog.Stage) (stage, bool) {
	for _, s := range stages {
		if s.name == name {
			return s, true
		}
	}
	return stage{}, false
}

// workDir is the item's work area: the bag being built (bag/) and what
// the stages make on the way.
func (e *Engine) workDir(it *catalog.Item) string { return filepath.Join(e.DataDir, "work", it.ID) }

func (e *Engine) bagDir(it *catalog.Item) string { return filepath.Join(e.workDir(it), "bag") }

// skipTo is what a stage returns when the item needs none of the stages
// between it and stage: a duplicate under pipeline.duplicates: skip goes
// from identify to release. It is not a failure.
type skipTo struct {
	stage catalog.Stage
	why   string
}

func (s *skipTo) Error() string { return "skipping to " + string(s.stage) + ": " + s.why }

// restart sends an item back to its first stage: what the stages made is
// gone (a work area lost with a disk), so the item is made again from its
// originals, which are still where they were.
type restart struct{ why string }

func (r *restart) Error() string { return "starting over: " + r.why }

// Step runs the current stage of item id once, under the item's lease,
// and records its events and result. It returns the item as it now is. A
// *queue.RetryLater error means the stage should run again after a pause;
// the item's state already says so.
func (e *Engine) Step(ctx context.Context, id string) (*catalog.Item, error) {
	it, err := e.Catalog.Item(ctx, id)
	if err != nil || it.Stage.Terminal() {
		return it, err
	}
	l, err := e.acquire(ctx, id)
	if err != nil {
		return it, err
	}
	defer e.end(l, id)
	// Read it again under the lease: another worker may have moved it on.
	if it, err = e.Catalog.Item(ctx, id); err != nil || it.Stage.Terminal() {
		return it, err
	}
	st, ok := stageNamed(it.Stage)
	if !ok {
		return it, fmt.Errorf("pipeline: item %s: unknown stage %q", it.ID, it.Stage)
	}
	log := e.Log.With("item", it.ID, "name", it.Name, "stage", it.Stage)
	if l.tookOver != "" && st.name != catalog.StageFail {
		// The process before this one died during this step (killed for
		// memory, a crash in a library): that counts as an attempt, saved
		// before the step runs again, so that an item that kills the
		// daemon every time fails with its reason instead of looping.
		if n := it.Attempts + 1; n >= e.Cfg.MaxAttempts {
			log.Error("the daemon died during this step too often; failing the item", "attempts", n)
			return it, e.failed(ctx, it, st.name, &Permanent{Err: fmt.Errorf("the daemon stopped %d times during %s (killed, perhaps for memory, or crashed): given up", n, st.name)}, log)
		}
		it.Attempts++
		it.LastError = fmt.Sprintf("the daemon stopped during %s (%s): killed, perhaps for memory, or crashed", st.name, l.tookOver)
		if err := e.Catalog.UpdateItem(ctx, it, st.name, e.Holder); err != nil {
			return it, err
		}
	}
	start := time.Now()
	var evs []catalog.Event
	err = safely(func() (err error) {
		evs, err = st.run(e, l.ctx, it, log)
		return err
	})
	switch {
	case ctx.Err() != nil:
		return it, ctx.Err() // shutting down: the stage runs again after restart
	case l.wasLost():
		return it, &queue.RetryLater{After: e.Cfg.RetryBackoff, Err: fmt.Errorf("item %s: lost its lease during %s", it.ID, st.name)}
	}
	for i := range evs {
		if evs[i].BagID == "" {
			evs[i].BagID = it.ID
		}
	}
	if rerr := e.Catalog.SetStageEvents(ctx, it.ID, st.name, evs); rerr != nil {
		return it, &queue.RetryLater{After: e.Cfg.RetryBackoff, Err: fmt.Errorf("item %s: record the events of %s: %w", it.ID, st.name, rerr)}
	}
	next := st.next
	if skip := (*skipTo)(nil); errors.As(err, &skip) {
		next, err = skip.stage, nil
	}
	if err == nil {
		e.env.ok(ctx, e, st.name)
		log.Info("stage done", "next", next, "took", time.Since(start).Round(time.Millisecond))
		if st.name != catalog.StageFail { // a failed item keeps its reason and count
			it.LastError, it.Attempts = "", 0
		}
		it.Stage = next
		return it, e.Catalog.UpdateItem(ctx, it, st.name, e.Holder)
	}
	return it, e.failed(ctx, it, st.name, err, log)
}

// failed records a stage's error and decides what follows: wait for the
// environment, try again, go back to an earlier stage, or fail the item.
func (e *Engine) failed(ctx context.Context, it *catalog.Item, from catalog.Stage, err error, log *slog.Logger) error {
	it.LastError = err.Error()
	save := func() error { return e.Catalog.UpdateItem(ctx, it, from, e.Holder) }
	var back *restart
	switch c := classify(err); {
	case errors.As(err, &back):
		log.Warn("starting the item over", "why", back.why)
		it.Stage, it.Attempts = FirstStage(), 0
		if err := os.RemoveAll(e.workDir(it)); err != nil {
			return err
		}
		return save()
	case c == waitEnvironment:
		// The environment, not the item: wait for as long as it takes, and
		// tell people when it takes long.
		log.Error("waiting for the environment; the stage will be retried", "err", err)
		e.env.failed(ctx, e, from, err)
		if err := save(); err != nil {
			return err
		}
		return &queue.RetryLater{After: e.backoff(it.Attempts + 3), Err: err}
	case from == catalog.StageFail:
		// Failing must never give up, or the original would be stranded.
		log.Warn("stage will be retried", "err", err)
		if err := save(); err != nil {
			return err
		}
		return &queue.RetryLater{After: e.backoff(it.Attempts + 3), Err: err}
	case c == giveUp || it.Attempts+1 >= e.Cfg.MaxAttempts:
		log.Error("item failed", "err", err, "attempts", it.Attempts+1)
		it.FailStage, it.Stage = from, catalog.StageFail
		it.Attempts++
		return save()
	default:
		it.Attempts++
		log.Warn("stage failed; will retry", "err", err, "attempt", it.Attempts, "max_attempts", e.Cfg.MaxAttempts)
		if err := save(); err != nil {
			return err
		}
		return &queue.RetryLater{After: e.backoff(it.Attempts), Err: err}
	}
}

// backoff is the pause before attempt n of a stage: exponential from
// RetryBackoff, capped at 5 minutes, with jitter so that retries after an
// outage don't arrive all at once.
func (e *Engine) backoff(attempt int) time.Duration {
	b := &backoff.ExponentialBackOff{InitialInterval: e.Cfg.RetryBackoff, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 5 * time.Minute}
	b.Reset()
	d := b.NextBackOff()
	for range min(attempt, 10) {
		d = b.NextBackOff()
	}
	return d
}

// Run drives item id through every stage in this process, sleeping between
// retries; it returns the item in its terminal state. It is how the ingest
// command works, and how tests run the stages without a queue.
func (e *Engine) Run(ctx context.Context, id string) (*catalog.Item, error) {
	for {
		it, err := e.Step(ctx, id)
		var retry *queue.RetryLater
		switch {
		case errors.As(err, &retry):
			select {
			case <-ctx.Done():
				return it, ctx.Err()
			case <-time.After(retry.After):
			}
		case err != nil:
			return it, err
		case it.Stage.Terminal():
			return it, nil
		}
	}
}
