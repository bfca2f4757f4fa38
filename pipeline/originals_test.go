package pipeline

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// TestSidecarsAndClutter: a book folder as a scanning PC leaves it. The
// pages, a metadata.json and a file no one can identify are all kept; the
// operating system's clutter is left out of the bag and recorded; the
// unidentified file raises its own alert; a lone clutter file fails
// with a reason, not as corrupt.
func TestSidecarsAndClutter(t *testing.T) {
	te := accessEnv(t)
	book := filepath.Join(te.hot, "book")
	copyInput(t, pagePNG(t, t.TempDir(), 300, false, short), filepath.Join(book, "p001.png"))
	put(t, filepath.Join(book, "metadata.json"), []byte(`{"dc.title": "Parish register 1801", "dc.identifier": "PR-1801"}`+"\n"))
	blob := make([]byte, 4096)
	rand.Read(blob)
	put(t, filepath.Join(book, "scanner-state.bin"), blob)
	for _, c := range []string{"Thumbs.db", ".DS_Store", "desktop.ini", "__MACOSX/._p001.png", "._p001.png"} {
		put(t, filepath.Join(book, c), []byte("clutter"))
	}

	it := te.ingest(t, book)
	if it.Stage != catalog.StageDone {
		t.Fatalf("stage %s: %s", it.Stage, it.LastError)
	}
	bag := filepath.Join(te.storeDir, it.BagID)
	for _, f := range []string{"p001.png", "metadata.json", "scanner-state.bin"} {
		if _, err := os.Stat(filepath.Join(bag, "data", "original", "book", f)); err != nil {
			t.Errorf("%s is not in the bag: %v", f, err)
		}
	}
	for _, f := range []string{"Thumbs.db", ".DS_Store", "desktop.ini", "__MACOSX", "._p001.png"} {
		if _, err := os.Stat(filepath.Join(bag, "data", "original", "book", f)); err == nil {
			t.Errorf("clutter %s is in the bag", f)
		}
	}
	if _, err := os.Stat(filepath.Join(bag, "data", "access", "book.pdf")); err != nil {
		t.Errorf("no access copy of the page: %v", err)
	}
	if r, err := bagit.ValidateDir(context.Background(), bag, bagit.ValidateOptions{}); err != nil || !r.Valid {
		t.Fatalf("bag: %v %v", err, r.Problems)
	}
	ctx := context.Background()
	evs, _ := te.cat.Events(ctx, it.ID)
	var recorded, warned bool
	for _, e := range evs {
		if e.Type == catalog.EvIngestion && strings.Contains(e.Detail, "clutter") {
			recorded = true
			for _, c := range []string{"Thumbs.db", ".DS_Store", "desktop.ini", "__MACOSX/", "._p001.png"} {
				if !strings.Contains(e.Detail, c) {
					t.Errorf("the clutter event does not name %s: %q", c, e.Detail)
				}
			}
		}
		if e.Type == catalog.EvIdentification && e.Outcome == catalog.OutcomeWarning && strings.HasSuffix(e.File, "scanner-state.bin") {
			warned = true
		}
	}
	if !recorded || !warned {
		t.Errorf("clutter recorded %v, unidentified file warned %v: %+v", recorded, warned, evs)
	}
	alerts, _ := te.cat.Alerts(ctx, it.BagID)
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemUnidentified || !strings.HasSuffix(alerts[0].Key, "scanner-state.bin") {
		t.Errorf("alerts: want one, unidentified, for scanner-state.bin, got %d", len(alerts))
		for _, a := range alerts {
			t.Errorf("alert %+v", *a)
		}
	}
	// metadata.json is known by its extension only: a warning, no alert.
	for _, e := range evs {
		if e.Type == catalog.EvIdentification && strings.HasSuffix(e.File, "metadata.json") && (e.Outcome != catalog.OutcomeWarning || !strings.Contains(e.Detail, "extension only")) {
			t.Errorf("metadata.json: %+v", e)
		}
	}
	// Released whole: the clutter went to done/ with the book, not lost.
	if _, err := os.Stat(filepath.Join(te.done, "book", "Thumbs.db")); err != nil {
		t.Errorf("the clutter did not go to done/ with its book: %v", err)
	}

	put(t, filepath.Join(te.hot, "Thumbs.db"), []byte("clutter"))
	lone := te.ingest(t, filepath.Join(te.hot, "Thumbs.db"))
	if lone.Stage != catalog.StageFailed || !strings.Contains(lone.LastError, "clutter") || strings.Contains(lone.LastError, "corrupt") {
		t.Errorf("a lone Thumbs.db: stage %s, %q", lone.Stage, lone.LastError)
	}
}

// TestNoAccessCopyThenReprocess: an OCR language that is not installed
// stops the access copy, not the originals: the bag is stored with a
// failed normalization event and a no-access-copy alert naming the
// command that mends it. Reprocess with a language that is installed
// makes a new bag, Is-Version-Of the old one, with an access copy; the
// old bag is as it was, and its alert is resolved. With access.required
// the same item fails instead.
func TestNoAccessCopyThenReprocess(t *testing.T) {
	te := accessEnv(t)
	ctx := context.Background()
	p := filepath.Join(te.hot, "letter.png")
	copyInput(t, pagePNG(t, t.TempDir(), 300, false, short), p)
	it, err := te.NewItem(ctx, ItemSpec{Path: p, HotFolder: te.hot, Release: catalog.ReleaseMove, OCR: &catalog.OCRSettings{Languages: []string{"qqq"}}})
	if err != nil {
		t.Fatal(err)
	}
	if it, err = te.Run(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	if it.Stage != catalog.StageDone {
		t.Fatalf("stage %s: %s", it.Stage, it.LastError)
	}
	old := filepath.Join(te.storeDir, it.BagID)
	if _, err := os.Stat(filepath.Join(old, "data", "original", "letter.png")); err != nil {
		t.Fatalf("the original is not stored: %v", err)
	}
	if _, err := os.Stat(filepath.Join(old, "data", "access")); err == nil {
		t.Fatal("an access copy was made")
	}
	evs, _ := te.cat.Events(ctx, it.ID)
	var failure string
	for _, e := range evs {
		if e.Type == catalog.EvNormalization && e.Outcome == catalog.OutcomeFailure {
			failure = e.Detail
		}
	}
	if !strings.Contains(failure, "qqq") || !strings.Contains(failure, "letter.png") {
		t.Errorf("normalization failure event %q: want the file and the language", failure)
	}
	premis, _ := os.ReadFile(filepath.Join(old, "premis.xml"))
	if !strings.Contains(string(premis), "failure") {
		t.Error("premis.xml does not record the failed normalization")
	}
	alerts, _ := te.cat.Alerts(ctx, it.BagID)
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemNoAccessCopy || !strings.Contains(alerts[0].Detail, "strongroom reprocess "+it.BagID) {
		t.Fatalf("alerts: %+v", alerts)
	}
	before := snapshot(t, old)

	re, err := te.Reprocess(ctx, it.BagID, &catalog.OCRSettings{Languages: []string{"eng"}})
	if err != nil {
		t.Fatal(err)
	}
	if re, err = te.Run(ctx, re.ID); err != nil {
		t.Fatal(err)
	}
	if re.Stage != catalog.StageDone || re.BagID == it.BagID {
		t.Fatalf("reprocess: stage %s, bag %s (old %s): %s", re.Stage, re.BagID, it.BagID, re.LastError)
	}
	nb := filepath.Join(te.storeDir, re.BagID)
	if r, err := bagit.ValidateDir(ctx, nb, bagit.ValidateOptions{}); err != nil || !r.Valid {
		t.Fatalf("new bag: %v %v", err, r.Problems)
	}
	text, _ := os.ReadFile(filepath.Join(nb, "data", "text", "letter.txt"))
	if !strings.Contains(string(text), "parish register") {
		t.Errorf("the new access copy's text: %q", text)
	}
	info, _ := os.ReadFile(filepath.Join(nb, "bag-info.txt"))
	if !strings.Contains(string(info), "Is-Version-Of: "+it.BagID) {
		t.Errorf("bag-info.txt:\n%s", info)
	}
	if after := snapshot(t, old); after != before {
		t.Error("the old bag changed")
	}
	if a, _ := te.cat.Alerts(ctx, it.BagID, catalog.AlertOpen, catalog.AlertAcknowledged); len(a) != 0 {
		t.Errorf("the old bag's alert is still open: %+v", a[0])
	}

	// access.required: the same input fails the item.
	te.Access.Cfg.Required = true
	p2 := filepath.Join(te.hot, "letter2.png")
	copyInput(t, pagePNG(t, t.TempDir(), 300, false, short), p2)
	it2, err := te.NewItem(ctx, ItemSpec{Path: p2, HotFolder: te.hot, Release: catalog.ReleaseMove, OCR: &catalog.OCRSettings{Languages: []string{"qqq"}}})
	if err != nil {
		t.Fatal(err)
	}
	if it2, err = te.Run(ctx, it2.ID); err != nil {
		t.Fatal(err)
	}
	if it2.Stage != catalog.StageFailed || !strings.Contains(it2.LastError, "qqq") {
		t.Errorf("with access.required: stage %s, %q", it2.Stage, it2.LastError)
	}
}

// TestReprocessKeepsSearchable: `reprocess --languages fra` with fra not
// installed stored a new version without an access copy, and the index
// then held the new version's 0 pages: the item's words were no longer
// found. The CLI now refuses a language that is not installed up front
// (ocr.CheckLanguages); and whatever makes a version without text, the
// version before it stays found.
func TestReprocessKeepsSearchable(t *testing.T) {
	te := accessEnv(t)
	ctx := context.Background()
	idx, err := fts.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	te.Index = idx
	p := filepath.Join(te.hot, "letter.png")
	copyInput(t, pagePNG(t, t.TempDir(), 300, false, short), p)
	it := te.ingest(t, p)
	found := func() string {
		r, err := idx.Search(ctx, search.Query{Text: "parish", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var bags []string
		for _, h := range r.Hits {
			bags = append(bags, h.Bag)
		}
		return strings.Join(bags, " ")
	}
	if got := found(); got != it.BagID {
		t.Fatalf("indexed at ingest: %q, want %s", got, it.BagID)
	}
	re, err := te.Reprocess(ctx, it.BagID, &catalog.OCRSettings{Languages: []string{"qqq"}})
	if err != nil {
		t.Fatal(err)
	}
	if re, err = te.Run(ctx, re.ID); err != nil || re.Stage != catalog.StageDone {
		t.Fatalf("reprocess: %v %s %s", err, re.Stage, re.LastError)
	}
	if got := found(); got != it.BagID {
		t.Errorf("after a version without text, search finds %q, want the version before it, %s", got, it.BagID)
	}
	// Staff see that a newer version exists (the bag page, the API).
	if v, err := te.cat.NewerVersions(ctx, it.BagID); err != nil || !slices.Equal(v, []string{re.BagID}) {
		t.Errorf("newer versions of %s: %q %v, want %s", it.BagID, v, err, re.BagID)
	}
	if err := ocr.CheckLanguages([]string{"qqq"}); err == nil || !strings.Contains(err.Error(), "tesseract-ocr-qqq") {
		t.Errorf("CheckLanguages of a language not installed: %v", err)
	}
	if err := ocr.CheckLanguages([]string{"../../etc/passwd"}); err == nil {
		t.Error("a path passed for a language name")
	}
	if err := ocr.CheckLanguages([]string{"eng", "osd"}); err != nil {
		t.Errorf("installed languages refused: %v", err)
	}
}

// snapshot lists a folder's files with their contents, to compare.
func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.WriteString(p + "\n" + string(data) + "\n")
		}
		return nil
	})
	return b.String()
}

// agedCatalog is the real catalog with one item taken long ago: time a
// test cannot wait for (a fake beside the real catalog, for one fact).
type agedCatalog struct {
	catalog.Catalog
	id      string
	created time.Time
}

func (a agedCatalog) Item(ctx context.Context, id string) (*catalog.Item, error) {
	it, err := a.Catalog.Item(ctx, id)
	if err == nil && id == a.id {
		it.Created = a.created
	}
	return it, err
}

// TestReprocessKeepsRetention: a bag's retention runs from the day its
// item was first taken; a new version made by reprocess years later is due
// when the first was, not a period after the reprocess.
func TestReprocessKeepsRetention(t *testing.T) {
	te := accessEnv(t)
	ctx := context.Background()
	te.Retention = retention.Config{Schedules: []retention.Schedule{{Code: "FIN-7", Title: "Financial records", Mandate: "Companies Act 2006", Trigger: retention.Ingested, Period: "P7Y", Action: retention.Destroy}}}
	te.Bag.Metadata = map[string]string{"retention": "FIN-7"}
	p := filepath.Join(te.hot, "ledger.png")
	copyInput(t, pagePNG(t, t.TempDir(), 300, false, short), p)
	it := te.ingest(t, p)
	first, err := te.cat.Retention(ctx, it.BagID)
	if err != nil || first.Schedule != "FIN-7" {
		t.Fatalf("the first bag's retention: %+v %v", first, err)
	}
	taken := time.Date(2020, 3, 14, 9, 0, 0, 0, time.UTC)
	te.Catalog = agedCatalog{Catalog: te.cat, id: it.ID, created: taken}
	re, err := te.Reprocess(ctx, it.BagID, &catalog.OCRSettings{Languages: []string{"eng"}})
	if err != nil {
		t.Fatal(err)
	}
	if re, err = te.Run(ctx, re.ID); err != nil || re.Stage != catalog.StageDone {
		t.Fatalf("reprocess: %v %s %s", err, re.Stage, re.LastError)
	}
	got, err := te.cat.Retention(ctx, re.BagID)
	if want := time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC); err != nil || !got.Due.Equal(want) {
		t.Errorf("the new version's retention: %+v %v, due want %s (seven years from the first intake)", got, err, want.Format(time.DateOnly))
	}
}
