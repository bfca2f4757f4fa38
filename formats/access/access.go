// Package access makes an item's access copy from its scanned pages: one
// PDF/A-2 with the page images and an invisible, searchable text layer, the
// plain text, and ALTO XML with word coordinates. The PDF is checked before
// it is handed back: a file that fails the check is never returned as PDF/A.
package access

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom-archive/strongroom/formats/alto"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pagehash"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"github.com/strongroom-archive/strongroom/formats/raster"
)

// Config configures access copies.
type Config struct {
	OCR ocr.Config `yaml:"ocr"`
	// PDFA is the flavour written: 2b (default) or 2u.
	PDFA string `yaml:"pdfa"`
	// VeraPDF is the path of a veraPDF command line, if one is installed:
	// it then checks every access copy too, and a FAIL is a failure.
	VeraPDF string `yaml:"verapdf"`
	// Required fails an item whose access copy cannot be made; by default
	// it is stored with its originals, an event and an alert.
	Required bool `yaml:"required"`
	// JPEGQuality: a continuous-tone page from a lossless source (a TIFF
	// or PNG scan) goes into the access copy as JPEG at this quality where
	// that is smaller than lossless; Lossless keeps every page lossless.
	// The original in the bag is never touched.
	JPEGQuality int  `yaml:"jpeg_quality"`
	Lossless    bool `yaml:"lossless"`
}

// Override changes OCR settings for some items (a hot folder's own).
type Override = ocr.Settings

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.PDFA != "2b" && c.PDFA != "2u" {
		errs = append(errs, fmt.Errorf("access.pdfa %q: want 2b or 2u", c.PDFA))
	}
	if c.JPEGQuality != 0 && (c.JPEGQuality < 30 || c.JPEGQuality > 100) {
		errs = append(errs, fmt.Errorf("access.jpeg_quality %d: 30 to 100 (0: lossless only, as lossless: true)", c.JPEGQuality))
	}
	return errors.Join(append(errs, c.OCR.Validate())...)
}

// Maker makes access copies. The OCR workers start on first use, so
// commands that make none never load Tesseract.
type Maker struct {
	Cfg      Config
	Creator  string // strongroom/<version>
	MaxPixel int64  // refuse larger pages
	// MaxDecoded bounds what one PDF stream may inflate to.
	MaxDecoded int64

	mu     sync.Mutex
	engine *ocr.Engine
	font   []byte

	// PagesOCRed counts pages since start, for metrics.
	PagesOCRed atomic.Int64
}

// ocr returns the OCR engine, made on first use.
func (m *Maker) ocr() (*ocr.Engine, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.font == nil {
		f, err := pdfa.GlyphlessFont()
		if err != nil {
			return nil, err
		}
		m.font = f
	}
	if m.engine == nil {
		cfg := m.Cfg.OCR
		cfg.MaxDecode = m.MaxPixel
		cfg.JPEGQuality, cfg.Lossless = m.Cfg.JPEGQuality, m.Cfg.Lossless
		e, err := ocr.NewEngine(cfg)
		if err != nil {
			return nil, err
		}
		m.engine = e
	}
	return m.engine, nil
}

// Start starts the OCR workers with the settings ov, so that the first
// item waits for neither (and a language that is not installed shows now).
func (m *Maker) Start(ctx context.Context, ov Override) error {
	eng, err := m.ocr()
	if err != nil {
		return err
	}
	return eng.Start(ctx, ov)
}

// Close stops the OCR workers.
func (m *Maker) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.engine != nil {
		m.engine.Close()
		m.engine = nil
	}
}

// Source is one original file of the item, in page order.
type Source struct {
	Path string // on disk
	Name string // as it is known in the bag (data/original/...)
}

// Result describes what was made.
type Result struct {
	PDF, Text, ALTO string // files written
	Pages, Words    int
	// Copied counts pages of scanned PDFs copied with their own image
	// streams (the others were re-imaged; Notes say why).
	Copied     int
	AssumedDPI []string // sources whose resolution was assumed
	// Kept lists sources left out of the access copy, with the reason (a
	// PDF that already carries text is kept as it is). With no pages left,
	// no files are written.
	Kept []string
	// Notes say what was done to pages: scaled for OCR, turned upright,
	// straightened, re-imaged.
	Notes   []string
	Check   *pdfa.Report
	OCR     string // engine and version
	VeraPDF string // veraPDF's verdict line, when it ran
	Took    time.Duration
	// PageInfo says what each page is, as the pipeline found it: for the
	// data-quality report, without decoding a page again.
	PageInfo []PageInfo
}

// PageInfo is one page of the access copy: its image and its words.
type PageInfo struct {
	Source        string // the source's name
	Page          int    // within its source, from 1
	Width, Height int
	DPI           float64
	DPIAssumed    bool
	Colour        string // bilevel, grey or colour; "" for a page copied as it is
	Bits          int
	ImageBytes    int // the encoded page image's size; 0 for a page copied as it is
	Confidences   []float32
	Skew          float64  // degrees the lines lie off level (ocr.Page.Skew)
	Hash          uint64   // perceptual hash (formats/pagehash); 0: none
	Bigrams       []uint32 // its words' fingerprint (pagehash.Bigrams)
}

// ErrInput marks failures that come from the input or the settings (a
// page that does not decode, a decoder that crashes on it, a language that
// is not installed), not from the machine: trying again fails again.
var ErrInput = errors.New("cannot make an access copy")

// ErrHasText marks a PDF that is not image-only: born digital, or OCRed
// already. It is kept as it is.
var ErrHasText = errors.New("the PDF already carries text")

// job is one page to make.
type job struct {
	src  Source
	nr   int          // from 1
	copy *pdfa.Copied // a scanned PDF's page copied as it is
	why  string       // why a PDF page is re-imaged instead
	pdf  bool
}

// Doc names and describes an access copy: its files are Name.pdf, .txt
// and .alto.xml; the PDF's title and author (Info and XMP) are the item's.
type Doc struct {
	Name, Title, Author string
	// Progress, if set, is told after each page is written.
	Progress func(done, total int)
	// Farm, if set, may have the pages made elsewhere (by every worker
	// of a cluster) instead of by this process's OCR engine.
	Farm Farm
}

// PageSpec is what a worker anywhere needs to make one page: the file
// (where every worker reaches it), the page's index in it from 0, whether
// its image is wanted for the access copy, and the OCR settings.
type PageSpec struct {
	Path     string   `json:"path"`
	Name     string   `json:"name"` // as the bag knows it, for messages
	Index    int      `json:"index"`
	Embed    bool     `json:"embed"`
	Settings Override `json:"settings"`
}

// Farm makes pages elsewhere. Make hands Plan every page it needs made,
// in order, before it begins; if Plan takes them, Make asks Page for each
// one's result in order (a page made before, by a worker that died since,
// is not made again).
type Farm interface {
	Plan(ctx context.Context, specs []PageSpec) (bool, error)
	Page(ctx context.Context, i int) (*ocr.Page, error)
}

// MakePage makes one page a Farm handed out, in this process's OCR engine.
// An error that is the page's own (ErrInput) will be the same wherever it
// is tried.
func (m *Maker) MakePage(ctx context.Context, s PageSpec) (*ocr.Page, error) {
	eng, err := m.ocr()
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	p, err := eng.MakePage(ctx, s.Path, s.Index, s.Settings, s.Embed)
	if err != nil {
		return nil, inputError(s.Name, s.Index+1, err)
	}
	m.PagesOCRed.Add(1)
	return p, nil
}

// Make writes <dir>/<doc.Name>.pdf, .txt and .alto.xml from sources.
func (m *Maker) Make(ctx context.Context, sources []Source, dir string, doc Doc, ov Override) (*Result, error) {
	name := doc.Name
	start := time.Now()
	eng, err := m.ocr()
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	langs := ov.Languages
	if len(langs) == 0 {
		langs = m.Cfg.OCR.Languages
	}
	// The OCR agent as PREMIS names it: Tesseract's version and the
	// language models it read with.
	res := &Result{PDF: filepath.Join(dir, name+".pdf"), Text: filepath.Join(dir, name+".txt"), ALTO: filepath.Join(dir, name+".alto.xml"),
		OCR: fmt.Sprintf("%s (%s)", ocr.Version(), strings.Join(langs, "+"))}
	var jobs []job
	for _, s := range sources {
		js, err := m.jobs(ctx, eng, s)
		if errors.Is(err, ErrHasText) {
			res.Kept = append(res.Kept, s.Name+": "+err.Error())
			continue
		}
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, js...)
	}
	if len(jobs) == 0 {
		res.PDF, res.Text, res.ALTO = "", "", ""
		return res, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(res.PDF)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	conf := strings.ToUpper(strings.TrimPrefix(m.Cfg.PDFA, "2"))
	pw, err := pdfa.NewWriter(f, pdfa.Options{Conformance: conf, Title: cmp.Or(doc.Title, name), Author: doc.Author, Creator: m.Creator, Font: m.font})
	if err != nil {
		return nil, err
	}
	perSource := map[string]int{} // pages from each source
	for _, j := range jobs {
		perSource[j.src.Name]++
	}
	var text strings.Builder
	var altoPages []alto.Page
	assumed := map[string]bool{}
	// Pages are made as a pipeline, not in batches: up to three pages per
	// OCR worker are under way ahead of the page being written (the
	// engine's worker slots, taken first come first served, keep the
	// workers busy), and pages are written in order as each one's turn
	// comes. No worker waits for a batch's slowest page, and memory holds
	// a bounded number of pages, never the book.
	workers := max(m.Cfg.OCR.Workers, 1)
	type made struct {
		p   *ocr.Page
		err error
	}
	done := make([]chan made, len(jobs))
	for i := range done {
		done[i] = make(chan made, 1)
	}
	// With a farm, every page a worker must make is handed out at once,
	// and the pages come back here in order.
	farmed := map[int]int{} // job → its spec's index
	if doc.Farm != nil {
		var specs []PageSpec
		for i, j := range jobs {
			if j.copy != nil && j.copy.Empty() {
				continue
			}
			farmed[i] = len(specs)
			specs = append(specs, PageSpec{Path: j.src.Path, Name: j.src.Name, Index: j.nr - 1, Embed: j.copy == nil, Settings: ov})
		}
		if ok, err := doc.Farm.Plan(ctx, specs); err != nil {
			return nil, err
		} else if !ok {
			farmed = nil
		}
	}
	makePage := func(ctx context.Context, i int, j job) (*ocr.Page, error) {
		if k, ok := farmed[i]; ok {
			return doc.Farm.Page(ctx, k) // counted where it was made
		}
		p, err := m.page(ctx, eng, j, ov)
		if err == nil {
			m.PagesOCRed.Add(1)
		}
		return p, err
	}
	ahead := make(chan struct{}, 3*workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a failed page stops the pages after it
	go func() {
		for i, j := range jobs {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				var r made
				defer func() { done[i] <- r }()
				defer recovered(&r.err)
				r.p, r.err = makePage(ctx, i, j)
			}()
		}
	}()
	for i, j := range jobs {
		var r made
		select {
		case r = <-done[i]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		<-ahead
		if r.err != nil {
			return nil, r.err
		}
		p := r.p
		page, err := m.pdfPage(j, p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s page %d: %v", ErrInput, j.src.Name, j.nr, err)
		}
		page.Label = path.Base(j.src.Name) // the scan a reader sees, by its name
		if perSource[j.src.Name] > 1 {
			page.Label += fmt.Sprintf(" (%d)", j.nr)
		}
		if err := pw.AddPage(page); err != nil {
			return nil, err
		}
		if p.DPIAssumed && !assumed[j.src.Name] {
			assumed[j.src.Name] = true
			res.AssumedDPI = append(res.AssumedDPI, j.src.Name)
		}
		for _, n := range p.Notes {
			res.Notes = append(res.Notes, j.src.Name+" "+n)
		}
		if j.copy != nil {
			res.Copied++
		} else if j.pdf {
			res.Notes = append(res.Notes, fmt.Sprintf("%s page %d: re-imaged (%s)", j.src.Name, j.nr, j.why))
		}
		if res.Pages > 0 {
			text.WriteString("\f") // form feed between pages, as pdftotext writes
		}
		text.WriteString(ocr.Text(p.Words))
		altoPages = append(altoPages, alto.Page{Width: p.Width, Height: p.Height, Words: p.Words, Source: j.src.Name})
		info := PageInfo{Source: j.src.Name, Page: j.nr, Width: p.Width, Height: p.Height, DPI: p.DPI, DPIAssumed: p.DPIAssumed,
			Skew: p.Skew, Hash: p.Hash}
		if im := page.Image; j.copy == nil && im.Data != nil {
			info.Colour, info.Bits, info.ImageBytes = colourOf(im), im.BitsPerComponent, len(im.Data)
		}
		texts := make([]string, len(p.Words))
		for k, w := range p.Words {
			info.Confidences = append(info.Confidences, float32(w.Confidence))
			texts[k] = w.Text
		}
		info.Bigrams = pagehash.Bigrams(texts)
		res.PageInfo = append(res.PageInfo, info)
		res.Pages++
		res.Words += len(p.Words)
		if doc.Progress != nil {
			doc.Progress(res.Pages, len(jobs))
		}
	}
	if err := pw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.Text, []byte(text.String()), 0o644); err != nil {
		return nil, err
	}
	af, err := os.Create(res.ALTO)
	if err != nil {
		return nil, err
	}
	defer af.Close()
	v := strings.TrimPrefix(res.OCR, "tesseract ")
	if err := alto.Write(af, altoPages, "tesseract", v); err != nil {
		return nil, err
	}
	if err := af.Close(); err != nil {
		return nil, err
	}
	if res.Check, err = pdfa.Check(res.PDF, pdfa.CheckOptions{Strict: true, Limits: m.limits()}); err != nil {
		return nil, err
	}
	if m.Cfg.VeraPDF != "" {
		res.VeraPDF, err = VeraPDF(ctx, m.Cfg.VeraPDF, m.Cfg.PDFA, res.PDF)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(res.VeraPDF, "PASS") {
			res.Check.Findings = append(res.Check.Findings, pdfa.Finding{Clause: "veraPDF", Message: res.VeraPDF})
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

func (m *Maker) limits() pdfread.Limits {
	return pdfread.Limits{MaxDecoded: m.MaxDecoded, MaxPixels: m.MaxPixel}
}

// jobs lists the pages of a source. A PDF's pages are copied where they
// can be (pdfcpu reads them; pdfa.Source checks them) and re-imaged where
// they cannot; a PDF pdfcpu cannot read (damaged, but PDFium reads it) is
// re-imaged throughout.
func (m *Maker) jobs(ctx context.Context, eng *ocr.Engine, s Source) ([]job, error) {
	// A PDF is read under the stream limits before PDFium opens it: a
	// decompression bomb is refused here, not inflated in a worker.
	var src *pdfa.Source
	var why string
	if raster.SniffFile(s.Path) == raster.PDF {
		var err error
		if src, why, err = m.pdfSource(s.Path); err != nil {
			return nil, fmt.Errorf("%w: %s: %w: not rendered", ErrInput, s.Name, err)
		}
	}
	f, err := eng.Inspect(ctx, s.Path)
	if err != nil {
		return nil, inputError(s.Name, 0, err)
	}
	if f.NumPages() == 0 {
		return nil, fmt.Errorf("%w: %s: no pages", ErrInput, s.Name)
	}
	if f.Format != "PDF" {
		jobs := make([]job, len(f.Pages))
		for i := range jobs {
			jobs[i] = job{src: s, nr: i + 1}
		}
		return jobs, nil
	}
	// Every page with text of its own: born digital, or OCRed already;
	// kept as it is. Some pages with text and some without (a scan with
	// one typed cover page, a book OCRed in part): the access copy holds
	// every page, so that every page can be found; the pages with text
	// are rendered and OCRed like the others, since a copy of a page would
	// carry its own text and ours.
	var texted []string
	for i, p := range f.PDFPages {
		if p.Text > 0 {
			texted = append(texted, strconv.Itoa(i+1))
		}
	}
	if len(texted) == len(f.PDFPages) {
		return nil, fmt.Errorf("%w (every page has text)", ErrHasText)
	}
	jobs := make([]job, len(f.PDFPages))
	for i := range jobs {
		jobs[i] = job{src: s, nr: i + 1, pdf: true, why: why}
		if f.PDFPages[i].Text > 0 {
			jobs[i].why = "the page carries text of its own (pages " + strings.Join(texted, ", ") + " of the file do): rendered and OCRed, so that its words are found with the others"
			continue
		}
		if src == nil {
			continue
		}
		if cp, err := src.Page(i + 1); err != nil {
			jobs[i].why = err.Error()
		} else {
			jobs[i].copy = cp
		}
	}
	return jobs, nil
}

// pdfSource reads a PDF for copying its pages, or says why it cannot;
// a PDF over a limit is an error.
func (m *Maker) pdfSource(path string) (*pdfa.Source, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err.Error(), nil
	}
	defer f.Close()
	pctx, err := pdfread.Read(f, m.limits())
	if errors.Is(err, pdfread.ErrTooLarge) {
		return nil, "", err
	}
	if err != nil {
		return nil, "pdfcpu cannot read the file: " + err.Error(), nil
	}
	return pdfa.NewSource(pctx), "", nil
}

// inputError says which file and page failed and why, as ErrInput for
// what comes from the input (a worker's verdict on the page, a crash on it)
// and as it is for what comes from the machine.
func inputError(name string, nr int, err error) error {
	var crash *ocr.CrashError
	where := name
	if nr > 0 {
		where = fmt.Sprintf("%s page %d", name, nr)
	}
	if errors.Is(err, ocr.ErrCorrupt) || errors.Is(err, ocr.ErrUnsupported) || errors.Is(err, ocr.ErrTooLarge) || errors.As(err, &crash) ||
		errors.Is(err, ocr.ErrSettings) {
		return fmt.Errorf("%w: %s: %w", ErrInput, where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// page makes one page in a worker: the page image is asked for unless the
// page is copied, and an empty copied page needs no worker at all.
func (m *Maker) page(ctx context.Context, eng *ocr.Engine, j job, ov Override) (*ocr.Page, error) {
	if j.copy != nil && j.copy.Empty() {
		return &ocr.Page{}, nil
	}
	p, err := eng.MakePage(ctx, j.src.Path, j.nr-1, ov, j.copy == nil)
	if err != nil {
		return nil, inputError(j.src.Name, j.nr, err)
	}
	return p, nil
}

// maxInches is the largest page ISO 32000 readers must open (14,400 units).
const maxInches = 200

// pdfPage turns a made page into a page of the access copy.
func (m *Maker) pdfPage(j job, p *ocr.Page) (pdfa.Page, error) {
	words := make([]pdfa.Word, len(p.Words))
	for k, w := range p.Words {
		words[k] = pdfa.Word{Text: w.Text, X0: w.Box.Min.X, Y0: w.Box.Min.Y, X1: w.Box.Max.X, Y1: w.Box.Max.Y, Confidence: w.Confidence}
	}
	if j.copy != nil {
		if j.copy.Empty() { // nothing to OCR: no words, and any size for them
			return pdfa.Page{Copy: j.copy, Rotate: j.copy.Rotate}, nil
		}
		return pdfa.Page{Copy: j.copy, Rotate: j.copy.Rotate + 90*p.Turn, Words: words, TextWidth: p.Width, TextHeight: p.Height}, nil
	}
	if p.Image == nil {
		return pdfa.Page{}, errors.New("the worker made no page image")
	}
	im := *p.Image
	// The image's resolution gives the page's size; a page larger than a
	// reader opens is given a resolution that fits (the pixels are kept).
	dpi := p.DPI
	if side := float64(max(im.Width, im.Height)); side/dpi > maxInches {
		dpi = side / maxInches
	}
	if dpi < 10 {
		return pdfa.Page{}, fmt.Errorf("%g dpi makes a page too small to read", dpi)
	}
	return pdfa.Page{Image: im, DPIX: dpi, DPIY: dpi, Rotate: 90 * p.ImageTurn, Words: words, TextWidth: p.Width, TextHeight: p.Height}, nil
}

// veraPDF runs the veraPDF command line and returns its verdict line
// ("PASS file 2b" or "FAIL ..."); the file fails unless it says PASS.
// VeraPDF runs the veraPDF command line bin on path for flavour (2b, 1a,
// …) and returns its verdict line (PASS … or FAIL …).
func VeraPDF(ctx context.Context, bin, flavour, path string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "--flavour", flavour, "--format", "text", path).Output()
	line := strings.TrimSpace(string(out))
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if line == "" && err != nil {
		return "", fmt.Errorf("access: veraPDF (%s): %w", bin, err)
	}
	return line, nil
}

// recovered turns a panic on this goroutine into *err: on a goroutine of
// its own, a panic is out of reach of the caller's recover and would end
// the daemon, not the item.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error (a panic, reported): %v\n%s", r, debug.Stack())
	}
}

// colourOf names a page image's colour as a digitisation report does.
func colourOf(im pdfa.Image) string {
	switch {
	case im.BitsPerComponent == 1:
		return "bilevel"
	case im.ColorSpace == "DeviceGray":
		return "grey"
	}
	return "colour"
}
