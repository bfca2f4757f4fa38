package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Reason is the content of <name>.reason.json in failed_dir.
type Reason struct {
	Item     string        `json:"item"`
	Name     string        `json:"name"`
	Source   string        `json:"source"`
	Stage    catalog.Stage `json:"stage"`
	Error    string        `json:"error"`
	Attempts int           `json:"attempts"`
	Time     time.Time     `json:"time"`
}

// fail moves the originals to failed_dir with a reason file beside them.
// It never gives up (the stage table's fail stage is retried until it
// succeeds), or the originals would be stranded.
func (e *Engine) fail(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	defer os.RemoveAll(e.workDir(it))
	if it.Release == catalog.ReleaseKeep {
		return nil, nil
	}
	src := it.Source
	if _, err := os.Lstat(aside(it)); err == nil {
		src = aside(it) // set aside by a release that then failed
	}
	dest, err := moveInto(src, e.FailedDir, it)
	if err != nil {
		return nil, err
	}
	reason, _ := json.MarshalIndent(Reason{Item: it.ID, Name: it.Name, Source: it.Source, Stage: it.FailStage,
		Error: it.LastError, Attempts: it.Attempts, Time: e.Now()}, "", "  ")
	reason = append(reason, '\n')
	rp := filepath.Join(filepath.Dir(dest), fitName(filepath.Base(dest), ".reason.json"))
	if err := writeAtomic(rp, bytes.NewReader(reason)); err != nil {
		if classify(err) == waitEnvironment {
			return nil, err
		}
		// Whatever the name's trouble, a reason named by the item id fits.
		rp = filepath.Join(e.FailedDir, it.ID+".reason.json")
		if err := writeAtomic(rp, bytes.NewReader(reason)); err != nil {
			return nil, err
		}
	}
	log.Warn("item moved to failed", "to", dest, "reason_file", rp, "reason", it.LastError)
	return nil, nil
}
