package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/image/tiff"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/quality"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// TestAccessCopies: a 3-page TIFF and a folder of 20 JPEG pages become bags
// holding a PDF/A-2b that passes our checker and Debian's qpdf and poppler,
// whose pdftotext output matches the text file, and an ALTO file that
// validates against the ALTO 4.4 schema.
func TestAccessCopies(t *testing.T) {
	for _, tool := range []string{"tiffcp", "qpdf", "pdffonts", "pdftotext", "xmllint"} {
		testenv.Tool(t, tool)
	}
	if _, err := pdfa.GlyphlessFont(); err != nil {
		testenv.Missing(t, "%v", err)
	}
	te := newTestEnv(t)
	te.Access = &access.Maker{Cfg: access.Config{PDFA: "2b", OCR: ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: 2, DefaultDPI: 300}},
		Creator: "strongroom/test", MaxPixel: 1e8}
	t.Cleanup(te.Access.Close)

	// Three pages with known text, joined by tiffcp into one LZW TIFF.
	dir := t.TempDir()
	var parts []string
	var want []string
	for i := range 3 {
		lines := testpage.Text[i*2 : i*2+2]
		want = append(want, lines...)
		img := testpage.Render(lines, testpage.Options{DPI: 300, PointSize: 12, SkewDeg: 0.4, Noise: 0.0005, Seed: uint64(i)})
		var b bytes.Buffer
		tiff.Encode(&b, img, nil)
		p := filepath.Join(dir, fmt.Sprintf("p%d.tif", i))
		os.WriteFile(p, setTIFFDPI(t, b.Bytes(), 300), 0o644)
		parts = append(parts, p)
	}
	book := filepath.Join(te.hot, "register.tif")
	run(t, "tiffcp", append([]string{"-c", "lzw"}, append(parts, book)...)...)

	// Twenty JPEG pages, a line each, 200 dpi.
	for i := range 20 {
		img := testpage.Render([]string{fmt.Sprintf("Folio %d of the minute book", i+1)}, testpage.Options{DPI: 200, PointSize: 14, Seed: uint64(i)})
		sub := img.SubImage(image.Rect(0, 0, img.Bounds().Dx(), 600))
		var b bytes.Buffer
		jpeg.Encode(&b, sub, &jpeg.Options{Quality: 85})
		put(t, filepath.Join(te.hot, "minutes", fmt.Sprintf("f%02d.jpg", i+1)), b.Bytes())
	}

	schemas := testenv.Shared(t, "schemas")
	for _, c := range []struct {
		item, name string
		pages      int
		words      []string
	}{
		{"register.tif", "register", 3, []string{"parish", "Whitlock", "godparents"}},
		{"minutes", "minutes", 20, []string{"Folio", "minute"}},
	} {
		it := te.ingest(t, filepath.Join(te.hot, c.item))
		if it.Stage != catalog.StageDone {
			t.Fatalf("%s: %s: %s", c.item, it.Stage, it.LastError)
		}
		bag := filepath.Join(te.storeDir, it.BagID)
		r, err := bagit.ValidateDir(context.Background(), bag, bagit.ValidateOptions{})
		if err != nil || !r.Valid {
			t.Fatalf("%s: bag %v %v", c.item, err, r.Problems)
		}
		pdf := filepath.Join(bag, "data", "access", c.name+".pdf")
		rep, err := pdfa.Check(pdf, pdfa.CheckOptions{Strict: true})
		if err != nil || !rep.Valid() || rep.Conformance != "B" {
			t.Fatalf("%s: PDF/A check %v %+v", c.item, err, rep)
		}
		run(t, "qpdf", "--check", pdf)
		for _, l := range strings.Split(run(t, "pdffonts", pdf), "\n")[2:] {
			if l != "" && !strings.Contains(l, " yes ") {
				t.Errorf("%s: font not embedded: %s", c.item, l)
			}
		}
		if info := strings.Join(strings.Fields(run(t, "pdfinfo", pdf)), " "); !strings.Contains(info, fmt.Sprintf("Pages: %d", c.pages)) {
			t.Errorf("%s: pdfinfo: %s", c.item, info)
		}
		extracted := run(t, "pdftotext", pdf, "-")
		txt, _ := os.ReadFile(filepath.Join(bag, "data", "text", c.name+".txt"))
		if cer := testpage.CER(string(txt), extracted); cer > 0.01 {
			t.Errorf("%s: pdftotext differs from the text file (CER %.3f):\n%s\n---\n%s", c.item, cer, extracted, txt)
		}
		for _, w := range c.words {
			if !strings.Contains(strings.ToLower(extracted), strings.ToLower(w)) {
				t.Errorf("%s: %q not found in the PDF's text", c.item, w)
			}
		}
		if c.item == "register.tif" {
			if cer := testpage.CER(strings.Join(want, "\n"), string(txt)); cer > 0.03 {
				t.Errorf("CER against the known text %.3f:\n%s", cer, txt)
			}
		}
		cmd := exec.Command("xmllint", "--nonet", "--noout", "--schema", filepath.Join(schemas, "alto-4-4.xsd"), filepath.Join(bag, "data", "alto", c.name+".alto.xml"))
		cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(schemas, "catalog.xml"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: ALTO: %v %s", c.item, err, out)
		}
		checkPremis(t, bag, schemas, c.name)
		checkIdentification(t, bag)
		if _, ok := r.Payload["data/original/"+strings.TrimSuffix(c.item, "/")]; !ok && c.item == "register.tif" {
			t.Errorf("original not kept: %v", r.Payload)
		}
		evs, _ := te.cat.Events(context.Background(), it.ID)
		found := false
		for _, e := range evs {
			if e.Type == catalog.EvNormalization && e.Outcome == "success" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no normalization event", c.item)
		}
	}
}

// checkPremis validates the bag's premis.xml against the PREMIS 3 schema
// with xmllint and checks what a reader needs: every payload file an
// object, each derived file linked to its sources, the normalization event
// linked to both with their roles, names relative, agents with versions.
func checkPremis(t *testing.T, bag, schemas, name string) {
	t.Helper()
	p := filepath.Join(bag, "premis.xml")
	cmd := exec.Command("xmllint", "--nonet", "--noout", "--schema", filepath.Join(schemas, "premis-v3-0.xsd"), p)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(schemas, "catalog.xml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: premis.xml against PREMIS 3: %v %s", name, err, out)
	}
	b, _ := os.ReadFile(p)
	doc := string(b)
	manifest, _ := os.ReadFile(filepath.Join(bag, "manifest-sha256.txt"))
	for _, l := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		f := strings.Fields(l)
		if !strings.Contains(doc, "<premis:objectIdentifierValue>"+f[len(f)-1]+"</premis:objectIdentifierValue>") {
			t.Errorf("%s: premis.xml has no object for %s", name, f[len(f)-1])
		}
	}
	pdfObject := doc[strings.Index(doc, "<premis:objectIdentifierValue>data/access/"+name+".pdf<"):]
	pdfObject = pdfObject[:strings.Index(pdfObject, "</premis:object>")]
	for _, want := range []string{"<premis:formatRegistryKey>fmt/476</premis:formatRegistryKey>", "<premis:relationshipType>derivation</premis:relationshipType>",
		"<premis:relationshipSubType>has source</premis:relationshipSubType>", "<premis:relatedObjectIdentifierValue>data/original/"} {
		if !strings.Contains(pdfObject, want) {
			t.Errorf("%s: the access copy's object lacks %s:\n%s", name, want, pdfObject)
		}
	}
	for _, want := range []string{"<premis:linkingObjectRole>source</premis:linkingObjectRole>", "<premis:linkingObjectRole>outcome</premis:linkingObjectRole>",
		"<premis:agentVersion>", "tesseract 5", "(eng)", "<premis:originalName>"} {
		if !strings.Contains(doc, want) {
			t.Errorf("%s: premis.xml lacks %s", name, want)
		}
	}
	if strings.Contains(doc, "<premis:originalName>/") {
		t.Errorf("%s: an originalName is an absolute path on the server", name)
	}
}

// checkIdentification validates identification.json against its schema.
func checkIdentification(t *testing.T, bag string) {
	t.Helper()
	checkSchema(t, filepath.Join(bag, "identification.json"), "schemas/identification.schema.json")
}

// checkSchema validates the JSON file p against the JSON Schema at schema.
func checkSchema(t *testing.T, p, schema string) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s against %s: %v", filepath.Base(p), schema, err)
	}
}

// TestQualityReport: a batch of a good 300-dpi page, a 150-dpi page, a
// blank one, the first page scanned again (other specks of dust) and a
// page scanned 3.5° askew is stored with quality.json (valid by its
// schema) that finds the low resolution, the blank page, the second scan
// and the skew from what the pages' pipeline knew, fails the thresholds,
// and raises a quality alert; the bag is stored all the same.
func TestQualityReport(t *testing.T) {
	te := accessEnv(t)
	te.Quality = quality.Config{MinDPI: 300, WordConfidence: 60, Warn: 0.1, Fail: 0.5, MaxSkew: 2, DuplicateBits: 8}
	page := func(lines []string, dpi uint32, o testpage.Options) []byte {
		o.DPI, o.PointSize, o.Seed = float64(dpi), 12, o.Seed+uint64(dpi)
		img := testpage.Render(lines, o)
		var b bytes.Buffer
		tiff.Encode(&b, img, nil)
		return setTIFFDPI(t, b.Bytes(), dpi)
	}
	dir := filepath.Join(te.hot, "book")
	put(t, filepath.Join(dir, "p1.tif"), page(testpage.Text[:6], 300, testpage.Options{Noise: 0.001}))
	put(t, filepath.Join(dir, "p2.tif"), page(testpage.Text[6:], 150, testpage.Options{}))
	put(t, filepath.Join(dir, "p3.tif"), page(nil, 300, testpage.Options{}))
	put(t, filepath.Join(dir, "p4.tif"), page(testpage.Text[:6], 300, testpage.Options{Noise: 0.001, Seed: 9}))
	put(t, filepath.Join(dir, "p5.tif"), page(testpage.Text[3:], 300, testpage.Options{SkewDeg: 3.5}))
	it := te.ingest(t, dir)
	if it.Stage != catalog.StageDone {
		t.Fatalf("%s: %s", it.Stage, it.LastError)
	}
	p := filepath.Join(te.storeDir, it.BagID, "quality.json")
	checkSchema(t, p, "schemas/quality.schema.json")
	var r quality.Report
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &r); err != nil || len(r.Pages) != 5 {
		t.Fatalf("quality.json: %v\n%s", err, b)
	}
	good, low, blank, again, askew := r.Pages[0], r.Pages[1], r.Pages[2], r.Pages[3], r.Pages[4]
	if good.DPI != 300 || good.Words == 0 || good.MeanConfidence < 60 || good.Blank || len(good.Problems) != 0 || good.Colour != "bilevel" && good.Colour != "grey" ||
		good.Hash == "" || math.Abs(good.Skew) > 1 {
		t.Errorf("the good page: %+v", good)
	}
	if !strings.HasSuffix(again.NearDuplicateOf, "p1.tif page 1") || len(again.Problems) != 1 {
		t.Errorf("the first page scanned again: %+v", again)
	}
	if askew.Skew > -2.5 || askew.Skew < -4.5 || len(askew.Problems) != 1 || !strings.Contains(askew.Problems[0], "skewed") || askew.NearDuplicateOf != "" {
		t.Errorf("the page scanned 3.5° askew: %+v", askew)
	}
	if low.DPI != 150 || len(low.Problems) == 0 || !strings.Contains(low.Problems[0], "150 dpi, under 300") {
		t.Errorf("the 150-dpi page: %+v", low)
	}
	if !blank.Blank || blank.Words != 0 {
		t.Errorf("the blank page: %+v", blank)
	}
	if r.Verdict != quality.Fail || r.Problems != 4 {
		t.Errorf("verdict %s, %d pages with problems: %s", r.Verdict, r.Problems, r.Summary)
	}
	if q, err := te.cat.Quality(context.Background(), it.BagID); err != nil || !bytes.Equal(q, b) {
		t.Errorf("the report in the catalog: %v", err)
	}
	alerts, _ := te.cat.Alerts(context.Background(), it.BagID)
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemQuality || !strings.Contains(alerts[0].Detail, "4 of 5 pages") {
		t.Errorf("alerts: %+v", alerts)
	}
	if v, err := bagit.ValidateDir(context.Background(), filepath.Join(te.storeDir, it.BagID), bagit.ValidateOptions{}); err != nil || !v.Valid {
		t.Errorf("the bag with quality.json: %v %+v", err, v)
	}
}

// setTIFFDPI rewrites the X and Y resolution of a little-endian TIFF's
// first directory (x/image/tiff writes 72 dpi).
func setTIFFDPI(t *testing.T, b []byte, dpi uint32) []byte {
	le := binary.LittleEndian
	off := le.Uint32(b[4:])
	n := int(le.Uint16(b[off:]))
	set := 0
	for i := range n {
		e := b[int(off)+2+12*i:]
		if tag := le.Uint16(e); tag == 282 || tag == 283 {
			at := le.Uint32(e[8:])
			le.PutUint32(b[at:], dpi)
			le.PutUint32(b[at+4:], 1)
			set++
		}
	}
	if set != 2 {
		t.Fatalf("no resolution tags in the TIFF")
	}
	return b
}

func withPHYs(p []byte, ppm uint32) []byte {
	chunk := make([]byte, 21)
	binary.BigEndian.PutUint32(chunk, 9)
	copy(chunk[4:], "pHYs")
	binary.BigEndian.PutUint32(chunk[8:], ppm)
	binary.BigEndian.PutUint32(chunk[12:], ppm)
	chunk[16] = 1
	binary.BigEndian.PutUint32(chunk[17:], crc32.ChecksumIEEE(chunk[4:17]))
	at := 8 + 25 // after the signature and IHDR
	return append(append(append([]byte(nil), p[:at]...), chunk...), p[at:]...)
}

func mustFont(t *testing.T) []byte {
	f, err := pdfa.GlyphlessFont()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustImage(t *testing.T) pdfa.Image {
	im, err := pdfa.FromImage(image.NewGray(image.Rect(0, 0, 30, 30)))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestScannedAndBornDigitalPDFs: an image-only PDF from a scanner is OCRed
// from its page images; a PDF that already carries text is kept as it is.
func TestScannedAndBornDigitalPDFs(t *testing.T) {
	testenv.Tool(t, "img2pdf")
	testenv.Tool(t, "pdftotext")
	if _, err := pdfa.GlyphlessFont(); err != nil {
		testenv.Missing(t, "%v", err)
	}
	te := newTestEnv(t)
	te.Access = &access.Maker{Cfg: access.Config{PDFA: "2b", OCR: ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: 2, DefaultDPI: 300}}, MaxPixel: 1e8}
	t.Cleanup(te.Access.Close)
	dir := t.TempDir()
	var pngs []string
	for i := range 2 {
		img := testpage.Render(testpage.Text[i*3:i*3+3], testpage.Options{DPI: 300, PointSize: 12, Seed: uint64(i)})
		var b bytes.Buffer
		png.Encode(&b, img)
		p := filepath.Join(dir, fmt.Sprintf("s%d.png", i))
		os.WriteFile(p, withPHYs(b.Bytes(), 11811), 0o644) // 300 dpi
		pngs = append(pngs, p)
	}
	run(t, "img2pdf", append(pngs, "-o", filepath.Join(te.hot, "scan.pdf"))...)
	it := te.ingest(t, filepath.Join(te.hot, "scan.pdf"))
	if it.Stage != catalog.StageDone {
		t.Fatalf("scan.pdf: %s", it.LastError)
	}
	pdf := filepath.Join(te.storeDir, it.BagID, "data", "access", "scan.pdf")
	if rep, err := pdfa.Check(pdf, pdfa.CheckOptions{Strict: true}); err != nil || !rep.Valid() {
		t.Fatalf("access copy of the scan: %v %+v", err, rep)
	}
	if text := run(t, "pdftotext", pdf, "-"); !strings.Contains(text, "Whitlock") {
		t.Errorf("scan not OCRed: %q", text)
	}

	// Born digital: the access copy we just made carries text.
	born := filepath.Join(te.hot, "born-digital.pdf")
	b, _ := os.ReadFile(pdf)
	os.WriteFile(born, b, 0o644)
	it = te.ingest(t, born)
	if it.Stage != catalog.StageDone {
		t.Fatalf("born-digital.pdf: %s", it.LastError)
	}
	if _, err := os.Stat(filepath.Join(te.storeDir, it.BagID, "data", "access")); err == nil {
		t.Error("a PDF with text got an access copy")
	}
	evs, _ := te.cat.Events(context.Background(), it.ID)
	kept := false
	for _, e := range evs {
		if e.Type == catalog.EvNormalization && e.Outcome == "warning" && strings.Contains(e.Detail, "already carries text") {
			kept = true
		}
	}
	if !kept {
		t.Errorf("no event says the PDF was kept as it is: %+v", evs)
	}

	// Mixed: a scanned page, then a page with text of its own (OCRmyPDF's
	// multipage.pdf has one such page in six). It was kept as it is, and
	// the scanned pages could not be found. Now the access copy holds both
	// pages, each with its words, and says which page had text.
	run(t, "img2pdf", pngs[0], "-o", filepath.Join(dir, "scan1.pdf"))
	run(t, "qpdf", "--empty", "--pages", filepath.Join(dir, "scan1.pdf"), "1", pdf, "2", "--", filepath.Join(te.hot, "mixed.pdf"))
	it = te.ingest(t, filepath.Join(te.hot, "mixed.pdf"))
	if it.Stage != catalog.StageDone {
		t.Fatalf("mixed.pdf: %s", it.LastError)
	}
	mixed := filepath.Join(te.storeDir, it.BagID, "data", "access", "mixed.pdf")
	text := run(t, "pdftotext", mixed, "-")
	for _, line := range []string{testpage.Text[0], testpage.Text[3]} {
		w := slices.MaxFunc(strings.Fields(line), func(a, b string) int { return cmp.Compare(len(a), len(b)) })
		if !strings.Contains(text, strings.Trim(w, ".,;:")) {
			t.Errorf("mixed.pdf's access copy lacks %q:\n%s", w, text)
		}
	}
	evs, _ = te.cat.Events(context.Background(), it.ID)
	said := false
	for _, e := range evs {
		said = said || e.Type == catalog.EvNormalization && strings.Contains(e.Detail, "carries text of its own (pages 2 of the file do)")
	}
	if !said {
		t.Errorf("no event names the page with text: %+v", evs)
	}
	// The index holds each page once: from the access copy, not again
	// from the original's own text.
	files, _ := te.cat.Files(context.Background(), it.ID)
	pages, err := te.Pages(context.Background(), filepath.Join(te.storeDir, it.BagID, "data"), files)
	if err != nil || len(pages) != 2 || pages[0].File != "data/access/mixed.pdf" || pages[1].File != "data/access/mixed.pdf" {
		t.Errorf("pages for the index: %d %v", len(pages), err)
	}
}

// TestVeraPDFVerdictCounts: where veraPDF is configured its verdict is
// recorded, and a FAIL keeps the file from being stored as PDF/A: the
// originals are stored without an access copy. veraPDF cannot be installed
// here, so a stand-in script gives the verdicts (fault injection beside the
// real checks above).
func TestVeraPDFVerdictCounts(t *testing.T) {
	if _, err := pdfa.GlyphlessFont(); err != nil {
		testenv.Missing(t, "%v", err)
	}
	dir := t.TempDir()
	for verdict, wantCopy := range map[string]bool{"PASS": true, "FAIL": false} {
		script := filepath.Join(dir, "verapdf-"+verdict)
		os.WriteFile(script, []byte("#!/bin/sh\n# args: --flavour F --format text FILE\necho \""+verdict+" $5 $2\"\n"), 0o755)
		te := newTestEnv(t)
		te.Access = &access.Maker{Cfg: access.Config{PDFA: "2b", VeraPDF: script, OCR: ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: 1, DefaultDPI: 300}}, MaxPixel: 1e8}
		var b bytes.Buffer
		png.Encode(&b, testpage.Render(testpage.Text[:1], testpage.Options{DPI: 150, PointSize: 12}))
		it := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), b.Bytes()))
		te.Access.Close()
		if it.Stage != catalog.StageDone {
			t.Errorf("veraPDF %s: item %s (%s)", verdict, it.Stage, it.LastError)
		}
		if _, err := os.Stat(filepath.Join(te.storeDir, it.BagID, "data", "access", "page.pdf")); (err == nil) != wantCopy {
			t.Errorf("veraPDF %s: access copy stored: %v", verdict, err == nil)
		}
		evs, _ := te.cat.Events(context.Background(), it.ID)
		seen := false
		for _, e := range evs {
			seen = seen || strings.Contains(e.Detail, verdict+" ") && strings.Contains(e.Detail, "2b")
		}
		if !seen {
			t.Errorf("veraPDF %s: verdict not recorded", verdict)
		}
	}
}
