package pipeline

import (
	"context"
	"log/slog"
	"os"
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
	rp, err := writeBeside(dest, ".reason.json", it.ID, Reason{Item: it.ID, Name: it.Name, Source: it.Source, Stage: it.FailStage,
		Error: it.LastError, Attempts: it.Attempts, Time: e.Now()})
	if err != nil {
		return nil, err
	}
	log.Warn("item moved to failed", "to", dest, "reason_file", rp, "reason", it.LastError)
	return nil, nil
}
