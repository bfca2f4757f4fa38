package search

import (
	"fmt"
	"strings"
	"testing"
)

// TestSnippet: the stretch shown is where the terms match most, marked as
// FTS5's snippet marks it (a phrase as one span, punctuation inside it),
// with "…" where the page goes on.
func TestSnippet(t *testing.T) {
	var long []string
	for i := range 60 {
		long = append(long, fmt.Sprintf("w%d", i))
	}
	long[40], long[41], long[44] = "Anna", "Zoë,", "Keller"
	for _, c := range []struct {
		name, query, text, want string
	}{
		{"word", "weaver", "Johann Müller, weaver, married", "Johann Müller, [weaver], married"},
		{"folded", "muller", "Johann Müller, weaver", "Johann [Müller], weaver"},
		{"phrase is one span", `"cousin the weaver07" dear*`, "Dear cousin, the weaver07 sends wool", "[Dear] [cousin, the weaver07] sends wool"},
		{"prefix", "weav*", "weaver weaving wove", "[weaver] [weaving] wove"},
		{"not is not marked", "anna -keller", "Anna Keller", "[Anna] Keller"},
		{"no-break space inside a word", "zoe", "Anna\u00a0Zoë Keller", "Anna [Zoë] Keller"},
		{"window where most match", `anna zoe keller`, strings.Join(long, " "), "…w36 w37 w38 w39 [Anna] [Zoë], w42 w43 [Keller] w45 w46 w47 w48 w49 w50 w51 w52 w53 w54 w55 w56 w57 w58 w59"},
		{"start of a long page", "w1", strings.Join(long, " "), "w0 [w1] w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21 w22 w23…"},
	} {
		terms, err := Parse(c.query)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, f := range Snippet(terms, c.text) {
			if f.Match {
				b.WriteString("[" + f.Text + "]")
			} else {
				b.WriteString(f.Text)
			}
		}
		if b.String() != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, b.String(), c.want)
		}
	}
}
