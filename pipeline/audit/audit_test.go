package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr/ocrtest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/audit"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
	"github.com/strongroom-archive/strongroom/storage/local"
	_ "github.com/strongroom-archive/strongroom/storage/s3"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

type world struct {
	cat   *sqlite.DB
	store storage.Store
	eng   *pipeline.Engine
	bags  []string
	hook  *hookRecorder
	aud   *audit.Auditor
}

type hookRecorder struct {
	mu   sync.Mutex
	msgs []audit.Message
	ok   bool
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newWorld ingests n items (one a 3-page batch) into st with the real engine.
func newWorld(t *testing.T, st storage.Store, n int) *world {
	t.Helper()
	root := t.TempDir()
	cat, err := sqlite.Open(context.Background(), filepath.Join(root, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	eng := &pipeline.Engine{
		Cfg: pipeline.Config{Workers: 1, MaxAttempts: 2, RetryBackoff: 10 * time.Millisecond, MaxPixels: 1e8, MaxDecodedBytes: 1 << 28, Lease: 30 * time.Second, EnvironmentAlertAfter: time.Minute}, Holder: pipeline.Holder(), Bag: pipeline.BagConfig{SourceOrganization: "Test", Algorithms: bagit.DefaultAlgorithms},
		DataDir: filepath.Join(root, "data"), DoneDir: filepath.Join(root, "done"), FailedDir: filepath.Join(root, "failed"),
		Catalog: cat, Store: st, StoreURL: "test", Identify: identify.New(),
		Policy: identify.Policy{Default: identify.Preserve, Unknown: identify.Preserve}, Agent: "strongroom/test", Log: quiet(), Now: time.Now, Decoder: ocrtest.Decoder(t, 1e8),
	}
	w := &world{cat: cat, store: st, eng: eng, hook: &hookRecorder{}}
	for i := range n {
		p := filepath.Join(root, "in", fmt.Sprintf("item-%d.png", i))
		if i == 0 {
			p = filepath.Join(root, "in", "book")
			for j := range 3 {
				testenv.RampPNG(t, filepath.Join(p, fmt.Sprintf("p%d.png", j)), 40+j)
			}
		} else {
			testenv.RampPNG(t, p, 50+i)
		}
		it, err := eng.NewItem(context.Background(), pipeline.ItemSpec{Path: p, HotFolder: "", Kind: "", Release: catalog.ReleaseKeep})
		if err != nil {
			t.Fatal(err)
		}
		if it, err = eng.Run(context.Background(), it.ID); err != nil || it.Stage != catalog.StageDone {
			t.Fatalf("ingest: %v %s", err, it.LastError)
		}
		w.bags = append(w.bags, it.BagID)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Strongroom-Signature") != audit.Sign("hook-secret", body) {
			t.Errorf("webhook signature does not verify")
		}
		var m audit.Message
		json.Unmarshal(body, &m)
		w.hook.mu.Lock()
		w.hook.msgs = append(w.hook.msgs, m)
		w.hook.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	hook := audit.Webhook{URL: srv.URL, Secret: "hook-secret"}
	w.aud = &audit.Auditor{Cfg: audit.Config{Cycle: 90 * 24 * time.Hour, Interval: time.Hour, Concurrency: 2, Webhook: hook,
		Algorithms: []bagit.Algorithm{bagit.SHA256, bagit.SHA512}},
		Catalog: cat, Store: st, Agent: "strongroom/test", Log: quiet(), Now: time.Now,
		Notify: hook.Notifier(srv.Client(), 3, 10*time.Millisecond)}
	return w
}

func (w *world) run(t *testing.T, sel audit.Selection) (map[string]audit.BagResult, audit.Summary) {
	t.Helper()
	out := map[string]audit.BagResult{}
	sum, err := w.aud.Run(context.Background(), sel, func(r audit.BagResult) { out[r.Bag] = r })
	if err != nil {
		t.Fatal(err)
	}
	return out, sum
}

func get(t *testing.T, st storage.Store, key string) []byte {
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

func putRaw(t *testing.T, st storage.Store, key string, b []byte) {
	if err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// faultSuite corrupts stored bags through the store's own API (what an
// operator error, a bad disk or an attacker could do) and checks that the
// audit finds each with the right problem class, one alert each, and that a
// repeat audit adds no duplicate alert.
func faultSuite(t *testing.T, st storage.Store) {
	w := newWorld(t, st, 7)
	ctx := context.Background()
	// A clean audit first: everything intact, nothing alerted.
	res, sum := w.run(t, audit.Selection{All: true})
	if sum.Damaged != 0 || sum.Errors != 0 || len(res) != 7 {
		t.Fatalf("clean audit: %+v %+v", sum, res)
	}
	page := func(bag string) string {
		for oi, err := range st.List(ctx, bag+"/data/") {
			if err != nil {
				t.Fatal(err)
			}
			return oi.Key
		}
		t.Fatal("no payload")
		return ""
	}
	b := w.bags
	flipped := page(b[1])
	body := get(t, st, flipped)
	body[len(body)/2] ^= 0x01
	putRaw(t, st, flipped, body) // one byte flipped
	truncated := page(b[2])
	putRaw(t, st, truncated, get(t, st, truncated)[:10])
	deleted := page(b[3])
	st.Delete(ctx, deleted)
	putRaw(t, st, b[4]+"/data/original/smuggled.exe", []byte("MZ"))
	manifest := b[5] + "/manifest-sha256.txt"
	putRaw(t, st, manifest, append(get(t, st, manifest), []byte("0000 data/x\n")...))

	want := map[string]struct {
		class catalog.Problem
		key   string
	}{
		b[1]: {audit.Altered, strings.TrimPrefix(flipped, b[1]+"/")},
		b[2]: {audit.Truncated, strings.TrimPrefix(truncated, b[2]+"/")},
		b[3]: {audit.Missing, strings.TrimPrefix(deleted, b[3]+"/")},
		b[4]: {audit.Unexpected, "data/original/smuggled.exe"},
		b[5]: {audit.TagAltered, "manifest-sha256.txt"},
	}
	for round := 0; round < 2; round++ {
		res, sum = w.run(t, audit.Selection{All: true})
		for bag, r := range res {
			wnt, bad := want[bag]
			switch {
			case !bad && r.Status != audit.Intact:
				t.Errorf("round %d: intact bag %s reported %+v", round, bag, r)
			case bad && (r.Status != audit.Damaged || len(r.Problems) != 1 || r.Problems[0].Class != wnt.class || r.Problems[0].Key != wnt.key):
				t.Errorf("round %d: bag %s: %+v, want one %s of %s", round, bag, r, wnt.class, wnt.key)
			}
		}
		alerts, _ := w.cat.Alerts(ctx, "", catalog.AlertOpen)
		if len(alerts) != 5 {
			t.Errorf("round %d: %d open alerts, want 5 (one per problem, no duplicates)", round, len(alerts))
		}
	}
	w.hook.mu.Lock()
	if len(w.hook.msgs) != 1 || len(w.hook.msgs[0].Alerts) != 5 {
		t.Errorf("webhook: %d messages %+v, want one message with 5 alerts", len(w.hook.msgs), w.hook.msgs)
	}
	w.hook.mu.Unlock()

	// Triage: acknowledge, resolve; a resolved alert reopens if the problem comes back.
	alerts, _ := w.cat.Alerts(ctx, b[1])
	a := alerts[0]
	if _, err := w.cat.ChangeAlert(ctx, a.ID, catalog.AlertAcknowledged, "ana", "looking", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cat.ChangeAlert(ctx, a.ID, catalog.AlertResolved, "ana", "restored from tape", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cat.ChangeAlert(ctx, a.ID, catalog.AlertAcknowledged, "ana", "", time.Now()); err == nil {
		t.Error("resolved → acknowledged allowed")
	}
	w.run(t, audit.Selection{Bag: b[1]})
	a, _ = w.cat.Alert(ctx, a.ID)
	if a.State != catalog.AlertOpen || len(a.Changes) != 4 {
		t.Errorf("alert after the problem came back: %s, %d changes", a.State, len(a.Changes))
	}
	// Every check is a fixity-check event in the bag's history.
	evs, _ := w.cat.BagEvents(ctx, b[1])
	n := 0
	for _, e := range evs {
		if e.Type == "fixity check" {
			n++
		}
	}
	if n < 3*len(evs)/4 && n < 10 {
		t.Errorf("%d fixity events of %d", n, len(evs))
	}
}

func TestFaultsLocal(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	faultSuite(t, st)
}

func TestFaultsMinIO(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	no := false
	st, err := storage.Open(context.Background(), storage.Config{URL: s3test.URL(srv.Bucket(false)),
		S3: storage.S3Config{Endpoint: srv.Endpoint, Region: "us-east-1", Secure: &no, PathStyle: true}})
	if err != nil {
		t.Fatal(err)
	}
	faultSuite(t, st)

	// The store down is an audit error, not corruption.
	w := newWorld(t, st, 2)
	srv.Stop()
	res, sum := w.run(t, audit.Selection{All: true})
	if sum.Errors != 2 || sum.Damaged != 0 {
		t.Errorf("store down: %+v %+v", sum, res)
	}
	srv.Start()
}

func TestThrottle(t *testing.T) {
	st, _ := local.New(t.TempDir())
	w := newWorld(t, st, 1)
	big := bytes.Repeat([]byte("strongroom"), 600_000) // 6 MB payload
	putRaw(t, st, w.bags[0]+"/data/original/book/big.bin", big)
	w.cat.PutObjects(context.Background(), w.bags[0], append(mustObjects(t, w), catalog.Object{BagID: w.bags[0], Key: "data/original/book/big.bin",
		Size: int64(len(big)), SHA256: sha(big, bagit.SHA256), SHA512: sha(big, bagit.SHA512)}), time.Now())
	const limit = 2 << 20
	w.aud.Cfg.MaxBytesPerSecond = limit
	// The run says how it goes: every second to OnProgress (a terminal's
	// line), bytes moving within the one bag, and at the end.
	var said []audit.Progress
	w.aud.OnProgress = func(p audit.Progress) { said = append(said, p) }
	var logged bytes.Buffer // and the log, here every tick
	w.aud.Log = slog.New(slog.NewTextHandler(&logged, nil))
	defer audit.LogProgressEvery(0)()
	start := time.Now()
	_, sum := w.run(t, audit.Selection{All: true})
	rate := float64(sum.Bytes) / time.Since(start).Seconds()
	if rate > limit*1.10 || rate < limit*0.90 {
		t.Errorf("audit read %.0f B/s with a limit of %d (want within 10%%)", rate, limit)
	}
	t.Logf("throttled to %d B/s: measured %.0f B/s over %d bytes", limit, rate, sum.Bytes)
	if len(said) < 3 {
		t.Fatalf("progress said %d times in a 3 s run: %+v", len(said), said)
	}
	mid, last := said[1], said[len(said)-1]
	if mid.Bags != 0 || mid.Bytes <= 0 || mid.Bytes >= mid.BytesTotal || mid.Left <= 0 || mid.Rate < limit*0.5 || mid.Rate > limit*1.5 {
		t.Errorf("progress within the bag: %+v", mid)
	}
	if last.Bags != 1 || last.BagsTotal != 1 || last.Bytes != sum.Bytes || last.BytesTotal != sum.Bytes || last.Left != 0 {
		t.Errorf("progress at the end: %+v (run read %d bytes)", last, sum.Bytes)
	}
	if !regexp.MustCompile(`msg="audit progress" bags=0 of=1 bytes=[1-9]\d* of_bytes=` + fmt.Sprint(sum.Bytes) + ` bytes_per_second=\d+ left=\d`).Match(logged.Bytes()) {
		t.Errorf("the log does not say how the run goes:\n%s", logged.String())
	}
}

func mustObjects(t *testing.T, w *world) []catalog.Object {
	objs, err := w.cat.Objects(context.Background(), w.bags[0])
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func sha(b []byte, a bagit.Algorithm) string {
	d, _, _ := bagit.Copy(context.Background(), nil, bytes.NewReader(b), []bagit.Algorithm{a})
	return d[a]
}

// TestStoreSurprises: what audits used to miss or misreport. A symlink
// planted where a payload file should be is damage (altered), not "the
// store did not answer"; a folder or a file in the store that belongs to no
// bag is unexpected, one alert per folder however many objects it holds;
// a bag deleted whole is one alert for the bag, not one per object, and so
// is a bag whose folder was replaced by a symlink; an empty folder is a
// finding too.
func TestStoreSurprises(t *testing.T) {
	root := t.TempDir()
	st, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, st, 4)
	ctx := context.Background()
	b := w.bags
	var payload string
	for oi := range st.List(ctx, b[1]+"/data/") {
		payload = oi.Key
		break
	}
	p := filepath.Join(root, filepath.FromSlash(payload))
	os.Remove(p)
	os.Symlink("/etc/hostname", p)
	for i := range 5 {
		putRaw(t, st, fmt.Sprintf("not-a-bag/file-%d", i), []byte("stray"))
	}
	putRaw(t, st, "loose.txt", []byte("a file at the top of the store"))
	os.MkdirAll(filepath.Join(root, "empty", "inside"), 0o755)
	// A bag's folder swapped for a symlink to a copy of it.
	bagDir := filepath.Join(root, b[3])
	if err := os.Rename(bagDir, bagDir+".copy"); err != nil {
		t.Fatal(err)
	}
	os.Symlink(bagDir+".copy", bagDir)
	for oi := range st.List(ctx, b[2]+"/") {
		st.Delete(ctx, oi.Key)
	}

	res, sum := w.run(t, audit.Selection{All: true})
	if sum.Errors != 0 {
		t.Errorf("errors %+v: a symlink is damage, not an unanswered store", res)
	}
	if sum.Damaged != 3 || sum.Problems != 3 {
		t.Errorf("summary: %d bags damaged with %d problems, want 3 and 3", sum.Damaged, sum.Problems)
	}
	if r := res[b[3]]; r.Status != audit.Damaged || len(r.Problems) != 1 || r.Problems[0].Key != "" || !strings.Contains(r.Problems[0].Detail, "is a symlink") {
		t.Errorf("bag folder replaced by a symlink: %+v, want one finding for the bag naming the symlink", r)
	}
	if r := res[b[1]]; r.Status != audit.Damaged || len(r.Problems) != 1 || r.Problems[0].Class != audit.Altered {
		t.Errorf("symlinked payload: %+v", r)
	}
	if r := res[b[2]]; r.Status != audit.Damaged || len(r.Problems) != 1 || r.Problems[0].Class != audit.Missing || r.Problems[0].Key != "" {
		t.Errorf("deleted bag: %+v, want one missing problem for the whole bag", r)
	}
	r := res[""]
	var foreign []string
	for _, p := range r.Problems {
		foreign = append(foreign, p.Key)
	}
	// The copy the symlink points at is a stray folder too.
	if want := []string{b[3] + ".copy/", "empty/", "loose.txt", "not-a-bag/"}; sum.Foreign != 4 || !slices.Equal(foreign, want) {
		t.Errorf("foreign: %d, %q, want %q", sum.Foreign, foreign, want)
	}
	if len(r.Problems) == 4 && r.Problems[1].Detail != "an empty folder in the store that belongs to no bag" {
		t.Errorf("empty folder: %q", r.Problems[1].Detail)
	}
	alerts, _ := w.cat.Alerts(ctx, "", catalog.AlertOpen)
	if len(alerts) != 7 {
		t.Errorf("%d alerts, want 7 (symlinked object, symlinked bag, deleted bag, copy folder, empty folder, foreign folder, loose file): %+v", len(alerts), alerts)
	}
	// A second audit finds the same, and alerts nothing new.
	if _, sum := w.run(t, audit.Selection{All: true}); sum.NewAlert != 0 {
		t.Errorf("second audit: %d new alerts", sum.NewAlert)
	}
}
