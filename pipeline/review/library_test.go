package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/pipeline/retrieve"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	"github.com/strongroom-archive/strongroom/storage"
	_ "github.com/strongroom-archive/strongroom/storage/local"
)

// library is a review server with a library: a real catalog, search index
// and store holding four bags, one per access level and one under embargo,
// each with a real one-page PDF (ImageMagick) whose words' boxes are
// Tesseract's; page images are drawn by poppler's pdftoppm.
type library struct {
	srv   *httptest.Server
	s     *Server
	cat   *sqlite.DB
	words map[string]image.Rectangle // Tesseract's boxes on the page
	dir   string
}

var levels = []struct {
	bag     string
	access  catalog.AccessLevel
	embargo string
}{
	{"b-open", catalog.AccessOpen, ""},
	{"b-restricted", catalog.AccessRestricted, ""},
	{"b-closed", catalog.AccessClosed, ""},
	{"b-embargo", catalog.AccessOpen, "2999-01-01"},
}

func newLibrary(t testing.TB, public bool) *library {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pagePNG, pdf := filepath.Join(dir, "page.png"), filepath.Join(dir, "page.pdf")
	if out, err := exec.Command(testenv.Convert(t), "-size", "1275x1650", "xc:white", "-fill", "black", "-pointsize", "44",
		"-annotate", "+120+300", "The harbour ledger of Kirkwall", "-annotate", "+120+400", "recorded cargoes of herring",
		"-units", "PixelsPerInch", "-density", "150", "-type", "Grayscale", pagePNG).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v %s", err, out)
	}
	writePagePDF(t, pagePNG, pdf)
	tsv, err := exec.Command(testenv.Tool(t, "tesseract"), pagePNG, "-", "tsv").Output()
	if err != nil {
		t.Fatal(err)
	}
	l := &library{dir: dir, words: map[string]image.Rectangle{}}
	page := search.Page{File: "data/access/doc.pdf", N: 1, Width: 1275, Height: 1650, WidthPt: 612, HeightPt: 792}
	for _, line := range strings.Split(string(tsv), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 12 && f[0] == "5" {
			v := func(i int) int { n, _ := strconv.Atoi(f[i]); return n }
			r := image.Rect(v(6), v(7), v(6)+v(8), v(7)+v(9))
			l.words[f[11]] = r
			page.Words = append(page.Words, search.Word{Text: f[11], Box: r})
		}
	}
	cat, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	l.cat = cat
	idx, err := fts.Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	st, err := storage.Open(ctx, storage.Config{URL: "file://" + filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	pdfBytes, _ := os.ReadFile(pdf)
	now := time.Now()
	for _, lv := range levels {
		meta := catalog.Metadata{Title: "Ledger " + lv.bag, Access: lv.access, EmbargoUntil: lv.embargo, Collection: "harbours"}
		it := &catalog.Item{ID: "item-" + lv.bag, Name: lv.bag, Source: "/hot/" + lv.bag, Kind: catalog.KindBatch, Release: catalog.ReleaseMove,
			Stage: catalog.StageDone, BagID: lv.bag, Meta: meta}
		if err := cat.CreateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
		var objs []catalog.Object
		for key, data := range map[string][]byte{"data/access/doc.pdf": pdfBytes, "data/original/page.tif": []byte("original scan"), "data/original/scan.pdf": pdfBytes,
			"bagit.txt": []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")} {
			s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
			if err := st.Put(ctx, lv.bag+"/"+key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			objs = append(objs, catalog.Object{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])})
		}
		cat.PutBag(ctx, catalog.Bag{ID: lv.bag, ItemID: it.ID, Store: "file:///store", Bytes: 1, StoredAt: now})
		cat.PutObjects(ctx, lv.bag, objs, now)
		cat.SetRetention(ctx, catalog.Retention{BagID: lv.bag, Schedule: "FIN-7", Action: "destroy", Due: now.AddDate(7, 0, 0), Assigned: now})
		if err := idx.PutBag(ctx, search.Doc{Bag: lv.bag, Title: meta.Title, Meta: meta, Stored: now}, []search.Page{page}); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Cfg: Config{Listen: "x", SessionTTL: time.Hour, Public: public, Tokens: []Token{
		{Name: "rita", TokenSHA256: hash("reader-token"), Role: RoleReader},
		{Name: "ana", TokenSHA256: hash("reviewer-token"), Role: RoleReviewer},
		{Name: "adam", TokenSHA256: hash("admin-token"), Role: RoleAdmin},
	}}, Catalog: cat, AuditCycle: 90 * 24 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.Library = &Library{Index: idx, Store: st, Cache: &retrieve.Cache{Dir: filepath.Join(dir, "cache"), Store: st, Altered: s.CacheAltered}, Render: popplerJPEG}
	s.Dispose = (&disposal.Executor{Catalog: cat, Store: st, Index: idx, Agent: "strongroom/test", Log: s.Log, Now: time.Now}).Execute
	eng := &pipeline.Engine{Catalog: cat, Store: st, Log: s.Log, Now: time.Now, Agent: "strongroom/test",
		Retention: retention.Config{Schedules: []retention.Schedule{{Code: "FIN-7", Title: "Ledgers", Mandate: "Companies Act 2006 s.388", Trigger: retention.Ingested, Period: "P7Y", Action: retention.Destroy}}}}
	s.Schedules, s.Assign = eng.Retention.Schedules, eng.Assign
	l.s = s
	l.srv = httptest.NewServer(s.Handler())
	t.Cleanup(l.srv.Close)
	return l
}

// writePagePDF puts a grey page image on a 612×792 pt page (150 dpi).
func writePagePDF(t testing.TB, pngPath, pdfPath string) {
	t.Helper()
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, image.Point{}, draw.Src)
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	pw, ph := float64(w)*72/150, float64(h)*72/150
	b := testenv.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /XObject << /Im 4 0 R >> >> /Contents 5 0 R >>", pw, ph),
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8", w, h), g.Pix),
		testenv.Stream("", fmt.Sprintf("q %g 0 0 %g 0 0 cm /Im Do Q", pw, ph)))
	if err := os.WriteFile(pdfPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// popplerJPEG draws a PDF page with pdftoppm, as the daemon's PDFium
// worker would.
func popplerJPEG(ctx context.Context, path string, n, width int) ([]byte, error) {
	return exec.CommandContext(ctx, "pdftoppm", "-jpeg", "-f", strconv.Itoa(n+1), "-l", strconv.Itoa(n+1),
		"-scale-to-x", strconv.Itoa(width), "-scale-to-y", "-1", "-singlefile", path).Output()
}

// TestRights is the table of role × access level × embargo for search,
// description, page view, access copy and package downloads.
func TestRights(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	l := newLibrary(t, true)
	type can struct{ search, describe, view, file, original, originalPDF, tag, pkg bool }
	all := can{true, true, true, true, true, true, true, true}
	reader := map[string]can{
		"b-open": {true, true, true, true, false, false, false, false}, "b-restricted": {true, true, true, true, false, false, false, false},
		"b-closed": {}, "b-embargo": {false, true, false, false, false, false, false, false}}
	anon := map[string]can{"b-open": reader["b-open"], "b-restricted": {}, "b-closed": {}, "b-embargo": reader["b-embargo"]}
	for _, role := range []struct {
		name, token string
		want        map[string]can
	}{
		{"anonymous", "", anon},
		{"reader", "reader-token", reader},
		{"reviewer", "reviewer-token", map[string]can{"b-open": all, "b-restricted": all, "b-closed": all, "b-embargo": all}},
		{"admin", "admin-token", map[string]can{"b-open": all, "b-restricted": all, "b-closed": all, "b-embargo": all}},
	} {
		_, body := call(t, "GET", l.srv.URL+"/api/v1/search?q=herring&limit=50", role.token, "")
		var hits []search.Hit
		json.Unmarshal([]byte(body), &hits)
		found := map[string]bool{}
		for _, h := range hits {
			found[h.Bag] = true
		}
		_, listed := call(t, "GET", l.srv.URL+"/api/v1/bags", role.token, "")
		for _, lv := range levels {
			want := role.want[lv.bag]
			// What a role may not see is not found for it (never 403, which
			// would say it is there); a route a role may not use at all
			// (whole packages) is refused as a route, 403 naming the role.
			ok := func(path string) bool {
				st, _ := call(t, "GET", l.srv.URL+path, role.token, "")
				if st != 200 && st != 404 && !((st == 401 || st == 403) && strings.HasSuffix(path, "/download")) {
					t.Errorf("%s: GET %s: %d, want 200 or 404", role.name, path, st)
				}
				return st == 200
			}
			got := can{
				search:      found[lv.bag],
				describe:    ok("/api/v1/bags/"+lv.bag) && strings.Contains(listed, `"id": "`+lv.bag+`"`),
				view:        ok("/api/v1/bags/" + lv.bag + "/image?file=data/access/doc.pdf&page=1&w=200"),
				file:        ok("/api/v1/bags/" + lv.bag + "/files/data/access/doc.pdf"),
				original:    ok("/api/v1/bags/" + lv.bag + "/files/data/original/page.tif"),
				originalPDF: ok("/api/v1/bags/" + lv.bag + "/files/data/original/scan.pdf"),
				tag:         ok("/api/v1/bags/" + lv.bag + "/files/bagit.txt"),
				pkg:         ok("/api/v1/bags/" + lv.bag + "/download"),
			}
			if got != want {
				t.Errorf("%s on %s: %+v, want %+v", role.name, lv.bag, got, want)
			}
		}
	}
	// Where the bytes live, alerts and filters by them are staff's.
	for _, token := range []string{"", "reader-token"} {
		for _, p := range []string{"/api/v1/bags", "/api/v1/bags/b-open", "/api/v1/bags?alerts=yes"} {
			_, body := call(t, "GET", l.srv.URL+p, token, "")
			if strings.Contains(body, `"store"`) || strings.Contains(body, `"alerts"`) || strings.Contains(body, "file:///store") {
				t.Errorf("GET %s as %q shows staff's fields:\n%s", p, token, body)
			}
			if strings.Contains(p, "alerts=yes") && !strings.Contains(body, "b-open") {
				t.Errorf("GET %s as %q: the alerts filter applied for a non-staff user:\n%s", p, token, body)
			}
		}
	}
	if _, body := call(t, "GET", l.srv.URL+"/api/v1/bags/b-open", "reviewer-token", ""); !strings.Contains(body, `"store": "file:///store"`) {
		t.Errorf("staff do not see the store:\n%s", body)
	}
	// A list answers an array, where it stands in headers (anonymous: one
	// open page matches).
	if resp, err := http.Get(l.srv.URL + "/api/v1/search?q=herring&limit=1"); err != nil {
		t.Fatal(err)
	} else {
		var hits []search.Hit
		json.NewDecoder(resp.Body).Decode(&hits)
		resp.Body.Close()
		if h := resp.Header; len(hits) != 1 || h.Get("X-Total-Count") != "1" || h.Get("X-Matching-Pages") != "1" || h.Get("X-Took-Ms") == "" {
			t.Errorf("search as a list: %d hits, headers %v", len(hits), h)
		}
	}
	// An item in flight says how far it is (the engine's record).
	l.s.Progress = func(id string) (catalog.Progress, bool) {
		return catalog.Progress{Stage: catalog.StageNormalise, Done: 7, Total: 40}, id == "item-b-open"
	}
	if _, body := call(t, "GET", l.srv.URL+"/api/v1/items/item-b-open", "reviewer-token", ""); !strings.Contains(body, `"done": 7`) || !strings.Contains(body, `"total": 40`) {
		t.Errorf("an item's progress in the API:\n%.400s", body)
	}
	// Retention and holds, for staff: a bag's, what is due by a day.
	if _, body := call(t, "GET", l.srv.URL+"/api/v1/bags/b-open/retention", "reviewer-token", ""); !strings.Contains(body, `"schedule": "FIN-7"`) || !strings.Contains(body, `"holds": []`) {
		t.Errorf("a bag's retention:\n%s", body)
	}
	if _, body := call(t, "GET", l.srv.URL+"/api/v1/retention/due?before=2100-01-01", "reviewer-token", ""); strings.Count(body, `"bag_id"`) != 4 {
		t.Errorf("due by 2100:\n%s", body)
	}
	if st, _ := call(t, "GET", l.srv.URL+"/api/v1/retention/due?before=soon", "reviewer-token", ""); st != 400 {
		t.Errorf("before=soon: %d, want 400", st)
	}
	// Without http.public, no token: nothing.
	closed := newLibrary(t, false)
	for _, p := range []string{"/api/v1/search?q=herring", "/api/v1/bags", "/api/v1/bags/b-open/files/data/access/doc.pdf"} {
		if st, _ := call(t, "GET", closed.srv.URL+p, "", ""); st != 401 {
			t.Errorf("%s without a token on a private server: %d", p, st)
		}
	}
	if resp, _ := http.Get(closed.srv.URL + "/search?q=herring"); resp.Request.URL.Path != "/login" {
		t.Errorf("the search page without a session on a private server: %s", resp.Request.URL)
	}
}

// TestDownloadsChecked: the access copy is served with Range requests;
// a bag downloads as a tar every byte of which was checked; a corrupted
// stored file cuts the download short and raises an alert.
func TestDownloadsChecked(t *testing.T) {
	l := newLibrary(t, false)
	req, _ := http.NewRequest("GET", l.srv.URL+"/api/v1/bags/b-open/files/data/access/doc.pdf", nil)
	req.Header.Set("Authorization", "Bearer reader-token")
	req.Header.Set("Range", "bytes=0-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(b) != "%PDF-1.3" && !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("range: %d %q", resp.StatusCode, b)
	}
	st, body := call(t, "GET", l.srv.URL+"/api/v1/bags/b-closed/download?format=tar", "reviewer-token", "")
	if st != 200 || !strings.Contains(body, "b-closed/data/original/page.tif") {
		t.Errorf("download: %d", st)
	}
	os.WriteFile(filepath.Join(l.dir, "store", "b-closed", "data", "original", "page.tif"), []byte("original scaN"), 0o644)
	req, _ = http.NewRequest("GET", l.srv.URL+"/api/v1/bags/b-closed/download?format=zip", nil)
	req.Header.Set("Authorization", "Bearer reviewer-token")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Error("a download with a corrupted file ended as if whole")
		}
	}
	alerts, _ := l.cat.Alerts(context.Background(), "b-closed")
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemAltered || alerts[0].Key != "data/original/page.tif" {
		t.Errorf("alerts: %+v", alerts)
	}
}

// TestCacheChecked: bytes changed in the retrieval cache were served with
// the original ETag and no alert. Now the cached copy is hashed before it
// is served: a changed one is evicted, fetched again from the store
// (checked), served as stored, and raised as a cache-altered alert.
func TestCacheChecked(t *testing.T) {
	l := newLibrary(t, false)
	get := func() (string, string) {
		req, _ := http.NewRequest("GET", l.srv.URL+"/api/v1/bags/b-open/files/data/access/doc.pdf", nil)
		req.Header.Set("Authorization", "Bearer reader-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET: %d %s", resp.StatusCode, b)
		}
		return string(b), resp.Header.Get("ETag")
	}
	stored, etag := get()
	cached, _ := filepath.Glob(filepath.Join(l.dir, "cache", "[0-9a-f]*"))
	if len(cached) != 1 {
		t.Fatalf("cache holds %v", cached)
	}
	tampered := []byte(strings.Replace(stored, "%PDF-", "%PDX-", 1))
	if err := os.WriteFile(cached[0], tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	if again, etag2 := get(); again != stored || etag2 != etag {
		t.Errorf("served the changed cache copy (%d bytes, %q), not the stored one", len(again), again[:8])
	}
	alerts, _ := l.cat.Alerts(context.Background(), "b-open")
	if len(alerts) != 1 || alerts[0].Problem != catalog.ProblemCacheAltered || alerts[0].Key != "data/access/doc.pdf" {
		t.Errorf("alerts: %+v", alerts)
	}
}

// TestMetadataCorrection: an admin corrects a description; the change is
// a PREMIS event naming who; search filters follow it; a reviewer may not.
func TestMetadataCorrection(t *testing.T) {
	l := newLibrary(t, true)
	if st, _ := call(t, "PUT", l.srv.URL+"/api/v1/bags/b-open/metadata", "reviewer-token", `{"access": "closed"}`); st != 403 {
		t.Errorf("reviewer correcting: %d", st)
	}
	if st, body := call(t, "PUT", l.srv.URL+"/api/v1/bags/b-open/metadata", "admin-token", `{"access": "public"}`); st != 422 || !strings.Contains(body, "open, restricted or closed") {
		t.Errorf("bad level: %d %s", st, body)
	}
	for _, bad := range []string{`"Ledger\u0000"`, `"Ledger\u2028forged line"`, `"Ledger\u0085x"`, `"\u001b[31mred"`, `"` + strings.Repeat("x", 9000) + `"`} {
		if st, body := call(t, "PUT", l.srv.URL+"/api/v1/bags/b-open/metadata", "admin-token", `{"title": `+bad+`}`); st != 422 {
			t.Errorf("title %.40s: %d %s", bad, st, body)
		}
	}
	if st, body := call(t, "PUT", l.srv.URL+"/api/v1/bags/b-open/metadata", "admin-token", `{"access": "closed", "dc.title": "Kirkwall ledger"}`); st != 200 {
		t.Fatalf("correct: %d %s", st, body)
	}
	evs, _ := l.cat.BagEvents(context.Background(), "b-open")
	if len(evs) != 1 || evs[0].Type != catalog.EvMetadataModification || evs[0].Agent != "user adam" || !strings.Contains(evs[0].Detail, `access: "open" → "closed"`) {
		t.Errorf("events: %+v", evs)
	}
	if _, body := call(t, "GET", l.srv.URL+"/api/v1/search?q=herring", "", ""); strings.Contains(body, "b-open") {
		t.Error("a closed bag is still found anonymously")
	}
	if _, body := call(t, "GET", l.srv.URL+"/api/v1/search?q=herring", "admin-token", ""); !strings.Contains(body, "Kirkwall ledger") {
		t.Error("search does not show the corrected title")
	}
}

// TestSearchInBrowser: in a real headless Chromium at phone width, a
// reader signs in, searches, sees the hit with its snippet and thumbnail,
// clicks it and sees the page with a box over the word, where Tesseract
// saw it; the link opens the PDF at that page.
func TestSearchInBrowser(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	l := newLibrary(t, false)
	d := startBrowser(t)
	d.do("POST", d.s("/window/rect"), map[string]any{"width": 390, "height": 844})
	shots := os.Getenv("STRONGROOM_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	d.open(l.srv.URL + "/search")
	d.typeInto("input[name=token]", "reader-token")
	d.click("form.login button[type=submit]")
	if got := d.waitText("h1", "Search"); got != "Search" {
		t.Fatalf("after sign-in the page says %q", got)
	}
	d.open(l.srv.URL + "/search")
	d.typeInto("#q", "herring")
	d.click("form.filters button[type=submit]")
	if got := d.waitText(".hit-item:first-child mark", "herring"); got != "herring" {
		t.Fatalf("snippet mark: %q\n%s", got, d.source())
	}
	src := d.source()
	if strings.Contains(src, "b-closed") || !strings.Contains(src, "b-restricted") {
		t.Error("results ignore the reader's rights")
	}
	d.screenshot(filepath.Join(shots, "search.png"))
	d.click(".hit-item:first-child a.title")
	if got := d.waitText("#hits", "1 words highlighted"); got != "1 words highlighted" {
		t.Fatalf("view page: %q", got)
	}
	d.screenshot(filepath.Join(shots, "view.png"))
	attr := func(name string) int {
		n, _ := strconv.Atoi(d.attribute("rect.hit", name))
		return n
	}
	want := l.words["herring"]
	if attr("x") != want.Min.X || attr("y") != want.Min.Y || attr("width") != want.Dx() || attr("height") != want.Dy() {
		t.Errorf("box at %d,%d %dx%d, Tesseract's %v", attr("x"), attr("y"), attr("width"), attr("height"), want)
	}
	// The page image is drawn (a JPEG the browser decoded).
	img := d.do("POST", d.s("/execute/sync"), map[string]any{"script": `return new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalWidth); i.onerror = () => r(0); i.src = document.querySelector("svg.page image").getAttribute("href"); })`, "args": []any{}})
	if w, _ := img["value"].(float64); w < 1000 {
		t.Errorf("page image width %v", img["value"])
	}
	href := d.attribute("#open-pdf", "href")
	if u, _ := url.Parse(href); !strings.HasSuffix(u.Path, "/files/data/access/doc.pdf") || u.Fragment != "page=1" {
		t.Errorf("PDF link %q", href)
	}
	// At 390 px nothing is wider than the screen.
	wide := d.do("POST", d.s("/execute/sync"), map[string]any{"script": "return document.documentElement.scrollWidth", "args": []any{}})["value"].(float64)
	if wide > 390 {
		t.Errorf("the page is %v px wide at 390", wide)
	}
	d.open(l.srv.URL + "/bags?sort=title")
	d.screenshot(filepath.Join(shots, "bags.png"))
	if src := d.source(); !strings.Contains(src, "Ledger b-open") || strings.Contains(src, "Ledger b-closed") {
		t.Error("bag list ignores rights")
	}
}
