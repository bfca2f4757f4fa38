package pipeline

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// naturalCompare orders names as a person reads them: runs of digits
// compare as numbers (scan 2 before scan 10, IMG_9 before IMG_10, page
// (2) before page (10)), the rest without regard to case; names equal so
// far are then ordered by fewer leading zeros, and last byte by byte, so
// the order is total and the same on every machine. Scanner software and
// phones write unpadded numbers all the time.
func naturalCompare(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		if isDigit(x[0]) && isDigit(y[0]) {
			dx, dy := digitRun(x), digitRun(y)
			nx, ny := strings.TrimLeft(x[:dx], "0"), strings.TrimLeft(y[:dy], "0")
			if c := cmp.Compare(len(nx), len(ny)); c != 0 {
				return c
			}
			if c := strings.Compare(nx, ny); c != 0 {
				return c
			}
			x, y = x[dx:], y[dy:]
			continue
		}
		rx, sx := utf8.DecodeRuneInString(x)
		ry, sy := utf8.DecodeRuneInString(y)
		if c := cmp.Compare(unicode.ToLower(rx), unicode.ToLower(ry)); c != 0 {
			return c
		}
		x, y = x[sx:], y[sy:]
	}
	if c := cmp.Compare(len(x), len(y)); c != 0 {
		return c // a name that is a prefix of the other comes first
	}
	if c := cmp.Compare(zeros(a), zeros(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

// zeros counts the leading zeros of the name's digit runs: "p01" and "p1"
// compare equal as numbers; the unpadded one comes first.
func zeros(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) && (i == 0 || !isDigit(s[i-1])) {
			for j := i; j < len(s)-1 && s[j] == '0' && isDigit(s[j+1]); j++ {
				n++
			}
		}
	}
	return n
}

// pageOrder puts a batch's page sources in reading order and says which
// order that is, for the normalization event: the order a metadata file of
// the batch gives (rows naming the files, taken in row order, or by an
// "order" column), else the natural order of the names. Files the
// metadata does not name follow those it does, in natural order. A single
// file keeps its own page order.
func (e *Engine) pageOrder(it *catalog.Item, files []catalog.File, sources []access.Source) ([]access.Source, string, []catalog.Event) {
	natural := func(a, b access.Source) int { return naturalCompare(a.Name, b.Name) }
	if len(sources) < 2 {
		return sources, "", nil
	}
	slices.SortStableFunc(sources, natural)
	said := "pages in the natural order of their file names (numbers compared as numbers)"
	if it.Kind != catalog.KindBatch {
		return sources, said, nil
	}
	prefix := "original/" + it.Name + "/"
	for _, name := range metadataFiles {
		p := prefix + name
		if !hasFile(files, p) {
			continue
		}
		rows, err := readMetadataRows(e.workFile(it, p))
		if err != nil {
			continue // describe warns of a file it cannot read
		}
		rank, err := givenOrder(rows, it.Name)
		if err != nil {
			ev := catalog.Event{File: p, Type: catalog.EvIngestion, Outcome: catalog.OutcomeWarning, Agent: e.Agent, At: e.Now(),
				Detail: fmt.Sprintf("page order not read: %v; %s", err, said)}
			return sources, said, []catalog.Event{ev}
		}
		if len(rank) == 0 {
			continue
		}
		slices.SortStableFunc(sources, func(a, b access.Source) int {
			ra, oka := rank[strings.TrimPrefix(a.Name, prefix)]
			rb, okb := rank[strings.TrimPrefix(b.Name, prefix)]
			switch {
			case oka && okb:
				return cmp.Compare(ra, rb)
			case oka != okb: // named ones first
				if oka {
					return -1
				}
				return 1
			}
			return natural(a, b)
		})
		return sources, "pages in the order " + name + " gives them", nil
	}
	return sources, said, nil
}

// givenOrder reads the page order from a metadata file's rows: each row
// with a filename (relative to the batch folder; Archivematica's
// "objects/" prefix and the folder's own name are allowed) ranks that file
// by its row, or by its "order" column when the rows have one. Rows about
// the whole folder are not pages.
func givenOrder(rows []map[string]string, folder string) (map[string]float64, error) {
	rank := map[string]float64{}
	for i, r := range rows {
		f := strings.TrimPrefix(strings.TrimPrefix(r["filename"], "objects/"), folder+"/")
		switch strings.TrimSuffix(f, "/") {
		case "", ".", "objects", folder:
			continue
		}
		f = path.Clean(f)
		n := float64(i)
		if o := strings.TrimSpace(r["order"]); o != "" {
			v, err := strconv.ParseFloat(o, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: order %q is not a number", f, o)
			}
			n = v
		}
		if _, dup := rank[f]; dup {
			return nil, fmt.Errorf("%s is listed twice", f)
		}
		rank[f] = n
	}
	return rank, nil
}
