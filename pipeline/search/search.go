// Package search is full-text search over the pages of stored bags: what
// an index holds (each page's words with their boxes, each bag's
// description and rights), how a query is written, and what a hit carries
// (the bag, file and page, a snippet, the boxes of the matched words in
// page pixels and PDF points). Index is the interface an engine
// implements; fts is the embedded one (SQLite FTS5), pgfts PostgreSQL's.
package search

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/registry"
)

// Index is a full-text index of pages.
type Index interface {
	// PutBag replaces what the index holds of a bag.
	PutBag(ctx context.Context, d Doc, pages []Page) error
	// SetDoc changes a bag's description and rights (not its pages).
	SetDoc(ctx context.Context, d Doc) error
	// DeleteBag removes a bag.
	DeleteBag(ctx context.Context, bag string) error
	// Search runs a query.
	Search(ctx context.Context, q Query) (*Result, error)
	Close() error
}

// Doc is what the index knows of a bag besides its pages: what results
// show, and what filters and rights are decided on.
type Doc struct {
	Bag     string           `json:"bag"`
	Title   string           `json:"title"`
	Meta    catalog.Metadata `json:"meta"`
	Formats []string         `json:"formats"` // MIME types of the originals
	Stored  time.Time        `json:"stored"`
}

// DocOf is what the index keeps of a stored bag's description.
func DocOf(b *catalog.Bag, it *catalog.Item, files []catalog.File) Doc {
	d := Doc{Bag: b.ID, Title: it.Meta.Title, Meta: it.Meta, Stored: b.StoredAt}
	if d.Title == "" {
		d.Title = it.Name
	}
	for _, f := range files {
		if f.MIME != "" && !slices.Contains(d.Formats, f.MIME) {
			d.Formats = append(d.Formats, f.MIME)
		}
	}
	return d
}

// Word is one word on a page and its box in page pixels (the page image
// as shown upright, as in ALTO).
type Word struct {
	Text string
	Box  image.Rectangle
}

// Page is one page of a bag's file: an access copy, or a PDF kept as it
// is.
type Page struct {
	File string // payload path, e.g. data/access/book.pdf
	N    int    // from 1
	// Width and Height are the page in pixels (what word boxes are in);
	// WidthPt and HeightPt the PDF page in points.
	Width, Height     int
	WidthPt, HeightPt float64
	Words             []Word
}

// Query is a search. Text is words (all must be on the page), "quoted
// phrases", prefixes (archiv*) and -excluded words.
type Query struct {
	Text       string
	Collection string
	Station    string
	Format     string
	Year       int
	// Only and Except keep or drop these bags (the catalog's answer to a
	// filter the index cannot decide, such as has-alerts).
	Only, Except []string
	// Access keeps bags at these levels (nil: all; empty: none), and
	// EmbargoAt drops bags under embargo on that day (YYYY-MM-DD; "" for
	// staff, whom an embargo does not stop).
	Access    []catalog.AccessLevel
	EmbargoAt string
	// Bag searches within one bag ("search in this document").
	Bag string
	// ByDocument groups the hits by bag: Offset and Limit then count
	// documents, and each document brings its best PagesPerDoc pages.
	ByDocument bool
	Offset     int
	Limit      int
}

// PagesPerDoc is how many of a document's best pages a grouped search
// shows.
const PagesPerDoc = 3

// Result is one page of hits.
type Result struct {
	Hits []Hit `json:"hits"`
	// Total is how many pages match, up to MaxTotal; TotalCapped says
	// there are more.
	Total       int           `json:"total"`
	TotalCapped bool          `json:"total_capped"`
	Took        time.Duration `json:"took"`
	// Docs are the matching documents, best first, when the query asked
	// for them (ByDocument); DocTotal is how many match (among the
	// first MaxTotal pages).
	Docs     []DocHit `json:"docs"`
	DocTotal int      `json:"doc_total"`
}

// DocHit is a document that matches: its bag and title, how many of its
// pages match, and its best pages.
type DocHit struct {
	Bag   string `json:"bag"`
	Title string `json:"title"`
	Pages int    `json:"pages"`
	Hits  []Hit  `json:"hits"`
}

// MaxTotal is where counting (and exact ranking) stops: "more than 5,000
// pages" is as useful as the exact number, and bounds the cost of a
// common word whatever the size of the index (scripts/bench-search).
const MaxTotal = 5000

// Hit is one matching page.
type Hit struct {
	Bag      string     `json:"bag"`
	Title    string     `json:"title"`
	File     string     `json:"file"`
	Page     int        `json:"page"`
	Snippet  []Fragment `json:"snippet"`
	Boxes    []Box      `json:"boxes"`
	Width    int        `json:"width"`
	Height   int        `json:"height"`
	WidthPt  float64    `json:"width_pt"`
	HeightPt float64    `json:"height_pt"`
	Score    float64    `json:"score"` // bm25: lower is better
}

// Fragment is a piece of a snippet; Match marks the matched words.
type Fragment struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// Box is a matched word's box: X, Y, W, H in page pixels from the top
// left; PDF as x0, y0, x1, y1 in PDF points from the bottom left.
type Box struct {
	Word string     `json:"word"`
	X    int        `json:"x"`
	Y    int        `json:"y"`
	W    int        `json:"w"`
	H    int        `json:"h"`
	PDF  [4]float64 `json:"pdf"`
}

// ErrQuery is a query that cannot be run.
var ErrQuery = errors.New("search: bad query")

// Term is one part of a parsed query.
type Term struct {
	Words  []string // folded; several for a phrase
	Prefix bool
	Not    bool
}

// Parse splits a query into terms: words, "phrases", prefix* and -not.
func Parse(text string) ([]Term, error) {
	var terms []Term
	s := strings.TrimSpace(text)
	for s != "" {
		not := false
		if s[0] == '-' {
			not, s = true, s[1:]
		}
		var raw string
		if strings.HasPrefix(s, `"`) {
			end := strings.Index(s[1:], `"`)
			if end < 0 {
				raw, s = s[1:], ""
			} else {
				raw, s = s[1:1+end], s[2+end:]
			}
		} else {
			end := strings.IndexFunc(s, unicode.IsSpace)
			if end < 0 {
				end = len(s)
			}
			raw, s = s[:end], s[end:]
		}
		s = strings.TrimSpace(s)
		t := Term{Not: not, Prefix: strings.HasSuffix(raw, "*")}
		t.Words = Tokens(strings.TrimSuffix(raw, "*"))
		if len(t.Words) == 0 {
			continue
		}
		if len(t.Words) > 1 {
			t.Prefix = false
		}
		terms = append(terms, t)
	}
	pos := 0
	for _, t := range terms {
		if !t.Not {
			pos++
		}
	}
	if pos == 0 {
		return nil, fmt.Errorf("%w: %q has no word to look for", ErrQuery, text)
	}
	if len(terms) > 32 {
		return nil, fmt.Errorf("%w: more than 32 terms", ErrQuery)
	}
	return terms, nil
}

// Tokens folds s as the index does (lower case, without diacritics) and
// splits it into words at anything that is not a letter or digit.
func Tokens(s string) []string {
	return strings.FieldsFunc(Fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// Fold lowers s and removes its diacritics.
func Fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// Matches reports which of a page's words the terms match, by index.
func Matches(terms []Term, words []string) []int {
	var out []int
	for i, w := range words {
		toks := Tokens(w)
	word:
		for _, t := range terms {
			if t.Not {
				continue
			}
			for _, tok := range toks {
				for _, q := range t.Words {
					if tok == q || (t.Prefix && strings.HasPrefix(tok, q)) {
						out = append(out, i)
						break word
					}
				}
			}
		}
	}
	return out
}

// BoxOf converts a word's pixel box on a page to a Box.
func BoxOf(word string, r image.Rectangle, p Page) Box {
	b := Box{Word: word, X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy()}
	if p.Width > 0 && p.Height > 0 {
		sx, sy := p.WidthPt/float64(p.Width), p.HeightPt/float64(p.Height)
		b.PDF = [4]float64{round2(float64(r.Min.X) * sx), round2(p.HeightPt - float64(r.Max.Y)*sy),
			round2(float64(r.Max.X) * sx), round2(p.HeightPt - float64(r.Min.Y)*sy)}
	}
	return b
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// Config configures search.
type Config struct {
	// URL names the index: sqlite:///path/index.db, or
	// postgres://user@host:port/database (the catalog's database will do).
	// Empty: the embedded index under data_dir.
	URL string `yaml:"url"`
	// Enabled runs the index stage; off, nothing is indexed (and search
	// finds what was indexed before).
	Enabled bool `yaml:"enabled"`
}

var backends = registry.New[Index]("search index")

// Register makes a backend available under a URL scheme; backends call it
// from init.
func Register(scheme string, o registry.Opener[Index]) { backends.Register(scheme, o) }

// Open opens the index rawURL names.
func Open(ctx context.Context, rawURL string) (Index, error) { return backends.Open(ctx, rawURL) }

// Registered reports whether a backend serves rawURL's scheme.
func Registered(rawURL string) error { return backends.Registered(rawURL) }
