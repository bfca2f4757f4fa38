// Package searchtest is the suite every search index passes (search.Index):
// the same queries over the same pages give the same hits, boxes and
// snippets, whatever holds them (the embedded FTS5 index, fts; PostgreSQL's,
// pgfts).
package searchtest

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

// Opener returns a new, empty index for a test; it closes it when the
// test ends.
type Opener func(t *testing.T) search.Index

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Search", testSearch},
		{"HitBoxesAndSnippet", testHitBoxesAndSnippet},
		{"ReplaceAndDelete", testReplaceAndDelete},
		{"ByDocument", testByDocument},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open) })
	}
}

// Page is page n of file with text, its words laid out ten to a line.
func Page(file string, n int, text string) search.Page {
	p := search.Page{File: file, N: n, Width: 2480, Height: 3508, WidthPt: 595.2, HeightPt: 841.92}
	for i, w := range strings.Fields(text) {
		x := 100 + 200*(i%10)
		y := 100 + 80*(i/10)
		p.Words = append(p.Words, search.Word{Text: w, Box: image.Rect(x, y, x+150, y+50)})
	}
	return p
}

// Seed puts the suite's three bags into x.
func Seed(t *testing.T, x search.Index) {
	t.Helper()
	ctx := context.Background()
	docs := []struct {
		doc   search.Doc
		pages []search.Page
	}{
		{search.Doc{Bag: "b1", Title: "Parish register", Formats: []string{"image/tiff"},
			Meta: catalog.Metadata{Collection: "parish", Station: "s1", Date: "1843", Access: catalog.AccessOpen}},
			[]search.Page{Page("data/access/reg.pdf", 1, "Baptisms in the parish of Sankt Gallen"), Page("data/access/reg.pdf", 2, "Johann Müller, weaver, married Anna Zoë Keller in 1843.")}},
		{search.Doc{Bag: "b2", Title: "Ledger", Formats: []string{"application/pdf"},
			Meta: catalog.Metadata{Collection: "trade", Station: "s2", Date: "1901", Access: catalog.AccessRestricted}},
			[]search.Page{Page("data/original/ledger.pdf", 1, "Weaving mill accounts: wool, cotton and archival boxes")}},
		{search.Doc{Bag: "b3", Title: "Adoption files", Formats: []string{"image/tiff"},
			Meta: catalog.Metadata{Collection: "parish", Access: catalog.AccessOpen, EmbargoUntil: "2099-01-01"}},
			[]search.Page{Page("data/access/adopt.pdf", 1, "Keller family adoption archive")}},
	}
	for _, d := range docs {
		if err := x.PutBag(ctx, d.doc, d.pages); err != nil {
			t.Fatal(err)
		}
	}
}

func seeded(t *testing.T, open Opener) search.Index {
	x := open(t)
	Seed(t, x)
	return x
}

// Hits names a result's hits bag/page, in order.
func Hits(r *search.Result) string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.Bag+"/"+string(rune('0'+h.Page)))
	}
	return strings.Join(out, " ")
}

func testSearch(t *testing.T, open Opener) {
	x := seeded(t, open)
	ctx := context.Background()
	anon := []catalog.AccessLevel{catalog.AccessOpen}
	for _, c := range []struct {
		name string
		q    search.Query
		want string
	}{
		{"word", search.Query{Text: "weaver"}, "b1/2"},
		{"diacritics folded", search.Query{Text: "muller zoe"}, "b1/2"},
		{"diacritics in the query", search.Query{Text: "Müller"}, "b1/2"},
		{"two words on different pages do not match", search.Query{Text: "baptisms weaver"}, ""},
		{"phrase", search.Query{Text: `"anna zoe keller"`}, "b1/2"},
		{"phrase out of order", search.Query{Text: `"keller anna"`}, ""},
		{"prefix", search.Query{Text: "weav*"}, "b1/2 b2/1"},
		{"not", search.Query{Text: "keller -adoption"}, "b1/2"},
		{"collection", search.Query{Text: "keller", Collection: "parish"}, "b1/2 b3/1"},
		{"year", search.Query{Text: "keller", Year: 1843}, "b1/2"},
		{"format", search.Query{Text: "wool", Format: "application/pdf"}, "b2/1"},
		{"format elsewhere", search.Query{Text: "wool", Format: "image/tiff"}, ""},
		{"only", search.Query{Text: "keller", Only: []string{"b3"}}, "b3/1"},
		{"except", search.Query{Text: "keller", Except: []string{"b3"}}, "b1/2"},
		{"anonymous: open only", search.Query{Text: "weav*", Access: anon}, "b1/2"},
		{"nothing allowed", search.Query{Text: "keller", Access: []catalog.AccessLevel{}}, ""},
		{"embargo hides", search.Query{Text: "keller", EmbargoAt: time.Now().Format(time.DateOnly)}, "b1/2"},
		{"embargo over", search.Query{Text: "keller", EmbargoAt: "2099-01-01"}, "b1/2 b3/1"},
		{"FTS5 syntax is only text", search.Query{Text: `NEAR(keller anna) OR title:x`}, ""},
	} {
		r, err := x.Search(ctx, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := Hits(r)
		if c.name == "collection" || c.name == "prefix" || c.name == "embargo over" { // same rank: order by bag
			f := strings.Fields(got)
			if len(f) == 2 && f[0] > f[1] {
				got = f[1] + " " + f[0]
			}
		}
		if got != c.want || r.Total != len(r.Hits) {
			t.Errorf("%s: %q (total %d), want %q", c.name, got, r.Total, c.want)
		}
	}
	for _, bad := range []string{"", "   ", "-only", `""`, "*"} {
		if _, err := x.Search(ctx, search.Query{Text: bad}); !errors.Is(err, search.ErrQuery) {
			t.Errorf("query %q: %v, want ErrQuery", bad, err)
		}
	}
}

func testHitBoxesAndSnippet(t *testing.T, open Opener) {
	x := seeded(t, open)
	r, err := x.Search(context.Background(), search.Query{Text: "muller keller"})
	if err != nil || len(r.Hits) != 1 {
		t.Fatalf("%v %v", r, err)
	}
	h := r.Hits[0]
	if h.Title != "Parish register" || h.File != "data/access/reg.pdf" || h.Page != 2 {
		t.Errorf("hit: %+v", h)
	}
	var marked []string
	for _, f := range h.Snippet {
		if f.Match {
			marked = append(marked, f.Text)
		}
	}
	if strings.Join(marked, ",") != "Müller,Keller" {
		t.Errorf("snippet %+v", h.Snippet)
	}
	// "Müller," is word 1, "Keller" word 6: boxes as the page() layout put them.
	if len(h.Boxes) != 2 || h.Boxes[0].Word != "Müller," || h.Boxes[0].X != 300 || h.Boxes[0].Y != 100 || h.Boxes[1].X != 1300 {
		t.Fatalf("boxes %+v", h.Boxes)
	}
	// 300 px of a 2480-pixel page 595.2 pt wide is 72 pt; y from the bottom.
	if b := h.Boxes[0].PDF; b[0] != 72 || b[2] != 108 || b[3] != 817.92 || b[1] != 805.92 {
		t.Errorf("PDF box %v", b)
	}
}

func testReplaceAndDelete(t *testing.T, open Opener) {
	x := seeded(t, open)
	ctx := context.Background()
	if err := x.PutBag(ctx, search.Doc{Bag: "b1", Title: "Parish register v2", Meta: catalog.Metadata{Access: catalog.AccessOpen}},
		[]search.Page{Page("data/access/reg.pdf", 1, "rewritten text")}); err != nil {
		t.Fatal(err)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "weaver"}); len(r.Hits) != 0 {
		t.Errorf("old pages still found: %s", Hits(r))
	}
	if r, _ := x.Search(ctx, search.Query{Text: "rewritten"}); len(r.Hits) != 1 || r.Hits[0].Title != "Parish register v2" {
		t.Errorf("new pages: %+v", r)
	}
	// A correction to the description changes what filters see.
	if err := x.SetDoc(ctx, search.Doc{Bag: "b1", Title: "Register", Meta: catalog.Metadata{Access: catalog.AccessClosed}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "rewritten", Access: []catalog.AccessLevel{catalog.AccessOpen}}); len(r.Hits) != 0 {
		t.Errorf("closed after correction, still found: %s", Hits(r))
	}
	if err := x.DeleteBag(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "rewritten"}); len(r.Hits) != 0 {
		t.Errorf("deleted bag found: %s", Hits(r))
	}
}

// testByDocument: a reader looks for a document, then for the page in
// it: "sequencer" gave 43 hits, 18 of the first 20 from one book. Grouped,
// each document comes once, with how many of its pages match and its best
// pages; paging counts documents; Bag searches within one.
func testByDocument(t *testing.T, open Opener) {
	x := seeded(t, open)
	ctx := context.Background()
	var pages []search.Page
	for i := range 6 {
		pages = append(pages, Page("data/access/book.pdf", i+1, fmt.Sprintf("weaver page %d of the guild book", i+1)))
	}
	if err := x.PutBag(ctx, search.Doc{Bag: "b4", Title: "Guild book", Meta: catalog.Metadata{Access: catalog.AccessOpen}}, pages); err != nil {
		t.Fatal(err)
	}
	r, err := x.Search(ctx, search.Query{Text: "weav*", ByDocument: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]search.DocHit{}
	for _, d := range r.Docs {
		docs[d.Bag] = d
	}
	if r.DocTotal != 3 || r.Total != 8 || len(r.Docs) != 3 {
		t.Fatalf("docs %d of %d, pages %d: %+v", len(r.Docs), r.DocTotal, r.Total, r.Docs)
	}
	if g := docs["b4"]; g.Pages != 6 || len(g.Hits) != search.PagesPerDoc || g.Title != "Guild book" || len(g.Hits[0].Snippet) == 0 {
		t.Errorf("the guild book: %d pages, %d shown, %q", g.Pages, len(g.Hits), g.Title)
	}
	if g := docs["b2"]; g.Pages != 1 || len(g.Hits) != 1 {
		t.Errorf("the ledger: %+v", g)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "weav*", ByDocument: true, Offset: 2, Limit: 2}); len(r.Docs) != 1 || r.DocTotal != 3 {
		t.Errorf("second page of documents: %d of %d", len(r.Docs), r.DocTotal)
	}
	if r, _ := x.Search(ctx, search.Query{Text: "weaver", Bag: "b4", Limit: 50}); r.Total != 6 || Hits(r) == "" || strings.Contains(Hits(r), "b1") {
		t.Errorf("within b4: %d pages: %s", r.Total, Hits(r))
	}
}
