package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/quality"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// derived are the folders of data/ the access copy goes into, by what
// access.Make writes.
var derived = []struct{ dir, ext string }{{"access", ".pdf"}, {"text", ".txt"}, {"alto", ".alto.xml"}}

// normalise makes the access copy of the item's normalise files: one
// PDF/A with the page images and an invisible text layer, the plain text
// and ALTO, into data/access, data/text and data/alto of the bag being
// built. The PDF is checked before it is kept.
//
// The originals come first: an access copy that cannot be made (a page no
// decoder reads, an OCR language not installed, a copy that fails the
// PDF/A check) does not stop them being stored. The bag goes on without
// one, with a normalization event saying why, and store raises a
// no-access-copy alert; access.required restores failing the item.
func (e *Engine) normalise(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	for _, d := range derived { // a run before may have left some
		if err := os.RemoveAll(filepath.Join(e.bagDir(it), "data", d.dir)); err != nil {
			return nil, err
		}
	}
	if e.Access == nil {
		return nil, nil
	}
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	var sources []access.Source
	var evs []catalog.Event
	for _, f := range files {
		switch {
		case f.Action != string(identify.Normalise):
		case ocr.Decodable(f.MIME):
			sources = append(sources, access.Source{Path: e.workFile(it, f.Path), Name: f.Path})
		default:
			evs = append(evs, catalog.Event{File: f.Path, Type: catalog.EvNormalization, Outcome: catalog.OutcomeWarning, At: e.Now(), Agent: e.Agent,
				Detail: fmt.Sprintf("%s (%s) cannot be decoded on this system; kept as it is, without an access copy", f.Format, f.MIME)})
		}
	}
	if len(sources) == 0 {
		return evs, nil
	}
	sources, order, orderEvs := e.pageOrder(it, files, sources)
	evs = append(evs, orderEvs...)
	name, full := accessName(it)
	ev := func(typ catalog.EventType, outcome catalog.Outcome, detail, agent string) catalog.Event {
		return catalog.Event{File: "access/" + name + ".pdf", Type: typ, Outcome: outcome, Detail: detail, Agent: agent, At: e.Now()}
	}
	var settings access.Override
	if it.OCR != nil {
		settings = access.Override{Languages: it.OCR.Languages, PSM: it.OCR.PSM}
	}
	made := filepath.Join(e.workDir(it), "access")
	meta, _ := e.describe(it, files) // as the package stage will record it
	progress, done := e.tracker(it, catalog.StageNormalise, log)
	defer done()
	doc := access.Doc{Name: name, Title: meta.Title, Author: meta.Creator, Progress: progress}
	if e.farm != nil {
		doc.Farm = e.farm(it.ID)
	}
	res, err := e.Access.Make(ctx, sources, made, doc, settings)
	if doc.Farm != nil && ctx.Err() == nil {
		// Made or given up: the pages' tasks are done with (their files
		// go with the work area).
		if derr := e.Catalog.DropPages(ctx, it.ID); derr != nil {
			log.Warn("could not forget the access copy's page tasks", "err", derr)
		}
	}
	if err == nil && res.Pages > 0 && !res.Check.Valid() {
		evs = append(evs, ev(catalog.EvValidation, catalog.OutcomeFailure, res.Check.Err().Error(), e.Agent+" pdfa"))
		err = fmt.Errorf("%w: it failed the PDF/A check, so it is not kept as PDF/A: %w", access.ErrInput, res.Check.Err())
	}
	if err != nil {
		os.RemoveAll(made)
		if !errors.Is(err, access.ErrInput) {
			return evs, fmt.Errorf("access copy: %w", err) // the machine's: tried again
		}
		evs = append(evs, ev(catalog.EvNormalization, catalog.OutcomeFailure, err.Error(), e.Agent+" "+ocr.Version()))
		if e.Access.Cfg.Required {
			return evs, &Permanent{Err: fmt.Errorf("access copy (access.required): %w", err)}
		}
		log.Warn("no access copy; the originals are stored without one", "reason", err)
		return evs, nil
	}
	for _, k := range res.Kept {
		evs = append(evs, ev(catalog.EvNormalization, catalog.OutcomeWarning, "kept as it is, without an access copy: "+k, e.Agent))
	}
	if res.Pages == 0 {
		return evs, nil
	}
	evs = append(evs, ev(catalog.EvNormalization, catalog.OutcomeSuccess, e.normalisedDetail(res, name, full, order), e.Agent+" "+res.OCR))
	qev, err := e.assessQuality(it, res)
	if err != nil {
		return evs, err
	}
	evs = append(evs, qev)
	evs = append(evs, ev(catalog.EvValidation, catalog.OutcomeSuccess, fmt.Sprintf("PDF/A-%d%s: clauses %s checked, pdfcpu strict validation passed", res.Check.Part,
		strings.ToLower(res.Check.Conformance), strings.Join(pdfa.Clauses, ", ")), e.Agent+" pdfa"))
	if res.VeraPDF != "" {
		evs = append(evs, ev(catalog.EvValidation, catalog.OutcomeSuccess, res.VeraPDF, "veraPDF"))
	}
	// Into the bag being built, durably (the files and their folders).
	for i, src := range []string{res.PDF, res.Text, res.ALTO} {
		dir := filepath.Join(e.bagDir(it), "data", derived[i].dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return evs, err
		}
		if err := os.Rename(src, filepath.Join(dir, name+derived[i].ext)); err != nil {
			return evs, err
		}
	}
	if err := bagit.NewDirDest(e.bagDir(it)).Sync(); err != nil {
		return evs, fmt.Errorf("work area: %w", err)
	}
	log.Info("access copy made", "pages", res.Pages, "words", res.Words)
	return evs, os.RemoveAll(made)
}

// accessName is the name of the item's derived files, and the name it
// would have had if that were not too long for a file name with the
// longest extension (NAME.alto.xml).
func accessName(it *catalog.Item) (name, full string) {
	full = strings.TrimSuffix(it.Name, filepath.Ext(it.Name))
	if it.Kind == catalog.KindBatch || full == "" {
		full = it.Name
	}
	return strings.TrimSuffix(fitName(full, ".alto.xml"), ".alto.xml"), full
}

func (e *Engine) normalisedDetail(res *access.Result, name, full, order string) string {
	detail := fmt.Sprintf("%s OCRed (%d words) with %s into PDF/A-%s, plain text and ALTO 4.4 in %s", plural(res.Pages, "page"), res.Words, res.OCR, e.Access.Cfg.PDFA, res.Took.Round(time.Millisecond))
	if len(res.AssumedDPI) > 0 {
		detail += fmt.Sprintf("; no resolution recorded in %s: %g dpi assumed", strings.Join(res.AssumedDPI, ", "), e.Access.Cfg.OCR.DefaultDPI)
	}
	if res.Copied > 0 {
		detail += fmt.Sprintf("; %s of scanned PDFs copied with their own image streams", plural(res.Copied, "page"))
	}
	if len(res.Notes) > 0 {
		detail += "; " + strings.Join(res.Notes, "; ")
	}
	if order != "" {
		detail += "; " + order
	}
	if name != full {
		detail += fmt.Sprintf("; the derived files are named %q, shortened from %q to fit a file name", name, full)
	}
	return detail
}

// plural writes n things: 1 page, 2 pages.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// qualityPrefix starts the event of a data-quality report; store raises
// an alert for one that failed.
const qualityPrefix = "data quality: "

// assessQuality writes the item's data-quality report (quality.json, a
// tag file of the bag) from what the access copy's pages were, and
// returns its event: success for pass, warning for warn and fail.
func (e *Engine) assessQuality(it *catalog.Item, res *access.Result) (catalog.Event, error) {
	var pages []quality.Page
	for _, p := range res.PageInfo {
		q := quality.Page{Source: p.Source, Page: p.Page, Width: p.Width, Height: p.Height, DPI: p.DPI, DPIAssumed: p.DPIAssumed,
			Colour: p.Colour, Bits: p.Bits, Words: len(p.Confidences)}
		doubtful, sum := 0, 0.0
		for _, c := range p.Confidences {
			sum += float64(c)
			if float64(c) < e.Quality.WordConfidence {
				doubtful++
			}
		}
		if q.Words > 0 {
			q.MeanConfidence = math.Round(10*sum/float64(q.Words)) / 10
			q.Doubtful = math.Round(1000*float64(doubtful)/float64(q.Words)) / 1000
		}
		q.Blank = p.ImageBytes > 0 && quality.IsBlank(q.Words, p.Width, p.Height, p.ImageBytes)
		q.Skew = math.Round(100*p.Skew) / 100
		if p.Hash != 0 {
			q.Hash = fmt.Sprintf("%016x", p.Hash)
		}
		q.Bigrams = p.Bigrams
		pages = append(pages, q)
	}
	r := quality.Assess(e.Quality, pages)
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := writeAtomic(filepath.Join(e.workDir(it), "quality.json"), bytes.NewReader(append(b, '\n'))); err != nil {
		return catalog.Event{}, err
	}
	outcome := catalog.OutcomeSuccess
	if r.Verdict != quality.Pass {
		outcome = catalog.OutcomeWarning
	}
	return catalog.Event{Type: catalog.EvValidation, Outcome: outcome, Agent: e.Agent, At: e.Now(), Detail: qualityPrefix + r.Summary}, nil
}
