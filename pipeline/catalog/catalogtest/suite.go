// Package catalogtest is the suite every catalog implementation must pass
// (as storetest is for stores): items and their stages, leases and
// compare-and-set, files, events, bags, objects and audits, alerts,
// batches, sessions; two writers at once; and crash-safety, a writer
// killed with SIGKILL in the middle of its work.
package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Opener opens catalogs for the suite.
type Opener struct {
	// Open opens the catalog at dsn; every call with the same dsn opens
	// the same catalog (as two processes would).
	Open func(ctx context.Context, dsn string) (catalog.Catalog, error)
	// NewDSN returns the address of a new, empty catalog.
	NewDSN func(t *testing.T) string
}

// Run runs the suite.
func Run(t *testing.T, o Opener) {
	for _, c := range []struct {
		name string
		test func(*testing.T, Opener)
	}{
		{"Items", testItems},
		{"NewerVersions", testNewerVersions},
		{"Retention", testRetention},
		{"Holds", testHolds},
		{"Disposals", testDisposals},
		{"Leases", testLeases},
		{"Claim", testClaim},
		{"Pages", testPages},
		{"Files", testFiles},
		{"Events", testEvents},
		{"BagsAndAudits", testBagsAndAudits},
		{"Catalogue", testCatalogue},
		{"Alerts", testAlerts},
		{"Batches", testBatches},
		{"Sessions", testSessions},
		{"Counts", testCounts},
		{"Roles", testRoles},
		{"TwoWriters", testTwoWriters},
		{"CrashSafety", testCrashSafety},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, o) })
	}
}

func open(t *testing.T, o Opener, dsn string) catalog.Catalog {
	t.Helper()
	c, err := o.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func fresh(t *testing.T, o Opener) catalog.Catalog { return open(t, o, o.NewDSN(t)) }

func item(id, source string) *catalog.Item {
	return &catalog.Item{ID: id, Name: "page.tif", Source: source, HotFolder: "/hot", Kind: catalog.KindFile,
		Release: catalog.ReleaseMove, Stage: catalog.StageFixity, Info: []catalog.InfoField{{Label: "Title", Value: "Parish register"}}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// leased creates an item and takes its lease for holder.
func leased(t *testing.T, c catalog.Catalog, id, holder string) *catalog.Item {
	t.Helper()
	it := item(id, "/hot/"+id)
	must(t, c.CreateItem(context.Background(), it))
	if ok, _, err := c.Lease(context.Background(), id, holder, time.Now(), time.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("lease %s: %v %v", id, ok, err)
	}
	return it
}

func testItems(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	psm := 6
	it := item("i1", "/hot/page.tif")
	it.OCR = &catalog.OCRSettings{Languages: []string{"deu", "eng"}, PSM: &psm}
	must(t, c.CreateItem(ctx, it))
	if it.Created.IsZero() || it.Updated.IsZero() {
		t.Error("CreateItem did not set the times")
	}
	got, err := c.Item(ctx, "i1")
	must(t, err)
	if got.Source != it.Source || got.Stage != catalog.StageFixity || got.Kind != catalog.KindFile || got.Release != catalog.ReleaseMove ||
		len(got.Info) != 1 || got.Info[0].Value != "Parish register" || got.OCR == nil || *got.OCR.PSM != 6 || got.OCR.Languages[0] != "deu" {
		t.Errorf("item read back: %+v", got)
	}
	if _, err := c.Item(ctx, "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown item: %v", err)
	}
	// The same source is never taken twice while its item is unfinished.
	if err := c.CreateItem(ctx, item("i2", "/hot/page.tif")); !errors.Is(err, catalog.ErrActive) {
		t.Errorf("second item of one source: %v", err)
	}
	if a, err := c.ActiveBySource(ctx, "/hot/page.tif"); err != nil || a == nil || a.ID != "i1" {
		t.Errorf("ActiveBySource: %+v %v", a, err)
	}
	// Through the stages under the lease, compare-and-set.
	if ok, _, err := c.Lease(ctx, "i1", "w1", time.Now(), time.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	for _, next := range []catalog.Stage{catalog.StageIdentify, catalog.StageValidate, catalog.StageNormalise, catalog.StagePackage, catalog.StageStore, catalog.StageRelease} {
		from := got.Stage
		got.Stage, got.BagID = next, "i1"
		must(t, c.UpdateItem(ctx, got, from, "w1"))
	}
	// A stale update (wrong stage, or not the lease's holder) changes nothing.
	stale := *got
	stale.Stage, stale.LastError = catalog.StageFail, "stale"
	if err := c.UpdateItem(ctx, &stale, catalog.StageFixity, "w1"); !errors.Is(err, catalog.ErrStale) {
		t.Errorf("update from a stage the item left: %v", err)
	}
	if err := c.UpdateItem(ctx, &stale, catalog.StageRelease, "w2"); !errors.Is(err, catalog.ErrStale) {
		t.Errorf("update by a worker without the lease: %v", err)
	}
	got.Stage, got.Held = catalog.StageDone, "/hot/page.tif"
	must(t, c.UpdateItem(ctx, got, catalog.StageRelease, "w1"))
	if g, _ := c.Item(ctx, "i1"); g.Stage != catalog.StageDone || g.LastError != "" || g.BagID != "i1" || g.Held != "/hot/page.tif" {
		t.Errorf("after the stages: %+v", g)
	}
	// Finished, the source may be taken again; the new item follows the
	// first, whose changed original was held at this path.
	if h, err := c.HeldAt(ctx, "/hot/page.tif"); err != nil || h == nil || h.ID != "i1" {
		t.Fatalf("HeldAt: %+v %v", h, err)
	}
	next := item("i2", "/hot/page.tif")
	next.Follows = "i1"
	must(t, c.CreateItem(ctx, next))
	if h, err := c.HeldAt(ctx, "/hot/page.tif"); err != nil || h != nil {
		t.Errorf("HeldAt once followed: %+v %v", h, err)
	}
	if g, _ := c.Item(ctx, "i2"); g.Follows != "i1" {
		t.Errorf("follows %q", g.Follows)
	}
	active, err := c.Active(ctx)
	must(t, err)
	if len(active) != 1 || active[0].ID != "i2" {
		t.Errorf("active: %v", ids(active))
	}
	all, err := c.Items(ctx, 10)
	must(t, err)
	if len(all) != 2 {
		t.Errorf("items: %v", ids(all))
	}
}

func ids(items []*catalog.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func testLeases(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	must(t, c.CreateItem(ctx, item("i1", "/hot/a")))
	now := time.Now()
	if ok, _, err := c.Lease(ctx, "i1", "w1", now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatal("first lease", ok, err)
	}
	if ok, cur, err := c.Lease(ctx, "i1", "w2", now, now.Add(time.Minute)); ok || err != nil || cur != "w1" {
		t.Errorf("a held lease taken: %v %q %v", ok, cur, err)
	}
	if ok, _, err := c.Lease(ctx, "i1", "w1", now, now.Add(2*time.Minute)); !ok || err != nil {
		t.Errorf("renewal refused: %v %v", ok, err)
	}
	// Lapsed: 2 minutes and half a second later it is anyone's (times
	// compare correctly below the second).
	later := now.Add(2*time.Minute + 500*time.Millisecond)
	if ok, _, err := c.Lease(ctx, "i1", "w2", later, later.Add(time.Minute)); !ok || err != nil {
		t.Errorf("lapsed lease not taken: %v %v", ok, err)
	}
	if ok, err := c.TakeLease(ctx, "i1", "w1", "w3", later.Add(time.Minute)); ok || err != nil {
		t.Errorf("TakeLease from a former holder: %v %v", ok, err)
	}
	if ok, err := c.TakeLease(ctx, "i1", "w2", "w3", later.Add(time.Minute)); !ok || err != nil {
		t.Errorf("TakeLease from the holder: %v %v", ok, err)
	}
	must(t, c.Unlease(ctx, "i1", "w2")) // not the holder: nothing happens
	if ok, cur, _ := c.Lease(ctx, "i1", "w4", later, later.Add(time.Minute)); ok || cur != "w3" {
		t.Errorf("Unlease by a non-holder let go: %v %q", ok, cur)
	}
	must(t, c.Unlease(ctx, "i1", "w3"))
	if ok, _, _ := c.Lease(ctx, "i1", "w4", later, later.Add(time.Minute)); !ok {
		t.Error("lease not free after Unlease")
	}
	if _, _, err := c.Lease(ctx, "nope", "w1", now, now); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("lease of an unknown item: %v", err)
	}
}

func testFiles(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	must(t, c.CreateItem(ctx, item("i1", "/hot/book")))
	mod := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)
	files := []catalog.File{
		{Path: "original/book/p2.tif", Source: "/hot/book/p2.tif", Size: 20, ModTime: mod, Inode: "1:2", SHA256: "aa", SHA512: "bb", PUID: "fmt/353", MIME: "image/tiff", Action: "normalise"},
		{Path: "original/book/p1.tif", Source: "/hot/book/p1.tif", Size: 10, SHA256: "cc", SHA512: "dd"},
	}
	must(t, c.PutFiles(ctx, "i1", files))
	must(t, c.PutFiles(ctx, "i1", files)) // a stage run again replaces them
	got, err := c.Files(ctx, "i1")
	must(t, err)
	if len(got) != 2 || got[0].Path != "original/book/p1.tif" || !got[1].ModTime.Equal(mod) || got[1].Inode != "1:2" || got[1].PUID != "fmt/353" || !got[0].ModTime.IsZero() {
		t.Errorf("files: %+v", got)
	}
}

func testEvents(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	must(t, c.CreateItem(ctx, item("i1", "/hot/a")))
	ev := func(typ catalog.EventType, detail string) catalog.Event {
		return catalog.Event{ItemID: "i1", BagID: "i1", Type: typ, Outcome: catalog.OutcomeSuccess, Detail: detail, Agent: "test", At: time.Now()}
	}
	must(t, c.SetStageEvents(ctx, "i1", catalog.StageFixity, []catalog.Event{ev(catalog.EvIngestion, "taken"), ev(catalog.EvDigest, "sha256:aa")}))
	must(t, c.SetStageEvents(ctx, "i1", catalog.StageIdentify, []catalog.Event{ev(catalog.EvIdentification, "fmt/353")}))
	// Fixity run again: its events once, the others kept.
	must(t, c.SetStageEvents(ctx, "i1", catalog.StageFixity, []catalog.Event{ev(catalog.EvIngestion, "taken again"), ev(catalog.EvDigest, "sha256:aa")}))
	must(t, c.AddEvents(ctx, catalog.Event{BagID: "i1", File: "bagit.txt", Type: catalog.EvFixityCheck, Outcome: catalog.OutcomeSuccess, Agent: "audit"}))
	evs, err := c.Events(ctx, "i1")
	must(t, err)
	count := map[catalog.EventType]int{}
	for _, e := range evs {
		count[e.Type]++
	}
	if len(evs) != 3 || count[catalog.EvIngestion] != 1 || count[catalog.EvIdentification] != 1 {
		t.Errorf("item events: %+v", evs)
	}
	for _, e := range evs {
		if e.Type == catalog.EvIngestion && (e.Detail != "taken again" || e.Stage != catalog.StageFixity) {
			t.Errorf("replaced event: %+v", e)
		}
	}
	bag, err := c.BagEvents(ctx, "i1")
	must(t, err)
	if len(bag) != 4 || bag[3].Type != catalog.EvFixityCheck || bag[3].At.IsZero() {
		t.Errorf("bag history: %+v", bag)
	}
}

func testBagsAndAudits(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	must(t, c.CreateItem(ctx, item("i1", "/hot/a")))
	must(t, c.CreateItem(ctx, item("i2", "/hot/b")))
	now := time.Now()
	for _, id := range []string{"i1", "i2"} {
		must(t, c.PutBag(ctx, catalog.Bag{ID: id, ItemID: id, Store: "file:///store", Oxum: "10.1", Bytes: 100, StoredAt: now}))
	}
	must(t, c.PutBag(ctx, catalog.Bag{ID: "i1", ItemID: "i1", Store: "file:///store", Oxum: "10.1", Bytes: 200, StoredAt: now})) // idempotent
	if b, err := c.Bag(ctx, "i1"); err != nil || b.Bytes != 200 {
		t.Errorf("bag: %+v %v", b, err)
	}
	if _, err := c.Bag(ctx, "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown bag: %v", err)
	}
	if bags, _ := c.Bags(ctx, 10); len(bags) != 2 {
		t.Errorf("bags: %v", bags)
	}
	objs := func(n int) []catalog.Object {
		var out []catalog.Object
		for i := range n {
			out = append(out, catalog.Object{Key: fmt.Sprintf("data/p%d", i), Size: 10, SHA256: "aa", SHA512: "bb"})
		}
		return out
	}
	old := now.Add(-100 * 24 * time.Hour)
	must(t, c.PutObjects(ctx, "i1", objs(3), now))
	must(t, c.PutObjects(ctx, "i2", objs(2), old))
	if got, _ := c.Objects(ctx, "i1"); len(got) != 3 || got[0].LastOutcome != catalog.ObjectIntact || got[0].LastChecked.Sub(now).Abs() > time.Millisecond {
		t.Errorf("objects: %+v", got)
	}
	if ids, _ := c.BagIDs(ctx); len(ids) != 2 {
		t.Errorf("bag ids: %v", ids)
	}
	if got, _ := c.ObjectsBySHA256(ctx, "aa"); len(got) != 5 || got[0].BagID != "i1" || got[4].BagID != "i2" {
		t.Errorf("objects by sha256: %+v", got)
	}
	if got, _ := c.ObjectsBySHA256(ctx, "cc"); len(got) != 0 {
		t.Errorf("objects by an unknown sha256: %+v", got)
	}
	// The least recently checked first; overdue against the cycle.
	if due, _ := c.DueBags(ctx, 1); len(due) != 1 || due[0] != "i2" {
		t.Errorf("due: %v", due)
	}
	if over, _ := c.OverdueBags(ctx, now.Add(-90*24*time.Hour)); len(over) != 1 || over[0] != "i2" {
		t.Errorf("overdue: %v", over)
	}
	must(t, c.MarkChecked(ctx, "i2", "data/p0", string(catalog.ProblemAltered), now))
	st, err := c.AuditStatus(ctx, now.Add(-90*24*time.Hour))
	must(t, err)
	if st.Objects != 5 || st.Bytes != 50 || st.CheckedSince != 4 || st.LastFailed != 1 || st.Bags != 2 {
		t.Errorf("status: %+v", st)
	}
	run, err := c.StartRun(ctx, "all", now)
	must(t, err)
	must(t, c.FinishRun(ctx, catalog.AuditRun{ID: run, Finished: now.Add(time.Second), Bags: 2, Objects: 5, Problems: 1}))
	if st, _ := c.AuditStatus(ctx, now); st.LastRunStarted.IsZero() || !st.LastRunDone.After(st.LastRunStarted) {
		t.Errorf("runs: %+v", st)
	}
}

func testAlerts(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	now := time.Now()
	a, isNew, err := c.RaiseAlert(ctx, "b1", catalog.ProblemAltered, "data/p1", "first", now)
	must(t, err)
	if !isNew || a.State != catalog.AlertOpen || a.Seen != 1 || len(a.Changes) != 1 {
		t.Errorf("raised: %+v %v", a, isNew)
	}
	a, isNew, _ = c.RaiseAlert(ctx, "b1", catalog.ProblemAltered, "data/p1", "again", now.Add(time.Hour))
	if isNew || a.Seen != 2 || a.Detail != "again" {
		t.Errorf("seen again: %+v %v", a, isNew)
	}
	c.RaiseAlert(ctx, "", catalog.ProblemEnvironment, "read-only file system", "store", now)
	if _, err := c.ChangeAlert(ctx, a.ID, catalog.AlertAcknowledged, "ana", "looking", now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChangeAlert(ctx, a.ID, catalog.AlertAcknowledged, "ana", "", now); !errors.Is(err, catalog.ErrBadTransition) {
		t.Errorf("acknowledged twice: %v", err)
	}
	if _, err := c.ChangeAlert(ctx, a.ID, catalog.AlertResolved, "ana", "restored", now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChangeAlert(ctx, 9999, catalog.AlertResolved, "ana", "", now); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown alert: %v", err)
	}
	// The problem comes back: reopened, and new for notification.
	a, isNew, _ = c.RaiseAlert(ctx, "b1", catalog.ProblemAltered, "data/p1", "back", now.Add(2*time.Hour))
	if !isNew || a.State != catalog.AlertOpen || len(a.Changes) != 4 || a.Changes[1].Who != "ana" || a.Changes[1].Note != "looking" {
		t.Errorf("reopened: %+v", a)
	}
	open, _ := c.Alerts(ctx, "", catalog.AlertOpen)
	mine, _ := c.Alerts(ctx, "b1")
	all, _ := c.Alerts(ctx, "")
	none, _ := c.Alerts(ctx, "", catalog.AlertAcknowledged, catalog.AlertResolved)
	if len(open) != 2 || len(mine) != 1 || len(all) != 2 || len(none) != 0 || all[0].ID != a.ID {
		t.Errorf("lists: open %d, of b1 %d, all %d, closed %d", len(open), len(mine), len(all), len(none))
	}
	// Several at once: new ones, one seen again, one reopened.
	if _, err := c.ChangeAlert(ctx, a.ID, catalog.AlertResolved, "ana", "restored again", now); err != nil {
		t.Fatal(err)
	}
	must(t, c.RaiseAlerts(ctx, []catalog.Raise{
		{BagID: "b2", Problem: catalog.ProblemUnidentified, Key: "data/a.dat", Detail: "not identified"},
		{BagID: "b2", Problem: catalog.ProblemUnidentified, Key: "data/b.dat", Detail: "not identified"},
		{BagID: "", Problem: catalog.ProblemEnvironment, Key: "read-only file system", Detail: "store, again"},
		{BagID: "b1", Problem: catalog.ProblemAltered, Key: "data/p1", Detail: "back again"},
	}, now.Add(3*time.Hour)))
	b2, _ := c.Alerts(ctx, "b2", catalog.AlertOpen)
	env, _ := c.Alerts(ctx, "", catalog.AlertOpen)
	back, _ := c.Alert(ctx, a.ID)
	if len(b2) != 2 || b2[0].Seen != 1 || len(env) != 4 || back.State != catalog.AlertOpen || back.Detail != "back again" {
		t.Errorf("raised together: b2 %+v, open %d, reopened %+v", b2, len(env), back)
	}
	must(t, c.RaiseAlerts(ctx, nil, now))
}

func testBatches(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	b := &catalog.Batch{ID: "bt1", Station: "scanner-1", State: catalog.BatchReceiving,
		Files: []catalog.BatchFile{{Path: "p1.tif", Size: 10, SHA256: "aa"}}, Metadata: []catalog.InfoField{{Label: "Title", Value: "x"}}}
	must(t, c.CreateBatch(ctx, b))
	must(t, c.CreateBatch(ctx, &catalog.Batch{ID: "bt2", Station: "scanner-1", State: catalog.BatchReceiving}))
	if open, _ := c.ReceivingBatches(ctx, "scanner-1"); len(open) != 2 || open[0].ID != "bt1" || len(open[0].Files) != 1 {
		t.Errorf("receiving: %+v", open)
	}
	b.State, b.ItemID = catalog.BatchClosed, "i1"
	must(t, c.UpdateBatch(ctx, b))
	got, err := c.Batch(ctx, "bt1")
	must(t, err)
	if got.State != catalog.BatchClosed || got.ItemID != "i1" || len(got.Files) != 1 || got.Metadata[0].Value != "x" {
		t.Errorf("batch: %+v", got)
	}
	if open, _ := c.ReceivingBatches(ctx, "scanner-1"); len(open) != 1 {
		t.Errorf("receiving after close: %+v", open)
	}
	if stale, _ := c.StaleBatches(ctx, time.Now().Add(time.Minute)); len(stale) != 1 || stale[0].ID != "bt2" {
		t.Errorf("stale: %+v", stale)
	}
	if _, err := c.Batch(ctx, "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown batch: %v", err)
	}
}

func testSessions(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	now := time.Now()
	must(t, c.PutSession(ctx, catalog.Session{Hash: "h1", User: "ana", Role: "reviewer", CSRF: "c1", Expires: now.Add(time.Hour)}))
	s, err := c.Session(ctx, "h1", now)
	if err != nil || s.User != "ana" || s.CSRF != "c1" {
		t.Fatalf("session: %+v %v", s, err)
	}
	if _, err := c.Session(ctx, "h1", now.Add(2*time.Hour)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	must(t, c.DeleteSession(ctx, "h1"))
	if _, err := c.Session(ctx, "h1", now); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("ended session: %v", err)
	}
}

func testCounts(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	must(t, c.CreateItem(ctx, item("i1", "/hot/a")))
	must(t, c.CreateItem(ctx, item("i2", "/hot/b")))
	must(t, c.PutBag(ctx, catalog.Bag{ID: "b1", ItemID: "i1", Bytes: 7, StoredAt: time.Now()}))
	c.RaiseAlert(ctx, "b1", catalog.ProblemMissing, "", "gone", time.Now())
	n, err := c.Counts(ctx)
	must(t, err)
	if n.ItemsByStage[catalog.StageFixity] != 2 || n.BagsStored != 1 || n.BytesStored != 7 || n.OpenAlerts != 1 {
		t.Errorf("counts: %+v", n)
	}
}

// testTwoWriters opens the catalog twice (as the daemon and a command
// would) and races them: one lease, one compare-and-set, one item per
// source, one alert per problem, whoever wins.
func testTwoWriters(t *testing.T, o Opener) {
	dsn := o.NewDSN(t)
	a, b := open(t, o, dsn), open(t, o, dsn)
	ctx := context.Background()
	const n = 20
	race := func(f func(c catalog.Catalog, i int) bool) int { return race(a, b, n, f) }
	if w := race(func(c catalog.Catalog, i int) bool {
		err := c.CreateItem(ctx, item(fmt.Sprintf("i%d", i), "/hot/same"))
		if err != nil && !errors.Is(err, catalog.ErrActive) {
			t.Errorf("create: %v", err)
		}
		return err == nil
	}); w != 1 {
		t.Fatalf("%d items created for one source", w)
	}
	it, _ := a.ActiveBySource(ctx, "/hot/same")
	if w := race(func(c catalog.Catalog, i int) bool {
		ok, _, err := c.Lease(ctx, it.ID, fmt.Sprintf("w%d", i), time.Now(), time.Now().Add(time.Minute))
		must(t, err)
		return ok
	}); w != 1 {
		t.Fatalf("%d workers hold the lease", w)
	}
	_, holder, _ := a.Lease(ctx, it.ID, "nobody", time.Now(), time.Now())
	if w := race(func(c catalog.Catalog, i int) bool {
		up := *it
		up.Stage = catalog.StageIdentify
		err := c.UpdateItem(ctx, &up, catalog.StageFixity, holder)
		if err != nil && !errors.Is(err, catalog.ErrStale) {
			t.Errorf("update: %v", err)
		}
		return err == nil
	}); w != 1 {
		t.Fatalf("%d stage changes from one stage", w)
	}
	race(func(c catalog.Catalog, i int) bool {
		_, _, err := c.RaiseAlert(ctx, "b1", catalog.ProblemAltered, "data/p1", "seen", time.Now())
		must(t, err)
		return true
	})
	if alerts, _ := b.Alerts(ctx, "b1"); len(alerts) != 1 || alerts[0].Seen != n {
		t.Fatalf("alerts after %d raises: %+v", n, alerts)
	}
}

// race runs f n times at once, on a and b in turn, and counts the calls
// that say they won.
func race(a, b catalog.Catalog, n int, f func(c catalog.Catalog, i int) bool) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			if f(c, i) {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return wins
}

// childEnv names the catalog a child process writes until it is killed.
const childEnv = "STRONGROOM_CATALOGTEST_CHILD"

// Child, called from the implementation's TestMain, runs the crash-safety
// writer when this test binary was started as one (and never returns
// then); otherwise it returns at once.
func Child(o Opener) {
	dsn := os.Getenv(childEnv)
	if dsn == "" {
		return
	}
	ctx := context.Background()
	c, err := o.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalogtest child:", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		if err := writeOne(ctx, c, i); err != nil {
			fmt.Fprintln(os.Stderr, "catalogtest child:", err)
			os.Exit(2)
		}
	}
}

const (
	crashFiles   = 8
	crashEvents  = 5
	crashObjects = 8
)

// writeOne makes the state changes of one item's life, each one that the
// pipeline makes: all of it must survive a kill, or none of each change.
func writeOne(ctx context.Context, c catalog.Catalog, i int) error {
	id := fmt.Sprintf("c%d-%06d", os.Getpid(), i)
	it := item(id, "/hot/"+id)
	if err := c.CreateItem(ctx, it); err != nil {
		return err
	}
	if ok, _, err := c.Lease(ctx, id, "child", time.Now(), time.Now().Add(time.Minute)); !ok || err != nil {
		return fmt.Errorf("lease %s: %v", id, err)
	}
	var files []catalog.File
	for f := range crashFiles {
		files = append(files, catalog.File{Path: fmt.Sprintf("original/%s/p%d", id, f), Source: "/hot", Size: 1, SHA256: "aa", SHA512: "bb"})
	}
	if err := c.PutFiles(ctx, id, files); err != nil {
		return err
	}
	var evs []catalog.Event
	for e := range crashEvents {
		evs = append(evs, catalog.Event{BagID: id, Type: catalog.EvDigest, Outcome: catalog.OutcomeSuccess, Detail: strconv.Itoa(e), Agent: "child"})
	}
	if err := c.SetStageEvents(ctx, id, catalog.StageFixity, evs); err != nil {
		return err
	}
	it.Stage = catalog.StageIdentify
	if err := c.UpdateItem(ctx, it, catalog.StageFixity, "child"); err != nil {
		return err
	}
	var objs []catalog.Object
	for o := range crashObjects {
		objs = append(objs, catalog.Object{Key: fmt.Sprintf("data/p%d", o), Size: 1, SHA256: "aa", SHA512: "bb"})
	}
	if err := c.PutObjects(ctx, id, objs, time.Now()); err != nil {
		return err
	}
	a, _, err := c.RaiseAlert(ctx, id, catalog.ProblemAltered, "data/p0", "x", time.Now())
	if err != nil {
		return err
	}
	_, err = c.ChangeAlert(ctx, a.ID, catalog.AlertAcknowledged, "child", "", time.Now())
	return err
}

// testCrashSafety kills a writer at random moments and checks that each
// state change it made is there whole or not at all, and that the catalog
// opens and takes writes after every kill.
func testCrashSafety(t *testing.T, o Opener) {
	dsn := o.NewDSN(t)
	c := open(t, o, dsn)
	c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dsn)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if strings.Contains(stderr.String(), "catalogtest child:") {
			t.Fatalf("round %d: the writer failed before it was killed: %s", round, stderr.String())
		}
		checkWhole(t, o, dsn, round)
	}
}

func checkWhole(t *testing.T, o Opener, dsn string, round int) {
	t.Helper()
	ctx := context.Background()
	c, err := o.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("round %d: the catalog does not open after a kill: %v", round, err)
	}
	defer c.Close()
	items, err := c.Items(ctx, 1_000_000)
	must(t, err)
	if len(items) == 0 {
		t.Fatalf("round %d: the writer wrote nothing", round)
	}
	for _, it := range items {
		files, _ := c.Files(ctx, it.ID)
		evs, _ := c.Events(ctx, it.ID)
		objs, _ := c.Objects(ctx, it.ID)
		alerts, _ := c.Alerts(ctx, it.ID)
		switch {
		case len(files) != 0 && len(files) != crashFiles:
			t.Errorf("round %d: %s has %d of %d files", round, it.ID, len(files), crashFiles)
		case len(evs) != 0 && len(evs) != crashEvents:
			t.Errorf("round %d: %s has %d of %d events", round, it.ID, len(evs), crashEvents)
		case len(objs) != 0 && len(objs) != crashObjects:
			t.Errorf("round %d: %s has %d of %d objects", round, it.ID, len(objs), crashObjects)
		case it.Stage == catalog.StageIdentify && (len(files) != crashFiles || len(evs) != crashEvents):
			t.Errorf("round %d: %s moved on without what came before", round, it.ID)
		}
		for _, listed := range alerts {
			a, err := c.Alert(ctx, listed.ID) // with its changes
			must(t, err)
			if len(a.Changes) == 0 || a.State == catalog.AlertAcknowledged && len(a.Changes) != 2 {
				t.Errorf("round %d: alert %d is %s with %d changes", round, a.ID, a.State, len(a.Changes))
			}
		}
	}
	// Still writable.
	must(t, c.CreateItem(ctx, item(fmt.Sprintf("after-%d", round), fmt.Sprintf("/hot/after-%d", round))))
}

// testCatalogue: descriptions are kept and corrected; bag listings filter,
// sort and page, and never show a level the asker may not see.
func testCatalogue(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	now := time.Now()
	yes, no := true, false
	for i, m := range []catalog.Metadata{
		{Title: "Parish register", Date: "1843", Collection: "parish", Station: "s1", Access: catalog.AccessOpen},
		{Title: "Ledger", Date: "1901-05", Collection: "trade", Station: "s2", Access: catalog.AccessRestricted},
		{Title: "adoption files", Date: "1955", Collection: "parish", Station: "s1", Access: catalog.AccessClosed},
	} {
		id := fmt.Sprintf("i%d", i)
		it := item(id, "/hot/"+id)
		it.Meta = catalog.Metadata{Title: "draft"}
		must(t, c.CreateItem(ctx, it))
		if got, _ := c.Item(ctx, id); got.Meta.Title != "draft" {
			t.Fatalf("meta on create: %+v", got.Meta)
		}
		must(t, c.SetMetadata(ctx, id, m))
		must(t, c.PutBag(ctx, catalog.Bag{ID: id, ItemID: id, Store: "file:///s", Oxum: "1.1", Bytes: 1, StoredAt: now.Add(time.Duration(i) * time.Second)}))
	}
	must(t, c.PutFiles(ctx, "i1", []catalog.File{{Path: "original/a.pdf", MIME: "application/pdf"}}))
	if _, _, err := c.RaiseAlert(ctx, "i2", catalog.ProblemAltered, "data/x", "", now); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMetadata(ctx, "nope", catalog.Metadata{}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("metadata of unknown item: %v", err)
	}
	for _, tc := range []struct {
		name string
		q    catalog.BagQuery
		want string
		n    int
	}{
		{"all, newest first", catalog.BagQuery{}, "i2 i1 i0", 3},
		{"by title", catalog.BagQuery{Sort: catalog.SortTitle}, "i2 i1 i0", 3},
		{"by date", catalog.BagQuery{Sort: catalog.SortDate}, "i0 i1 i2", 3},
		{"collection", catalog.BagQuery{Collection: "parish"}, "i2 i0", 2},
		{"year", catalog.BagQuery{Year: 1901}, "i1", 1},
		{"station", catalog.BagQuery{Station: "s1"}, "i2 i0", 2},
		{"format", catalog.BagQuery{Format: "application/pdf"}, "i1", 1},
		{"alerts", catalog.BagQuery{HasAlerts: &yes}, "i2", 1},
		{"no alerts", catalog.BagQuery{HasAlerts: &no}, "i1 i0", 2},
		{"readers", catalog.BagQuery{Access: []catalog.AccessLevel{catalog.AccessOpen, catalog.AccessRestricted}}, "i1 i0", 2},
		{"nothing allowed", catalog.BagQuery{Access: []catalog.AccessLevel{}}, "", 0},
		{"page 2", catalog.BagQuery{Limit: 2, Offset: 2}, "i0", 3},
	} {
		rows, n, err := c.FindBags(ctx, tc.q)
		must(t, err)
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		if got := strings.Join(ids, " "); got != tc.want || n != tc.n {
			t.Errorf("%s: %q (%d in all), want %q (%d)", tc.name, got, n, tc.want, tc.n)
		}
	}
	rows, _, _ := c.FindBags(ctx, catalog.BagQuery{Collection: "trade"})
	if len(rows) != 1 || rows[0].Meta.Title != "Ledger" || rows[0].Name != "page.tif" || rows[0].Alerts != 0 {
		t.Errorf("row: %+v", rows)
	}
	if at, _ := c.ItemsAt(ctx, catalog.StageFixity, 2); len(at) != 2 || at[0].ID != "i2" {
		t.Errorf("items at fixity: %v", ids(at))
	}
	if at, _ := c.ItemsAt(ctx, catalog.StageFailed, 10); len(at) != 0 {
		t.Errorf("failed items: %v", ids(at))
	}
}

// testNewerVersions: the bags reprocessed from a bag and stored, newest
// first; a reprocess that failed or is under way is no version yet.
func testNewerVersions(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	for _, v := range []struct {
		id    string
		stage catalog.Stage
	}{{"v1", catalog.StageDone}, {"v2", catalog.StageFailed}, {"v3", catalog.StageDone}, {"v4", catalog.StageStore}} {
		it := item(v.id, catalog.ReprocessSource("b1"))
		it.Kind, it.Stage, it.BagID = catalog.KindReprocess, v.stage, "bag-"+v.id
		must(t, c.CreateItem(ctx, it))
		time.Sleep(2 * time.Millisecond) // created in this order
	}
	other := item("x1", catalog.ReprocessSource("b9"))
	other.Kind, other.Stage, other.BagID = catalog.KindReprocess, catalog.StageDone, "bag-x1"
	must(t, c.CreateItem(ctx, other))
	got, err := c.NewerVersions(ctx, "b1")
	if err != nil || !slices.Equal(got, []string{"bag-v3", "bag-v1"}) {
		t.Errorf("NewerVersions(b1) = %q, %v; want bag-v3, bag-v1", got, err)
	}
	if got, err := c.NewerVersions(ctx, "b2"); err != nil || len(got) != 0 {
		t.Errorf("NewerVersions of a bag never reprocessed = %q, %v", got, err)
	}
}

// testRetention: a bag's retention recorded, replaced and read back; the
// bags due by a day, soonest first, then those whose due date is not known.
func testRetention(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, id := range []string{"b1", "b2", "b3", "b4", "b5"} {
		must(t, c.CreateItem(ctx, item(id, "/hot/"+id)))
		must(t, c.PutBag(ctx, catalog.Bag{ID: id, ItemID: id, Bytes: 1, StoredAt: time.Now()}))
	}
	now := time.Now().UTC().Truncate(time.Second)
	must(t, c.SetRetention(ctx, catalog.Retention{BagID: "b1", Schedule: "FIN-7", Action: "destroy", Due: day("2033-12-06"), Assigned: now}))
	must(t, c.SetRetention(ctx, catalog.Retention{BagID: "b2", Schedule: "HR-6M", Action: "review", Due: day("2027-06-30"), Assigned: now}))
	must(t, c.SetRetention(ctx, catalog.Retention{BagID: "b3", Schedule: "CASE", Action: "destroy", Unknown: "no closed date", Assigned: now}))
	must(t, c.SetRetention(ctx, catalog.Retention{BagID: "b4", Schedule: "PERM", Action: "retain", Due: day("2026-01-01"), Assigned: now}))
	must(t, c.SetRetention(ctx, catalog.Retention{BagID: "b4", Schedule: "PERM", Action: "retain", Due: day("2126-01-01"), Assigned: now})) // replaced
	r, err := c.Retention(ctx, "b1")
	if err != nil || r.Schedule != "FIN-7" || r.Action != "destroy" || !r.Due.Equal(day("2033-12-06")) || !r.Assigned.Equal(now) {
		t.Errorf("retention read back: %+v %v", r, err)
	}
	if _, err := c.Retention(ctx, "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("retention of no bag: %v", err)
	}
	due, err := c.RetentionDue(ctx, day("2028-01-01"), 10)
	var got []string
	for _, r := range due {
		got = append(got, r.BagID)
	}
	if err != nil || !slices.Equal(got, []string{"b2", "b3"}) || !due[1].Due.IsZero() || due[1].Unknown != "no closed date" {
		t.Errorf("due by 2028: %q %v, want b2 then b3 (unknown)", got, err)
	}
	// A due instant (a period with a time part) is kept to the second and
	// is due on its day.
	at := time.Date(2030, 6, 1, 12, 30, 5, 0, time.UTC)
	must(t, c.SetRetention(ctx, catalog.Retention{BagID: "b5", Schedule: "TRIAL", Action: "destroy", Due: at, Assigned: now}))
	if r, err := c.Retention(ctx, "b5"); err != nil || !r.Due.Equal(at) {
		t.Errorf("a due instant read back: %+v %v", r, err)
	}
	// A bag's data-quality report, kept as made and replaced whole.
	if _, err := c.Quality(ctx, "b1"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("quality of a bag without one: %v", err)
	}
	must(t, c.SetQuality(ctx, "b1", "warn", []byte(`{"verdict": "warn"}`)))
	must(t, c.SetQuality(ctx, "b1", "fail", []byte(`{"verdict": "fail"}`)))
	if q, err := c.Quality(ctx, "b1"); err != nil || string(q) != `{"verdict": "fail"}` {
		t.Errorf("quality read back: %s %v", q, err)
	}
	if under, _ := c.RetentionsUnder(ctx, "FIN-7"); len(under) != 1 || under[0].BagID != "b1" {
		t.Errorf("bags under FIN-7: %+v", under)
	}
	// A schedule's definitions, versioned: the same one again is no change.
	if v, def, err := c.LastSchedule(ctx, "FIN-7"); err != nil || v != 0 || def != "" {
		t.Errorf("a schedule never recorded: %d %q %v", v, def, err)
	}
	for _, step := range []struct {
		def     string
		version int
	}{{"P7Y destroy", 1}, {"P7Y destroy", 1}, {"P10Y destroy", 2}, {"P10Y destroy", 2}} {
		v, err := c.RecordSchedule(ctx, "FIN-7", step.def, now)
		if last, def, _ := c.LastSchedule(ctx, "FIN-7"); err != nil || v != step.version || last != v || def != step.def {
			t.Errorf("record %q: version %d (last %d, %q), %v; want %d", step.def, v, last, def, err, step.version)
		}
	}
	for d, want := range map[string]bool{"2030-05-31": false, "2030-06-01": true} {
		due, _ := c.RetentionDue(ctx, day(d), 10)
		if has := slices.ContainsFunc(due, func(r catalog.Retention) bool { return r.BagID == "b5" }); has != want {
			t.Errorf("due by %s lists the bag due at %s: %v", d, at, has)
		}
	}
}

// testHolds: a legal hold in force holds its bags (their retention says
// so), takes and lets go of bags, refuses a bag not stored, and once
// released holds nothing and takes no change.
func testHolds(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range []string{"b1", "b2"} {
		must(t, c.CreateItem(ctx, item(id, "/hot/"+id)))
		must(t, c.PutBag(ctx, catalog.Bag{ID: id, ItemID: id, Bytes: 1, StoredAt: now}))
		must(t, c.SetRetention(ctx, catalog.Retention{BagID: id, Schedule: "FIN-7", Action: "destroy", Due: now.AddDate(-1, 0, 0), Assigned: now}))
	}
	h := &catalog.Hold{Name: "Smith v Harbour Board", Reason: "litigation", Authority: "counsel, letter of 2026-11-30", CreatedBy: "rm"}
	must(t, c.CreateHold(ctx, h))
	if h.ID == 0 {
		t.Fatal("no hold id")
	}
	must(t, c.HoldBags(ctx, h.ID, []string{"b1", "b2"}, nil, now))
	if err := c.HoldBags(ctx, h.ID, []string{"nope"}, nil, now); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a bag not stored: %v", err)
	}
	must(t, c.HoldBags(ctx, h.ID, nil, []string{"b2"}, now))
	got, err := c.Hold(ctx, h.ID)
	if err != nil || !slices.Equal(got.Bags, []string{"b1"}) || got.Authority != h.Authority || !got.Released.IsZero() {
		t.Errorf("hold read back: %+v %v", got, err)
	}
	if on, _ := c.HoldsOn(ctx, "b1"); len(on) != 1 || on[0].ID != h.ID {
		t.Errorf("holds on b1: %+v", on)
	}
	due, _ := c.RetentionDue(ctx, now, 10)
	if len(due) != 2 || !due[0].Held || due[1].Held {
		t.Errorf("due with b1 held: %+v", due)
	}
	must(t, c.ReleaseHold(ctx, h.ID, "rm2", "settled", now))
	if err := c.ReleaseHold(ctx, h.ID, "rm2", "again", now); !errors.Is(err, catalog.ErrReleased) {
		t.Errorf("released twice: %v", err)
	}
	if err := c.HoldBags(ctx, h.ID, []string{"b2"}, nil, now); !errors.Is(err, catalog.ErrReleased) {
		t.Errorf("a bag added to a released hold: %v", err)
	}
	if r, _ := c.Retention(ctx, "b1"); r == nil || r.Held {
		t.Errorf("b1 still held after the release: %+v", r)
	}
	if active, _ := c.ListHolds(ctx, false); len(active) != 0 {
		t.Errorf("holds in force after the release: %+v", active)
	}
	if all, _ := c.ListHolds(ctx, true); len(all) != 1 || all[0].ReleasedBy != "rm2" || all[0].ReleaseReason != "settled" {
		t.Errorf("every hold: %+v", all)
	}
	if _, err := c.Hold(ctx, 999); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("no such hold: %v", err)
	}
}

// testDisposals: a disposal request is decided by someone other than its
// requester; no bag under a hold in force is requested, approved or begun;
// a bag being disposed of cannot join a hold; a disposed bag leaves a
// tombstone and no objects for audits; a failed request resumes where it
// stopped.
func testDisposals(t *testing.T, o Opener) {
	c := fresh(t, o)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range []string{"b1", "b2", "b3"} {
		must(t, c.CreateItem(ctx, item(id, "/hot/"+id)))
		must(t, c.PutBag(ctx, catalog.Bag{ID: id, ItemID: id, Bytes: 10, StoredAt: now}))
		must(t, c.PutObjects(ctx, id, []catalog.Object{{BagID: id, Key: id + "/bagit.txt", Size: 10, SHA256: "ab", SHA512: "cd"}}, now))
	}
	h := &catalog.Hold{Name: "inquiry", Reason: "r", Authority: "a", CreatedBy: "counsel"}
	must(t, c.CreateHold(ctx, h))
	must(t, c.HoldBags(ctx, h.ID, []string{"b3"}, nil, now))
	for _, bad := range []struct {
		bags []string
		want error
	}{{[]string{"b1", "nope"}, catalog.ErrNotFound}, {[]string{"b3"}, catalog.ErrHeld}} {
		if err := c.RequestDisposal(ctx, &catalog.Disposal{Bags: bad.bags, Action: "destroy", Reason: "FIN-7 ended", RequestedBy: "rm", Created: now}); !errors.Is(err, bad.want) {
			t.Errorf("request of %q: %v, want %v", bad.bags, err, bad.want)
		}
	}
	d := &catalog.Disposal{Bags: []string{"b1", "b2"}, Action: "destroy", Reason: "FIN-7 ended", RequestedBy: "rm", Created: now}
	must(t, c.RequestDisposal(ctx, d))
	if d.ID == 0 || d.State != catalog.DisposalRequested {
		t.Fatalf("request: %+v", d)
	}
	if err := c.RequestDisposal(ctx, &catalog.Disposal{Bags: []string{"b1"}, Action: "destroy", RequestedBy: "x", Created: now}); !errors.Is(err, catalog.ErrDisposed) {
		t.Errorf("b1 in a second open request: %v", err)
	}
	if id, err := c.OpenDisposal(ctx, "b2"); err != nil || id != d.ID {
		t.Errorf("the open request naming b2: %d %v, want %d", id, err, d.ID)
	}
	if id, err := c.OpenDisposal(ctx, "b3"); err != nil || id != 0 {
		t.Errorf("the open request naming b3: %d %v, want none", id, err)
	}
	for _, who := range []string{"rm", " RM "} {
		if _, err := c.DecideDisposal(ctx, d.ID, true, who, "", now); !errors.Is(err, catalog.ErrSelfApproval) {
			t.Errorf("approved by its requester %q: %v", who, err)
		}
	}
	// A hold that came after the request stops its approval.
	must(t, c.HoldBags(ctx, h.ID, []string{"b2"}, nil, now))
	if _, err := c.DecideDisposal(ctx, d.ID, true, "director", "", now); !errors.Is(err, catalog.ErrHeld) {
		t.Errorf("approval of a held bag: %v", err)
	}
	must(t, c.HoldBags(ctx, h.ID, nil, []string{"b2"}, now))
	got, err := c.DecideDisposal(ctx, d.ID, true, "director", "schedule checked", now)
	if err != nil || got.State != catalog.DisposalApproved || got.DecidedBy != "director" || got.Note != "schedule checked" {
		t.Fatalf("approval: %+v %v", got, err)
	}
	if _, err := c.DecideDisposal(ctx, d.ID, false, "someone", "", now); !errors.Is(err, catalog.ErrBadTransition) {
		t.Errorf("decided twice: %v", err)
	}
	// ... and one that came after the approval stops its execution.
	must(t, c.HoldBags(ctx, h.ID, []string{"b2"}, nil, now))
	if _, err := c.BeginDisposal(ctx, d.ID, now); !errors.Is(err, catalog.ErrHeld) {
		t.Errorf("begun with a held bag: %v", err)
	}
	if got, _ := c.Disposal(ctx, d.ID); got.State != catalog.DisposalFailed || !strings.Contains(got.Detail, "b2") {
		t.Errorf("after a hold stopped it: %+v", got)
	}
	must(t, c.HoldBags(ctx, h.ID, nil, []string{"b2"}, now))
	if got, err = c.BeginDisposal(ctx, d.ID, now); err != nil || got.State != catalog.DisposalExecuting {
		t.Fatalf("begin: %+v %v", got, err)
	}
	if err := c.HoldBags(ctx, h.ID, []string{"b1"}, nil, now); !errors.Is(err, catalog.ErrDisposed) {
		t.Errorf("a bag being disposed of joined a hold: %v", err)
	}
	tomb := catalog.Tombstone{BagID: "b1", ItemID: "b1", Title: "Ledger", Bytes: 10, Files: 1, Request: d.ID, RequestedBy: "rm", ApprovedBy: "director",
		Disposed: now, Deleted: []string{"b1/bagit.txt"}, Certificate: "disposals/1/b1.json"}
	if err := c.DisposeBag(ctx, d.ID, catalog.Tombstone{BagID: "b3", Disposed: now}); !errors.Is(err, catalog.ErrBadTransition) {
		t.Errorf("a bag not in the request disposed of: %v", err)
	}
	must(t, c.DisposeBag(ctx, d.ID, tomb))
	if objs, _ := c.Objects(ctx, "b1"); len(objs) != 0 {
		t.Errorf("objects of a disposed bag: %+v", objs)
	}
	if ids, _ := c.BagIDs(ctx); slices.Contains(ids, "b1") {
		t.Errorf("audits still see b1: %q", ids)
	}
	if bags, _ := c.Bags(ctx, 10); len(bags) != 2 {
		t.Errorf("bags listed after b1 was disposed of: %+v", bags)
	}
	if n, _ := c.Counts(ctx); n.BagsStored != 2 || n.BytesStored != 20 {
		t.Errorf("counts after b1 was disposed of: %d bags, %d bytes", n.BagsStored, n.BytesStored)
	}
	if b, err := c.Bag(ctx, "b1"); err != nil || !b.Disposed.Equal(now) {
		t.Errorf("the disposed bag: %+v %v", b, err)
	}
	if got, err := c.Tombstone(ctx, "b1"); err != nil || got.Title != "Ledger" || got.ApprovedBy != "director" || !slices.Equal(got.Deleted, tomb.Deleted) {
		t.Errorf("tombstone: %+v %v", got, err)
	}
	for q, want := range map[string]int{"ledger": 1, "LEDGER b1": 1, "ledger b2": 0, "50%": 0, "": 1} {
		if got, err := c.FindTombstones(ctx, strings.Fields(q), 10); err != nil || len(got) != want {
			t.Errorf("tombstones matching %q: %d %v, want %d", q, len(got), err, want)
		}
	}
	if _, err := c.Tombstone(ctx, "b2"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("tombstone of a kept bag: %v", err)
	}
	// The store failed on b2: the request fails, and a retry finishes it.
	must(t, c.EndDisposal(ctx, d.ID, catalog.DisposalFailed, "b2: store: connection refused", now))
	if got, err = c.BeginDisposal(ctx, d.ID, now); err != nil || !slices.Equal(got.Disposed, []string{"b1"}) {
		t.Fatalf("resumed: %+v %v", got, err)
	}
	must(t, c.DisposeBag(ctx, d.ID, catalog.Tombstone{BagID: "b2", ItemID: "b2", Request: d.ID, Disposed: now}))
	must(t, c.EndDisposal(ctx, d.ID, catalog.DisposalDone, "2 bags disposed of", now))
	if err := c.EndDisposal(ctx, d.ID, catalog.DisposalDone, "", now); !errors.Is(err, catalog.ErrBadTransition) {
		t.Errorf("ended twice: %v", err)
	}
	if got, _ := c.Disposal(ctx, d.ID); got.State != catalog.DisposalDone || len(got.Disposed) != 2 {
		t.Errorf("done: %+v", got)
	}
	if id, _ := c.OpenDisposal(ctx, "b2"); id != 0 {
		t.Errorf("a done request still open on b2: %d", id)
	}
	if err := c.RequestDisposal(ctx, &catalog.Disposal{Bags: []string{"b1"}, Action: "destroy", RequestedBy: "x", Created: now}); !errors.Is(err, catalog.ErrDisposed) {
		t.Errorf("a disposed bag requested again: %v", err)
	}
	if list, _ := c.ListDisposals(ctx, catalog.DisposalDone); len(list) != 1 || list[0].ID != d.ID {
		t.Errorf("done requests: %+v", list)
	}
	if list, _ := c.ListDisposals(ctx, catalog.DisposalRequested); len(list) != 0 {
		t.Errorf("requests waiting: %+v", list)
	}
}

// testRoles: a role has one holder at a time; its lease is renewed by its
// holder, taken by another only once it lapses or is dropped; two
// processes taking a free role at once, one gets it.
func testRoles(t *testing.T, o Opener) {
	dsn := o.NewDSN(t)
	a, b := open(t, o, dsn), open(t, o, dsn)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	hold := func(c catalog.Catalog, holder string, at time.Time) (bool, string) {
		t.Helper()
		ok, cur, err := c.HoldRole(ctx, "intake:/hot", holder, at, at.Add(15*time.Second))
		must(t, err)
		return ok, cur
	}
	if ok, _ := hold(a, "w1", now); !ok {
		t.Fatal("a free role was not taken")
	}
	if ok, cur := hold(b, "w2", now.Add(5*time.Second)); ok || cur != "w1" {
		t.Fatalf("a held role taken: %v %q", ok, cur)
	}
	if ok, _ := hold(a, "w1", now.Add(10*time.Second)); !ok { // renewed until +25 s
		t.Fatal("the holder could not renew")
	}
	if ok, _ := hold(b, "w2", now.Add(20*time.Second)); ok {
		t.Fatal("taken before the renewed lease lapsed")
	}
	leases, err := b.RoleLeases(ctx, now.Add(20*time.Second))
	must(t, err)
	if len(leases) != 1 || leases[0].Holder != "w1" || !leases[0].Since.Equal(now) || !leases[0].Until.Equal(now.Add(25*time.Second)) {
		t.Fatalf("leases: %+v", leases)
	}
	if ok, _ := hold(b, "w2", now.Add(26*time.Second)); !ok { // w1 died
		t.Fatal("a lapsed role was not taken")
	}
	if ok, cur := hold(a, "w1", now.Add(27*time.Second)); ok || cur != "w2" {
		t.Fatalf("the old holder came back and took it: %v %q", ok, cur)
	}
	must(t, a.DropRole(ctx, "intake:/hot", "w1")) // not its own: nothing
	if leases, _ := a.RoleLeases(ctx, now.Add(27*time.Second)); len(leases) != 1 || leases[0].Holder != "w2" || !leases[0].Since.Equal(now.Add(26*time.Second)) {
		t.Fatalf("after another's drop: %+v", leases)
	}
	must(t, b.DropRole(ctx, "intake:/hot", "w2"))
	if ok, _ := hold(a, "w1", now.Add(28*time.Second)); !ok {
		t.Fatal("a dropped role was not taken")
	}
	// A race for a free role: one winner.
	if wins := race(a, b, 20, func(c catalog.Catalog, i int) bool {
		ok, _, err := c.HoldRole(ctx, "audit", fmt.Sprintf("w%d", i), now, now.Add(time.Minute))
		if err != nil {
			t.Error(err)
		}
		return ok
	}); wins != 1 {
		t.Fatalf("%d holders of one role", wins)
	}
}

func testClaim(t *testing.T, o Opener) {
	dsn := o.NewDSN(t)
	a, b := open(t, o, dsn), open(t, o, dsn)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range []string{"i1", "i2", "i3", "i4"} {
		must(t, a.CreateItem(ctx, item(id, "/hot/"+id)))
	}
	claim := func(c catalog.Catalog, holder string, at time.Time, gone ...string) (string, string) {
		t.Helper()
		it, prev, err := c.Claim(ctx, catalog.StageFixity, holder, at, at.Add(time.Minute), gone)
		must(t, err)
		if it == nil {
			return "", prev
		}
		if it.Stage != catalog.StageFixity || it.Source != "/hot/"+it.ID {
			t.Fatalf("claimed %+v", it)
		}
		return it.ID, prev
	}
	// i4 moves on to identify and i3 waits out a retry's pause.
	for id, ready := range map[string]time.Time{"i3": now.Add(30 * time.Second), "i4": {}} {
		it, err := a.Item(ctx, id)
		must(t, err)
		if ok, _, err := a.Lease(ctx, id, "w0", now, now.Add(time.Minute)); !ok || err != nil {
			t.Fatal(ok, err)
		}
		it.ReadyAt = ready
		if id == "i4" {
			it.Stage = catalog.StageIdentify
		}
		must(t, a.UpdateItem(ctx, it, catalog.StageFixity, "w0"))
		must(t, a.Unlease(ctx, id, "w0"))
	}
	if got, _ := a.Item(ctx, "i3"); !got.ReadyAt.Equal(now.Add(30 * time.Second)) {
		t.Fatalf("ready_at kept as %v", got.ReadyAt)
	}
	if id, prev := claim(a, "w1", now); id != "i1" || prev != "" {
		t.Fatalf("first claim: %q from %q", id, prev)
	}
	if id, _ := claim(b, "w2", now); id != "i2" {
		t.Fatalf("second claim: %q", id)
	}
	if id, _ := claim(b, "w3", now.Add(10*time.Second)); id != "" {
		t.Fatalf("claimed %q: i3 waits until +30 s, the others are leased", id)
	}
	if id, _ := claim(b, "w3", now.Add(31*time.Second)); id != "i3" {
		t.Fatalf("after its pause: %q", id)
	}
	if it, _, err := a.Claim(ctx, catalog.StageIdentify, "w3", now, now.Add(time.Minute), nil); err != nil || it == nil || it.ID != "i4" {
		t.Fatalf("identify: %v %v", it, err)
	}
	// w2 is known to have died: its item is taken at once, from it.
	if id, prev := claim(a, "w4", now.Add(40*time.Second), "w2", "w9"); id != "i2" || prev != "w2" {
		t.Fatalf("from a dead holder: %q from %q", id, prev)
	}
	// w1's lease lapses at +60 s.
	if id, _ := claim(a, "w5", now.Add(50*time.Second)); id != "" {
		t.Fatalf("claimed %q while every lease is live", id)
	}
	if id, prev := claim(a, "w5", now.Add(61*time.Second)); id != "i1" || prev != "w1" {
		t.Fatalf("a lapsed lease: %q from %q", id, prev)
	}
	holders, err := b.LeaseHolders(ctx)
	must(t, err)
	if !slices.Equal(holders, []string{"w3", "w4", "w5"}) {
		t.Fatalf("lease holders %q", holders)
	}
	// Many claims at once from two connections: each item once.
	for i := range 30 {
		must(t, a.CreateItem(ctx, item(fmt.Sprintf("r%02d", i), fmt.Sprintf("/race/%d", i))))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	if wins := race(a, b, 40, func(c catalog.Catalog, i int) bool {
		it, _, err := c.Claim(ctx, catalog.StageFixity, fmt.Sprintf("w%d", i), now, now.Add(time.Minute), nil)
		if err != nil {
			t.Error(err)
		}
		if it == nil {
			return false
		}
		mu.Lock()
		seen[it.ID]++
		mu.Unlock()
		return true
	}); wins != 30 || len(seen) != 30 {
		t.Fatalf("40 claims of 30 items: %d won, %d items: %v", wins, len(seen), seen)
	}
}

func testPages(t *testing.T, o Opener) {
	dsn := o.NewDSN(t)
	a, b := open(t, o, dsn), open(t, o, dsn)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	specs := func(prefix string, n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, []byte(fmt.Sprintf("%s%d", prefix, i+1)))
		}
		return out
	}
	must(t, a.AddPages(ctx, "i1", specs("a", 3)))
	must(t, a.AddPages(ctx, "i1", specs("b", 3))) // again: kept as they were
	time.Sleep(5 * time.Millisecond)
	must(t, b.AddPages(ctx, "i2", specs("c", 1)))
	claim := func(c catalog.Catalog, holder string, at time.Time) *catalog.PageTask {
		t.Helper()
		p, err := c.ClaimPage(ctx, holder, at, at.Add(time.Minute))
		must(t, err)
		return p
	}
	if p := claim(a, "w1", now); p == nil || p.ItemID != "i1" || p.Nr != 1 || string(p.Spec) != "a1" || p.Attempts != 0 || p.Holder != "w1" {
		t.Fatalf("first claim: %+v", p)
	}
	if p := claim(b, "w2", now); p == nil || p.Nr != 2 {
		t.Fatalf("second claim: %+v", p)
	}
	if ok, err := a.LeasePage(ctx, "i1", 1, "w1", now.Add(2*time.Minute)); !ok || err != nil {
		t.Fatal("renewal refused", ok, err)
	}
	if ok, _ := a.LeasePage(ctx, "i1", 1, "w2", now.Add(2*time.Minute)); ok {
		t.Fatal("renewed by another")
	}
	if ok, err := a.FinishPage(ctx, "i1", 1, "w1", ""); !ok || err != nil {
		t.Fatal("finish", ok, err)
	}
	if ok, _ := a.FinishPage(ctx, "i1", 1, "w1", ""); ok {
		t.Fatal("finished twice")
	}
	if p := claim(a, "w3", now.Add(30*time.Second)); p == nil || p.ItemID != "i1" || p.Nr != 3 {
		t.Fatalf("third claim: %+v", p)
	}
	// w2's lease on page 2 lapses at +60 s: taken, counting an attempt.
	if p := claim(a, "w4", now.Add(61*time.Second)); p == nil || p.ItemID != "i1" || p.Nr != 2 || p.Attempts != 1 {
		t.Fatalf("a lapsed page: %+v", p)
	}
	if ok, _ := b.FinishPage(ctx, "i1", 2, "w2", ""); ok {
		t.Fatal("finished by the holder whose lease lapsed")
	}
	if ok, err := b.FinishPage(ctx, "i1", 2, "w4", "the worker died on it"); !ok || err != nil {
		t.Fatal("give up", ok, err)
	}
	if p := claim(b, "w5", now.Add(61*time.Second)); p == nil || p.ItemID != "i2" {
		t.Fatalf("the next item's page: %+v", p)
	}
	pages, err := b.PagesOf(ctx, "i1")
	must(t, err)
	if len(pages) != 3 || pages[0].State != catalog.PageDone || pages[1].State != catalog.PageFailed || pages[1].Failure != "the worker died on it" ||
		pages[2].State != catalog.PageWaiting || pages[2].Holder != "w3" {
		t.Fatalf("pages of i1: %+v", pages)
	}
	must(t, a.DropPages(ctx, "i1"))
	if pages, _ := b.PagesOf(ctx, "i1"); len(pages) != 0 {
		t.Fatalf("dropped, still %+v", pages)
	}
	// Many claims at once from two connections: each page once.
	must(t, a.AddPages(ctx, "r", specs("r", 20)))
	var mu sync.Mutex
	seen := map[int]int{}
	if wins := race(a, b, 30, func(c catalog.Catalog, i int) bool {
		p, err := c.ClaimPage(ctx, fmt.Sprintf("w%d", i), now, now.Add(time.Minute))
		if err != nil {
			t.Error(err)
		}
		if p == nil || p.ItemID != "r" {
			return false
		}
		mu.Lock()
		seen[p.Nr]++
		mu.Unlock()
		return true
	}); wins != 20 || len(seen) != 20 {
		t.Fatalf("30 claims of 20 pages: %d won, %d pages: %v", wins, len(seen), seen)
	}
}
