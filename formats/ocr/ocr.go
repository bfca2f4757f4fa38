// Package ocr makes the pages of an access copy: it decodes (package
// raster) or renders (package pdfrender) each page, turns it upright,
// OCRs it with Tesseract, keeping word boxes and confidences, and encodes
// its image for the PDF; all of it in worker processes (see WorkerMain),
// whose crashes, memory and time are bounded.
package ocr

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"time"
	"unicode"
)

// Config configures OCR.
type Config struct {
	// Languages are Tesseract language codes (tesseract-ocr-<lang> packages).
	Languages []string `yaml:"languages"`
	// PSM is Tesseract's page segmentation mode (3: fully automatic).
	PSM int `yaml:"psm"`
	// Workers OCR this many pages at once, each in its own process.
	Workers int `yaml:"workers"`
	// DefaultDPI is assumed for files that record no resolution.
	DefaultDPI float64 `yaml:"default_dpi"`
	// MaxPixels bounds the page Tesseract is given: a larger page (or one
	// wider or taller than Tesseract's 32,767 pixels) is OCRed from a grey
	// copy scaled down to fit, and the word boxes are scaled back.
	MaxPixels int64 `yaml:"max_pixels"`
	// WorkerMemory caps each OCR process's data memory (bytes, as
	// RLIMIT_DATA: what it allocates, not the address space Go and glibc
	// reserve); a page that needs more ends its worker, not the daemon.
	// 0: no cap.
	WorkerMemory int64 `yaml:"worker_memory"`
	// PageTimeout stops a worker that spends longer on one page.
	PageTimeout time.Duration `yaml:"page_timeout"`
	// RotatePages turns pages scanned sideways or upside down upright
	// (Tesseract's orientation detection, tesseract-ocr-osd) when it is at
	// least RotateConfidence sure.
	RotatePages      bool    `yaml:"rotate_pages"`
	RotateConfidence float64 `yaml:"rotate_confidence"`
	// Deskew straightens pages scanned at a slight angle; the access copy
	// then holds the straightened image.
	Deskew bool `yaml:"deskew"`

	// MaxDecode is the most pixels a page may have to be decoded at all
	// (pipeline.max_pixels), and CacheDir where PDFium's compiled code is
	// kept between worker starts: both set by the daemon, not the file.
	MaxDecode int64 `yaml:"-"`
	// JPEGQuality and Lossless are the access copy's (access.jpeg_quality,
	// access.lossless): how a continuous-tone page from a lossless source
	// is encoded.
	JPEGQuality int    `yaml:"-"`
	Lossless    bool   `yaml:"-"`
	CacheDir    string `yaml:"-"`
	// IdleStop, when set, ends a worker that has had nothing to do for
	// this long (the decoders that validate: their memory is not held
	// through the OCR that follows); it starts again when needed.
	IdleStop time.Duration `yaml:"-"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if len(c.Languages) == 0 {
		errs = append(errs, errors.New("ocr.languages: at least one"))
	}
	if err := CheckLanguages(c.Languages); err != nil {
		errs = append(errs, fmt.Errorf("ocr.languages: %w", err))
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
	if c.MaxPixels < 1_000_000 {
		errs = append(errs, fmt.Errorf("ocr.max_pixels %d: at least 1000000", c.MaxPixels))
	}
	if c.WorkerMemory != 0 && c.WorkerMemory < 256<<20 {
		errs = append(errs, fmt.Errorf("ocr.worker_memory %d: 0 (no cap) or at least 268435456 (256 MiB): Tesseract needs that much to start", c.WorkerMemory))
	}
	if c.PageTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ocr.page_timeout %s: must be positive", c.PageTimeout))
	}
	if c.RotateConfidence < 0 {
		errs = append(errs, fmt.Errorf("ocr.rotate_confidence %g: not negative", c.RotateConfidence))
	}
	return errors.Join(errs...)
}

// Settings choose Tesseract's languages and page segmentation for a page
// (a hot folder's own); zero fields take the engine's Config.
type Settings struct {
	Languages []string
	PSM       *int
}

// Word is one recognised word, its box in image pixels (origin top left),
// its confidence (0–100) and where it sits in Tesseract's layout.
type Word struct {
	Text                   string
	Box                    image.Rectangle
	Confidence             float64
	Block, Paragraph, Line int
}

// Version names the OCR engine, for PREMIS agents and ALTO.
func Version() string { return "tesseract " + tesseractVersion() }

// MaxPages is the most pages one file may have (a TIFF's directory chain,
// a PDF's page tree): a hostile file claiming a million pages is refused
// before any page is read.
const MaxPages = 10000

// Decodable reports whether files of this MIME type can have an access
// copy made here (PDFs: if they turn out to have no text of their own).
func Decodable(mime string) bool {
	switch mime {
	case "image/tiff", "image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp", "image/jp2", "image/jpx", "image/x-portable-anymap",
		"image/x-portable-graymap", "image/x-portable-pixmap", "image/x-portable-bitmap", "application/pdf":
		return true
	}
	return false
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
