package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

func TestNaturalCompare(t *testing.T) {
	for _, want := range [][]string{
		{"scan 1.png", "scan 2.png", "scan 3.png", "scan 10.png", "scan 11.png"},
		{"IMG_9.jpg", "IMG_10.jpg", "img_11.jpg", "IMG_100.jpg"},
		{"Scan (2).jpg", "Scan (10).jpg", "Scan (11).jpg"},
		{"page (1).tif", "Page (2).tif", "page (10).tif"},
		{"p1.tif", "p01.tif", "p001.tif", "p2.tif"},
		{"a.tif", "a1.tif", "a2.tif", "b.tif"},
		{"vol2/p9.tif", "vol2/p10.tif", "vol10/p1.tif"},
		{"0001.tif", "0002.tif", "0010.tif", "0100.tif"},
		{"x99999999999999999999998.tif", "x99999999999999999999999.tif", "x100000000000000000000000.tif"},
		{"Äpfel 2.tif", "äpfel 10.tif"},
	} {
		got := slices.Clone(want)
		slices.Reverse(got)
		slices.SortFunc(got, naturalCompare)
		if !slices.Equal(got, want) {
			t.Errorf("sorted %q, want %q", got, want)
		}
		for i := range want {
			if naturalCompare(want[i], want[i]) != 0 {
				t.Errorf("%q does not equal itself", want[i])
			}
		}
	}
}

// TestPageOrder is the scanning floor's first complaint: a batch of
// scan 1, 2, 3, 10, 11 became an access copy reading 1, 10, 11, 2, 3
// (names compared as text), so search called scan 10 "page 2". Each page
// here has its own width, so the access copy's page sizes tell its order.
// A metadata.csv that lists the files gives its own order instead.
func TestPageOrder(t *testing.T) {
	testenv.Tool(t, "pdfinfo")
	testenv.Tool(t, "qpdf")
	te := accessEnv(t)
	nums := []int{1, 2, 3, 10, 11}
	book := func(name, csv string) string {
		dir := filepath.Join(te.hot, name)
		for _, n := range nums {
			put(t, filepath.Join(dir, fmt.Sprintf("scan %d.png", n)), pngBytes(t, 100*n, 120))
		}
		if csv != "" {
			put(t, filepath.Join(dir, "metadata.csv"), []byte(csv))
		}
		return dir
	}
	for _, c := range []struct {
		name, csv string
		want      []int
		says      string
	}{
		{"book", "", nums, "natural order of their file names"},
		{"given", "filename,title,creator,order\nobjects/,Ledger of Kirkwall,Harbour Office,\nobjects/scan 11.png,,,1\nobjects/scan 2.png,,,2\nobjects/scan 10.png,,,3\n",
			[]int{11, 2, 10, 1, 3}, "order metadata.csv gives"},
	} {
		t.Run(c.name, func(t *testing.T) {
			it := te.ingest(t, book(c.name, c.csv))
			if it.Stage != catalog.StageDone {
				t.Fatalf("%s: %s", it.Stage, it.LastError)
			}
			pdf := filepath.Join(te.storeDir, it.BagID, "data", "access", c.name+".pdf")
			info := run(t, "pdfinfo", "-f", "1", "-l", "99", pdf)
			var got []int
			for _, m := range regexp.MustCompile(`Page +\d+ size: +([\d.]+) x`).FindAllStringSubmatch(info, -1) {
				w, _ := strconv.ParseFloat(m[1], 64)
				got = append(got, int(w*300/72/100+0.5)) // points at 300 dpi back to the scan's number
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("pages of the access copy are scans %v, want %v", got, c.want)
			}
			// Each page is labelled with its scan's name (/PageLabels), as
			// qpdf reads them.
			labels := run(t, "qpdf", "--json", "--json-key=pagelabels", pdf)
			for i, n := range c.want {
				if !regexp.MustCompile(fmt.Sprintf(`"index": %d,\s*"label": \{\s*"/P": "u:scan %d\.png"`, i, n)).MatchString(labels) {
					t.Errorf("page %d is not labelled scan %d.png:\n%s", i+1, n, labels)
					break
				}
			}
			// The access PDF is described as the item is (issue 27 item 7):
			// its title, else the folder's name, and its creator.
			title, author := "book", ""
			if c.csv != "" {
				title, author = "Ledger of Kirkwall", "Harbour Office"
			}
			if !regexp.MustCompile(`(?m)^Title: +`+title+`$`).MatchString(info) || author != "" && !regexp.MustCompile(`(?m)^Author: +`+author+`$`).MatchString(info) {
				t.Errorf("access PDF's description, want title %q, author %q:\n%s", title, author, info)
			}
			evs, _ := te.cat.Events(context.Background(), it.ID)
			said := false
			for _, e := range evs {
				said = said || e.Type == catalog.EvNormalization && strings.Contains(e.Detail, c.says)
			}
			if !said {
				t.Errorf("no normalization event says %q", c.says)
			}
		})
	}
}

// TestProgress: a book's access copy says how it goes, page by page (the
// engine's record for the API, a hook for the ingest command's terminal
// line), in order, with the time left; the record ends with the step.
func TestProgress(t *testing.T) {
	te := accessEnv(t)
	var logged bytes.Buffer
	te.Log = slog.New(slog.NewTextHandler(&logged, nil))
	every := progressEvery
	progressEvery = 0 // each page in the log, not every 5 s
	t.Cleanup(func() { progressEvery = every })
	var mu sync.Mutex
	var seen []catalog.Progress
	te.OnProgress = func(id string, p catalog.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if now, ok := te.Progress(id); !ok || now.Done != p.Done {
			t.Errorf("the engine's record %+v %v while told %+v", now, ok, p)
		}
		seen = append(seen, p)
	}
	dir := filepath.Join(te.hot, "book")
	for i := range 5 {
		put(t, filepath.Join(dir, fmt.Sprintf("p%d.png", i)), pngBytes(t, 40+i, 30))
	}
	it := te.ingest(t, dir)
	if it.Stage != catalog.StageDone {
		t.Fatalf("%s: %s", it.Stage, it.LastError)
	}
	for i, p := range seen {
		if p.Done != i+1 || p.Total != 5 || p.Stage != catalog.StageNormalise || p.Left < 0 {
			t.Errorf("progress %d: %+v", i, p)
		}
	}
	if len(seen) != 5 {
		t.Errorf("told %d times, want 5", len(seen))
	}
	if p, ok := te.Progress(it.ID); ok {
		t.Errorf("a progress record outlives its step: %+v", p)
	}
	if !strings.Contains(logged.String(), `msg="pages made"`) || !strings.Contains(logged.String(), "done=4 of=5 left=") {
		t.Errorf("the log does not say how the pages go:\n%s", logged.String())
	}
}
