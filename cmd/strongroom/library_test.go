package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

// textPage draws lines of text on a white 150-dpi page with ImageMagick.
func textPage(t *testing.T, p string, lines ...string) {
	t.Helper()
	args := []string{"-size", "1275x1650", "xc:white", "-fill", "black", "-pointsize", "44"}
	for i, l := range lines {
		args = append(args, "-annotate", "+120+"+strconv.Itoa(300+100*i), l)
	}
	args = append(args, "-units", "PixelsPerInch", "-density", "150", "-type", "Grayscale", p)
	if out, err := exec.Command(testenv.Convert(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
}

// TestFindAndRetrieve is what the issue asks of finding and retrieving,
// through the commands a user runs: a 3-page batch with known text and a
// metadata.json is ingested; search finds a word of page 2 on page 2, with
// a box on that word (compared with Tesseract's own box for it, and in PDF
// points); the bag is listed by its title; get returns a bag that `bag
// validate` passes; a stored file corrupted afterwards makes get fail,
// leaves only the .partial folder, and raises an alert.
func TestFindAndRetrieve(t *testing.T) {
	testenv.Tool(t, "tesseract")
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	book := filepath.Join(dir, "in", "kirkwall")
	os.MkdirAll(book, 0o755)
	textPage(t, filepath.Join(book, "p1.png"), "Customs accounts of the port", "entered by the collector")
	textPage(t, filepath.Join(book, "p2.png"), "The harbour ledger of Kirkwall", "recorded cargoes of herring and wool")
	textPage(t, filepath.Join(book, "p3.png"), "Shipwrecks and salvage", "off the Orkney coast")
	os.WriteFile(filepath.Join(book, "metadata.json"), []byte(`[{"filename": "objects/", "dc.title": "Harbour ledger of Kirkwall",
		"dc.date": "1843-05", "dc.creator": "Harbour master", "collection": "harbours", "access": "open", "dc.subject": ["trade", "fisheries"]}]`), 0o644)

	out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfg, book)
	var line ingestLine
	if json.Unmarshal([]byte(out), &line); code != 0 || line.Bag == "" {
		t.Fatalf("ingest: %d %s %s", code, out, clitest.LastLines(errs, 20))
	}
	bag := line.Bag

	out, errs, code = clitest.Run(t, dir, "search", "--config", cfg, "--json", "herring")
	var hit search.Hit
	if json.Unmarshal([]byte(out), &hit); code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("search: %d %s %s", code, out, errs)
	}
	if hit.Bag != bag || hit.Page != 2 || hit.File != "data/access/kirkwall.pdf" || hit.Title != "Harbour ledger of Kirkwall" || len(hit.Boxes) != 1 {
		t.Fatalf("hit: %+v", hit)
	}
	b := hit.Boxes[0]
	x, y, w, h := testenv.TesseractBox(t, filepath.Join(book, "p2.png"), "herring")
	if abs(b.X-x) > 3 || abs(b.Y-y) > 3 || abs(b.W-w) > 4 || abs(b.H-h) > 4 {
		t.Errorf("box %+v, Tesseract's %d,%d %dx%d", b, x, y, w, h)
	}
	// In PDF points: the page is 1275×1650 pixels at 150 dpi = 612×792 pt.
	if math.Abs(hit.WidthPt-612) > 0.1 || math.Abs(hit.HeightPt-792) > 0.1 || math.Abs(b.PDF[0]-float64(b.X)*72/150) > 0.1 || math.Abs(b.PDF[3]-(792-float64(b.Y)*72/150)) > 0.1 {
		t.Errorf("PDF box %v on a %gx%g page", b.PDF, hit.WidthPt, hit.HeightPt)
	}
	if out, _, _ := clitest.Run(t, dir, "search", "--config", cfg, "Orkney salvage"); !strings.Contains(out, "page 3") || !strings.Contains(out, "[salvage]") {
		t.Errorf("text search output:\n%s", out)
	}
	// A word to leave out is written as the README shows it, -word, not
	// taken for a flag: herring -salvage finds page 2; herring -herring nothing.
	if out, errs, code := clitest.Run(t, dir, "search", "herring", "-salvage", "--config", cfg); code != 0 || !strings.Contains(out, "page 2") {
		t.Errorf("herring -salvage: exit %d\n%s%s", code, out, errs)
	}
	if out, _, code := clitest.Run(t, dir, "search", "--config", cfg, "herring", "-herring"); code != 0 || !strings.HasPrefix(out, "0 pages match") {
		t.Errorf("herring -herring: exit %d\n%s", code, out)
	}
	// Paging and searching within one document say where they are.
	if out, errs, _ := clitest.Run(t, dir, "search", "--config", cfg, "--limit", "1", "the"); !strings.Contains(errs, "showing 1–1 of") || !strings.Contains(errs, "--offset 1 for more") || out == "" {
		t.Errorf("a first page of hits: %q %q", out, errs)
	}
	if out, errs, _ := clitest.Run(t, dir, "search", "--config", cfg, "--bag", "nosuchbag", "herring"); !strings.HasPrefix(out, "0 pages match") || !strings.Contains(errs, "no page matches") {
		t.Errorf("within a bag that is not there: %q %q", out, errs)
	}
	if _, _, code := clitest.Run(t, dir, "search", "--config", cfg, "-"); code != 2 {
		t.Errorf("empty query: exit %d, want 2", code)
	}

	out, _, _ = clitest.Run(t, dir, "bags", "list", "--config", cfg)
	if !strings.Contains(out, "Harbour ledger of Kirkwall") || !strings.Contains(out, "1843-05") || !strings.Contains(out, "harbours") {
		t.Errorf("bags list:\n%s", out)
	}
	if out, _, _ = clitest.Run(t, dir, "bags", "list", "--config", cfg, "--collection", "nope"); strings.Contains(out, bag) {
		t.Errorf("filtered list shows the bag:\n%s", out)
	}

	dest := filepath.Join(dir, "got")
	if out, errs, code := clitest.Run(t, dir, "get", "--config", cfg, bag, dest); code != 0 {
		t.Fatalf("get: %d %s %s", code, out, errs)
	}
	if out, errs, code := clitest.Run(t, dir, "bag", "validate", dest); code != 0 {
		t.Fatalf("the bag from get is not valid: %s %s", out, errs)
	}
	info := clitest.ReadFile(t, filepath.Join(dest, "bag-info.txt"))
	for _, want := range []string{"Title: Harbour ledger of Kirkwall", "Creator: Harbour master", "Collection: harbours", "Access-Restriction: open",
		"Rights-Statement: http://rightsstatements.org/vocab/CNE/1.0/", "Date: 1843-05"} {
		if !strings.Contains(info, want) {
			t.Errorf("bag-info.txt lacks %q:\n%s", want, info)
		}
	}
	premis := filepath.Join(dest, "premis.xml")
	if !strings.Contains(clitest.ReadFile(t, premis), "<premis:rightsBasis>Other</premis:rightsBasis>") {
		t.Error("premis.xml has no rights statement")
	}
	if dir := testenv.SharedDir("schemas"); dir != "" { // beside a checkout; scripts do not copy it
		cmd := exec.Command(testenv.Tool(t, "xmllint"), "--nonet", "--noout", "--schema", filepath.Join(dir, "premis-v3-0.xsd"), premis)
		cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(dir, "catalog.xml"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("premis.xml is not valid PREMIS 3.0: %s", out)
		}
	}
	tarball := filepath.Join(dir, "bag.tar")
	if _, errs, code := clitest.Run(t, dir, "export", "--config", cfg, "--format", "tar", "--output", tarball, bag); code != 0 {
		t.Fatalf("export: %s", errs)
	}
	if out, err := exec.Command("tar", "-tf", tarball).Output(); err != nil || !strings.Contains(string(out), bag+"/data/access/kirkwall.pdf") {
		t.Errorf("tar: %v %s", err, out)
	}

	// Corrupt a stored file: get fails, leaves only the .partial folder,
	// and an alert says which file.
	stored := filepath.Join(dir, "store", bag, "data", "access", "kirkwall.pdf")
	pdf, _ := os.ReadFile(stored)
	pdf[len(pdf)/2] ^= 0xff
	os.Chmod(stored, 0o644)
	if err := os.WriteFile(stored, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "got2")
	_, errs, code = clitest.Run(t, dir, "get", "--config", cfg, bag, bad)
	if code != 1 || !strings.Contains(errs, "data/access/kirkwall.pdf") || !strings.Contains(errs, "alert") {
		t.Errorf("get of a corrupted bag: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Error("a failed get left the bag under its name")
	}
	if _, err := os.Stat(bad + ".partial"); err != nil {
		t.Errorf("no partial download: %v", err)
	}
	if out, _, _ := clitest.Run(t, dir, "alerts", "--config", cfg, "list"); !strings.Contains(out, "altered") || !strings.Contains(out, "kirkwall.pdf") {
		t.Errorf("alerts after a failed get:\n%s", out)
	}
	if _, _, code := clitest.Run(t, dir, "export", "--config", cfg, "--output", filepath.Join(dir, "bad.tar"), bag); code != 1 {
		t.Errorf("export of a corrupted bag: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.tar")); !os.IsNotExist(err) {
		t.Error("a failed export left a file")
	}

	// A born-digital PDF is kept as it is, and its own text is indexed,
	// with boxes from PDFium: "haddock" is drawn at x = 200 pt, baseline
	// y = 600 pt in 24-point Helvetica.
	born := filepath.Join(dir, "in", "invoice.pdf")
	os.WriteFile(born, testenv.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		testenv.Stream("", "BT /F1 24 Tf 200 600 Td (haddock) Tj ET")), 0o644)
	if out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfg, born); code != 0 {
		t.Fatalf("ingest of a born-digital PDF: %s %s", out, clitest.LastLines(errs, 10))
	}
	out, _, _ = clitest.Run(t, dir, "search", "--config", cfg, "--json", "haddock")
	hit = search.Hit{}
	if json.Unmarshal([]byte(out), &hit); hit.File != "data/original/invoice.pdf" || hit.Page != 1 || len(hit.Boxes) != 1 {
		t.Fatalf("born-digital hit: %s", out)
	}
	if p := hit.Boxes[0].PDF; math.Abs(p[0]-200) > 2 || p[1] > 600 || p[3] < 610 || p[3] > 625 {
		t.Errorf("box of the PDF's own word: %v", p)
	}

	// The index is rebuilt from the store: the corrupted access copy is
	// refused (and alerted), the other bags would come back.
	os.Remove(filepath.Join(dir, "data", "index.db"))
	os.WriteFile(stored, append(pdf[:len(pdf)/2:len(pdf)/2], append([]byte{pdf[len(pdf)/2] ^ 0xff}, pdf[len(pdf)/2+1:]...)...), 0o644)
	if out, errs, code := clitest.Run(t, dir, "index", "rebuild", "--config", cfg); code != 0 || !strings.Contains(out, "2 bags, 4 pages indexed") {
		t.Fatalf("index rebuild: %d %s %s", code, out, errs)
	}
	if out, _, _ := clitest.Run(t, dir, "search", "--config", cfg, "--json", "herring"); !strings.Contains(out, `"page":2`) {
		t.Errorf("search after rebuild: %s", out)
	}
}

func abs(n int) int { return max(n, -n) }

// TestIndexRebuildFollowsStore: `index rebuild` was not a rebuild. Bags
// gone from the store stayed searchable, and a copied bag whose bag-info
// was edited from restricted to open (its tag manifest now wrong) was
// indexed as open. Now the rebuild checks what it reads against the bag's
// manifests, refuses and alerts what fails, and replaces the index whole.
func TestIndexRebuildFollowsStore(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	bagOf := func(name, word string) string {
		p := filepath.Join(dir, "in", name+".pdf")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, testenv.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
			"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
			testenv.Stream("", "BT /F1 24 Tf 200 600 Td ("+word+") Tj ET")), 0o644)
		out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfg, p)
		var line ingestLine
		if json.Unmarshal([]byte(out), &line); code != 0 || line.Bag == "" {
			t.Fatalf("ingest %s: %d %s %s", name, code, out, clitest.LastLines(errs, 10))
		}
		return line.Bag
	}
	kept, gone := bagOf("ledger", "haddock"), bagOf("letters", "mackerel")
	found := func(word string) string {
		out, _, _ := clitest.Run(t, dir, "search", "--config", cfg, "--json", word)
		return out
	}
	if !strings.Contains(found("mackerel"), gone) {
		t.Fatal("not indexed at ingest")
	}
	// One bag leaves the store; a copy of the other, under another name,
	// has its bag-info edited to open.
	store := filepath.Join(dir, "store")
	os.RemoveAll(filepath.Join(store, gone))
	copied := filepath.Join(store, "copied-bag")
	if out, err := exec.Command("cp", "-r", filepath.Join(store, kept), copied).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	info := filepath.Join(copied, "bag-info.txt")
	os.Chmod(info, 0o644)
	edited := strings.Replace(clitest.ReadFile(t, info), "Access-Restriction: restricted", "Access-Restriction: open", 1)
	if !strings.Contains(edited, "Access-Restriction: open") {
		t.Fatalf("bag-info.txt has no access restriction to edit:\n%s", edited)
	}
	os.WriteFile(info, []byte(edited), 0o644)

	out, errs, code := clitest.Run(t, dir, "index", "rebuild", "--config", cfg)
	if code != exitFailed || !strings.Contains(out, "1 bags, 1 pages indexed; 1 failed") || !strings.Contains(errs, "copied-bag") ||
		!strings.Contains(errs, "bag-info.txt does not match") {
		t.Fatalf("index rebuild: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(found("mackerel"), gone) {
		t.Error("a bag gone from the store is still found after a rebuild")
	}
	if hits := found("haddock"); !strings.Contains(hits, kept) || strings.Contains(hits, "copied-bag") {
		t.Errorf("after the rebuild haddock finds: %s", hits)
	}
	if out, _, _ := clitest.Run(t, dir, "alerts", "--config", cfg, "list"); !strings.Contains(out, "copied-bag") || !strings.Contains(out, "tag-altered") {
		t.Errorf("no alert for the bag that failed its check:\n%s", out)
	}
}
