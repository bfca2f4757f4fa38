package push

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr/ocrtest"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/storage/bagit"
	"github.com/strongroom-archive/strongroom/storage/local"
)

func tokenHash(t string) string { s := sha256.Sum256([]byte(t)); return hex.EncodeToString(s[:]) }

type env struct {
	srv   *httptest.Server
	ps    *Server
	store string
	cat   *sqlite.DB
}

// newEnv runs the push API on a real HTTP server on 127.0.0.1, in front of
// the real pipeline (catalog, Siegfried, local store).
func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	ctx := context.Background()
	cat, err := sqlite.Open(ctx, filepath.Join(root, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	st, _ := local.New(filepath.Join(root, "store"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := &pipeline.Engine{Cfg: pipeline.Config{Workers: 2, MaxAttempts: 2, RetryBackoff: 10 * time.Millisecond, MaxPixels: 1e8, MaxDecodedBytes: 1 << 28, Lease: 30 * time.Second, EnvironmentAlertAfter: time.Minute}, Holder: pipeline.Holder(),
		Bag:     pipeline.BagConfig{SourceOrganization: "Test Archive", Algorithms: bagit.DefaultAlgorithms},
		DataDir: filepath.Join(root, "data"), DoneDir: filepath.Join(root, "done"), FailedDir: filepath.Join(root, "failed"),
		Catalog: cat, Store: st, StoreURL: "test", Identify: identify.New(),
		Policy: identify.Policy{Default: identify.Preserve, Unknown: identify.Reject}, Agent: "strongroom/test", Log: log, Now: time.Now, Decoder: ocrtest.Decoder(t, 1e8)}
	ps := &Server{Cfg: Config{MaxFileSize: 10 << 20, MaxFiles: 300, MaxBatchBytes: 100 << 20, MaxOpenBatches: 3, ExpireAfter: time.Hour},
		Stations: []Station{{Name: "scanner-1", TokenSHA256: tokenHash("tok-1")}, {Name: "scanner-2", TokenSHA256: tokenHash("tok-2")}},
		Catalog:  cat, Staging: filepath.Join(root, "data", "push"), Log: log, Now: time.Now,
		// As the daemon does: record the item, run it in the background.
		Submit: func(ctx context.Context, dir, _ string, info []catalog.InfoField) (*catalog.Item, error) {
			it, err := eng.NewItem(ctx, pipeline.ItemSpec{Path: dir, Kind: catalog.KindBatch, Release: catalog.ReleaseDelete, Info: info})
			if err == nil {
				go eng.Run(context.Background(), it.ID)
			}
			return it, err
		}}
	mux := http.NewServeMux()
	ps.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, ps: ps, store: filepath.Join(root, "store"), cat: cat}
}

func (e *env) client(token string) *Client {
	return &Client{Server: e.srv.URL, Token: token, HTTP: e.srv.Client(), Retries: 3, Backoff: 10 * time.Millisecond}
}

func book(t *testing.T, pages int) string {
	dir := filepath.Join(t.TempDir(), "book")
	for i := range pages {
		img := image.NewGray(image.Rect(0, 0, 20+i%7, 20))
		for j := range img.Pix {
			img.Pix[j] = uint8(i + j)
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		p := filepath.Join(dir, fmt.Sprintf("p%03d.png", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte("x"), 0o644) // left out, as intake would
	return dir
}

func TestPushStored(t *testing.T) {
	e := newEnv(t)
	st, err := e.client("tok-1").Push(context.Background(), book(t, 50), map[string]string{"title": "Parish register 1801", "identifier": "PR-1801", "operator": "jo"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "stored" || st.Bag == "" {
		t.Fatalf("status %+v", st)
	}
	r, err := bagit.ValidateDir(context.Background(), filepath.Join(e.store, st.Bag), bagit.ValidateOptions{})
	if err != nil || !r.Valid || len(r.Payload) != 50 {
		t.Fatalf("bag: %v %v, %d files", err, r.Problems, len(r.Payload))
	}
	for label, want := range map[string]string{"Scanner-Station": "scanner-1", "Scanner-Folder": "book", "Title": "Parish register 1801", "External-Identifier": "PR-1801", "Operator": "jo"} {
		if got := r.Info.All(label); len(got) == 0 || got[len(got)-1] != want {
			t.Errorf("bag-info %s = %v, want %q", label, got, want)
		}
	}
	if _, ok := r.Payload["data/original/book/p049.png"]; !ok { // the station's folder name is kept
		t.Errorf("payload: %v", r.Payload)
	}
	// The staged copy is gone once stored.
	if entries, _ := os.ReadDir(filepath.Join(e.ps.Staging, st.ID)); len(entries) != 0 {
		t.Errorf("staging not freed: %v", entries)
	}
}

// failAfter breaks a body off after n bytes, as a killed client would.
type failAfter struct {
	r io.Reader
	n int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection lost")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestResumeAndRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client("tok-1")
	dir := t.TempDir()
	big := bytes.Repeat([]byte("scan"), 300_000) // 1.2 MB
	os.WriteFile(filepath.Join(dir, "big.tif"), big, 0o644)
	files, local, err := Manifest(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Open(ctx, "", files, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An upload killed halfway: the server keeps what arrived.
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+filePath(st.ID, "big.tif"), &failAfter{r: bytes.NewReader(big), n: len(big) / 2})
	req.Header.Set("Authorization", "Bearer tok-1")
	req.ContentLength = int64(len(big))
	if resp, err := e.srv.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	// The server sees the connection drop a moment after the client does.
	var off string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		head, err := c.do(ctx, http.MethodHead, filePath(st.ID, "big.tif"), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if off = head.Header.Get("Upload-Offset"); off != "0" {
			break
		}
	}
	if off == "0" || off == fmt.Sprint(len(big)) {
		t.Fatalf("after a broken upload the server has %s bytes", off)
	}
	// Close now: refused, naming the missing file.
	_, err = c.Close(ctx, st.ID)
	var ref *Refused
	if !errors.As(err, &ref) || ref.Status != http.StatusConflict || len(ref.Missing) != 1 || ref.Missing[0] != "big.tif" {
		t.Fatalf("close with a file missing: %v", err)
	}
	// Resume: only the rest is sent, and the file verifies.
	if err := c.Upload(ctx, st.ID, files[0], local[0]); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Status(ctx, st.ID); err != nil || st.Received != 1 {
		t.Fatalf("status after resume: %+v %v", st, err)
	}

	// Another station can neither see nor touch the batch; a wrong token gets 401.
	other := e.client("tok-2")
	if _, err := other.Status(ctx, st.ID); !errors.As(err, &ref) || ref.Status != http.StatusNotFound {
		t.Errorf("other station status: %v", err)
	}
	if _, err := other.Close(ctx, st.ID); !errors.As(err, &ref) || ref.Status != http.StatusNotFound {
		t.Errorf("other station close: %v", err)
	}
	if _, err := e.client("wrong").Status(ctx, st.ID); !errors.As(err, &ref) || ref.Status != http.StatusUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := c.Close(ctx, st.ID); err != nil {
		t.Fatalf("close of a complete batch: %v", err)
	}

	// Bytes that don't match the manifest are refused.
	bad := []byte("these are not the bytes announced")
	st2, err := c.Open(ctx, "", []catalog.BatchFile{{Path: "p.tif", Size: int64(len(bad)), SHA256: tokenHash("something else")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "bad"), bad, 0o644)
	err = c.Upload(ctx, st2.ID, catalog.BatchFile{Path: "p.tif", Size: int64(len(bad))}, filepath.Join(dir, "bad"))
	if !errors.As(err, &ref) || ref.Status != http.StatusUnprocessableEntity || !strings.Contains(ref.Message, "sha256") {
		t.Errorf("mismatched bytes: %v", err)
	}
}

func TestOpenRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client("tok-1")
	ok := catalog.BatchFile{Path: "a.tif", Size: 10, SHA256: tokenHash("x")}
	for _, tc := range []struct {
		name   string
		files  []catalog.BatchFile
		meta   map[string]string
		status int
		want   string
	}{
		{"traversal", []catalog.BatchFile{{Path: "../../etc/passwd", Size: 1, SHA256: ok.SHA256}}, nil, 422, ".."},
		{"absolute", []catalog.BatchFile{{Path: "/etc/passwd", Size: 1, SHA256: ok.SHA256}}, nil, 422, "absolute"},
		{"control character", []catalog.BatchFile{{Path: "a\x07.tif", Size: 1, SHA256: ok.SHA256}}, nil, 422, "control character"},
		{"hidden name", []catalog.BatchFile{{Path: "x/.hidden", Size: 1, SHA256: ok.SHA256}}, nil, 422, "hidden"},
		{"case duplicate", []catalog.BatchFile{ok, {Path: "A.TIF", Size: 10, SHA256: ok.SHA256}}, nil, 422, "same file"},
		{"bad digest", []catalog.BatchFile{{Path: "a.tif", Size: 1, SHA256: "xyz"}}, nil, 422, "64 hex"},
		{"zero bytes", []catalog.BatchFile{{Path: "a.tif", Size: 0, SHA256: ok.SHA256}}, nil, 422, "zero-byte"},
		{"file too large", []catalog.BatchFile{{Path: "a.tif", Size: 11 << 20, SHA256: ok.SHA256}}, nil, 413, "limit"},
		{"reserved metadata", []catalog.BatchFile{ok}, map[string]string{"Payload-Oxum": "1.1"}, 422, "metadata"},
		{"no files", nil, nil, 422, "no files"},
	} {
		_, err := c.Open(ctx, "", tc.files, tc.meta)
		var ref *Refused
		if !errors.As(err, &ref) || ref.Status != tc.status || !strings.Contains(ref.Message, tc.want) {
			t.Errorf("%s: %v; want HTTP %d with %q", tc.name, err, tc.status, tc.want)
		}
	}
	many := make([]catalog.BatchFile, 301)
	for i := range many {
		many[i] = catalog.BatchFile{Path: fmt.Sprintf("p%d.tif", i), Size: 1, SHA256: ok.SHA256}
	}
	if _, err := c.Open(ctx, "", many, nil); err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("too many files: %v", err)
	}
	other := func(i int) []catalog.BatchFile {
		return []catalog.BatchFile{{Path: fmt.Sprintf("b%d.tif", i), Size: 10, SHA256: ok.SHA256}}
	}
	for i := range 3 {
		if _, err := c.Open(ctx, "", other(i), nil); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if st, err := c.Open(ctx, "", other(1), nil); err != nil || !st.Resumed {
		t.Errorf("the same batch again, at the limit: %+v %v; want it resumed", st, err)
	}
	if _, err := c.Open(ctx, "", other(3), nil); err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "push abort") {
		t.Errorf("a 4th open batch: %v", err)
	}
	open, err := c.List(ctx)
	if err != nil || len(open) != 3 {
		t.Fatalf("list: %+v %v", open, err)
	}
	if st, err := c.Abort(ctx, open[0].ID); err != nil || st.Status != StatusAborted {
		t.Errorf("abort: %+v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(e.ps.Staging, open[0].ID)); !os.IsNotExist(err) {
		t.Errorf("an aborted batch's staging is still there: %v", err)
	}
	if _, err := c.Open(ctx, "", other(3), nil); err != nil {
		t.Errorf("open after an abort: %v", err)
	}
	// Abandoned batches expire and free their space; the station may open again.
	e.ps.Cfg.ExpireAfter = time.Nanosecond
	jctx, cancel := context.WithCancel(ctx)
	go e.ps.Janitor(jctx, time.Hour)
	time.Sleep(300 * time.Millisecond)
	cancel()
	if entries, _ := os.ReadDir(e.ps.Staging); len(entries) != 0 {
		t.Errorf("staging after expiry: %v", entries)
	}
	if _, err := c.Open(ctx, "", []catalog.BatchFile{ok}, nil); err != nil {
		t.Errorf("open after expiry: %v", err)
	}
}

// countingTransport counts the bytes of file uploads (PUT bodies).
type countingTransport struct {
	http.RoundTripper
	mu   sync.Mutex
	sent int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, c: c}
	}
	return c.RoundTripper.RoundTrip(r)
}

type countingBody struct {
	io.ReadCloser
	c *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.sent += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// TestPushCutResumes is the station locked out for 48 h: a push cut by
// Ctrl-C and run again opened a new batch and sent everything again, and
// after four cuts the station got 429 until a batch expired. Now the same
// command resumes the same batch, sends only what is missing, and no
// number of cuts locks the station out.
func TestPushCutResumes(t *testing.T) {
	e := newEnv(t)
	dir := book(t, 12)
	files, _, err := Manifest(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	counter := &countingTransport{RoundTripper: e.srv.Client().Transport}
	c := e.client("tok-1")
	c.HTTP = &http.Client{Transport: counter}
	var ids []string
	for cut := range 6 { // more cuts than the 3 open batches allowed
		ctx, cancel := context.WithCancel(context.Background())
		c.Opened = func(st Status) { ids = append(ids, st.ID) }
		c.Progress = func(done, _ int, _, _ int64) {
			if done == 2*(cut+1)-1 {
				cancel() // Ctrl-C after the first files of this run
			}
		}
		_, err := c.Push(ctx, dir, map[string]string{"title": "Book of hours"}, false)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
	c.Progress = nil
	st, err := c.Push(context.Background(), dir, map[string]string{"title": "Book of hours"}, true)
	if err != nil || st.Status != StatusStored {
		t.Fatalf("the push run again: %+v %v", st, err)
	}
	for _, id := range append(ids, st.ID) {
		if id != ids[0] {
			t.Fatalf("batches %v: a cut push opened a new batch", append(ids, st.ID))
		}
	}
	if counter.sent > total+total/4 { // each cut may lose at most the file it was sending
		t.Errorf("sent %d bytes for a %d-byte book: resumed pushes sent again what had arrived", counter.sent, total)
	}
	t.Logf("12 files, %d bytes; 6 cuts; %d bytes sent in all", total, counter.sent)
}

// TestFileLocksDropped: the per-file upload locks are dropped once no one
// holds them (they used to pile up for every file ever uploaded).
func TestFileLocksDropped(t *testing.T) {
	var l fileLocks
	unlock := l.lock("b1\x00p1.tif")
	done := make(chan struct{})
	go func() { l.lock("b1\x00p1.tif")(); close(done) }()
	time.Sleep(20 * time.Millisecond)
	if l.held() != 1 {
		t.Errorf("%d locks while one is held and waited for", l.held())
	}
	unlock()
	<-done
	if l.held() != 0 {
		t.Errorf("%d locks left after every unlock", l.held())
	}
}
