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
// the stages make on the way, where every worker finds it (the stage
// after this one may run on another machine).
func (e *Engine) workDir(it *catalog.Item) string { return e.workDirOf(it.ID) }

func (e *Engine) workDirOf(id string) string {
	if e.WorkDir == "" {
		return filepath.Join(e.DataDir, "work", id)
	}
	return filepath.Join(e.WorkDir, id)
}

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
// *RetryLater error means the stage should run again after a pause;
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
	return e.step(ctx, l, it)
}

// StepClaimed is Step for an item this worker has claimed from the work
// list (catalog.Claim): it holds the lease already, taken from tookOver
// ("" if the lease was free). wait, if not nil, is called once the lease
// is renewed (it may block: it is how a taken-over item waits to run
// alone) and returns what to call when the step is over.
func (e *Engine) StepClaimed(ctx context.Context, it *catalog.Item, tookOver string, wait func() (done func())) (*catalog.Item, error) {
	if e.takenOver(tookOver) {
		e.Log.Warn("took over an item whose worker stopped during a step: it died, or lost the catalog", "item", it.ID, "stage", it.Stage, "from", tookOver)
	} else {
		tookOver = ""
	}
	l := e.hold(ctx, it.ID, tookOver)
	defer e.end(l, it.ID)
	if wait != nil {
		defer wait()()
	}
	return e.step(ctx, l, it)
}

// takenOver reports whether a claim took the item from another holder
// (one that died, or lost the catalog).
func (e *Engine) takenOver(from string) bool { return from != "" && from != e.Holder }

// step runs the item's stage under lease l.
func (e *Engine) step(ctx context.Context, l *lease, it *catalog.Item) (*catalog.Item, error) {
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
	err := safely(func() (err error) {
		evs, err = st.run(e, l.ctx, it, log)
		return err
	})
	switch {
	case ctx.Err() != nil:
		return it, ctx.Err() // shutting down: the stage runs again after restart
	case l.wasLost():
		return it, &RetryLater{After: e.Cfg.RetryBackoff, Err: fmt.Errorf("item %s: lost its lease during %s", it.ID, st.name)}
	}
	for i := range evs {
		if evs[i].BagID == "" {
			evs[i].BagID = it.ID
		}
	}
	if rerr := e.Catalog.SetStageEvents(ctx, it.ID, st.name, evs); rerr != nil {
		return it, &RetryLater{After: e.Cfg.RetryBackoff, Err: fmt.Errorf("item %s: record the events of %s: %w", it.ID, st.name, rerr)}
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
		it.Stage, it.ReadyAt = next, time.Time{}
		return it, e.Catalog.UpdateItem(ctx, it, st.name, e.Holder)
	}
	return it, e.failed(ctx, it, st.name, err, log)
}

// failed records a stage's error and decides what follows: wait for the
// environment, try again after a pause (the item's ReadyAt: no worker
// claims it before), go back to an earlier stage, or fail the item.
func (e *Engine) failed(ctx context.Context, it *catalog.Item, from catalog.Stage, err error, log *slog.Logger) error {
	it.LastError = err.Error()
	save := func() error { return e.Catalog.UpdateItem(ctx, it, from, e.Holder) }
	retry := func(after time.Duration) error {
		it.ReadyAt = e.Now().Add(after)
		if err := save(); err != nil {
			return err
		}
		return &RetryLater{After: after, Err: err}
	}
	var back *restart
	switch c := classify(err); {
	case errors.As(err, &back):
		log.Warn("starting the item over", "why", back.why)
		it.Stage, it.Attempts, it.ReadyAt = FirstStage(), 0, time.Time{}
		if err := os.RemoveAll(e.workDir(it)); err != nil {
			return err
		}
		return save()
	case c == waitEnvironment:
		// The environment, not the item: wait for as long as it takes, and
		// tell people when it takes long.
		log.Error("waiting for the environment; the stage will be retried", "err", err)
		e.env.failed(ctx, e, from, err)
		return retry(e.backoff(it.Attempts + 3))
	case from == catalog.StageFail:
		// Failing must never give up, or the original would be stranded.
		log.Warn("stage will be retried", "err", err)
		return retry(e.backoff(it.Attempts + 3))
	case c == giveUp || it.Attempts+1 >= e.Cfg.MaxAttempts:
		log.Error("item failed", "err", err, "attempts", it.Attempts+1)
		if it.Attempts+1 >= e.Cfg.MaxAttempts {
			// The dead-letter path: what failed every attempt is not bad
			// input people would see in failed_dir anyway, but something
			// that breaks the stage (a file that kills a worker, a bug):
			// it raises an alert.
			detail := fmt.Sprintf("item %s (%s) failed %s %d times and was given up; its originals go to failed_dir with the reason: %v",
				it.ID, it.Name, from, it.Attempts+1, err)
			if _, _, aerr := e.Catalog.RaiseAlert(ctx, "", catalog.ProblemItemFailed, it.ID, detail, e.Now()); aerr != nil {
				return aerr
			}
		}
		it.FailStage, it.Stage, it.ReadyAt = from, catalog.StageFail, time.Time{}
		it.Attempts++
		return save()
	default:
		it.Attempts++
		log.Warn("stage failed; will retry", "err", err, "attempt", it.Attempts, "max_attempts", e.Cfg.MaxAttempts)
		return retry(e.backoff(it.Attempts))
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
		var retry *RetryLater
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
