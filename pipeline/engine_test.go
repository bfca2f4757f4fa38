package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/tiff"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr/ocrtest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/storage/bagit"
	"github.com/strongroom-archive/strongroom/storage/local"
)

type testEnv struct {
	*Engine
	root, hot, done, failed, storeDir string
	cat                               *sqlite.DB
}

func policy() identify.Policy {
	return identify.Policy{
		PUID:    map[string]identify.Action{"fmt/353": identify.Normalise, "x-fmt/409": identify.Reject},
		MIME:    map[string]identify.Action{"image/png": identify.Normalise, "image/jpeg": identify.Normalise, "application/pdf": identify.Normalise, "application/x-msdownload": identify.Reject},
		Default: identify.Preserve, Unknown: identify.Reject,
	}
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	te := &testEnv{root: root, hot: filepath.Join(root, "hot"), done: filepath.Join(root, "done"),
		failed: filepath.Join(root, "failed"), storeDir: filepath.Join(root, "store")}
	os.MkdirAll(te.hot, 0o755)
	cat, err := sqlite.Open(context.Background(), filepath.Join(root, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	st, err := local.New(te.storeDir)
	if err != nil {
		t.Fatal(err)
	}
	te.cat = cat
	te.Engine = &Engine{
		Cfg: Config{Workers: 2, MaxAttempts: 2, RetryBackoff: 10 * time.Millisecond, MaxPixels: 50_000_000, MaxDecodedBytes: 1 << 28,
			Lease: 30 * time.Second, EnvironmentAlertAfter: time.Minute},
		Holder:  Holder(),
		Bag:     BagConfig{SourceOrganization: "Test Archive", Algorithms: bagit.DefaultAlgorithms},
		DataDir: filepath.Join(root, "data"), DoneDir: te.done, FailedDir: te.failed,
		Catalog: cat, Store: st, StoreURL: "file://" + te.storeDir, Identify: identify.New(), Policy: policy(),
		Agent: "strongroom/test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
	}
	te.Decoder = ocrtest.Decoder(t, te.Cfg.MaxPixels)
	return te
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tiffBytes(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w; i++ {
		img.Set(i, i%h, color.RGBA{200, 10, 10, 255})
	}
	var b bytes.Buffer
	if err := tiff.Encode(&b, img, &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func put(t *testing.T, p string, b []byte) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (te *testEnv) ingest(t *testing.T, p string) *catalog.Item {
	t.Helper()
	it, err := te.NewItem(context.Background(), ItemSpec{Path: p, HotFolder: te.hot, Kind: "", Release: catalog.ReleaseMove})
	if err != nil {
		t.Fatal(err)
	}
	it, err = te.Run(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestStoredItems(t *testing.T) {
	te := newTestEnv(t)
	names := []string{"page.tif", "scan one.png", "ünïcödé 100%.png", "line\nbreak.png", " lead.png"}
	for _, n := range names {
		b := pngBytes(t, 40, 30)
		if strings.HasSuffix(n, ".tif") {
			b = tiffBytes(t, 50, 20)
		}
		put(t, filepath.Join(te.hot, n), b)
	}
	for i := 1; i <= 3; i++ {
		put(t, filepath.Join(te.hot, "book-17", "pages", "p"+string(rune('0'+i))+".png"), pngBytes(t, 20+i, 20))
	}
	put(t, filepath.Join(te.hot, "book-17", ".DS_Store"), []byte("junk"))
	for _, n := range append(names, "book-17") {
		it := te.ingest(t, filepath.Join(te.hot, n))
		if it.Stage != catalog.StageDone {
			t.Fatalf("%q: stage %s: %s", n, it.Stage, it.LastError)
		}
		// The stored bag validates, and the original went to done/.
		r, err := bagit.ValidateDir(context.Background(), filepath.Join(te.storeDir, it.BagID), bagit.ValidateOptions{})
		if err != nil || !r.Valid {
			t.Fatalf("%q: stored bag: %v %v", n, err, r.Problems)
		}
		if _, err := os.Lstat(filepath.Join(te.done, n)); err != nil {
			t.Errorf("%q not in done: %v", n, err)
		}
		if _, err := os.Lstat(filepath.Join(te.hot, n)); err == nil {
			t.Errorf("%q still in the hot folder", n)
		}
		// bag-info.txt values can hold neither line breaks nor edge spaces.
		if got := r.Info.Get("External-Identifier"); got != strings.Join(strings.Fields(n), " ") {
			t.Errorf("External-Identifier %q, want %q", got, n)
		}
		if r.Info.Get("Source-Organization") != "Test Archive" || r.Info.Get("Internal-Sender-Identifier") != strings.Join(strings.Fields(n), " ") {
			t.Errorf("bag-info: %+v", r.Info.Fields)
		}
		evs, _ := te.cat.Events(context.Background(), it.ID)
		seen := map[catalog.EventType]bool{}
		for _, e := range evs {
			seen[e.Type] = true
		}
		for _, typ := range []catalog.EventType{catalog.EvIngestion, catalog.EvDigest, catalog.EvIdentification, catalog.EvValidation, catalog.EvReplication, catalog.EvFixityCheck} {
			if !seen[typ] {
				t.Errorf("%q: no %s event", n, typ)
			}
		}
	}
	// The batch keeps its structure and leaves dot-files out.
	r, _ := bagit.ValidateDir(context.Background(), filepath.Join(te.storeDir, mustItem(t, te, "book-17").BagID), bagit.ValidateOptions{})
	if _, ok := r.Payload["data/original/book-17/pages/p2.png"]; !ok || len(r.Payload) != 3 {
		t.Errorf("batch payload: %v", r.Payload)
	}
}

func mustItem(t *testing.T, te *testEnv, name string) *catalog.Item {
	items, err := te.cat.Items(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("no item %q", name)
	return nil
}

func TestFailedItems(t *testing.T) {
	te := newTestEnv(t)
	good := tiffBytes(t, 60, 40)
	outside := put(t, filepath.Join(t.TempDir(), "secret.png"), pngBytes(t, 5, 5))
	cases := []struct {
		name   string
		make   func(p string)
		reason string
		stage  catalog.Stage // the stage the reason file names
	}{
		{"zero.tif", func(p string) { put(t, p, nil) }, "zero-byte file", catalog.StageFixity},
		{"truncated.tif", func(p string) { put(t, p, good[:len(good)/2]) }, "corrupt: TIFF", catalog.StageValidate},
		{"corrupt.png", func(p string) {
			b := pngBytes(t, 64, 64)
			copy(b[60:], bytes.Repeat([]byte{0xff}, 40))
			put(t, p, b)
		}, "corrupt: PNG", catalog.StageValidate},
		{"program.exe", func(p string) {
			put(t, p, append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...))
		}, "rejected by the format policy", catalog.StageIdentify},
		{"unknown.bin", func(p string) { put(t, p, []byte{0x00, 0x13, 0x37, 0x42, 0x99}) }, "format not identified", catalog.StageIdentify}, // rejected by this policy
		{"link.png", func(p string) { os.Symlink(outside, p) }, "symlinks are refused", catalog.StageFixity},
		{"book-with-link", func(p string) {
			put(t, filepath.Join(p, "p1.png"), pngBytes(t, 5, 5))
			os.Symlink(outside, filepath.Join(p, "p2.png"))
		}, "book-with-link/p2.png: is a symlink", catalog.StageFixity},
		{"empty-batch", func(p string) { os.MkdirAll(p, 0o755) }, "batch folder has no files", catalog.StageFixity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(te.hot, c.name)
			c.make(p)
			it := te.ingest(t, p)
			if it.Stage != catalog.StageFailed || !strings.Contains(it.LastError, c.reason) {
				t.Fatalf("stage %s, error %q; want failed with %q", it.Stage, it.LastError, c.reason)
			}
			b, err := os.ReadFile(filepath.Join(te.failed, c.name+".reason.json"))
			if err != nil {
				t.Fatal(err)
			}
			var r Reason
			if err := json.Unmarshal(b, &r); err != nil || r.Stage != c.stage || !strings.Contains(r.Error, c.reason) || r.Source != p {
				t.Errorf("reason file: %s (%v)", b, err)
			}
			if _, err := os.Lstat(filepath.Join(te.failed, c.name)); err != nil {
				t.Errorf("original not in failed/: %v", err)
			}
			if _, err := os.Stat(outside); err != nil {
				t.Errorf("the symlink target outside was touched: %v", err)
			}
			if entries, _ := os.ReadDir(te.storeDir); len(entries) > 1 { // only .incoming
				t.Errorf("a failed item left objects in the store: %v", entries)
			}
		})
	}
}

// TestStepsAreIdempotent re-runs each stage after it completed, as a crash
// between a stage's work and its state change would: the result is the same
// bag, stored once, and the original released once.
func TestStepsAreIdempotent(t *testing.T) {
	te := newTestEnv(t)
	p := put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 30, 30))
	it, err := te.NewItem(context.Background(), ItemSpec{Path: p, HotFolder: te.hot, Kind: "", Release: catalog.ReleaseMove})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Every stage run twice, as after a crash between its work and its
	// record, does the same.
	for _, st := range stages[:6] { // fixity … store
		for range 2 {
			if _, err := st.run(te.Engine, ctx, it, te.Log); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		if _, err := te.Step(ctx, it.ID); err != nil { // records it and moves on
			t.Fatalf("%s: %v", st.name, err)
		}
		it, _ = te.cat.Item(ctx, it.ID)
	}
	// A store stage without the work area (lost with a disk) sends the item
	// back to its first stage; it is made again and stored.
	it.Stage = catalog.StageStore
	te.cat.Lease(ctx, it.ID, te.Holder, time.Now(), time.Now().Add(time.Minute))
	if err := te.cat.UpdateItem(ctx, it, catalog.StageIndex, te.Holder); err != nil {
		t.Fatal(err)
	}
	te.cat.Unlease(ctx, it.ID, te.Holder)
	os.RemoveAll(te.workDir(it))
	if it, err = te.Step(ctx, it.ID); err != nil || it.Stage != FirstStage() {
		t.Fatalf("store without a work area: %s %v", it.Stage, err)
	}
	if it, err = te.Run(ctx, it.ID); err != nil || it.Stage != catalog.StageDone {
		t.Fatalf("after starting over: %s %v %s", it.Stage, err, it.LastError)
	}
	if _, err := te.release(ctx, it, te.Log); err != nil {
		t.Fatalf("second release: %v", err)
	}
	entries, _ := os.ReadDir(te.storeDir)
	if len(entries) != 2 { // .incoming and one bag
		t.Errorf("store holds %d entries", len(entries))
	}
	done, _ := os.ReadDir(te.done)
	if len(done) != 2 { // the original and its receipt
		t.Errorf("done holds %v", done)
	}
	var receipt Receipt
	if b, err := os.ReadFile(filepath.Join(te.done, "page.png.strongroom.json")); err != nil || json.Unmarshal(b, &receipt) != nil {
		t.Errorf("no receipt beside the original: %v", err)
	} else if receipt.Bag != it.BagID || len(receipt.Files) != 1 || receipt.Files[0].Path != "data/original/page.png" || len(receipt.Files[0].SHA512) != 128 {
		t.Errorf("receipt: %+v", receipt)
	}
	evs, _ := te.cat.Events(ctx, it.ID)
	count := map[catalog.EventType]int{}
	for _, e := range evs {
		count[e.Type]++
	}
	if count[catalog.EvIngestion] != 1 || count[catalog.EvReplication] != 1 || count[catalog.EvDigest] != 1 {
		t.Errorf("events after re-runs: %v", count)
	}
	if _, err := te.NewItem(ctx, ItemSpec{Path: filepath.Join(te.done, "page.png"), Release: catalog.ReleaseKeep}); err != nil {
		t.Fatal(err)
	}
}

func TestNotTakenTwice(t *testing.T) {
	te := newTestEnv(t)
	p := put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 30, 30))
	if _, err := te.NewItem(context.Background(), ItemSpec{Path: p, HotFolder: te.hot, Kind: "", Release: catalog.ReleaseMove}); err != nil {
		t.Fatal(err)
	}
	if _, err := te.NewItem(context.Background(), ItemSpec{Path: p, HotFolder: te.hot, Kind: "", Release: catalog.ReleaseMove}); err == nil {
		t.Fatal("the same source was taken twice")
	}
}

func TestNameClashInDone(t *testing.T) {
	te := newTestEnv(t)
	for range 2 {
		p := put(t, filepath.Join(te.hot, "page.png"), pngBytes(t, 30, 30))
		if it := te.ingest(t, p); it.Stage != catalog.StageDone {
			t.Fatal(it.LastError)
		}
	}
	done, _ := os.ReadDir(te.done)
	if len(done) != 4 { // two originals, two receipts
		t.Fatalf("done holds %v", done)
	}
}

func TestPremisWellFormed(t *testing.T) {
	te := newTestEnv(t)
	it := te.ingest(t, put(t, filepath.Join(te.hot, "a&b <c>.png"), pngBytes(t, 9, 9)))
	b, err := os.ReadFile(filepath.Join(te.storeDir, it.BagID, "premis.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("a&amp;b &lt;c&gt;.png")) || !bytes.Contains(b, []byte("<premis:eventType>format identification</premis:eventType>")) {
		t.Errorf("premis.xml:\n%s", b)
	}
	// Rights of each kind (a rightsstatements.org URI with an embargo, a
	// Creative Commons licence, an access level alone) validate against
	// PREMIS 3, and the identification report against its schema.
	testenv.Tool(t, "xmllint")
	schemas := testenv.Shared(t, "schemas")
	for i, m := range []map[string]string{
		{"rights": "http://rightsstatements.org/vocab/InC/1.0/", "access": "restricted", "embargo_until": "2030-01-01"},
		{"rights": "https://creativecommons.org/licenses/by/4.0/", "access": "open"},
		{"access": "closed"},
	} {
		te.Bag.Metadata = m
		it := te.ingest(t, put(t, filepath.Join(te.hot, fmt.Sprintf("rights-%d.png", i)), pngBytes(t, 9+i, 9)))
		bag := filepath.Join(te.storeDir, it.BagID)
		cmd := exec.Command("xmllint", "--nonet", "--noout", "--schema", filepath.Join(schemas, "premis-v3-0.xsd"), filepath.Join(bag, "premis.xml"))
		cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(schemas, "catalog.xml"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("rights %v: premis.xml against PREMIS 3: %v %s", m, err, out)
		}
		checkIdentification(t, bag)
	}
}

// TestDuplicatesSkipped: under pipeline.duplicates: skip a drop whose
// every original one earlier bag holds is not stored again: its originals
// go to done/ with a receipt naming that bag, the item is done with that
// bag, an alert on the bag says so; a batch only part of which is stored
// already is stored whole, with the warnings.
func TestDuplicatesSkipped(t *testing.T) {
	te := newTestEnv(t)
	te.Cfg.Duplicates = DuplicatesSkip
	ctx := context.Background()
	page, other := pngBytes(t, 41, 23), pngBytes(t, 23, 41)
	first := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), page))
	again := te.ingest(t, put(t, filepath.Join(te.hot, "page again.png"), page))
	if first.Stage != catalog.StageDone || again.Stage != catalog.StageDone {
		t.Fatalf("stages %s %s (%s)", first.Stage, again.Stage, again.LastError)
	}
	if again.BagID != first.BagID {
		t.Errorf("the skipped item's bag is %q, want the earlier %q", again.BagID, first.BagID)
	}
	if _, err := os.Stat(filepath.Join(te.storeDir, again.ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a bag was stored for the skipped item: %v", err)
	}
	var receipt Receipt
	if b, err := os.ReadFile(filepath.Join(te.done, "page again.png.strongroom.json")); err != nil || json.Unmarshal(b, &receipt) != nil {
		t.Fatalf("receipt of the skipped original: %v", err)
	}
	if receipt.Bag != first.BagID || len(receipt.Files) != 1 || receipt.Files[0].SHA256 != fmt.Sprintf("%x", sha256.Sum256(page)) {
		t.Errorf("receipt %+v", receipt)
	}
	alerts, _ := te.cat.Alerts(ctx, first.BagID)
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemDuplicate || !strings.Contains(alerts[0].Detail, again.ID) {
		t.Errorf("alerts on the earlier bag: %+v", alerts)
	}
	evs, _ := te.cat.Events(ctx, again.ID)
	var said bool
	for _, ev := range evs {
		said = said || strings.Contains(ev.Detail, "not stored: all 1 originals")
	}
	if !said {
		t.Errorf("no event says the item was skipped: %+v", evs)
	}

	// A batch of the stored page and a new one is stored whole.
	dir := filepath.Join(te.hot, "batch")
	put(t, filepath.Join(dir, "p1.png"), page)
	put(t, filepath.Join(dir, "p2.png"), other)
	batch := te.ingest(t, dir)
	if batch.Stage != catalog.StageDone || batch.BagID != batch.ID {
		t.Fatalf("the part-duplicate batch: stage %s bag %s (%s)", batch.Stage, batch.BagID, batch.LastError)
	}
	premis, _ := os.ReadFile(filepath.Join(te.storeDir, batch.BagID, "premis.xml"))
	if !strings.Contains(string(premis), "stored again: not all") {
		t.Error("the part-duplicate's PREMIS does not say why it was stored")
	}
}

// TestDuplicatesWarned: a dropped duplicate made a second bag without a
// word. Under pipeline.duplicates: warn (the default) it is still stored,
// with a warning event (in its PREMIS) and an alert naming the earlier
// bag; with allow, nothing is said.
func TestDuplicatesWarned(t *testing.T) {
	te := newTestEnv(t)
	te.Cfg.Duplicates = DuplicatesWarn
	ctx := context.Background()
	page := pngBytes(t, 41, 23)
	first := te.ingest(t, put(t, filepath.Join(te.hot, "page.png"), page))
	again := te.ingest(t, put(t, filepath.Join(te.hot, "page again.png"), page))
	if first.Stage != catalog.StageDone || again.Stage != catalog.StageDone {
		t.Fatalf("stages %s %s", first.Stage, again.Stage)
	}
	alerts, _ := te.cat.Alerts(ctx, again.BagID)
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemDuplicate || !strings.Contains(alerts[0].Detail, first.BagID) {
		t.Fatalf("alerts of the duplicate: %+v", alerts)
	}
	premis, _ := os.ReadFile(filepath.Join(te.storeDir, again.BagID, "premis.xml"))
	if !strings.Contains(string(premis), alreadyStored) {
		t.Error("the duplicate's PREMIS does not say so")
	}
	if a, _ := te.cat.Alerts(ctx, first.BagID); len(a) != 0 {
		t.Errorf("the first copy got alerts: %+v", a)
	}
	te.Cfg.Duplicates = DuplicatesAllow
	third := te.ingest(t, put(t, filepath.Join(te.hot, "page third.png"), page))
	if a, _ := te.cat.Alerts(ctx, third.BagID); third.Stage != catalog.StageDone || len(a) != 0 {
		t.Errorf("with allow: %s, alerts %+v", third.Stage, a)
	}
}
