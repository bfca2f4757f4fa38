package review

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/draw"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

// TestViewerInBrowser: a real headless Chromium opens the book viewer (the
// Mirador built into strongroom) on a 5-page book at page 3 with a search
// in the book for a word of page 3: the screenshot shows page 3 (its grey)
// with the highlight over the word, where the index's box for it puts it
// on the page. STRONGROOM_SCREENSHOTS=DIR keeps the screenshot.
func TestViewerInBrowser(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	if _, err := fs.Stat(viewerFiles, "viewer/mirador.min.js"); err != nil {
		t.Fatal("the viewer is not built in: run scripts/viewer-assets (scripts/test does) and build again")
	}
	// Page 3 (680 × 840, grey 170) says "lighthouse" in black; the index
	// holds Tesseract's own box for the word, as the pipeline would.
	dir := t.TempDir()
	page3 := filepath.Join(dir, "page3.png")
	if out, err := exec.Command(testenv.Convert(t), "-size", "680x840", "xc:rgb(170,170,170)", "-fill", "black", "-pointsize", "48",
		"-annotate", "+150+350", "lighthouse", "-type", "Grayscale", "-depth", "8", page3).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v %s", err, out)
	}
	f, err := os.Open(page3)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	grey3 := image.NewGray(decoded.Bounds())
	draw.Draw(grey3, grey3.Bounds(), decoded, image.Point{}, draw.Src)
	x, y, w, h := testenv.TesseractBox(t, page3, "lighthouse")
	word := image.Rect(x, y, x+w, y+h)
	l := newLibrary(t, true)
	sizes, meta := addBook(t, l, map[int]*image.Gray{2: grey3})
	var pages []search.Page
	for i, sz := range sizes {
		p := search.Page{File: "data/access/book.pdf", N: i + 1, Width: sz.X, Height: sz.Y, WidthPt: float64(sz.X) * 72 / 150, HeightPt: float64(sz.Y) * 72 / 150}
		p.Words = []search.Word{{Text: "harbour", Box: image.Rect(100, 100, 200, 130)}}
		if i == 2 {
			p.Words = []search.Word{{Text: "lighthouse", Box: word}}
		}
		pages = append(pages, p)
	}
	if err := l.s.Library.Index.PutBag(context.Background(), search.Doc{Bag: "b-book", Title: meta.Title, Meta: meta}, pages); err != nil {
		t.Fatal(err)
	}

	d := startBrowser(t)
	d.open(l.srv.URL + "/bags/b-book/viewer?canvas=3&q=lighthouse")
	// The search in the book is open (the page came from a hit): run it.
	d.typeInto("input[id^='search-cw-']", "lighthouse\uE007")
	// Page 3 is grey 170; the highlight is the only colour on it.
	const grey = 170
	var shot image.Image
	var page, hit image.Rectangle
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		raw, _ := base64.StdEncoding.DecodeString(d.do("GET", d.s("/screenshot"), nil)["value"].(string))
		img, err := png.Decode(bytes.NewReader(raw))
		if err == nil {
			shot = img
			page, hit = findPage(img, grey)
			if !page.Empty() && !hit.Empty() {
				break
			}
		}
		if time.Now().After(deadline) {
			keepShot(t, shot)
			d.click(".MuiAccordionSummary-root") // Mirador's error's "technical details", if any
			text, _ := d.do("POST", d.s("/execute/sync"), map[string]any{"script": "return document.body.innerText", "args": []any{}})["value"].(string)
			t.Fatalf("no page 3 with a highlight on screen in 60 s (page %v, highlight %v); the page says:\n%.3000s", page, hit, text)
		}
	}
	keepShot(t, shot)
	// The page fits the viewer's height; the bottom of it is under the
	// zoom controls' bar: its width gives the scale, its top left corner
	// the origin.
	sz := sizes[2]
	scale := float64(page.Dx()) / float64(sz.X)
	if h := float64(page.Dy()); h > float64(sz.Y)*scale+2 || h < float64(sz.Y)*scale*0.6 {
		t.Errorf("page 3 on screen %v is not %dx%d's shape", page, sz.X, sz.Y)
	}
	want := image.Rect(page.Min.X+int(float64(word.Min.X)*scale), page.Min.Y+int(float64(word.Min.Y)*scale),
		page.Min.X+int(float64(word.Max.X)*scale), page.Min.Y+int(float64(word.Max.Y)*scale))
	tol := 4 + int(0.05*float64(want.Dx()))
	if iabs(hit.Min.X-want.Min.X) > tol || iabs(hit.Min.Y-want.Min.Y) > tol || iabs(hit.Max.X-want.Max.X) > tol || iabs(hit.Max.Y-want.Max.Y) > tol {
		t.Errorf("the highlight on screen is at %v; Tesseract's box for the word puts it at %v (page 3 at %v, scale %.3f)", hit, want, page, scale)
	}
	if src := d.source(); !strings.Contains(src, "lighthouse") {
		t.Errorf("the search panel does not show the search")
	}
}

// findPage finds on a screenshot the largest area of the page's grey (the
// page shown; the thumbnails are small) and, on it, the bounding box of
// coloured pixels (the highlight).
func findPage(img image.Image, grey int) (page, hit image.Rectangle) {
	b := img.Bounds()
	isGrey := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		r, g, bl = r>>8, g>>8, bl>>8
		return iabs(int(r)-grey) <= 4 && iabs(int(g)-grey) <= 4 && iabs(int(bl)-grey) <= 4
	}
	// Each row's longest run of the grey: the page shown is the run most
	// rows share, hundreds of pixels wide (the thumbnails are short runs;
	// a shadow's row of the same grey is one row).
	type run struct{ x, n int }
	rows := map[int]run{}
	count := map[run]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		best, cur := run{}, 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if !isGrey(x, y) {
				cur = 0
				continue
			}
			if cur++; cur > best.n {
				best = run{x - cur + 1, cur}
			}
		}
		if best.n >= 200 {
			rows[y] = best
			count[best]++
		}
	}
	var common run
	for r, n := range count {
		if n > count[common] {
			common = r
		}
	}
	for y, r := range rows {
		if r == common {
			page = page.Union(image.Rect(r.x, y, r.x+r.n, y+1))
		}
	}
	if page.Empty() {
		return page, hit
	}
	for y := page.Min.Y; y < page.Max.Y; y++ {
		for x := page.Min.X; x < page.Max.X; x++ {
			r, _, bl, _ := img.At(x, y).RGBA()
			if iabs(int(r>>8)-int(bl>>8)) > 30 {
				hit = hit.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return page, hit
}

func keepShot(t *testing.T, img image.Image) {
	dir := os.Getenv("STRONGROOM_SCREENSHOTS")
	if dir == "" || img == nil {
		return
	}
	f, err := os.Create(filepath.Join(dir, "viewer.png"))
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	png.Encode(f, img)
}

func iabs(n int) int { return max(n, -n) }
