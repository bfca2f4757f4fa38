package quality

import (
	"strings"
	"testing"
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
