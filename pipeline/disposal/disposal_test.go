package disposal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/ocr/ocrtest"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/audit"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
	"github.com/strongroom-archive/strongroom/storage/local"
	_ "github.com/strongroom-archive/strongroom/storage/s3"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestMain lets this test binary serve as its own decoder worker.
func TestMain(m *testing.M) {
	ocr.WorkerMain()
	os.Exit(m.Run())
}

type world struct {
	cat   *sqlite.DB
	store storage.Store
	idx   *fts.Index
	x     *disposal.Executor
	bags  []string
	// storeDir is the local store's folder.
	storeDir string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newWorld stores n items (the first a 3-page batch) with the real engine
// in a local store, puts their words in a real index, and returns an
// executor for them.
func newWorld(t *testing.T, n int) *world {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldOn(t, st, n)
	w.storeDir = dir
	return w
}

func newWorldOn(t *testing.T, st storage.Store, n int) *world {
	t.Helper()
	root := t.TempDir()
	ctx := context.Background()
	cat, err := sqlite.Open(ctx, filepath.Join(root, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	idx, err := fts.Open(ctx, filepath.Join(root, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	sched := retention.Config{Schedules: []retention.Schedule{{Code: "FIN-7", Title: "Financial records", Mandate: "Tax Act s. 42",
		Trigger: retention.Ingested, Period: "P1D", Action: retention.Destroy}}}
	eng := &pipeline.Engine{
		Cfg: pipeline.Config{Workers: 1, MaxAttempts: 2, RetryBackoff: 10 * time.Millisecond, MaxPixels: 1e8, MaxDecodedBytes: 1 << 28, Lease: 30 * time.Second,
			EnvironmentAlertAfter: time.Minute, Duplicates: pipeline.DuplicatesWarn},
		Holder: pipeline.Holder(), Bag: pipeline.BagConfig{SourceOrganization: "Test", Algorithms: bagit.DefaultAlgorithms},
		DataDir: filepath.Join(root, "data"), DoneDir: filepath.Join(root, "done"), FailedDir: filepath.Join(root, "failed"),
		Catalog: cat, Store: st, StoreURL: "file:store", Identify: identify.New(), Retention: sched,
		Policy: identify.Policy{Default: identify.Preserve, Unknown: identify.Preserve}, Agent: "strongroom/test", Log: quiet(), Now: time.Now, Decoder: ocrtest.Decoder(t, 1e8),
	}
	w := &world{cat: cat, store: st, idx: idx}
	for i := range n {
		p := filepath.Join(root, "in", fmt.Sprintf("ledger-%d.png", i))
		if i == 0 {
			p = filepath.Join(root, "in", "book")
			for j := range 3 {
				testenv.RampPNG(t, filepath.Join(p, fmt.Sprintf("p%d.png", j)), 40+j)
			}
		} else {
			testenv.RampPNG(t, p, 50+i)
		}
		it, err := eng.NewItem(ctx, pipeline.ItemSpec{Path: p, Release: catalog.ReleaseKeep, Meta: catalog.Metadata{Retention: "FIN-7"}})
		if err != nil {
			t.Fatal(err)
		}
		if it, err = eng.Run(ctx, it.ID); err != nil || it.Stage != catalog.StageDone {
			t.Fatalf("ingest: %v %s", err, it.LastError)
		}
		w.bags = append(w.bags, it.BagID)
		if err := idx.PutBag(ctx, search.Doc{Bag: it.BagID, Title: it.Name}, []search.Page{{File: "data/access/x.pdf", N: 1, Width: 100, Height: 100,
			Words: []search.Word{{Text: "harbour", Box: image.Rect(1, 1, 20, 10)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	w.x = &disposal.Executor{Catalog: cat, Store: st, StoreURL: "file:store", Index: idx, Retention: sched,
		WorkDir: filepath.Join(root, "data", "work"), CacheDir: filepath.Join(root, "data", "cache"), Agent: "strongroom/test", Log: quiet(), Now: time.Now}
	return w
}

func (w *world) keys(t *testing.T, prefix string) []string {
	var out []string
	for oi, err := range w.store.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, oi.Key)
	}
	return out
}

func (w *world) approved(t *testing.T, bags ...string) *catalog.Disposal {
	t.Helper()
	ctx := context.Background()
	d := &catalog.Disposal{Bags: bags, Action: "destroy", Reason: "FIN-7 ended", RequestedBy: "rm", Created: time.Now()}
	if err := w.cat.RequestDisposal(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cat.DecideDisposal(ctx, d.ID, true, "rm", "", time.Now()); !errors.Is(err, catalog.ErrSelfApproval) {
		t.Fatalf("self-approval: %v", err)
	}
	if _, err := w.cat.DecideDisposal(ctx, d.ID, true, "director", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	return d
}

func (w *world) hits(t *testing.T, bag string) int {
	r, err := w.idx.Search(context.Background(), search.Query{Text: "harbour", Bag: bag, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return r.Total
}

// TestDispose: an approved request deletes every object of its bag from
// the store, its index rows, and leaves a certificate in the store, a
// tombstone and a PREMIS deletion event in the catalog; the other bag is
// untouched, and an audit of everything finds nothing amiss (the
// certificates are not "unexpected").
func TestDispose(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	gone, kept := w.bags[0], w.bags[1]
	objs, _ := w.cat.Objects(ctx, gone)
	keptBefore := w.keys(t, kept+"/")
	d := w.approved(t, gone)
	got, err := w.x.Execute(ctx, d.ID)
	if err != nil || got.State != catalog.DisposalDone || !slices.Equal(got.Disposed, []string{gone}) {
		t.Fatalf("execute: %+v %v", got, err)
	}
	if left := w.keys(t, gone+"/"); len(left) != 0 {
		t.Errorf("left in the store: %q", left)
	}
	if _, err := os.Stat(filepath.Join(w.storeDir, gone)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the bag's folder is still in the store: %v", err)
	}
	if !slices.Equal(w.keys(t, kept+"/"), keptBefore) || w.hits(t, kept) != 1 {
		t.Error("the other bag was touched")
	}
	if w.hits(t, gone) != 0 {
		t.Error("the disposed bag is still found by search")
	}
	tomb, err := w.cat.Tombstone(ctx, gone)
	if err != nil || tomb.ApprovedBy != "director" || tomb.RequestedBy != "rm" || tomb.Schedule != "FIN-7" || tomb.Mandate != "Tax Act s. 42" ||
		len(tomb.TagManifestSHA512) != 128 || tomb.Files != 3 || len(tomb.Deleted) != len(objs) || tomb.Title != "book" {
		t.Errorf("tombstone: %+v %v", tomb, err)
	}
	r, err := w.store.Get(ctx, tomb.Certificate)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	var cert catalog.Tombstone
	if err := json.NewDecoder(r).Decode(&cert); err != nil || cert.BagID != gone || cert.ApprovedBy != "director" || len(cert.Deleted) != len(objs) {
		t.Errorf("certificate: %+v %v", cert, err)
	}
	r.Close()
	// The PDF certificate: PDF/A by our checker, and its text, read by
	// Poppler, says what went and on whose authority.
	pdf := filepath.Join(t.TempDir(), "certificate.pdf")
	if r, err := w.store.Get(ctx, tomb.CertificatePDF); err != nil {
		t.Fatalf("PDF certificate: %v", err)
	} else {
		b, _ := io.ReadAll(r)
		r.Close()
		os.WriteFile(pdf, b, 0o644)
	}
	if rep, err := pdfa.Check(pdf, pdfa.CheckOptions{Strict: true}); err != nil || !rep.Valid() {
		t.Errorf("PDF certificate is not PDF/A: %v %v", err, rep)
	}
	text, err := exec.Command(testenv.Tool(t, "pdftotext"), "-layout", pdf, "-").Output()
	for _, want := range []string{"Certificate of disposal", gone, "director", "Tax Act s. 42", gone + "/bagit.txt", tomb.TagManifestSHA512[:40]} {
		if err != nil || !bytes.Contains(text, []byte(want)) {
			t.Errorf("the PDF certificate's text lacks %q (%v):\n%s", want, err, text)
		}
	}
	evs, _ := w.cat.BagEvents(ctx, gone)
	var said bool
	for _, ev := range evs {
		said = said || ev.Type == catalog.EvDeletion && strings.Contains(ev.Detail, "approved by director") && strings.Contains(ev.Detail, "Tax Act s. 42")
	}
	if !said {
		t.Errorf("no PREMIS deletion event: %+v", evs)
	}
	a := &audit.Auditor{Cfg: audit.Config{Cycle: time.Hour, Interval: time.Minute, Concurrency: 1, Algorithms: []bagit.Algorithm{bagit.SHA256}},
		Catalog: w.cat, Store: w.store, Agent: "t", Log: quiet(), Now: time.Now}
	sum, err := a.Run(ctx, audit.Selection{All: true}, nil)
	if err != nil || sum.Bags != 1 || sum.Damaged != 0 || sum.Foreign != 0 {
		t.Errorf("audit after the disposal: %+v %v", sum, err)
	}
}

// failing is a store whose deletes fail after the first few: a store that
// goes away halfway through a disposal (a fault a real local store does
// not produce on demand).
type failing struct {
	storage.Store
	left int
}

func (f *failing) Delete(ctx context.Context, key string) error {
	if f.left--; f.left < 0 {
		return errors.New("connection reset by peer")
	}
	return f.Store.Delete(ctx, key)
}

// TestDisposeFailsHalfway: a store that fails in the middle of a deletion
// ends the request failed, saying how far it got; no tombstone is written
// while objects remain; running it again finishes the job.
func TestDisposeFailsHalfway(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	bag := w.bags[0]
	d := w.approved(t, bag)
	real := w.x.Store
	w.x.Store = &failing{Store: real, left: 3}
	got, err := w.x.Execute(ctx, d.ID)
	if err == nil || got.State != catalog.DisposalFailed || !strings.Contains(got.Detail, "deleted 3 of") || !strings.Contains(got.Detail, "run the request again") {
		t.Fatalf("halfway: %+v %v", got, err)
	}
	if _, err := w.cat.Tombstone(ctx, bag); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a tombstone while objects remain: %v", err)
	}
	if b, _ := w.cat.Bag(ctx, bag); !b.Disposed.IsZero() {
		t.Error("marked disposed while objects remain")
	}
	if len(w.keys(t, bag+"/")) == 0 {
		t.Fatal("nothing left: the fault came too late to test anything")
	}
	w.x.Store = real
	if got, err = w.x.Execute(ctx, d.ID); err != nil || got.State != catalog.DisposalDone {
		t.Fatalf("again: %+v %v", got, err)
	}
	if left := w.keys(t, bag+"/"); len(left) != 0 {
		t.Errorf("left after the retry: %q", left)
	}
	if tomb, err := w.cat.Tombstone(ctx, bag); err != nil || len(tomb.Deleted) < 10 {
		t.Errorf("tombstone after the retry: %+v %v", tomb, err)
	}
}

// TestHoldAfterApproval: a hold placed after the approval stops the
// execution before anything is deleted; once released, the request runs.
func TestHoldAfterApproval(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	bag := w.bags[0]
	d := w.approved(t, bag)
	before := w.keys(t, bag+"/")
	h := &catalog.Hold{Name: "inquiry", Reason: "records requested by the ombudsman", Authority: "ombudsman", CreatedBy: "counsel"}
	if err := w.cat.CreateHold(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := w.cat.HoldBags(ctx, h.ID, []string{bag}, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := w.x.Execute(ctx, d.ID)
	if !errors.Is(err, catalog.ErrHeld) || got.State != catalog.DisposalFailed || !slices.Equal(w.keys(t, bag+"/"), before) {
		t.Fatalf("with a hold: %+v %v; store %d of %d objects", got, err, len(w.keys(t, bag+"/")), len(before))
	}
	if err := w.cat.ReleaseHold(ctx, h.ID, "counsel", "inquiry closed", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err = w.x.Execute(ctx, d.ID); err != nil || got.State != catalog.DisposalDone {
		t.Fatalf("after the release: %+v %v", got, err)
	}
}

// TestComplianceLockWaits: on MinIO with Object Lock in compliance mode,
// a bag whose objects are locked beyond today (its schedule's due date is
// tomorrow; the catalog was told to dispose of it anyway) is not touched:
// the request fails saying until when the disposal must wait, before any
// object is deleted.
func TestComplianceLockWaits(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	no := false
	st, err := storage.Open(context.Background(), storage.Config{URL: s3test.URL(srv.Bucket(true)), S3: storage.S3Config{Endpoint: srv.Endpoint,
		Region: "us-east-1", Secure: &no, PathStyle: true, Lock: storage.S3Lock{Mode: "compliance", RetainFor: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldOn(t, st, 2)
	ctx := context.Background()
	bag := w.bags[1]
	before := w.keys(t, bag+"/")
	d := w.approved(t, bag)
	got, err := w.x.Execute(ctx, d.ID)
	if err == nil || got.State != catalog.DisposalFailed || !strings.Contains(got.Detail, "locked in compliance mode until") || !strings.Contains(got.Detail, "nothing deleted") {
		t.Fatalf("a locked bag: %+v %v", got, err)
	}
	if after := w.keys(t, bag+"/"); !slices.Equal(after, before) {
		t.Errorf("objects of the locked bag: %d before, %d after", len(before), len(after))
	}
	if _, err := w.cat.Tombstone(ctx, bag); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a tombstone for a bag still stored: %v", err)
	}
}

// TestPropose: the daily job asks for the disposal of the bags due under a
// destroy schedule: nothing before the due date; then one request naming
// every due bag but the held one, asked by the schedule, which a person
// approves and which then runs; the next round asks for nothing again.
func TestPropose(t *testing.T) {
	w := newWorld(t, 3)
	ctx := context.Background()
	if made, err := disposal.Propose(ctx, w.cat, w.x.Retention, time.Now()); err != nil || len(made) != 0 {
		t.Fatalf("before the due date: %+v %v", made, err)
	}
	h := &catalog.Hold{Name: "inquiry", Reason: "r", Authority: "a", CreatedBy: "counsel"}
	w.cat.CreateHold(ctx, h)
	w.cat.HoldBags(ctx, h.ID, []string{w.bags[1]}, nil, time.Now())
	later := time.Now().AddDate(0, 0, 2)
	made, err := disposal.Propose(ctx, w.cat, w.x.Retention, later)
	if err != nil || len(made) != 1 {
		t.Fatalf("two days later: %+v %v", made, err)
	}
	d := made[0]
	want := []string{w.bags[0], w.bags[2]}
	slices.Sort(want)
	if !slices.Equal(d.Bags, want) || d.RequestedBy != disposal.Proposer || !strings.Contains(d.Reason, "FIN-7 (Financial records; Tax Act s. 42)") {
		t.Errorf("the request: %+v, want bags %q", d, want)
	}
	if again, _ := disposal.Propose(ctx, w.cat, w.x.Retention, later); len(again) != 0 {
		t.Errorf("asked twice: %+v", again)
	}
	if _, err := w.cat.DecideDisposal(ctx, d.ID, true, "director", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := w.x.Execute(ctx, d.ID); err != nil || got.State != catalog.DisposalDone || len(got.Disposed) != 2 {
		t.Fatalf("execute: %+v %v", got, err)
	}
	if again, _ := disposal.Propose(ctx, w.cat, w.x.Retention, later); len(again) != 0 {
		t.Errorf("disposed bags asked for again: %+v", again)
	}
}

// TestTransfer: a transfer request copies the bag to the transfer store,
// validates it there, and only then deletes it here; a transfer store that
// cannot be reached leaves everything in place.
func TestTransfer(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	bag := w.bags[0]
	before := w.keys(t, bag+"/")
	w.x.Transfer = func(context.Context) (storage.Store, string, error) {
		return nil, "", errors.New("dial tcp 10.0.0.9:9000: connection refused")
	}
	d := &catalog.Disposal{Bags: []string{bag}, Action: "transfer", Reason: "to the county archive", RequestedBy: "rm", Created: time.Now()}
	if err := w.cat.RequestDisposal(ctx, d); err != nil {
		t.Fatal(err)
	}
	w.cat.DecideDisposal(ctx, d.ID, true, "director", "", time.Now())
	got, err := w.x.Execute(ctx, d.ID)
	if err == nil || got.State != catalog.DisposalFailed || !strings.Contains(got.Detail, "nothing deleted: transfer") || !slices.Equal(w.keys(t, bag+"/"), before) {
		t.Fatalf("an unreachable destination: %+v %v", got, err)
	}
	destDir := filepath.Join(t.TempDir(), "county")
	dest, err := local.New(destDir)
	if err != nil {
		t.Fatal(err)
	}
	w.x.Transfer = func(context.Context) (storage.Store, string, error) { return dest, "file://" + destDir, nil }
	if got, err = w.x.Execute(ctx, d.ID); err != nil || got.State != catalog.DisposalDone {
		t.Fatalf("transfer: %+v %v", got, err)
	}
	r, err := bagit.ValidateDir(ctx, filepath.Join(destDir, bag), bagit.ValidateOptions{})
	if err != nil || !r.Valid {
		t.Fatalf("the transferred bag: %v %+v", err, r)
	}
	if left := w.keys(t, bag+"/"); len(left) != 0 {
		t.Errorf("left here after the transfer: %q", left)
	}
	tomb, _ := w.cat.Tombstone(ctx, bag)
	if tomb == nil || tomb.TransferredTo != "file://"+destDir {
		t.Errorf("tombstone: %+v", tomb)
	}
	evs, _ := w.cat.BagEvents(ctx, bag)
	if last := evs[len(evs)-1]; !strings.Contains(last.Detail, "transferred to file://"+destDir+" and verified there") {
		t.Errorf("the deletion event: %s", last.Detail)
	}
}

// TestReview: a bag due under a review schedule is kept until a later day
// (its due date moves, an event says who decided and why) or, reviewed
// again, asked for disposal (a destroy request of the reviewer's, which
// another person decides); a bag not due, or not under review, is not
// reviewed.
func TestReview(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	bag := w.bags[0]
	now := time.Now()
	r, _ := w.cat.Retention(ctx, bag)
	if _, err := disposal.Review(ctx, w.cat, bag, now.AddDate(1, 0, 0), false, "still in use", "ana", now); !errors.Is(err, disposal.ErrNotDue) {
		t.Errorf("a bag under a destroy schedule reviewed: %v", err)
	}
	r.Action, r.Due = "review", now.AddDate(0, 0, 1)
	w.cat.SetRetention(ctx, *r)
	if _, err := disposal.Review(ctx, w.cat, bag, now.AddDate(1, 0, 0), false, "still in use", "ana", now); !errors.Is(err, disposal.ErrNotDue) {
		t.Errorf("a bag not due reviewed: %v", err)
	}
	later := now.AddDate(0, 0, 2)
	keep := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if d, err := disposal.Review(ctx, w.cat, bag, keep, false, "the inquiry may reopen", "ana", later); err != nil || d != nil {
		t.Fatalf("keep: %+v %v", d, err)
	}
	if got, _ := w.cat.Retention(ctx, bag); !got.Due.Equal(keep) || got.Action != "review" {
		t.Errorf("after keep: %+v", got)
	}
	evs, _ := w.cat.BagEvents(ctx, bag)
	if last := evs[len(evs)-1]; !strings.Contains(last.Detail, "by ana: kept until 2031-01-01") || !strings.Contains(last.Detail, "the inquiry may reopen") {
		t.Errorf("the keep event: %s", last.Detail)
	}
	d, err := disposal.Review(ctx, w.cat, bag, time.Time{}, true, "no longer needed", "ana", keep.AddDate(0, 0, 1))
	if err != nil || d == nil || d.Action != "destroy" || d.RequestedBy != "ana" || d.State != catalog.DisposalRequested {
		t.Fatalf("dispose: %+v %v", d, err)
	}
	if _, err := w.cat.DecideDisposal(ctx, d.ID, true, "ana", "", time.Now()); !errors.Is(err, catalog.ErrSelfApproval) {
		t.Errorf("the reviewer approved their own request: %v", err)
	}
}
