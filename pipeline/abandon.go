package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// ErrFinished is returned by Abandon for an item that is done or failed.
var ErrFinished = errors.New("the item is finished already")

// Abandon ends an unfinished item where it stands, for an operator (the
// `items release` command): an item whose bag is stored and verified is
// done; any other is failed with the reason "released by WHO: NOTE". Its
// originals are not moved (and if a release had set them aside, they are put
// back), so its source is free to be taken again. An item that a live
// worker is working on is refused (ErrLeased).
func (e *Engine) Abandon(ctx context.Context, id, who, note string) (*catalog.Item, error) {
	it, err := e.Catalog.Item(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.Stage.Terminal() {
		return it, fmt.Errorf("item %s: %w (%s)", id, ErrFinished, it.Stage)
	}
	l, err := e.acquire(ctx, id)
	if err != nil {
		return it, err
	}
	defer e.end(l, id)
	if it, err = e.Catalog.Item(ctx, id); err != nil {
		return nil, err
	}
	if it.Stage.Terminal() {
		return it, fmt.Errorf("item %s: %w (%s)", id, ErrFinished, it.Stage)
	}
	if tmp := aside(it); it.Release != catalog.ReleaseKeep {
		if _, err := os.Lstat(tmp); err == nil {
			back := it.Source
			err := renameNoReplace(tmp, back)
			if errors.Is(err, fs.ErrExist) {
				back = filepath.Join(filepath.Dir(it.Source), withSuffix(it.Name, ".released-"+it.ID))
				err = renameNoReplace(tmp, back)
			}
			if err != nil {
				return it, fmt.Errorf("item %s: put its originals back: %w", id, err)
			}
		}
	}
	from := it.Stage
	why := fmt.Sprintf("released by %s", who)
	if note != "" {
		why += ": " + note
	}
	detail := why + "; originals left where they were"
	if from == catalog.StageRelease {
		it.Stage = catalog.StageDone // the bag is stored and verified
		detail += "; the bag is stored and verified"
	} else {
		it.FailStage, it.Stage, it.LastError = from, catalog.StageFailed, why
		detail += "; no bag stored"
	}
	if err := e.Catalog.AddEvents(ctx, catalog.Event{ItemID: it.ID, BagID: it.ID, Type: catalog.EvIngestion, Outcome: catalog.OutcomeWarning,
		Detail: detail, Agent: e.Agent, At: e.Now()}); err != nil {
		return it, err
	}
	if err := e.Catalog.UpdateItem(ctx, it, from, e.Holder); err != nil {
		return it, err
	}
	e.Log.Warn("item released by an operator", "item", it.ID, "was_at", from, "now", it.Stage, "by", who)
	return it, os.RemoveAll(e.workDir(it))
}
