package search

import (
	"cmp"
	"encoding/binary"
	"image"
	"slices"
	"strings"
	"time"
	"unicode"
)

// EncodePage is how an index keeps a page's words: their text joined by
// spaces (a word's own spaces made no-break, so that the n-th word of the
// text is the n-th box) and their boxes as uvarints, four to a word.
func EncodePage(p Page) (text string, boxes []byte) {
	var b strings.Builder
	boxes = make([]byte, 0, len(p.Words)*8)
	for i, w := range p.Words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.Join(strings.Fields(w.Text), "\u00a0"))
		for _, v := range []int{w.Box.Min.X, w.Box.Min.Y, w.Box.Dx(), w.Box.Dy()} {
			boxes = binary.AppendUvarint(boxes, uint64(max(v, 0)))
		}
	}
	return b.String(), boxes
}

// HitBoxes finds the words of a page kept by EncodePage that the terms
// match, and their boxes.
func HitBoxes(terms []Term, text string, blob []byte, p Page) []Box {
	words := strings.Split(text, " ")
	var boxes []image.Rectangle
	for len(blob) > 0 && len(boxes) < len(words) {
		var v [4]int
		for k := range v {
			n, used := binary.Uvarint(blob)
			if used <= 0 {
				return nil
			}
			v[k], blob = int(n), blob[used:]
		}
		boxes = append(boxes, image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	var out []Box
	for _, i := range Matches(terms, words) {
		if i < len(boxes) && !boxes[i].Empty() {
			out = append(out, BoxOf(strings.ReplaceAll(words[i], "\u00a0", " "), boxes[i], p))
		}
	}
	return out
}

// SnippetWords is how many words a snippet shows.
const SnippetWords = 24

// Snippet is the stretch of a page kept by EncodePage (at most
// SnippetWords words) where the terms match most, the matched tokens
// marked, "…" where it is cut.
func Snippet(terms []Term, text string) []Fragment {
	words := strings.Split(text, " ")
	matched := Matches(terms, words)
	start := 0
	if len(matched) > 0 && len(words) > SnippetWords {
		best := -1
		for _, m := range matched {
			s := max(0, min(m-2, len(words)-SnippetWords))
			n := 0
			for _, o := range matched {
				if o >= s && o < s+SnippetWords {
					n++
				}
			}
			if n > best {
				best, start = n, s
			}
		}
	}
	end := min(start+SnippetWords, len(words))
	window := strings.ReplaceAll(strings.Join(words[start:end], " "), "\u00a0", " ")
	// The window's tokens (runs of letters and digits) and where they are.
	type token struct {
		from, to int
		folded   string
	}
	var toks []token
	for i := 0; i < len(window); {
		j := strings.IndexFunc(window[i:], isTokenRune)
		if j < 0 {
			break
		}
		k := strings.IndexFunc(window[i+j:], func(r rune) bool { return !isTokenRune(r) })
		if k < 0 {
			k = len(window) - i - j
		}
		if f := Tokens(window[i+j : i+j+k]); len(f) > 0 {
			toks = append(toks, token{i + j, i + j + k, f[0]})
		}
		i += j + k
	}
	// Each match of a term is one marked span: a word, or a phrase from
	// its first word to its last, as FTS5's snippet marks them.
	var spans [][2]int
	for _, t := range terms {
		if t.Not {
			continue
		}
		for i := range toks {
			n := len(t.Words)
			if i+n > len(toks) {
				break
			}
			ok := true
			for w, q := range t.Words {
				tok := toks[i+w].folded
				if tok != q && !(t.Prefix && strings.HasPrefix(tok, q)) {
					ok = false
					break
				}
			}
			if ok {
				spans = append(spans, [2]int{toks[i].from, toks[i+n-1].to})
			}
		}
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	var out []Fragment
	at := 0
	if start > 0 {
		out = append(out, Fragment{Text: "…"})
	}
	plain := func(s string) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && !out[n-1].Match {
			out[n-1].Text += s
			return
		}
		out = append(out, Fragment{Text: s})
	}
	for i := 0; i < len(spans); i++ {
		sp := spans[i]
		for i+1 < len(spans) && spans[i+1][0] < sp[1] { // overlapping matches are one
			sp[1] = max(sp[1], spans[i+1][1])
			i++
		}
		if sp[0] < at {
			continue
		}
		plain(window[at:sp[0]])
		out = append(out, Fragment{Text: window[sp[0]:sp[1]], Match: true})
		at = sp[1]
	}
	plain(window[at:])
	if end < len(words) {
		plain("…")
	}
	return out
}

func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// Scored is a matching page's id in an index, its rank (lower is better)
// and its bag.
type Scored struct {
	ID   int64
	Rank float64
	Bag  string
}

// Assemble makes the result of q from every page that matched (in the
// index's order, at most MaxTotal+1 of them): it counts, ranks, groups by
// document when asked, and reads the hits of the page of results shown
// with fetch, which returns them by id (their Score set here).
func Assemble(q Query, all []Scored, start time.Time, fetch func(ids []int64) (map[int64]Hit, error)) (*Result, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 20
	}
	res := &Result{Total: len(all)}
	if res.Total > MaxTotal {
		res.Total, res.TotalCapped, all = MaxTotal, true, all[:MaxTotal]
	}
	// Equal ranks in the index's order: a page of results and the next
	// never share or skip a hit, whatever order the engine returned them in.
	slices.SortFunc(all, func(a, b Scored) int { return cmp.Or(cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID)) })
	var ids []int64
	score := map[int64]float64{}
	// Bounds taken apart so that no sum can overflow, whatever the caller
	// passed (an offset near MaxInt once panicked here).
	if q.ByDocument {
		// Documents in the order of their best page; each keeps its
		// best pages. Offset and Limit count documents.
		var order []string
		groups := map[string]*DocHit{}
		best := map[string][]Scored{}
		for _, sc := range all {
			g := groups[sc.Bag]
			if g == nil {
				g = &DocHit{Bag: sc.Bag}
				groups[sc.Bag] = g
				order = append(order, sc.Bag)
			}
			g.Pages++
			if len(best[sc.Bag]) < PagesPerDoc {
				best[sc.Bag] = append(best[sc.Bag], sc)
			}
		}
		res.DocTotal = len(order)
		first := min(max(q.Offset, 0), len(order))
		for _, bag := range order[first : first+min(max(q.Limit, 0), len(order)-first)] {
			res.Docs = append(res.Docs, *groups[bag])
			for _, sc := range best[bag] {
				ids, score[sc.ID] = append(ids, sc.ID), sc.Rank
			}
		}
	} else {
		first := min(max(q.Offset, 0), len(all))
		for _, sc := range all[first : first+min(max(q.Limit, 0), len(all)-first)] {
			ids, score[sc.ID] = append(ids, sc.ID), sc.Rank
		}
	}
	if len(ids) > 0 {
		byID, err := fetch(ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if h, ok := byID[id]; ok {
				h.Score = score[id]
				res.Hits = append(res.Hits, h)
			}
		}
	}
	for i := range res.Docs { // the hits, in order, are the documents' best pages
		d := &res.Docs[i]
		for _, h := range res.Hits {
			if h.Bag == d.Bag {
				d.Title = h.Title
				d.Hits = append(d.Hits, h)
			}
		}
	}
	res.Took = time.Since(start)
	return res, nil
}
