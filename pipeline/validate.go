package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"github.com/strongroom-archive/strongroom/formats/raster"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// validate checks that each original is what its format says, so that a
// truncated or corrupt scan fails here with a reason rather than being
// preserved as if it were sound. Images are decoded end to end, every page,
// by the decoders Tesseract reads with (in worker processes); PDFs are
// parsed under the stream limits and checked against PDF/A, and every
// image on every page decoded by PDFium.
//
// Only what is corrupt fails the item. A valid file no decoder here reads,
// a page over the pixel limit, a PDF that is damaged but readable, one
// encrypted without a password: each is preserved as it is, with a warning
// (and, for normalise files, without an access copy).
func (e *Engine) validate(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	// Images are decoded at once, as many as there are cores (in the
	// decoder's workers, each under its memory cap); PDFs, parsed here in
	// memory, one at a time. The verdicts are taken in the files' order,
	// so the first failure is the one reported.
	evs := make([]*catalog.Event, len(files))
	var onePDF sync.Mutex
	errs := atOnce(len(files), func(i int) (err error) {
		f := files[i]
		switch claims := e.claimed(it, f); {
		case isPDF(f) || claims == raster.PDF:
			onePDF.Lock()
			defer onePDF.Unlock()
			evs[i], err = e.validatePDF(ctx, it, f)
		case ocr.Decodable(f.MIME) || claims != "":
			evs[i], err = e.validateImage(ctx, it, f)
		}
		return err
	})
	var events []catalog.Event
	for i, ev := range evs {
		if ev != nil {
			events = append(events, *ev)
		}
		if errs[i] != nil {
			return events, errs[i]
		}
	}
	log.Info("originals validated", "files", len(files))
	return events, nil
}

func isPDF(f catalog.File) bool {
	return f.MIME == "application/pdf" || strings.HasPrefix(f.PUID, "fmt/") && strings.Contains(f.Format, "PDF")
}

// claimed is the format an unidentified file's first bytes claim, by a
// strong signature only: a PDF or an image cut short in transfer loses
// the end Siegfried's signatures look for, and is checked as what it
// claims to be, so that it fails as truncated rather than being kept as
// an unknown format.
func (e *Engine) claimed(it *catalog.Item, f catalog.File) raster.Format {
	if f.PUID != "" && f.PUID != "UNKNOWN" {
		return ""
	}
	r, err := os.Open(e.workFile(it, f.Path))
	if err != nil {
		return ""
	}
	defer r.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("%PDF-")) {
		return raster.PDF
	}
	switch fm := raster.Sniff(head); fm {
	case raster.TIFF, raster.JP2, raster.J2K, raster.JPEG, raster.PNG, raster.GIF:
		return fm
	}
	return ""
}

func (e *Engine) validationEvent(f catalog.File, outcome catalog.Outcome, detail, agent string) *catalog.Event {
	return &catalog.Event{File: f.Path, Type: catalog.EvValidation, Outcome: outcome, Detail: detail, Agent: e.Agent + " " + agent, At: e.Now()}
}

// checkPages decodes every page of a file in a decoder worker. It returns
// the file as inspected, and the first page's failure (wrapped with the
// page); a worker that dies on a page twice counts as unsupported, not as
// corrupt: the crash may be the decoder's fault.
func (e *Engine) checkPages(ctx context.Context, path string) (*ocr.File, error) {
	if e.Decoder == nil {
		return nil, errors.New("no decoder to validate with")
	}
	f, err := e.Decoder.Inspect(ctx, path)
	if err != nil {
		return nil, undecodable(err, 0)
	}
	// A multi-page file's pages are decoded at once, as many as there are
	// cores; the first page that fails, in page order, is the one named.
	errs := atOnce(f.NumPages(), func(i int) error { return e.Decoder.Check(ctx, path, i) })
	for i, err := range errs {
		if err != nil {
			return f, undecodable(err, i+1)
		}
	}
	return f, nil
}

func undecodable(err error, page int) error {
	var crash *ocr.CrashError
	if errors.As(err, &crash) {
		err = fmt.Errorf("%w: the decoder died on it (%v)", ocr.ErrUnsupported, crash)
	}
	if page > 0 && !strings.Contains(err.Error(), fmt.Sprintf("page %d", page)) {
		err = fmt.Errorf("page %d: %w", page, err)
	}
	return err
}

// outcome turns a decoding failure into the stage's verdict: corrupt fails
// the item; unsupported or over a limit is a warning; anything else (the
// machine) is retried.
func (e *Engine) outcome(f catalog.File, err error, agent string) (*catalog.Event, error) {
	switch {
	case errors.Is(err, ocr.ErrCorrupt):
		return e.validationEvent(f, catalog.OutcomeFailure, err.Error(), agent), permanent("%s: %w", f.Path, err)
	case errors.Is(err, ocr.ErrUnsupported), errors.Is(err, ocr.ErrTooLarge):
		return e.validationEvent(f, catalog.OutcomeWarning, "preserved as it is, not fully checked: "+err.Error(), agent), nil
	}
	return nil, fmt.Errorf("%s: %w", f.Path, err)
}

func (e *Engine) validateImage(ctx context.Context, it *catalog.Item, f catalog.File) (*catalog.Event, error) {
	file, err := e.checkPages(ctx, e.workFile(it, f.Path))
	if err != nil {
		return e.outcome(f, err, "decoders")
	}
	p := file.Pages[0]
	detail := fmt.Sprintf("decoded %s: %d×%d, %s, %d-bit, %s", file.Format, p.Width, p.Height, p.Colour, p.Bits, p.Compression)
	if n := len(file.Pages); n > 1 {
		detail = fmt.Sprintf("decoded all %d pages of %s; page 1: %d×%d, %s, %d-bit, %s", n, file.Format, p.Width, p.Height, p.Colour, p.Bits, p.Compression)
	}
	return e.validationEvent(f, catalog.OutcomeSuccess, detail, "decoders"), nil
}

// pdfaVerdict says what the PDF/A check found, and no more than it
// checked: the clauses it covers (shared by the three parts; part 1's own
// rules are not checked but its Info dictionary), a partial check that
// does not replace veraPDF. A file that does not claim PDF/A is not
// faulted for it.
func pdfaVerdict(rep *pdfa.Report) (catalog.Outcome, string) {
	declared := fmt.Sprintf("PDF/A-%d%s", rep.Part, strings.ToLower(rep.Conformance))
	scope := "clauses " + strings.Join(pdfa.Clauses, ", ") + " of ISO 19005-2"
	switch rep.Part {
	case 1:
		scope += " (as they apply to part 1) and " + strings.Join(pdfa.Part1, ", ") + " of ISO 19005-1"
	case 3:
		scope += " (as they apply to part 3)"
	}
	switch {
	case rep.NotDeclared:
		return catalog.OutcomeWarning, "not declared PDF/A (no PDF/A identification in its XMP metadata); kept as it is"
	case !rep.Valid():
		var found []string
		for _, f := range rep.Findings {
			found = append(found, f.String())
		}
		return catalog.OutcomeFailure, fmt.Sprintf("declared %s, but: %s (partial check of %s; kept as it is)", declared, strings.Join(found, "; "), scope)
	}
	return catalog.OutcomeSuccess, fmt.Sprintf("%s: %s checked, no finding (a partial check: full validation needs veraPDF)", declared, scope)
}

// validatePDF parses the PDF (pdfcpu) under the stream limits, checks it
// against PDF/A and decodes every image on every page (PDFium). A PDF
// pdfcpu cannot read is corrupt only if PDFium cannot read it either; one
// that needs a password cannot be checked, nor kept readable, and fails.
func (e *Engine) validatePDF(ctx context.Context, it *catalog.Item, f catalog.File) (*catalog.Event, error) {
	p := e.workFile(it, f.Path)
	lim := pdfread.Limits{MaxDecoded: e.Cfg.MaxDecodedBytes, MaxPixels: e.Cfg.MaxPixels}
	rep, err := pdfa.Check(p, pdfa.CheckOptions{Limits: lim})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	if rep.Truncated {
		err := fmt.Errorf("%w: truncated: neither startxref nor %%%%EOF at its end (readers that repair it show only what arrived)", ocr.ErrCorrupt)
		return e.outcome(f, err, "pdfa")
	}
	var notes []string
	if rep.Unread != nil {
		if errors.Is(rep.Unread, pdfread.ErrTooLarge) {
			return e.validationEvent(f, catalog.OutcomeWarning, "preserved as it is, not checked: "+rep.Unread.Error(), "pdfa"), nil
		}
		notes = append(notes, "pdfcpu cannot read it: "+rep.Unread.Error())
	}
	file, err := e.checkPages(ctx, p)
	if err != nil {
		if errors.Is(err, ocr.ErrUnsupported) && strings.Contains(err.Error(), "password") {
			return e.validationEvent(f, catalog.OutcomeFailure, err.Error(), "PDFium"), permanent("%s: encrypted: it needs a password to open, so it cannot be checked nor kept readable", f.Path)
		}
		if len(notes) > 0 && !errors.Is(err, ocr.ErrTooLarge) { // neither reads it
			err = fmt.Errorf("%w: %s; PDFium: %v", ocr.ErrCorrupt, notes[0], err)
		}
		return e.outcome(f, err, "PDFium")
	}
	outcome, detail := pdfaVerdict(rep)
	agent := "pdfa, PDFium"
	if e.Access != nil && e.Access.Cfg.VeraPDF != "" && rep.Part > 0 {
		// veraPDF, where there is one, has the last word; ours is a second
		// detail.
		flavour := fmt.Sprintf("%d%s", rep.Part, strings.ToLower(rep.Conformance))
		line, err := access.VeraPDF(ctx, e.Access.Cfg.VeraPDF, flavour, p)
		switch {
		case err != nil:
			return nil, err // the machine's: tried again
		case strings.HasPrefix(line, "PASS"):
			outcome = catalog.OutcomeSuccess
		default:
			outcome = catalog.OutcomeFailure
		}
		detail, agent = "veraPDF: "+line+"; strongroom's own check: "+detail, "veraPDF, pdfa, PDFium"
	}
	if len(notes) > 0 {
		outcome, detail = catalog.OutcomeWarning, "damaged, but PDFium reads it ("+notes[0]+"); preserved as it is"
	}
	return e.validationEvent(f, outcome, fmt.Sprintf("%s; every image on its %s decodes (PDFium)", detail, plural(file.NumPages(), "page")), agent), nil
}
