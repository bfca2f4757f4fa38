// Package access makes an item's access copy from its scanned pages: one
// PDF/A-2 with the page images and an invisible, searchable text layer, the
// plain text, and ALTO XML with word coordinates. The PDF is checked before
// it is handed back: a file that fails the check is never returned as PDF/A.
package access

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom-archive/strongroom/formats/alto"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"golang.org/x/sync/errgroup"
)

// Config configures access copies.
type Config struct {
	OCR ocr.Config `yaml:"ocr"`
	// PDFA is the flavour written: 2b (default) or 2u.
	PDFA string `yaml:"pdfa"`
	// VeraPDF is the path of a veraPDF command line, if one is installed:
	// it then checks every access copy too, and a FAIL is a failure.
	VeraPDF string `yaml:"verapdf"`
}

// Override changes OCR settings for some items (a hot folder's own).
type Override = ocr.Settings

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.PDFA != "2b" && c.PDFA != "2u" {
		errs = append(errs, fmt.Errorf("access.pdfa %q: want 2b or 2u", c.PDFA))
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
		e, err := ocr.NewEngine(m.Cfg.OCR)
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
	AssumedDPI      []string // sources whose resolution was assumed
	// Kept lists sources left out of the access copy, with the reason (a
	// PDF that already carries text is kept as it is). With no pages left,
	// no files are written.
	Kept []string
	// Scaled lists pages OCRed from a copy scaled down to fit Tesseract's
	// limits, with the reason.
	Scaled  []string
	Check   *pdfa.Report
	OCR     string // engine and version
	VeraPDF string // veraPDF\'s verdict line, when it ran
	Took    time.Duration
}

// ErrBadInput marks problems of the input (not of the machine): the item
// fails at once.
var ErrBadInput = errors.New("bad input")

// Make writes <dir>/<name>.pdf, .txt and .alto.xml from sources.
func (m *Maker) Make(ctx context.Context, sources []Source, dir, name string, ov Override) (*Result, error) {
	start := time.Now()
	eng, err := m.ocr()
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	res := &Result{PDF: filepath.Join(dir, name+".pdf"), Text: filepath.Join(dir, name+".txt"), ALTO: filepath.Join(dir, name+".alto.xml"), OCR: ocr.Version()}
	type job struct {
		src  Source
		page ocr.SourcePage
		nr   int
	}
	var jobs []job
	for _, s := range sources {
		data, err := os.ReadFile(s.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		pages, err := ocr.Split(data, m.Cfg.OCR.DefaultDPI, pdfread.Limits{MaxDecoded: m.MaxDecoded, MaxPixels: m.MaxPixel})
		if errors.Is(err, ocr.ErrHasText) {
			res.Kept = append(res.Kept, s.Name+": "+err.Error())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", s.Name, ErrBadInput, err)
		}
		for i, p := range pages {
			jobs = append(jobs, job{s, p, i + 1})
			if p.DPIAssumed && i == 0 {
				res.AssumedDPI = append(res.AssumedDPI, s.Name)
			}
		}
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
	pw, err := pdfa.NewWriter(f, pdfa.Options{Conformance: conf, Title: name, Creator: m.Creator, Font: m.font})
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	var altoPages []alto.Page
	// Pages are OCRed Workers at a time and written in order, so memory
	// holds a few pages, not the book.
	workers := max(m.Cfg.OCR.Workers, 1)
	for at := 0; at < len(jobs); at += workers {
		batch := jobs[at:min(at+workers, len(jobs))]
		out := make([]donePage, len(batch))
		var g errgroup.Group
		for i, j := range batch {
			g.Go(func() error {
				out[i] = m.page(ctx, eng, j.src.Name, j.nr, j.page, ov)
				return nil
			})
		}
		g.Wait()
		for i, d := range out {
			if d.err != nil {
				return nil, d.err
			}
			words := d.ocr.Words
			if d.ocr.Note != "" {
				res.Scaled = append(res.Scaled, fmt.Sprintf("%s page %d: %s", batch[i].src.Name, batch[i].nr, d.ocr.Note))
			}
			d.page.Words = make([]pdfa.Word, len(words))
			for k, w := range words {
				d.page.Words[k] = pdfa.Word{Text: w.Text, X0: w.Box.Min.X, Y0: w.Box.Min.Y, X1: w.Box.Max.X, Y1: w.Box.Max.Y, Confidence: w.Confidence}
			}
			if err := pw.AddPage(d.page); err != nil {
				return nil, err
			}
			if res.Pages > 0 {
				text.WriteString("\f") // form feed between pages, as pdftotext writes
			}
			text.WriteString(ocr.Text(words))
			altoPages = append(altoPages, alto.Page{Width: d.w, Height: d.h, Words: words, Source: batch[i].src.Name})
			res.Pages++
			res.Words += len(words)
			m.PagesOCRed.Add(1)
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
	if res.Check, err = pdfa.Check(res.PDF, pdfa.CheckOptions{Strict: true}); err != nil {
		return nil, err
	}
	if m.Cfg.VeraPDF != "" {
		res.VeraPDF, err = veraPDF(ctx, m.Cfg.VeraPDF, m.Cfg.PDFA, res.PDF)
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

// donePage is one page made: its image for the PDF, its words, its size.
type donePage struct {
	page pdfa.Page
	ocr  *ocr.Page
	w, h int
	err  error
}

// page prepares page nr of source name for the PDF and OCRs it. A decoder
// that panics on a malformed page, or a page the OCR worker dies on, fails
// the page (bad input), not the daemon.
func (m *Maker) page(ctx context.Context, eng *ocr.Engine, name string, nr int, p ocr.SourcePage, ov Override) (d donePage) {
	defer func() {
		if r := recover(); r != nil {
			d.err = fmt.Errorf("%s page %d: %w: the decoder failed: %v", name, nr, ErrBadInput, r)
		}
	}()
	if d.page, d.w, d.h, d.err = m.pageImage(name, nr, p); d.err != nil {
		return d
	}
	d.ocr, d.err = eng.Recognize(ctx, p.Data, ov)
	var crash *ocr.CrashError
	if errors.As(d.err, &crash) {
		d.err = fmt.Errorf("%s page %d: %w: %v", name, nr, ErrBadInput, crash)
	} else if d.err != nil {
		d.err = fmt.Errorf("%s page %d: %w", name, nr, d.err)
	}
	return d
}

// pageImage prepares a page's image for the PDF: a JPEG as it is, anything
// else decoded and embedded losslessly. The resolution must give a page a
// reader can open (ISO 32000's 200-inch limit).
func (m *Maker) pageImage(name string, nr int, p ocr.SourcePage) (pdfa.Page, int, int, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
	if err != nil {
		return pdfa.Page{}, 0, 0, fmt.Errorf("%s page %d: %w: %v", name, nr, ErrBadInput, err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); m.MaxPixel > 0 && px > m.MaxPixel {
		return pdfa.Page{}, 0, 0, fmt.Errorf("%s page %d: %w: %dx%d pixels is over the limit of %d", name, nr, ErrBadInput, cfg.Width, cfg.Height, m.MaxPixel)
	}
	wIn, hIn := float64(cfg.Width)/p.DPIX, float64(cfg.Height)/p.DPIY
	if wIn > 200 || hIn > 200 || p.DPIX < 10 || p.DPIY < 10 {
		return pdfa.Page{}, 0, 0, fmt.Errorf("%s page %d: %w: %gx%g dpi makes a %.0f×%.0f inch page; the file's resolution is wrong", name, nr, ErrBadInput, p.DPIX, p.DPIY, wIn, hIn)
	}
	var im pdfa.Image
	passed := false
	switch p.Format {
	case "jpeg":
		im, err = pdfa.FromJPEG(p.Data)
		passed = err == nil
	case "png":
		im, passed = pdfa.FromPNG(p.Data)
	}
	if !passed { // CMYK JPEGs, PNGs that need converting, everything else
		img, _, derr := image.Decode(bytes.NewReader(p.Data))
		if derr != nil {
			return pdfa.Page{}, 0, 0, fmt.Errorf("%s page %d: %w: %v", name, nr, ErrBadInput, derr)
		}
		im, err = pdfa.FromImage(img)
	}
	if err != nil {
		return pdfa.Page{}, 0, 0, fmt.Errorf("%s page %d: %w", name, nr, err)
	}
	return pdfa.Page{Image: im, DPIX: p.DPIX, DPIY: p.DPIY}, cfg.Width, cfg.Height, nil
}

// veraPDF runs the veraPDF command line and returns its verdict line
// ("PASS file 2b" or "FAIL ..."); the file fails unless it says PASS.
func veraPDF(ctx context.Context, bin, flavour, path string) (string, error) {
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
