package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchInputs times `strongroom ingest` (the command a user runs, a
// process each, the PDFium cache warm) on each kind of input of
// TestEveryInputKind, and `ocrmypdf --output-type pdfa-2` on the same file
// in the same run, and prints a table: input kind → outcome, access copy
// size / original size, seconds per page for each. Run by
// scripts/bench-inputs.
func TestBenchInputs(t *testing.T) {
	if os.Getenv("STRONGROOM_BENCH") == "" {
		t.Skip("set STRONGROOM_BENCH=1 (scripts/bench-inputs)")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "strongroom")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/strongroom").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(root, "run")
	os.MkdirAll(work, 0o755)
	ingest := func(path string) (line map[string]string, took time.Duration) {
		cmd := exec.Command(bin, "ingest", path)
		cmd.Dir = work // the embedded defaults: var/ below it
		var out bytes.Buffer
		cmd.Stdout = &out
		start := time.Now()
		cmd.Run() // exit 1 for a failed item: its JSON line says why
		took = time.Since(start)
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			json.Unmarshal(sc.Bytes(), &line)
		}
		return line, took
	}
	// Warm: PDFium's compiled WebAssembly is cached under data_dir.
	ingest(pagePNG(t, t.TempDir(), 150, false, short))

	fmt.Println("| input | ours: outcome | pages | original B | access B | access / original | ours s/page | ocrmypdf s/page | ocrmypdf / ours | ocrmypdf B |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range inputCases() {
		if strings.HasPrefix(c.name, "empty-10000") && os.Getenv("STRONGROOM_BENCH_ALL") == "" {
			continue // 10,000 pages: minutes for ocrmypdf
		}
		in := c.make(t, t.TempDir())
		if fi, _ := os.Stat(in); fi.IsDir() {
			continue
		}
		file := filepath.Join(t.TempDir(), c.name)
		copyInput(t, in, file)
		line, ours := ingest(file)
		outcome, copySize := line["status"], int64(0)
		if bag := line["bag"]; bag != "" {
			stem := strings.TrimSuffix(c.name, filepath.Ext(c.name))
			if fi, err := os.Stat(filepath.Join(work, "var", "store", bag, "data", "access", stem+".pdf")); err == nil {
				copySize = fi.Size()
			} else if outcome == "stored" {
				outcome = "stored, no access copy"
			}
		}
		pages := pageCount(file)
		orig, _ := os.Stat(file)
		ocrOut := filepath.Join(t.TempDir(), "o.pdf")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, "ocrmypdf", "--output-type", "pdfa-2", "--jobs", "2", "--rotate-pages", file, ocrOut)
		start := time.Now()
		err := cmd.Run()
		theirs := time.Since(start)
		cancel()
		theirSize := "failed"
		if ctx.Err() != nil {
			theirSize = "stopped after 5 min"
		} else if err == nil {
			fi, _ := os.Stat(ocrOut)
			theirSize = fmt.Sprint(fi.Size())
		}
		ratio := "–"
		if copySize > 0 {
			ratio = fmt.Sprintf("%.2f", float64(copySize)/float64(orig.Size()))
		}
		per := func(d time.Duration) float64 { return d.Seconds() / float64(max(pages, 1)) }
		fmt.Printf("| %s | %s | %d | %d | %d | %s | %.2f | %.2f | %.2f | %s |\n", c.name, outcome, pages, orig.Size(), copySize, ratio,
			per(ours), per(theirs), theirs.Seconds()/ours.Seconds(), theirSize)
	}
}

// pageCount is a file's pages as poppler (PDF) or ImageMagick counts them.
func pageCount(path string) int {
	if out, err := exec.Command("pdfinfo", path).Output(); err == nil {
		var n int
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "Pages:") {
				fmt.Sscanf(strings.TrimPrefix(l, "Pages:"), "%d", &n)
			}
		}
		return n
	}
	out, _ := exec.Command("identify", path).Output()
	return max(strings.Count(string(out), "\n"), 1)
}
