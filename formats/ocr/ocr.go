package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"
	"sync"
	"unicode"

	"github.com/otiai10/gosseract/v2"
)

// Config configures OCR.
type Config struct {
	// Languages are Tesseract language codes (tesseract-ocr-<lang> packages).
	Languages []string `yaml:"languages"`
	// PSM is Tesseract's page segmentation mode (3: fully automatic).
	PSM int `yaml:"psm"`
	// Workers OCR this many pages at once.
	Workers int `yaml:"workers"`
	// DefaultDPI is assumed for files that record no resolution.
	DefaultDPI float64 `yaml:"default_dpi"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if len(c.Languages) == 0 {
		errs = append(errs, errors.New("ocr.languages: at least one"))
	}
	if c.PSM < 0 || c.PSM > 13 {
		errs = append(errs, fmt.Errorf("ocr.psm %d: Tesseract's modes are 0 to 13", c.PSM))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("ocr.workers %d: at least 1", c.Workers))
	}
	if c.DefaultDPI < 50 || c.DefaultDPI > 2400 {
		errs = append(errs, fmt.Errorf("ocr.default_dpi %g: want 50 to 2400", c.DefaultDPI))
	}
	return errors.Join(errs...)
}

// Word is one recognised word, its box in image pixels (origin top left),
// its confidence (0–100) and where it sits in Tesseract's layout.
type Word struct {
	Text                   string
	Box                    image.Rectangle
	Confidence             float64
	Block, Paragraph, Line int
}

// Engine runs Tesseract, one client per worker.
type Engine struct {
	cfg  Config
	pool chan *gosseract.Client
}

// initMu serialises Tesseract's initialisation: gosseract points the
// process's stderr at /dev/null while Tesseract initialises and then puts
// it back; two at once can leave it pointing at /dev/null, which silenced
// the daemon's log.
var initMu sync.Mutex

// blank is a 1×1 PNG that initialises a client before its first real page.
var blank = func() []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	return b.Bytes()
}()

// NewEngine starts Config.Workers Tesseract clients, initialised one after
// the other.
func NewEngine(cfg Config) (*Engine, error) {
	initMu.Lock()
	defer initMu.Unlock()
	e := &Engine{cfg: cfg, pool: make(chan *gosseract.Client, cfg.Workers)}
	for range cfg.Workers {
		c := gosseract.NewClient()
		if err := c.SetLanguage(cfg.Languages...); err != nil {
			e.Close()
			return nil, fmt.Errorf("ocr: languages %v: %w", cfg.Languages, err)
		}
		if err := c.SetPageSegMode(gosseract.PageSegMode(cfg.PSM)); err != nil {
			e.Close()
			return nil, fmt.Errorf("ocr: psm %d: %w", cfg.PSM, err)
		}
		// Initialise now, under initMu, rather than on the first page.
		err := c.SetImageFromBytes(blank)
		if err == nil {
			_, err = c.Text()
		}
		if err != nil {
			c.Close()
			e.Close()
			return nil, fmt.Errorf("ocr: start Tesseract with %v (is tesseract-ocr-%s installed?): %w", cfg.Languages, cfg.Languages[0], err)
		}
		e.pool <- c
	}
	return e, nil
}

// Close ends the clients.
func (e *Engine) Close() {
	for {
		select {
		case c := <-e.pool:
			c.Close()
		default:
			return
		}
	}
}

// Version names the OCR engine, for PREMIS agents and ALTO.
func Version() string { return "tesseract " + gosseract.Version() }

// Recognize OCRs one encoded page image. A blank page gives no words, not
// an error.
func (e *Engine) Recognize(ctx context.Context, page []byte) ([]Word, error) {
	var c *gosseract.Client
	select {
	case c = <-e.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { e.pool <- c }()
	if err := c.SetImageFromBytes(page); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	boxes, err := c.GetBoundingBoxesVerbose()
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	words := make([]Word, 0, len(boxes))
	for _, b := range boxes {
		t := strings.TrimSpace(b.Word)
		if t == "" || speckle(t, b.Confidence) {
			continue
		}
		words = append(words, Word{Text: t, Box: b.Box, Confidence: b.Confidence, Block: b.BlockNum, Paragraph: b.ParNum, Line: b.LineNum})
	}
	return words, nil
}

// speckle reports a "word" that is scanner dust rather than text: only
// punctuation (a lone "|" or "~") recognised with middling confidence, or
// anything Tesseract gives zero confidence. Tesseract's own text output
// leaves these out too (measured on the benchmark pages).
func speckle(t string, conf float64) bool {
	if conf < 1 {
		return true
	}
	if conf >= 60 {
		return false
	}
	for _, r := range t {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// Text lays words out as plain text: a line per recognised line, a blank
// line between blocks.
func Text(words []Word) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			p := words[i-1]
			switch {
			case w.Block != p.Block:
				b.WriteString("\n\n")
			case w.Paragraph != p.Paragraph || w.Line != p.Line:
				b.WriteString("\n")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString(w.Text)
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
