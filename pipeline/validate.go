package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/strongroom-archive/strongroom/formats/imagecheck"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// validate checks that each original is what its format says, so that a
// truncated or corrupt scan fails here with a reason rather than being
// preserved as if it were sound: images are decoded end to end under the
// pixel limit; PDFs are parsed under the stream limits (encrypted and
// unreadable ones fail) and checked against PDF/A (a PDF that is not valid
// PDF/A is kept, with a warning).
func (e *Engine) validate(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	var events []catalog.Event
	ev := func(f catalog.File, outcome catalog.Outcome, detail, agent string) catalog.Event {
		return catalog.Event{File: f.Path, Type: catalog.EvValidation, Outcome: outcome, Detail: detail, Agent: e.Agent + " " + agent, At: e.Now()}
	}
	for _, f := range files {
		p := e.workFile(it, f.Path)
		if f.MIME == "application/pdf" || strings.HasPrefix(f.PUID, "fmt/") && strings.Contains(f.Format, "PDF") {
			rep, err := pdfa.Check(p, pdfa.CheckOptions{Limits: pdfread.Limits{MaxDecoded: e.Cfg.MaxDecodedBytes, MaxPixels: e.Cfg.MaxPixels}})
			if err != nil {
				return events, fmt.Errorf("%s: %w", f.Path, err)
			}
			if bad := rep.Unreadable(); bad != "" {
				return append(events, ev(f, catalog.OutcomeFailure, bad, "pdfa")), permanent("%s: %s", f.Path, bad)
			}
			outcome, detail := catalog.OutcomeSuccess, fmt.Sprintf("PDF/A-%d%s: the checked clauses pass", rep.Part, strings.ToLower(rep.Conformance))
			if !rep.Valid() {
				outcome, detail = catalog.OutcomeWarning, "kept as it is; not valid PDF/A: "+rep.Err().Error()
			}
			events = append(events, ev(f, outcome, detail, "pdfa"))
		}
		if imagecheck.Supported(f.MIME) {
			info, err := imagecheck.Check(p, e.Cfg.MaxPixels)
			if err != nil {
				return append(events, ev(f, catalog.OutcomeFailure, err.Error(), "imagecheck")), permanent("%s: %w", f.Path, err)
			}
			events = append(events, ev(f, catalog.OutcomeSuccess, fmt.Sprintf("decoded %s %dx%d", info.Format, info.Width, info.Height), "imagecheck"))
		}
	}
	log.Info("originals validated", "files", len(files))
	return events, nil
}
