// Package pipeline runs items through the stages: intake → prepare (fixity,
// identification, validation, bag) → store (upload, read back) → release
// (originals to done), or → fail (originals to failed with a reason).
//
// Each stage is a step that can run in-process (the ingest command) or from
// the queue (the daemon): Engine.Step does one stage of one item and records
// the outcome in the catalog, which is the source of truth. Steps are
// idempotent, so a stage re-run after a crash produces the same result.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/queue"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Config configures the engine.
type Config struct {
	Workers      int           `yaml:"workers"`
	MaxAttempts  int           `yaml:"max_attempts"`
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// MaxPixels refuses images above this many pixels (decompression bombs).
	MaxPixels int64 `yaml:"max_pixels"`
	// MaxDecodedBytes refuses PDFs with a stream that inflates beyond it.
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
	// Lease is how long a worker's claim on an item lasts unless renewed
	// (it is renewed every third of it while the worker works).
	Lease time.Duration `yaml:"lease"`
	// EnvironmentAlertAfter raises an alert when the store or a folder has
	// been unusable (read-only, no permission, full) for this long.
	EnvironmentAlertAfter time.Duration `yaml:"environment_alert_after"`
	// MemoryLimit is the daemon's soft memory limit (Go's GOMEMLIMIT,
	// which overrides it): garbage is collected harder as the heap nears
	// it. 0: none. OCR workers have their own (access.ocr.worker_memory).
	MemoryLimit int64 `yaml:"memory_limit"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("pipeline.workers %d: must be at least 1", c.Workers))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("pipeline.max_attempts %d: must be at least 1", c.MaxAttempts))
	}
	if c.RetryBackoff <= 0 {
		errs = append(errs, fmt.Errorf("pipeline.retry_backoff %s: must be positive", c.RetryBackoff))
	}
	if c.MaxPixels < 1 {
		errs = append(errs, fmt.Errorf("pipeline.max_pixels %d: must be positive", c.MaxPixels))
	}
	if c.MaxDecodedBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("pipeline.max_decoded_bytes %d: at least 1048576", c.MaxDecodedBytes))
	}
	if c.Lease < 3*time.Second {
		errs = append(errs, fmt.Errorf("pipeline.lease %s: at least 3s", c.Lease))
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < 64<<20 {
		errs = append(errs, fmt.Errorf("pipeline.memory_limit %d: 0 (none) or at least 67108864 (64 MiB)", c.MemoryLimit))
	}
	if c.EnvironmentAlertAfter <= 0 {
		errs = append(errs, fmt.Errorf("pipeline.environment_alert_after %s: must be positive", c.EnvironmentAlertAfter))
	}
	return errors.Join(errs...)
}

// BagConfig is what goes into every bag.
type BagConfig struct {
	SourceOrganization string            `yaml:"source_organization"`
	Algorithms         []bagit.Algorithm `yaml:"algorithms"`
	// Info adds fixed bag-info.txt fields (Contact-Name, Organization-Address...).
	Info map[string]string `yaml:"info"`
}

// Validate checks the configuration.
func (c BagConfig) Validate() error {
	var errs []error
	if c.SourceOrganization == "" {
		errs = append(errs, errors.New("bag.source_organization: must be set"))
	}
	for _, a := range c.Algorithms {
		if a.HexLen() == 0 {
			errs = append(errs, fmt.Errorf("bag.algorithms: unsupported %q (have md5, sha1, sha256, sha512)", a))
		}
	}
	if len(c.Algorithms) == 0 {
		errs = append(errs, errors.New("bag.algorithms: at least one is needed"))
	}
	return errors.Join(errs...)
}

// Catalog is what the engine needs of the catalog.
type Catalog interface {
	CreateItem(ctx context.Context, it *catalog.Item) error
	Item(ctx context.Context, id string) (*catalog.Item, error)
	ActiveBySource(ctx context.Context, source string) (*catalog.Item, error)
	Active(ctx context.Context) ([]*catalog.Item, error)
	UpdateItem(ctx context.Context, it *catalog.Item, from, holder string) error
	Lease(ctx context.Context, id, holder string, now, until time.Time) (bool, string, error)
	TakeLease(ctx context.Context, id, from, holder string, until time.Time) (bool, error)
	Unlease(ctx context.Context, id, holder string) error
	HeldAt(ctx context.Context, path string) (*catalog.Item, error)
	RaiseAlert(ctx context.Context, bagID, problem, key, detail string, at time.Time) (*catalog.Alert, bool, error)
	PutFiles(ctx context.Context, itemID string, files []catalog.File) error
	Files(ctx context.Context, itemID string) ([]catalog.File, error)
	AddEvents(ctx context.Context, evs ...catalog.Event) error
	Events(ctx context.Context, itemID string) ([]catalog.Event, error)
	DeleteEvents(ctx context.Context, itemID string, types ...string) error
	PutBag(ctx context.Context, b catalog.Bag) error
	PutObjects(ctx context.Context, bagID string, objs []catalog.Object, checked time.Time) error
}

// Engine runs the steps.
type Engine struct {
	Cfg       Config
	Bag       BagConfig
	DataDir   string // work areas live under DataDir/work
	DoneDir   string
	FailedDir string
	Catalog   Catalog
	Store     storage.Store
	StoreURL  string // for the catalog and PREMIS; never holds secrets
	Identify  *identify.Identifier
	Policy    identify.Policy
	Agent     string // "strongroom/<version>"
	// Access makes the OCRed PDF/A access copy of normalise items; nil
	// keeps such items as they are.
	Access *access.Maker
	// OCRByFolder holds hot folders' own OCR settings, by folder path.
	OCRByFolder map[string]access.Override
	Log         *slog.Logger
	Now         func() time.Time
	// Holder names this worker in item leases (see Holder).
	Holder string

	env envWatch
}

var stages = []string{catalog.StagePrepare, catalog.StageStore, catalog.StageRelease, catalog.StageFail}

func (e *Engine) stepFunc(stage string) func(context.Context, *catalog.Item, *slog.Logger) error {
	switch stage {
	case catalog.StagePrepare:
		return e.prepare
	case catalog.StageStore:
		return e.store
	case catalog.StageRelease:
		return e.release
	case catalog.StageFail:
		return e.fail
	}
	return nil
}

var nextStage = map[string]string{
	catalog.StagePrepare: catalog.StageStore,
	catalog.StageStore:   catalog.StageRelease,
	catalog.StageRelease: catalog.StageDone,
	catalog.StageFail:    catalog.StageFailed,
}

// Step runs the current stage of item id once, under the item's lease,
// and records the result. It returns the item as it now is. A
// *queue.RetryLater error means the stage should run again after a pause;
// the item's state already says so.
func (e *Engine) Step(ctx context.Context, id string) (*catalog.Item, error) {
	it, err := e.Catalog.Item(ctx, id)
	if err != nil || catalog.Terminal(it.Stage) {
		return it, err
	}
	l, err := e.acquire(ctx, id)
	if err != nil {
		return it, err
	}
	defer e.end(l, id)
	// Read it again under the lease: another worker may have moved it on.
	if it, err = e.Catalog.Item(ctx, id); err != nil || catalog.Terminal(it.Stage) {
		return it, err
	}
	from := it.Stage
	log := e.Log.With("item", it.ID, "name", it.Name, "stage", it.Stage)
	run := e.stepFunc(it.Stage)
	if run == nil {
		return it, fmt.Errorf("pipeline: item %s: unknown stage %q", it.ID, it.Stage)
	}
	start := time.Now()
	err = safely(func() error { return run(l.ctx, it, log) })
	switch {
	case ctx.Err() != nil:
		return it, ctx.Err() // shutting down: the stage runs again after restart
	case l.wasLost():
		return it, &queue.RetryLater{After: e.Cfg.RetryBackoff, Err: fmt.Errorf("item %s: lost its lease during %s", it.ID, from)}
	}
	save := func() error { return e.Catalog.UpdateItem(ctx, it, from, e.Holder) }
	if err == nil {
		e.env.ok()
		log.Info("stage done", "next", nextStage[it.Stage], "took", time.Since(start).Round(time.Millisecond))
		if it.Stage != catalog.StageFail { // a failed item keeps its reason and count
			it.LastError, it.Attempts = "", 0
		}
		it.Stage = nextStage[it.Stage]
		return it, save()
	}
	it.LastError = err.Error()
	switch c := classify(err); {
	case c == waitEnvironment:
		// The environment, not the item: wait for as long as it takes, and
		// tell people when it takes long.
		log.Error("waiting for the environment; the stage will be retried", "err", err)
		e.env.failed(ctx, e, err)
		if err := save(); err != nil {
			return it, err
		}
		return it, &queue.RetryLater{After: e.backoff(it.Attempts + 3), Err: err}
	case it.Stage == catalog.StageFail:
		// Failing must never give up, or the original would be stranded.
		log.Warn("stage will be retried", "err", err)
		if err := save(); err != nil {
			return it, err
		}
		return it, &queue.RetryLater{After: e.backoff(it.Attempts + 3), Err: err}
	case c == giveUp || it.Attempts+1 >= e.Cfg.MaxAttempts:
		log.Error("item failed", "err", err, "attempts", it.Attempts+1)
		it.FailStage, it.Stage = it.Stage, catalog.StageFail
		it.Attempts++
		return it, save()
	default:
		it.Attempts++
		log.Warn("stage failed; will retry", "err", err, "attempt", it.Attempts, "max_attempts", e.Cfg.MaxAttempts)
		if err := save(); err != nil {
			return it, err
		}
		return it, &queue.RetryLater{After: e.backoff(it.Attempts), Err: err}
	}
}

// backoff grows exponentially from RetryBackoff, capped at 5 minutes, with
// jitter so that retries after an outage don't arrive all at once.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.Cfg.RetryBackoff << min(attempt, 10)
	d = min(d, 5*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Run drives item id through every stage in this process, sleeping between
// retries; it returns the item in its terminal state. It is how the ingest
// command works, and how tests run the steps without a queue.
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
		case catalog.Terminal(it.Stage):
			return it, nil
		}
	}
}
