package pgmove

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/postgres"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	"github.com/strongroom-archive/strongroom/pipeline/search/pgfts"
	"github.com/strongroom-archive/strongroom/pipeline/search/searchtest"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fill gives an embedded catalog one of every record, in the states an
// archive's life leaves them, and the index their pages.
func fill(t *testing.T, c catalog.Catalog, x search.Index) {
	ctx := context.Background()
	now := time.Now()
	psm := 4
	for i := range 4 {
		id := fmt.Sprintf("i%d", i)
		it := &catalog.Item{ID: id, Name: fmt.Sprintf("book %d", i), Source: "/hot/" + id, HotFolder: "/hot", Kind: catalog.KindBatch,
			Release: catalog.ReleaseMove, Stage: catalog.StageFixity, Info: []catalog.InfoField{{Label: "Title", Value: "Ledger ü"}},
			OCR:  &catalog.OCRSettings{Languages: []string{"deu"}, PSM: &psm},
			Meta: catalog.Metadata{Title: fmt.Sprintf("Ledger %d", i), Collection: "trade", Date: "1901-03", Access: catalog.AccessOpen}}
		must(t, c.CreateItem(ctx, it))
		if ok, _, err := c.Lease(ctx, id, "w1", now, now.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("lease: %v", err)
		}
		// A file's mtime to the nanosecond: the release re-check compares it.
		must(t, c.PutFiles(ctx, id, []catalog.File{{Path: "original/p1.tif", Source: "/hot/" + id + "/p1.tif", Size: 10, SHA256: "aa", SHA512: "bb",
			PUID: "fmt/353", MIME: "image/tiff", ModTime: time.Unix(1700000000, 123456789), Inode: "1:2"}, {Path: "original/p2.tif", Size: 0}}))
		must(t, c.SetStageEvents(ctx, id, catalog.StageFixity, []catalog.Event{{BagID: "bag-" + id, Type: catalog.EvDigest, Outcome: catalog.OutcomeSuccess,
			Detail: "sha256", Agent: "strongroom", At: now}}))
		it.Stage = catalog.StageDone
		it.BagID = "bag-" + id
		if i == 3 {
			it.Stage, it.LastError, it.FailStage, it.BagID = catalog.StageFailed, "page 2: not a TIFF", catalog.StageValidate, ""
		}
		must(t, c.UpdateItem(ctx, it, catalog.StageFixity, "w1"))
		if i == 3 {
			continue
		}
		b := catalog.Bag{ID: it.BagID, ItemID: id, Store: "file:///store", Oxum: "10.2", Bytes: 10, StoredAt: now}
		must(t, c.PutBag(ctx, b))
		must(t, c.PutObjects(ctx, b.ID, []catalog.Object{{Key: "data/original/p1.tif", Size: 10, SHA256: "aa", SHA512: "bb"}}, now))
		must(t, c.SetRetention(ctx, catalog.Retention{BagID: b.ID, Schedule: "FIN-7", Action: "destroy", Due: time.Date(2033, 12, 6, 0, 0, 0, 0, time.UTC), Assigned: now}))
		must(t, c.SetQuality(ctx, b.ID, "warn", []byte(`{"verdict": "warn",  "pages": [1, 2.50]}`)))
		must(t, x.PutBag(ctx, search.Doc{Bag: b.ID, Title: it.Meta.Title, Meta: it.Meta, Formats: []string{"image/tiff"}, Stored: now},
			[]search.Page{searchtest.Page("data/access/book.pdf", 1, fmt.Sprintf("Zoë Müller weaver of book %d", i)), searchtest.Page("data/access/book.pdf", 2, "archival boxes")}))
	}
	// A corrected description.
	m := catalog.Metadata{Title: "Ledger of the weavers' guild", Collection: "guilds", Access: catalog.AccessRestricted}
	must(t, c.SetMetadata(ctx, "i0", m))
	must(t, x.SetDoc(ctx, search.Doc{Bag: "bag-i0", Title: m.Title, Meta: m}))
	a, _, err := c.RaiseAlert(ctx, "bag-i1", catalog.ProblemAltered, "data/original/p1.tif", "sha256 differs", now)
	must(t, err)
	_, err = c.ChangeAlert(ctx, a.ID, catalog.AlertAcknowledged, "ana", "looking", now)
	must(t, err)
	must(t, c.RaiseAlerts(ctx, []catalog.Raise{{BagID: "bag-i2", Problem: catalog.ProblemAltered, Key: "k", Detail: "d"}}, now))
	run, err := c.StartRun(ctx, "all", now)
	must(t, err)
	must(t, c.FinishRun(ctx, catalog.AuditRun{ID: run, Finished: now, Bags: 3, Objects: 3, Bytes: 30}))
	must(t, c.MarkChecked(ctx, "bag-i1", "data/original/p1.tif", "altered", now))
	must(t, c.CreateBatch(ctx, &catalog.Batch{ID: "batch1", Station: "s1", State: catalog.BatchReceiving, Files: []catalog.BatchFile{{Path: "p1.tif", Size: 10, SHA256: "aa"}}}))
	must(t, c.PutSession(ctx, catalog.Session{Hash: "h1", User: "ana", Role: "admin", CSRF: "x", Expires: now.Add(time.Hour)}))
	h := &catalog.Hold{Name: "Audit 2026", Reason: "inquiry", Authority: "court", CreatedBy: "ana"}
	must(t, c.CreateHold(ctx, h))
	must(t, c.HoldBags(ctx, h.ID, []string{"bag-i1"}, nil, now))
	d := &catalog.Disposal{Bags: []string{"bag-i2"}, Action: "destroy", Reason: "due", RequestedBy: "ana"}
	must(t, c.RequestDisposal(ctx, d))
	_, err = c.DecideDisposal(ctx, d.ID, true, "bo", "ok", now)
	must(t, err)
	_, err = c.BeginDisposal(ctx, d.ID, now)
	must(t, err)
	must(t, c.DisposeBag(ctx, d.ID, catalog.Tombstone{BagID: "bag-i2", ItemID: "i2", Title: "Ledger 2", Disposed: now, Deleted: []string{"data/original/p1.tif"}}))
	must(t, c.EndDisposal(ctx, d.ID, catalog.DisposalDone, "1 bag", now))
	_, err = c.RecordSchedule(ctx, "FIN-7", "7 years after closed", now)
	must(t, err)
}

// dump is everything the catalog answers, as JSON, times to the
// microsecond (what PostgreSQL keeps) in UTC.
func dump(t *testing.T, c catalog.Catalog) string {
	ctx := context.Background()
	out := map[string]any{}
	items, err := c.Items(ctx, 1000)
	must(t, err)
	out["items"] = items
	for _, it := range items {
		files, _ := c.Files(ctx, it.ID)
		evs, _ := c.Events(ctx, it.ID)
		out["files "+it.ID], out["events "+it.ID] = files, evs
	}
	bags, total, err := c.FindBags(ctx, catalog.BagQuery{Disposed: true, Limit: 100})
	must(t, err)
	out["bags"], out["bags total"] = bags, total
	for _, b := range bags {
		objs, _ := c.Objects(ctx, b.ID)
		r, _ := c.Retention(ctx, b.ID)
		q, _ := c.Quality(ctx, b.ID)
		tomb, _ := c.Tombstone(ctx, b.ID)
		out["bag "+b.ID] = []any{objs, r, string(q), tomb}
	}
	alerts, _ := c.Alerts(ctx, "")
	for _, a := range alerts {
		full, _ := c.Alert(ctx, a.ID)
		out[fmt.Sprint("alert ", a.ID)] = full
	}
	holds, _ := c.ListHolds(ctx, true)
	for _, h := range holds {
		full, _ := c.Hold(ctx, h.ID)
		out[fmt.Sprint("hold ", h.ID)] = full
	}
	out["disposals"], _ = c.ListDisposals(ctx)
	out["batch"], _ = c.Batch(ctx, "batch1")
	out["session"], _ = c.Session(ctx, "h1", time.Now())
	out["audit"], _ = c.AuditStatus(ctx, time.Now().Add(-time.Hour))
	out["due"], _ = c.DueBags(ctx, 10)
	out["counts"], _ = c.Counts(ctx)
	v, def, _ := c.LastSchedule(ctx, "FIN-7")
	out["schedule"] = []any{v, def}
	b, err := json.Marshal(out)
	must(t, err)
	var tree any
	must(t, json.Unmarshal(b, &tree))
	b, _ = json.MarshalIndent(normalise(tree), "", " ")
	return string(b)
}

func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalise(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalise(x)
		}
	case string:
		if tm, err := time.Parse(time.RFC3339Nano, v); err == nil && strings.Contains(v, "T") {
			return tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		}
	}
	return v
}

// TestMove: an embedded catalog and index with one of every record move
// into PostgreSQL whole: the catalog answers every question the same, a
// file's mtime to the nanosecond, new records take new numbers, and
// searches find the same pages with the same boxes. A second move into the
// same database is refused; so is a source that holds a value not of its
// column's kind, with nothing committed.
func TestMove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	must(t, err)
	idx, err := fts.Open(ctx, filepath.Join(dir, "index.db"))
	must(t, err)
	fill(t, src, idx)
	want := dump(t, src)
	for _, s := range []string{"weavers' guild", "FIN-7", "acknowledged", "tagmanifest", "Audit 2026", "page 2: not a TIFF", `"done"`, "2033-12-06"} {
		if !strings.Contains(want, s) {
			t.Fatalf("the source's dump lacks %q:\n%s", s, want)
		}
	}
	src.Close()
	idx.Close()

	s := pgtest.Start(t)
	url := s.NewDatabase(t, "moved")
	dst, err := postgres.Open(ctx, url)
	must(t, err)
	defer dst.Close()
	x, err := pgfts.Open(ctx, url)
	must(t, err)
	defer x.Close()
	var seen []string
	tables, err := Move(ctx, filepath.Join(dir, "catalog.db"), filepath.Join(dir, "index.db"), dst.Pool(), x.Pool(), func(tb Table) { seen = append(seen, tb.Name) })
	must(t, err)
	if len(tables) != len(catalogTables)+len(indexTables) || len(seen) != len(tables) {
		t.Fatalf("tables moved: %d (%v)", len(tables), seen)
	}
	rows := map[string]int64{}
	for _, tb := range tables {
		rows[tb.Name] = tb.Rows
		if tb.Source != tb.Target || len(tb.Source) != 64 {
			t.Errorf("%s: %s vs %s", tb.Name, tb.Source, tb.Target)
		}
	}
	if rows["items"] != 4 || rows["events"] != 4 || rows["alert_changes"] != 3 || rows["search_pages"] != 6 || rows["tombstones"] != 1 || rows["files"] != 8 {
		t.Errorf("rows: %v", rows)
	}
	if got := dump(t, dst); got != want {
		t.Errorf("the catalog in PostgreSQL answers otherwise:\n%s", diffLines(want, got))
	}
	files, _ := dst.Files(ctx, "i1")
	if !files[0].ModTime.Equal(time.Unix(1700000000, 123456789)) {
		t.Errorf("mtime: %v", files[0].ModTime)
	}
	// New records after the move take numbers after the moved ones.
	a, fresh, err := dst.RaiseAlert(ctx, "bag-i0", catalog.ProblemMissing, "x", "gone", time.Now())
	if err != nil || !fresh || a.ID <= 2 {
		t.Errorf("a new alert: %+v %v", a, err)
	}
	must(t, dst.AddEvents(ctx, catalog.Event{ItemID: "i0", BagID: "bag-i0", Type: catalog.EvDigest, Outcome: catalog.OutcomeSuccess}))
	// The same searches find the same pages.
	old, err := fts.Open(ctx, filepath.Join(dir, "index.db"))
	must(t, err)
	defer old.Close()
	for _, q := range []search.Query{{Text: "muller weav*"}, {Text: `"zoe muller"`}, {Text: "archival -weaver"},
		{Text: "weaver", Collection: "guilds"}, {Text: "weaver", Access: []catalog.AccessLevel{catalog.AccessOpen}}} {
		a, err1 := old.Search(ctx, q)
		b, err2 := x.Search(ctx, q)
		if err1 != nil || err2 != nil || hits(a) != hits(b) || a.Total == 0 && q.Collection == "" {
			t.Errorf("%+v: %s (%v) in FTS5, %s (%v) moved", q, hits(a), err1, hits(b), err2)
		}
	}

	if _, err := Move(ctx, filepath.Join(dir, "catalog.db"), "", dst.Pool(), nil, nil); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("a second move: %v", err)
	}

	// A value that is not what its column holds: named, nothing kept.
	bad, err := sqlite.Open(ctx, filepath.Join(dir, "bad.db"))
	must(t, err)
	fill(t, bad, idx2(t, dir))
	bad.Close()
	rawExec(t, filepath.Join(dir, "bad.db"), `UPDATE events SET at = 'yesterday' WHERE id = 2`)
	url2 := s.NewDatabase(t, "bad")
	dst2, err := postgres.Open(ctx, url2)
	must(t, err)
	defer dst2.Close()
	_, err = Move(ctx, filepath.Join(dir, "bad.db"), "", dst2.Pool(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "events") || !strings.Contains(err.Error(), "row 2, column at") {
		t.Errorf("a bad time: %v", err)
	}
	if items, _ := dst2.Items(ctx, 10); len(items) != 0 {
		t.Errorf("a failed move left %d items", len(items))
	}
}

func idx2(t *testing.T, dir string) search.Index {
	x, err := fts.Open(context.Background(), filepath.Join(dir, "index2.db"))
	must(t, err)
	t.Cleanup(func() { x.Close() })
	return x
}

func hits(r *search.Result) string {
	if r == nil {
		return "<nil>"
	}
	var out []string
	for _, h := range r.Hits {
		var boxes []image.Rectangle
		for _, b := range h.Boxes {
			boxes = append(boxes, image.Rect(b.X, b.Y, b.X+b.W, b.Y+b.H))
		}
		out = append(out, fmt.Sprintf("%s/%d%v", h.Bag, h.Page, boxes))
	}
	return strings.Join(out, " ")
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("%d: -%s\n%d: +%s", i, x, i, y))
		}
		if len(out) > 20 {
			break
		}
	}
	return strings.Join(out, "\n")
}

func rawExec(t *testing.T, path, q string) {
	db, err := sql.Open("sqlite", "file:"+path)
	must(t, err)
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}
