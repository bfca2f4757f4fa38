package access

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
)

// TestBenchOCR is the OCR benchmark (scripts/bench-ocr runs it; it is a
// table of wall times, sizes and error rates, not a pass/fail test): on the
// same rendered pages with known text, our access copy against plain
// `tesseract PAGE out pdf` (the floor: OCR itself) and against
// `ocrmypdf --output-type pdfa-2 --jobs N`, with the same parallelism.
func TestBenchOCR(t *testing.T) {
	if os.Getenv("STRONGROOM_BENCH") == "" {
		t.Skip("set STRONGROOM_BENCH=1 (scripts/bench-ocr)")
	}
	n, _ := strconv.Atoi(os.Getenv("STRONGROOM_BENCH_PAGES"))
	if n == 0 {
		n = 8
	}
	workers := 2
	if w, _ := strconv.Atoi(os.Getenv("STRONGROOM_BENCH_WORKERS")); w > 0 {
		workers = w
	}
	dir := t.TempDir()
	var pages []string
	var known []string
	for i := range n {
		var lines []string
		for j := range 24 {
			lines = append(lines, testpage.Text[(i+j)%len(testpage.Text)])
		}
		known = append(known, strings.Join(lines, "\n"))
		img := testpage.Render(lines, testpage.Options{DPI: 300, PointSize: 11, SkewDeg: 0.5, Noise: 0.001, Seed: uint64(i)})
		var b bytes.Buffer
		png.Encode(&b, img)
		p := filepath.Join(dir, fmt.Sprintf("page-%02d.png", i))
		os.WriteFile(p, b.Bytes(), 0o644)
		pages = append(pages, p)
	}
	want := strings.Join(known, "\n")
	cer := func(pdf string) float64 {
		out, err := exec.Command("pdftotext", pdf, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		return testpage.CER(want, string(out))
	}
	size := func(paths ...string) int64 {
		var s int64
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			s += fi.Size()
		}
		return s
	}
	type row struct {
		name string
		took time.Duration
		size int64
		cer  float64
	}
	var rows []row

	// The floor: tesseract's own PDF renderer, one process per page,
	// `workers` at a time, each single-threaded.
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	var outs []string
	for i, p := range pages {
		out := filepath.Join(dir, fmt.Sprintf("tess-%02d", i))
		outs = append(outs, out+".pdf")
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cmd := exec.Command("tesseract", p, out, "pdf")
			cmd.Env = os.Environ() // the same OpenMP setting as ours
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("tesseract: %v %s", err, b)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var tessCER float64
	for i, o := range outs {
		b, _ := exec.Command("pdftotext", o, "-").Output()
		tessCER += testpage.CER(known[i], string(b)) / float64(len(outs))
	}
	rows = append(rows, row{fmt.Sprintf("tesseract PAGE out pdf, %d at a time", workers), took, size(outs...), tessCER})

	// Ours, in-process, `workers` pages at a time.
	m := &Maker{Cfg: Config{PDFA: "2b", OCR: ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: workers, DefaultDPI: 300,
		MaxPixels: 50_000_000, WorkerMemory: 1 << 30, PageTimeout: 10 * time.Minute}}, Creator: "bench"}
	defer m.Close()
	if err := m.Start(context.Background(), Override{}); err != nil { // start the OCR workers before timing
		t.Fatal(err)
	}
	var src []Source
	for _, p := range pages {
		src = append(src, Source{Path: p, Name: filepath.Base(p)})
	}
	start = time.Now()
	res, err := m.Make(context.Background(), src, filepath.Join(dir, "ours"), Doc{Name: "book"}, Override{})
	if err != nil || !res.Check.Valid() {
		t.Fatalf("ours: %v %+v", err, res)
	}
	rows = append(rows, row{fmt.Sprintf("strongroom access copy (PDF/A-2b + text + ALTO), %d workers", workers), time.Since(start), size(res.PDF), cer(res.PDF)})

	// ocrmypdf on the same pages as an image-only PDF (img2pdf, untimed).
	in := filepath.Join(dir, "in.pdf")
	if b, err := exec.Command("img2pdf", append(pages, "-o", in)...).CombinedOutput(); err != nil {
		t.Fatalf("img2pdf: %v %s", err, b)
	}
	out := filepath.Join(dir, "ocrmypdf.pdf")
	start = time.Now()
	if b, err := exec.Command("ocrmypdf", "--output-type", "pdfa-2", "--jobs", strconv.Itoa(workers), "-q", in, out).CombinedOutput(); err != nil {
		t.Fatalf("ocrmypdf: %v %s", err, b)
	}
	rows = append(rows, row{fmt.Sprintf("ocrmypdf --output-type pdfa-2 --jobs %d", workers), time.Since(start), size(out), cer(out)})

	floor, ours, omp := rows[0], rows[1], rows[2]
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d pages, 300 dpi, 24 lines each, skewed 0.5°, speckled; OMP_THREAD_LIMIT=%s\n", n, os.Getenv("OMP_THREAD_LIMIT"))
	fmt.Fprintf(&b, "%-66s %9s %10s %7s\n", "", "wall", "bytes", "CER")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-66s %8.2fs %10d %6.2f%%\n", r.name, r.took.Seconds(), r.size, 100*r.cer)
	}
	fmt.Fprintf(&b, "ours / tesseract floor: %.2f× wall (goal ≤ 1.10)\n", ours.took.Seconds()/floor.took.Seconds())
	fmt.Fprintf(&b, "throughput ours / ocrmypdf: %.2f× (goal ≥ 1.5)\n", omp.took.Seconds()/ours.took.Seconds())
	fmt.Fprintf(&b, "size ours / ocrmypdf: %.2f (goal ≤ 1)\n", float64(ours.size)/float64(omp.size))
	fmt.Fprintf(&b, "CER ours %.2f%% vs ocrmypdf %.2f%% (goal: no worse)\n", 100*ours.cer, 100*omp.cer)
	t.Log(b.String())
}
