package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// identify names every original's format with Siegfried (PRONOM) and
// applies the format policy: normalise, preserve, or reject. A rejected
// file fails the item at once; what was found is kept either way.
func (e *Engine) identify(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	agent := e.Identify.Signature()
	var events []catalog.Event
	var rejected error
	for i := range files {
		f := &files[i]
		res, err := e.Identify.File(ctx, e.workFile(it, f.Path))
		if err != nil {
			return events, fmt.Errorf("%s: %w", f.Path, err)
		}
		f.PUID, f.MIME, f.Format, f.FormatVersion, f.Basis, f.Warning = res.PUID, res.MIME, res.Format, res.Version, res.Basis, res.Warning
		action, rule := e.Policy.Decide(res)
		f.Action = string(action)
		ev := catalog.Event{File: f.Path, Type: catalog.EvIdentification, Outcome: catalog.OutcomeSuccess, Agent: agent, At: e.Now(),
			Detail: fmt.Sprintf("%s (%s, %s) basis: %s; policy: %s by %s", res.PUID, res.Format, res.MIME, res.Basis, action, rule)}
		if action == identify.Reject && rejected == nil {
			ev.Outcome = catalog.OutcomeFailure
			rejected = permanent("%s: format %s (%s, %s) is rejected by the format policy (%s)", f.Path, res.PUID, res.Format, res.MIME, rule)
			if rule == identify.RuleUnknown || rule == identify.RuleExtensionOnly {
				rejected = permanent("%s: format not identified (%s) and the format policy rejects unknown formats", f.Path, strings.TrimSpace(res.Warning+" "+res.Basis))
			}
		}
		events = append(events, ev)
		if rejected != nil {
			return events, rejected
		}
	}
	log.Info("formats identified", "files", len(files))
	return events, e.Catalog.PutFiles(ctx, it.ID, files)
}
