// Command cer prints the character error rate of OCR text against the
// text known to be on the pages, for the benchmarks: the edit distance
// (Levenshtein, over characters) divided by the length of the known text,
// whitespace runs counted as one space. Pages are separated by form feeds
// in both files (as pdftotext and strongroom's text write them) and
// compared page by page, so that a page read out of order costs that
// page only. Usage: go run ./scripts/cer KNOWN OCR
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cer KNOWN OCR")
		os.Exit(2)
	}
	known, err := pages(os.Args[1])
	if err != nil {
		fatal(err)
	}
	got, err := pages(os.Args[2])
	if err != nil {
		fatal(err)
	}
	var edits, chars int
	for i, k := range known {
		g := ""
		if i < len(got) {
			g = got[i]
		}
		edits += distance([]rune(k), []rune(g))
		chars += len([]rune(k))
	}
	if chars == 0 {
		fatal(fmt.Errorf("%s: no known text", os.Args[1]))
	}
	fmt.Printf("%.4f %d %d\n", float64(edits)/float64(chars), edits, chars)
}

func pages(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	ps := strings.Split(strings.TrimRight(string(b), "\f\n"), "\f")
	for i, p := range ps {
		ps[i] = strings.Join(strings.Fields(p), " ")
	}
	return ps, nil
}

// distance is the Levenshtein distance of a and b in two rows.
func distance(a, b []rune) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "cer:", err)
	os.Exit(1)
}
