package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
)

// ItemSpec describes a new item.
type ItemSpec struct {
	Path      string       // the file or batch folder
	HotFolder string       // "" for items from the command line or a push
	Kind      catalog.Kind // file or batch; "" to look
	Release   catalog.Release
	// Info adds bag-info.txt fields (a pushing station's name and metadata).
	Info []catalog.InfoField
	// OCR holds the item's own OCR settings (its hot folder's), or nil.
	OCR *catalog.OCRSettings
	// Meta is the item's description so far: its hot folder's or
	// station's defaults (the package stage completes it).
	Meta catalog.Metadata
}

// NewItem records a new item at the first stage.
func (e *Engine) NewItem(ctx context.Context, spec ItemSpec) (*catalog.Item, error) {
	abs, err := filepath.Abs(spec.Path)
	if err != nil {
		return nil, err
	}
	kind := spec.Kind
	if kind == "" {
		kind = catalog.KindFile
		if fi, err := os.Lstat(abs); err == nil && fi.IsDir() {
			kind = catalog.KindBatch
		}
	}
	it := &catalog.Item{ID: catalog.NewID(e.Now()), Name: filepath.Base(abs), Source: abs, HotFolder: spec.HotFolder,
		Kind: kind, Release: spec.Release, Stage: FirstStage(), Info: spec.Info, OCR: spec.OCR, Meta: spec.Meta}
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
		// This item's own ingestion event, written by fixity, names prev.
		if err := e.Catalog.AddEvents(ctx, catalog.Event{ItemID: prev.ID, BagID: prev.BagID, Type: catalog.EvIngestion, Outcome: catalog.OutcomeSuccess,
			Agent: e.Agent, At: e.Now(), Detail: fmt.Sprintf("its originals, changed after intake, were taken again as item %s", it.ID)}); err != nil {
			return nil, err
		}
	}
	e.Log.Info("item taken", "item", it.ID, "name", it.Name, "kind", it.Kind, "source", it.Source, "follows", it.Follows)
	return it, nil
}

// Reprocess makes an item that builds a new version of a stored bag: its
// originals read back from the store, identified, checked and normalised
// again with today's settings (a new access copy), stored as a new bag
// whose bag-info says Is-Version-Of the old one. Nothing stored is
// changed. The old item's name, metadata and OCR settings carry over,
// unless ocr gives new ones.
func (e *Engine) Reprocess(ctx context.Context, bagID string, ocr *catalog.OCRSettings) (*catalog.Item, error) {
	bag, err := e.Catalog.Bag(ctx, bagID)
	if err != nil {
		return nil, fmt.Errorf("bag %s: %w", bagID, err)
	}
	old, err := e.Catalog.Item(ctx, bag.ItemID)
	if err != nil {
		return nil, fmt.Errorf("bag %s: its item %s: %w", bagID, bag.ItemID, err)
	}
	it := &catalog.Item{ID: catalog.NewID(e.Now()), Name: old.Name, Source: catalog.ReprocessSource(bagID), Kind: catalog.KindReprocess,
		Release: catalog.ReleaseKeep, Stage: FirstStage(), Info: old.Info, OCR: old.OCR, Meta: old.Meta}
	if ocr != nil {
		it.OCR = ocr
	}
	if err := e.Catalog.CreateItem(ctx, it); err != nil {
		return nil, err
	}
	e.Log.Info("reprocess taken", "item", it.ID, "bag", bagID)
	return it, nil
}

// Daemon runs the engine's stages from the catalog's work list and feeds
// it from the hot folders.
type Daemon struct {
	Engine *Engine
	Intake intake.Config
	// Release is what happens to originals from the hot folders once
	// stored: moved to done_dir, or removed.
	Release catalog.Release
	// OCR holds hot folders' own OCR settings, by folder path.
	OCR map[string]*catalog.OCRSettings
	// Meta holds hot folders' default descriptions (collection, rights,
	// access), by folder path.
	Meta map[string]catalog.Metadata
	// Roles are the parts of the daemon this process runs (RoleIntake,
	// RoleStages; nil: all). Each hot folder is watched by one process of
	// the cluster, the one that holds its role lease.
	Roles []Role

	bell bell
	gone goneHolders
	// solo is held for writing by a step that must run alone (see run),
	// for reading by every other step; solos counts the steps that must,
	// running or waiting: while there is one, nothing is claimed.
	solo     sync.RWMutex
	solos    atomic.Int32
	claiming sync.Mutex
}

func (d *Daemon) runs(r Role) bool { return d.Roles == nil || slices.Contains(d.Roles, r) }

// Taken implements intake.Sink: a path with an item in progress is not
// taken again, also after a restart.
func (d *Daemon) Taken(ctx context.Context, path string) (bool, error) {
	it, err := d.Engine.Catalog.ActiveBySource(ctx, path)
	return it != nil, err
}

// Take implements intake.Sink.
func (d *Daemon) Take(ctx context.Context, c intake.Candidate) error {
	_, err := d.Submit(ctx, ItemSpec{Path: c.Path, HotFolder: c.HotFolder, Kind: c.Kind, Release: d.Release, OCR: d.OCR[c.HotFolder], Meta: d.Meta[c.HotFolder]})
	if errors.Is(err, catalog.ErrActive) {
		return nil
	}
	return err
}

// Submit records a new item at its first stage, where a worker claims it
// (hot folders and pushed batches come in this way).
func (d *Daemon) Submit(ctx context.Context, spec ItemSpec) (*catalog.Item, error) {
	it, err := d.Engine.NewItem(ctx, spec)
	if err != nil {
		return nil, err
	}
	d.announce(ctx, it.Stage)
	return it, nil
}

// Run runs the stages from the work list (role stages: unfinished items
// resume where they were, as the catalog says) and a watcher per hot
// folder while this process holds its role (role intake); it returns when
// ctx ends.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(d.Intake.HotFolders)+1)
	if d.runs(RoleStages) {
		if d.Engine.Cfg.SpreadPages > 0 && d.Engine.Access != nil {
			d.Engine.farm = func(item string) access.Farm {
				return &pageFarm{e: d.Engine, item: item, ring: func(ctx context.Context) { d.announce(ctx, pagesBell) }}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.listen(ctx)
		}()
		for _, st := range Stages() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.work(ctx, st)
			}()
		}
	}
	if d.Engine.Cfg.SpreadPages > 0 && d.Engine.Access != nil && (d.runs(RoleStages) || d.runs(RoleOCR)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.pageWork(ctx)
		}()
	}
	if d.runs(RoleIntake) {
		for _, h := range d.Intake.HotFolders {
			one := d.Intake
			one.HotFolders = []intake.HotFolder{h}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- WhileHolding(ctx, d.Engine.Catalog, "intake:"+h.Path, d.Engine.Holder, RoleLease, d.Engine.Log, d.Engine.Now,
					func(ctx context.Context) error { return intake.NewWatcher(one, d, d.Engine.Log).Run(ctx) })
			}()
		}
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	cancel()
	wg.Wait()
	return first
}
