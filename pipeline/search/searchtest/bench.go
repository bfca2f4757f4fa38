package searchtest

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

// BenchPages is how many pages a benchmark indexes
// (STRONGROOM_BENCH_PAGES, default 100,000); it skips t unless
// STRONGROOM_BENCH is set (scripts/bench-search, scripts/bench-catalog).
func BenchPages(t *testing.T) int {
	if os.Getenv("STRONGROOM_BENCH") == "" {
		t.Skip("a benchmark: scripts/bench-search, scripts/bench-catalog")
	}
	n := 100_000
	if s := os.Getenv("STRONGROOM_BENCH_PAGES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	return n
}

// Bench is scripts/bench-search's measure of an index x: it indexes n
// generated pages (~300 words each from a 60,000-word vocabulary with a
// Zipf frequency curve, as in running text) in bags of 100 pages, and
// reports indexing throughput, the size on disk (size) and query latency
// percentiles for rare and common words, 1-, 2- and 3-word queries and
// phrases. Both indexes run the same pages and queries.
func Bench(t *testing.T, x search.Index, n int, size func() int64) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 60_000)
	for i := range vocab {
		vocab[i] = pseudoWord(r, i)
	}
	zipf := rand.NewZipf(r, 1.07, 2, uint64(len(vocab)-1))
	var samplePhrases []string
	start := time.Now()
	const perBag = 100
	words := 0
	for b := 0; b*perBag < n; b++ {
		pages := make([]search.Page, 0, perBag)
		for p := 0; p < perBag && b*perBag+p < n; p++ {
			pg := search.Page{File: "data/access/book.pdf", N: p + 1, Width: 2480, Height: 3508, WidthPt: 595, HeightPt: 842}
			count := 250 + r.IntN(100)
			for i := range count {
				w := vocab[zipf.Uint64()]
				x, y := 150+(i%12)*180, 200+(i/12)*110
				pg.Words = append(pg.Words, search.Word{Text: w, Box: image.Rect(x, y, x+160, y+60)})
			}
			words += count
			if r.IntN(2000) == 0 || len(samplePhrases) == 0 {
				k := r.IntN(count - 3)
				samplePhrases = append(samplePhrases, pg.Words[k].Text+" "+pg.Words[k+1].Text+" "+pg.Words[k+2].Text)
			}
			pages = append(pages, pg)
		}
		meta := catalog.Metadata{Access: catalog.AccessLevels[b%3], Collection: "c" + strconv.Itoa(b%7)}
		if err := x.PutBag(ctx, search.Doc{Bag: fmt.Sprintf("bag-%06d", b), Title: "Book " + strconv.Itoa(b), Meta: meta}, pages); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	total := size()
	fmt.Printf("indexed %d pages (%d words) in %s: %.0f pages/s; index %.1f MiB (%.0f bytes/page)\n",
		n, words, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(total)/(1<<20), float64(total)/float64(n))

	rare := func() string { return vocab[20_000+r.IntN(30_000)] }
	common := func() string { return vocab[r.IntN(50)] }
	mid := func() string { return vocab[200+r.IntN(2000)] }
	open := []catalog.AccessLevel{catalog.AccessOpen}
	for _, c := range []struct {
		name  string
		query func() string
		acc   []catalog.AccessLevel
	}{
		{"1 rare word", rare, nil},
		{"1 common word", common, nil},
		{"1 common word, anonymous (open only)", common, open},
		{"2 words: common + mid", func() string { return common() + " " + mid() }, nil},
		{"2 rare words", func() string { return rare() + " " + rare() }, nil},
		{"3 words: common mid mid", func() string { return common() + " " + mid() + " " + mid() }, nil},
		{"phrase of 3 (from a page)", func() string { return `"` + samplePhrases[r.IntN(len(samplePhrases))] + `"` }, nil},
		{"prefix of a mid word", func() string { return mid()[:3] + "*" }, nil},
	} {
		var lat []time.Duration
		hits := 0
		for range 200 {
			s := time.Now()
			res, err := x.Search(ctx, search.Query{Text: c.query(), Access: c.acc, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(s))
			hits += res.Total
		}
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[int(math.Ceil(p*float64(len(lat))))-1].Microseconds()) / 1000
		}
		fmt.Printf("%-38s p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  (mean %d pages matched)\n", c.name, pct(.5), pct(.95), pct(.99), hits/200)
	}
}

// pseudoWord makes the i-th word of a vocabulary: pronounceable, 2–12
// letters, common words short as in real text.
func pseudoWord(r *rand.Rand, i int) string {
	cons, vows := "bcdfghklmnprstvwz", "aeiou"
	n := 2 + int(math.Log2(float64(i+2))/1.6) + r.IntN(3)
	var b strings.Builder
	for k := range n {
		if k%2 == 0 {
			b.WriteByte(cons[r.IntN(len(cons))])
		} else {
			b.WriteByte(vows[r.IntN(len(vows))])
		}
	}
	return b.String() + strconv.Itoa(i%10) // unique enough: vocabularies collide in short words
}
