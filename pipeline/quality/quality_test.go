package quality

import (
	"maps"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/pagehash"
)

func TestAssess(t *testing.T) {
	cfg := Config{MinDPI: 300, WordConfidence: 60, Warn: 0.1, Fail: 0.5}
	good := Page{DPI: 300, Words: 100, Doubtful: 0.05}
	for _, c := range []struct {
		name    string
		cfg     Config
		pages   []Page
		verdict Verdict
		summary string
	}{
		{"all good", cfg, []Page{good, good}, Pass, "pass: 0 of 2 pages"},
		{"one low of ten", cfg, append(nine(good), Page{DPI: 200, Words: 50}), Warn, "1 under the resolution asked for"},
		{"half blank", cfg, []Page{good, {DPI: 300, Blank: true}}, Fail, "1 blank"},
		{"doubtful words", cfg, []Page{{DPI: 300, Words: 10, Doubtful: 0.8}}, Fail, "1 mostly doubtful words"},
		{"resolution not recorded: not judged", cfg, []Page{{DPI: 72, DPIAssumed: true, Words: 5}}, Pass, "0 of 1"},
		{"no thresholds", Config{}, []Page{{DPI: 10, Blank: true}}, Pass, "1 of 1"},
	} {
		r := Assess(c.cfg, c.pages)
		if r.Verdict != c.verdict || !strings.Contains(r.Summary, c.summary) {
			t.Errorf("%s: %s %q", c.name, r.Verdict, r.Summary)
		}
	}
	// A page scanned twice: hashes a few bits apart, the same words; a
	// page of the same layout with other words is not one; nor are two
	// blank pages; a picture without words is judged by its image.
	cfg.DuplicateBits, cfg.MaxSkew = 8, 2
	text := func(s string) []uint32 { return pagehash.Bigrams(strings.Fields(s)) }
	page1 := text("the harbour ledger of kirkwall recorded cargoes of herring wool salt timber barley whisky lamp oil")
	page2 := text("tar rope iron nails were landed at the pier in the spring of the year and sold at the fair")
	pages := []Page{
		{Source: "b/p1.tif", Page: 1, DPI: 300, Words: 15, Hash: "f0f0f0f0f0f0f0f0", Bigrams: page1},
		{Source: "b/p2.tif", Page: 1, DPI: 300, Words: 19, Hash: "f0f0f0f0f0f0f0f1", Bigrams: page2},
		{Source: "b/p3.tif", Page: 1, DPI: 300, Words: 15, Hash: "f0f0f0f0f0f0f0f3", Bigrams: page1},
		{Source: "b/p4.tif", Page: 1, DPI: 300, Hash: "0123456789abcdef"},
		{Source: "b/p5.tif", Page: 1, DPI: 300, Hash: "0123456789abcdee"},
		{Source: "b/p6.tif", Page: 1, DPI: 300, Blank: true, Hash: "ffffffffffffffff"},
		{Source: "b/p7.tif", Page: 1, DPI: 300, Blank: true, Hash: "ffffffffffffffff"},
		{Source: "b/p8.tif", Page: 1, DPI: 300, Words: 40, Skew: -3.4, Hash: "1111111111111111", Bigrams: text("a b c d e f")},
		// Two pages alike but for their page number: not a second scan.
		{Source: "b/p9.tif", Page: 1, DPI: 300, Words: 20, Hash: "2222222222222222", Bigrams: text("minutes of the vestry meeting page 1 the churchwardens reported the roof repaired at a cost of twelve pounds")},
		{Source: "b/p10.tif", Page: 1, DPI: 300, Words: 20, Hash: "2222222222222222", Bigrams: text("minutes of the vestry meeting page 2 the churchwardens reported the roof repaired at a cost of twelve pounds")},
	}
	r := Assess(cfg, pages)
	got := map[string]string{}
	for _, p := range r.Pages {
		got[p.Source] = p.NearDuplicateOf
	}
	want := map[string]string{"b/p1.tif": "", "b/p2.tif": "", "b/p3.tif": "b/p1.tif page 1", "b/p4.tif": "", "b/p5.tif": "b/p4.tif page 1", "b/p6.tif": "", "b/p7.tif": "", "b/p8.tif": "",
		"b/p9.tif": "", "b/p10.tif": ""}
	if !maps.Equal(got, want) {
		t.Errorf("near duplicates %v, want %v", got, want)
	}
	if p := r.Pages[7]; len(p.Problems) != 1 || !strings.Contains(p.Problems[0], "skewed -3.4°") {
		t.Errorf("a page skewed 3.4°: problems %q", p.Problems)
	}
	if !strings.Contains(r.Summary, "2 scanned twice, it seems") || !strings.Contains(r.Summary, "1 skewed") {
		t.Errorf("summary %q", r.Summary)
	}
	if (Config{MinDPI: 300, WordConfidence: 60, Warn: 0.6, Fail: 0.5}).Validate() == nil {
		t.Error("warn above fail accepted")
	}
}

func nine(p Page) []Page {
	out := make([]Page, 9)
	for i := range out {
		out[i] = p
	}
	return out
}

func TestIsBlank(t *testing.T) {
	if !IsBlank(0, 2480, 3508, 3000) || IsBlank(3, 2480, 3508, 3000) || IsBlank(0, 2480, 3508, 900_000) {
		t.Error("blank: a white A4 page at 300 dpi in 3 kB is blank; one with words or 900 kB of image is not")
	}
}
