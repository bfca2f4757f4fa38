// Package quality is the data-quality report of an item's pages: for each
// page what the scan is (size, resolution, colour and bit depth) and what
// OCR made of it (words, their mean confidence, the share of doubtful
// words, a page with nothing on it), and for the item a verdict, pass,
// warn or fail, against thresholds in the configuration. It is made from
// what the access copy's pipeline computed already: no page is decoded
// again for it.
package quality

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/strongroom-archive/strongroom/formats/pagehash"
)

// Config holds the thresholds.
type Config struct {
	// MinDPI is the resolution a page should have (300 dpi: the usual
	// digitisation guideline for text); a page below it is reported.
	MinDPI float64 `yaml:"min_dpi" json:"min_dpi"`
	// WordConfidence is the OCR confidence (0-100) under which a word is
	// doubtful.
	WordConfidence float64 `yaml:"word_confidence" json:"word_confidence"`
	// Warn and Fail are the shares of pages with a problem (under MinDPI,
	// blank, more than half their words doubtful) at which an item warns
	// or fails; a failed item is still preserved, and raises an alert for
	// someone to look at it.
	Warn float64 `yaml:"warn" json:"warn"`
	Fail float64 `yaml:"fail" json:"fail"`
	// MaxSkew is the tilt of a page's lines (degrees either way) above
	// which it is reported: a crooked scan to be done again or
	// straightened (access.ocr.deskew). 0: not judged.
	MaxSkew float64 `yaml:"max_skew" json:"max_skew"`
	// DuplicateBits is how many of a perceptual hash's 63 bits two pages
	// may differ in and still be taken for the same page scanned twice
	// (with their words agreeing, where they have words). 0: not looked for.
	DuplicateBits int `yaml:"duplicate_bits" json:"duplicate_bits"`
}

// Validate checks the thresholds.
func (c Config) Validate() error {
	var errs []error
	if c.MinDPI < 0 {
		errs = append(errs, fmt.Errorf("quality.min_dpi %g: must not be negative", c.MinDPI))
	}
	if c.WordConfidence < 0 || c.WordConfidence > 100 {
		errs = append(errs, fmt.Errorf("quality.word_confidence %g: 0 to 100", c.WordConfidence))
	}
	if c.MaxSkew < 0 {
		errs = append(errs, fmt.Errorf("quality.max_skew %g: must not be negative", c.MaxSkew))
	}
	if c.DuplicateBits < 0 || c.DuplicateBits > 31 {
		errs = append(errs, fmt.Errorf("quality.duplicate_bits %d: 0 to 31 of 63 (half apart is unrelated)", c.DuplicateBits))
	}
	if c.Warn <= 0 || c.Fail <= 0 || c.Warn > c.Fail || c.Fail > 1 {
		errs = append(errs, fmt.Errorf("quality.warn %g and quality.fail %g: shares of pages, 0 < warn <= fail <= 1", c.Warn, c.Fail))
	}
	return errors.Join(errs...)
}

// Page is what is known of one page of the access copy.
type Page struct {
	Source     string  `json:"source"` // the original, below data/
	Page       int     `json:"page"`   // within its source, from 1
	Width      int     `json:"width"`  // pixels
	Height     int     `json:"height"`
	DPI        float64 `json:"dpi"`
	DPIAssumed bool    `json:"dpi_assumed"` // the file records none
	Colour     string  `json:"colour"`      // bilevel, grey or colour
	Bits       int     `json:"bits"`        // per component, 0 when the format keeps its own (JPEG 2000)
	Words      int     `json:"words"`
	// MeanConfidence is the OCR confidence of the words, averaged (0
	// without words); Doubtful the share of words under the threshold.
	MeanConfidence float64 `json:"mean_confidence"`
	Doubtful       float64 `json:"doubtful"`
	// Blank: no word, and so little image data for its size that nothing
	// can be on it (its encoded bytes per megapixel).
	Blank bool `json:"blank"`
	// Skew is how far its lines lie off level (degrees, positive turned
	// anticlockwise), as OCR's layout analysis found them (about ±1°); 0
	// without text.
	Skew float64 `json:"skew_degrees"`
	// Hash is the page's perceptual hash (16 hex digits; "" when none
	// was made), and NearDuplicateOf names the earlier page of the item
	// it looks like a second scan of.
	Hash            string `json:"phash"`
	NearDuplicateOf string `json:"near_duplicate_of,omitempty"`
	// Bigrams are its words' pairs, hashed and sorted, for telling pages
	// of like layout apart: not reported.
	Bigrams []uint32 `json:"-"`
	// Problems say what falls short, for this page.
	Problems []string `json:"problems,omitempty"`
}

// Verdict is an item's outcome.
type Verdict string

const (
	Pass Verdict = "pass"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// Report is quality.json.
type Report struct {
	Verdict  Verdict `json:"verdict"`
	Summary  string  `json:"summary"`
	Pages    []Page  `json:"pages"`
	Problems int     `json:"pages_with_problems"`
	// Thresholds are the ones the verdict was reached by.
	Thresholds Config `json:"thresholds"`
}

// Assess judges pages against cfg.
func Assess(cfg Config, pages []Page) Report {
	r := Report{Verdict: Pass, Thresholds: cfg, Pages: pages}
	below, blank, doubtful, skewed := 0, 0, 0, 0
	duplicates := nearDuplicates(cfg, pages)
	for i := range pages {
		p := &pages[i]
		if j, ok := duplicates[i]; ok {
			p.NearDuplicateOf = fmt.Sprintf("%s page %d", pages[j].Source, pages[j].Page)
			p.Problems = append(p.Problems, "looks like a second scan of "+p.NearDuplicateOf)
		}
		if cfg.MaxSkew > 0 && math.Abs(p.Skew) > cfg.MaxSkew {
			p.Problems = append(p.Problems, fmt.Sprintf("skewed %.1f°, over %g", p.Skew, cfg.MaxSkew))
			skewed++
		}
		if cfg.MinDPI > 0 && !p.DPIAssumed && p.DPI < cfg.MinDPI {
			p.Problems = append(p.Problems, fmt.Sprintf("%g dpi, under %g", p.DPI, cfg.MinDPI))
			below++
		}
		if p.Blank {
			p.Problems = append(p.Problems, "blank")
			blank++
		}
		if p.Words > 0 && p.Doubtful > 0.5 {
			p.Problems = append(p.Problems, fmt.Sprintf("%.0f%% of its words under confidence %g", 100*p.Doubtful, cfg.WordConfidence))
			doubtful++
		}
		if len(p.Problems) > 0 {
			r.Problems++
		}
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{below, "under the resolution asked for"}, {blank, "blank"}, {doubtful, "mostly doubtful words"},
		{len(duplicates), "scanned twice, it seems"}, {skewed, "skewed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	share := 0.0
	if len(pages) > 0 {
		share = float64(r.Problems) / float64(len(pages))
	}
	switch { // a threshold of 0 is none (an engine made without the configuration)
	case cfg.Fail > 0 && share >= cfg.Fail:
		r.Verdict = Fail
	case cfg.Warn > 0 && share >= cfg.Warn:
		r.Verdict = Warn
	}
	r.Summary = fmt.Sprintf("%s: %d of %d pages with a problem", r.Verdict, r.Problems, len(pages))
	if len(parts) > 0 {
		r.Summary += " (" + strings.Join(parts, "; ") + ")"
	}
	return r
}

// nearDuplicates finds pages that look like a second scan of an earlier
// page of the item: perceptual hashes within cfg.DuplicateBits, and, since
// pages of text in one layout hash alike, their words' pairs mostly the
// same (a page with few words is judged by its image alone). Blank pages
// are reported as blank, not as copies of each other. It maps each such
// page to the first page it repeats.
func nearDuplicates(cfg Config, pages []Page) map[int]int {
	out := map[int]int{}
	if cfg.DuplicateBits <= 0 {
		return out
	}
	hashes := make([]uint64, len(pages))
	for i, p := range pages {
		hashes[i], _ = strconv.ParseUint(p.Hash, 16, 64)
	}
	for j := range pages {
		for i := range j {
			if _, dup := out[i]; dup || hashes[i] == 0 || hashes[j] == 0 || pages[i].Blank || pages[j].Blank ||
				pagehash.Distance(hashes[i], hashes[j]) > cfg.DuplicateBits {
				continue
			}
			a, b := pages[i], pages[j]
			if (a.Words >= fewWords || b.Words >= fewWords) && pagehash.Shared(a.Bigrams, b.Bigrams) < sameText {
				continue
			}
			out[j] = i
			break
		}
	}
	return out
}

// A page with fewer words is judged by its image; pages with more are the
// same text when this share of their word pairs is shared: a rescan's OCR
// differs in a word or two of hundreds, two pages alike but for their
// page number share less.
const (
	fewWords = 10
	sameText = 0.95
)

// blankBytesPerMegapixel is the encoded size under which a page with no
// words is taken for blank: a white page compresses to almost nothing, a
// page with a picture or handwriting does not.
const blankBytesPerMegapixel = 2500

// IsBlank says whether a page with no words whose image is encoded in
// size bytes is blank.
func IsBlank(words, width, height, size int) bool {
	mp := float64(width) * float64(height) / 1e6
	return words == 0 && mp > 0 && float64(size)/mp < blankBytesPerMegapixel
}
