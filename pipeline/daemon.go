package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/pipeline/queue"
)

// ItemSpec describes a new item.
type ItemSpec struct {
	Path      string // the file or batch folder
	HotFolder string // "" for items from the command line or a push
	Kind      string // file or batch; "" to look
	Release   string // what to do with the originals once stored
	// Info adds bag-info.txt fields (a pushing station's name and metadata).
	Info []catalog.InfoField
}

// NewItem records a new item at the first stage.
func (e *Engine) NewItem(ctx context.Context, spec ItemSpec) (*catalog.Item, error) {
	path, hotFolder, kind, release := spec.Path, spec.HotFolder, spec.Kind, spec.Release
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if kind == "" {
		kind = intake.KindFile
		if fi, err := os.Lstat(abs); err == nil && fi.IsDir() {
			kind = intake.KindBatch
		}
	}
	it := &catalog.Item{ID: catalog.NewID(e.Now()), Name: filepath.Base(abs), Source: abs, HotFolder: hotFolder,
		Kind: kind, Release: release, Stage: catalog.StagePrepare, Info: spec.Info}
	// Originals that changed after an earlier item took them were left
	// here by its release: this item follows that one.
	prev, err := e.Catalog.HeldAt(ctx, abs)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		it.Follows = prev.ID
	}
	if err := e.Catalog.CreateItem(ctx, it); err != nil {
		return nil, err
	}
	if prev != nil {
		now := e.Now()
		// This item's own ingestion event, written by prepare, names prev.
		if err := e.Catalog.AddEvents(ctx, catalog.Event{ItemID: prev.ID, BagID: prev.BagID, Type: EvIngestion, Outcome: "success", Agent: e.Agent, At: now,
			Detail: fmt.Sprintf("its originals, changed after intake, were taken again as item %s", it.ID)}); err != nil {
			return nil, err
		}
	}
	e.Log.Info("item taken", "item", it.ID, "name", it.Name, "kind", it.Kind, "source", it.Source, "follows", it.Follows)
	return it, nil
}

// Publisher hands an item to a stage.
type Publisher interface {
	Publish(ctx context.Context, stage, itemID string) error
}

// Daemon runs the engine from the queue and feeds it from the hot folders.
type Daemon struct {
	Engine *Engine
	Queue  interface {
		Publisher
		Consume(ctx context.Context, stage string, workers int, h queue.Handler) error
	}
	Intake intake.Config
}

// Taken implements intake.Sink: a path with an item in progress is not
// taken again, also after a restart.
func (d *Daemon) Taken(ctx context.Context, path string) (bool, error) {
	it, err := d.Engine.Catalog.ActiveBySource(ctx, path)
	return it != nil, err
}

// Take implements intake.Sink.
func (d *Daemon) Take(ctx context.Context, c intake.Candidate) error {
	release := ReleaseMove
	if d.Intake.RemoveOriginals {
		release = ReleaseDelete
	}
	_, err := d.Submit(ctx, ItemSpec{Path: c.Path, HotFolder: c.HotFolder, Kind: c.Kind, Release: release})
	if errors.Is(err, catalog.ErrActive) {
		return nil
	}
	return err
}

// Submit records a new item and hands it to its first stage (hot folders
// and pushed batches come in this way).
func (d *Daemon) Submit(ctx context.Context, spec ItemSpec) (*catalog.Item, error) {
	it, err := d.Engine.NewItem(ctx, spec)
	if err != nil {
		return nil, err
	}
	// If this publish is lost to a crash, Run's reconciliation re-sends it.
	return it, d.Queue.Publish(ctx, it.Stage, it.ID)
}

// Run re-publishes every unfinished item (the catalog is the truth; the
// queue drops what it already holds as duplicates), starts a consumer per
// stage and the hot-folder watcher, and returns when ctx ends.
func (d *Daemon) Run(ctx context.Context) error {
	active, err := d.Engine.Catalog.Active(ctx)
	if err != nil {
		return err
	}
	for _, it := range active {
		if err := d.Queue.Publish(ctx, it.Stage, it.ID); err != nil {
			return fmt.Errorf("pipeline: resume item %s: %w", it.ID, err)
		}
	}
	if len(active) > 0 {
		d.Engine.Log.Info("resumed unfinished items", "count", len(active))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(stages)+1)
	for _, stage := range stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- d.Queue.Consume(ctx, stage, d.Engine.Cfg.Workers, d.handler(stage))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- intake.NewWatcher(d.Intake, d, d.Engine.Log).Run(ctx)
	}()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	cancel()
	wg.Wait()
	return first
}

// handler runs one stage delivery: it skips deliveries that are stale (the
// catalog says the item moved on, as after a crash between a state change
// and its acknowledgement) and hands the item to its next stage.
func (d *Daemon) handler(stage string) queue.Handler {
	return func(ctx context.Context, id string) error {
		it, err := d.Engine.Catalog.Item(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			return nil
		}
		if err != nil {
			return &queue.RetryLater{After: d.Engine.Cfg.RetryBackoff, Err: err}
		}
		if it.Stage == stage {
			it, err = d.Engine.Step(ctx, id)
			if err != nil {
				var retry *queue.RetryLater
				if errors.As(err, &retry) {
					return err
				}
				return &queue.RetryLater{After: d.Engine.Cfg.RetryBackoff, Err: err}
			}
		}
		if !catalog.Terminal(it.Stage) && it.Stage != stage {
			if err := d.Queue.Publish(ctx, it.Stage, it.ID); err != nil {
				return &queue.RetryLater{After: d.Engine.Cfg.RetryBackoff, Err: err}
			}
		}
		return nil
	}
}
