package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
)

func hash(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }

// newServer returns a review server on a real catalog holding one stored
// bag with two objects and an open alert.
func newServer(t *testing.T) (*httptest.Server, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	cat, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	now := time.Now()
	it := &catalog.Item{ID: "item-1", Name: "book-17", Source: "/hot/book-17", Kind: catalog.KindBatch, Release: catalog.ReleaseMove, Stage: catalog.StageDone, BagID: "bag-1"}
	if err := cat.CreateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	cat.PutBag(ctx, catalog.Bag{ID: "bag-1", ItemID: "item-1", Store: "file:///store", Oxum: "12.2", Bytes: 4096, StoredAt: now})
	cat.PutObjects(ctx, "bag-1", []catalog.Object{{Key: "data/original/book-17/p001.tif", Size: 6, SHA256: strings.Repeat("a", 64), SHA512: strings.Repeat("b", 128)},
		{Key: "bagit.txt", Size: 6, SHA256: strings.Repeat("c", 64), SHA512: strings.Repeat("d", 128)}}, now)
	cat.AddEvents(ctx, catalog.Event{ItemID: "item-1", BagID: "bag-1", Type: catalog.EvReplication, Outcome: catalog.OutcomeSuccess, Detail: "stored", Agent: "strongroom/test", At: now})
	if _, _, err := cat.RaiseAlert(ctx, "bag-1", catalog.ProblemAltered, "data/original/book-17/p001.tif", "read 6 bytes, sha256 ff..; recorded aa..", now); err != nil {
		t.Fatal(err)
	}
	s := &Server{Cfg: Config{Listen: "x", SessionTTL: time.Hour, Tokens: []Token{
		{Name: "ana", TokenSHA256: hash("reviewer-token"), Role: RoleReviewer},
		{Name: "ro", TokenSHA256: hash("read-token"), Role: RoleRead},
		{Name: "prometheus", TokenSHA256: hash("metrics-token"), Role: RoleMetrics},
	}}, Catalog: cat, AuditCycle: 90 * 24 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, cat
}

func call(t *testing.T, method, u, token, body string) (int, string) {
	t.Helper()
	resp, b := request(t, method, u, token, body)
	return resp.StatusCode, string(b)
}

// request sends one request, with a bearer token if given, and returns
// the answer with its whole body read.
func request(t *testing.T, method, u, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestAPI(t *testing.T) {
	srv, _ := newServer(t)
	for _, c := range []struct {
		method, path, token, body string
		status                    int
		want                      string
	}{
		{"GET", "/healthz", "", "", 200, "ok"},
		{"GET", "/readyz", "", "", 200, "ready"},
		{"GET", "/api/v1/alerts", "", "", 401, "bearer token"},
		{"GET", "/api/v1/alerts", "wrong", "", 401, "bearer token"},
		{"GET", "/api/v1/alerts?state=open", "read-token", "", 403, "reviewer role"}, // readers read the library, not its alerts
		{"GET", "/api/v1/alerts?state=open", "reviewer-token", "", 200, `"bag_id": "bag-1"`},
		{"GET", "/api/v1/alerts/1", "reviewer-token", "", 200, `"problem": "altered"`},
		{"GET", "/api/v1/alerts/99", "reviewer-token", "", 404, "not found"},
		{"POST", "/api/v1/alerts/1/ack", "read-token", `{"note":"x"}`, 403, "reviewer"},
		{"POST", "/api/v1/alerts/1/ack", "reviewer-token", `{"note":"checking the tape copy"}`, 200, `"state": "acknowledged"`},
		{"POST", "/api/v1/alerts/1/ack", "reviewer-token", "", 409, "cannot change"},
		{"POST", "/api/v1/alerts/1/resolve", "reviewer-token", `{"note":"restored"}`, 200, `"state": "resolved"`},
		{"GET", "/api/v1/bags", "reviewer-token", "", 200, `"id": "bag-1"`},
		{"GET", "/api/v1/bags/bag-1", "reviewer-token", "", 200, "p001.tif"},
		{"GET", "/api/v1/bags/nope", "reviewer-token", "", 404, "not found"},
		// bag-1 has no access level: closed to all but staff, and not there for others.
		{"GET", "/api/v1/bags", "read-token", "", 200, `[]`},
		{"GET", "/api/v1/bags/bag-1", "read-token", "", 404, "not found"},
		{"GET", "/api/v1/items", "reviewer-token", "", 200, "book-17"},
		{"GET", "/api/v1/items/item-1", "reviewer-token", "", 200, "replication"},
		{"GET", "/api/v1/events?bag=bag-1", "reviewer-token", "", 200, "replication"},
		{"GET", "/api/v1/audit", "reviewer-token", "", 200, `"audited_in_cycle": 1`},
		{"GET", "/api/v1/items", "read-token", "", 403, "reviewer role"},
		{"GET", "/metrics", "reviewer-token", "", 200, `strongroom_items{stage="done"} 1`},
		{"GET", "/metrics", "metrics-token", "", 200, `strongroom_items{stage="done"} 1`},
		{"GET", "/metrics", "", "", 401, "token is needed"},
		{"GET", "/metrics", "read-token", "", 401, "token is needed"},
		{"GET", "/api/v1/items", "metrics-token", "", 403, "reviewer role"},
		{"GET", "/api/v1/bags", "metrics-token", "", 403, "role"},
	} {
		status, body := call(t, c.method, srv.URL+c.path, c.token, c.body)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s (%s): %d %s; want %d with %q", c.method, c.path, c.token, status, body, c.status, c.want)
		}
	}
	_, body := call(t, "GET", srv.URL+"/api/v1/alerts/1", "reviewer-token", "")
	var a catalog.Alert
	json.Unmarshal([]byte(body), &a)
	if len(a.Changes) != 3 || a.Changes[1].Who != "ana" || a.Changes[2].Note != "restored" {
		t.Errorf("history: %+v", a.Changes)
	}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestPageSessionsAndCSRF(t *testing.T) {
	srv, cat := newServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path string, form url.Values) (int, string) {
		resp, err := c.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if _, body := get("/alerts"); !strings.Contains(body, "Sign in") {
		t.Fatal("the alert page is open without a session")
	}
	if status, _ := post("/login", url.Values{"token": {"nope"}}); status != 401 {
		t.Errorf("bad token sign-in: %d", status)
	}
	if _, body := post("/login", url.Values{"token": {"reviewer-token"}}); !strings.Contains(body, "open alerts") {
		t.Fatalf("overview after sign-in:\n%s", body)
	}
	_, body := get("/alerts")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "data/original/book-17/p001.tif") {
		t.Fatalf("alerts page:\n%s", body)
	}
	// A form post without the session's CSRF token is refused.
	if status, _ := post("/alerts/1/ack", url.Values{"note": {"x"}}); status != 403 {
		t.Errorf("ack without CSRF: %d", status)
	}
	if status, _ := post("/alerts/1/ack", url.Values{"note": {"x"}, "csrf": {"0000"}}); status != 403 {
		t.Errorf("ack with a wrong CSRF token: %d", status)
	}
	if _, body := post("/alerts/1/ack", url.Values{"note": {"seen"}, "csrf": {m[1]}, "back": {"//evil.example/"}}); !strings.Contains(body, "acknowledged") {
		t.Errorf("ack with CSRF:\n%s", body)
	}
	if a, _ := cat.Alert(context.Background(), 1); a.State != catalog.AlertAcknowledged || a.Changes[1].Who != "ana" {
		t.Errorf("alert after the form: %+v", a)
	}
	if _, body := get("/bags/bag-1"); !strings.Contains(body, "aaaaaaaaaaaaaaaa") || !strings.Contains(body, "replication") {
		t.Errorf("bag page:\n%s", body)
	}
	// Sign out ends the session.
	post("/logout", url.Values{"csrf": {m[1]}})
	if _, body := get("/"); !strings.Contains(body, "Sign in") {
		t.Error("session survives sign-out")
	}
	// A reader sees no alerts and can't post.
	post("/login", url.Values{"token": {"read-token"}})
	if status, body := get("/alerts"); status != 403 || strings.Contains(body, "Acknowledge") {
		t.Errorf("a reader is shown alerts: %d", status)
	}
	_, body = get("/bags")
	m = csrfRe.FindStringSubmatch(body)
	if status, _ := post("/alerts/1/resolve", url.Values{"csrf": {m[1]}}); status != 403 {
		t.Errorf("read-only resolve: %d", status)
	}
}

// TestMetricsParse: /metrics is valid Prometheus text exposition (parsed
// by the Prometheus client library's own parser), with strongroom's
// metrics and the Go runtime's and process's.
func TestMetricsParse(t *testing.T) {
	srv, _ := newServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("not valid exposition: %v", err)
	}
	for name, want := range map[string]float64{"strongroom_bags_stored": 1, "strongroom_bytes_stored": 4096, "strongroom_objects": 2} {
		f := families[name]
		if f == nil || f.GetMetric()[0].GetGauge().GetValue() != want {
			t.Errorf("%s: %v, want %g", name, f, want)
		}
	}
	for _, name := range []string{"strongroom_items", "strongroom_open_alerts", "strongroom_audit_coverage_ratio", "go_goroutines", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

// TestSessionsSurviveRestart: a signed-in user stays signed in when the
// daemon restarts (sessions are in the catalog), and a form posted from
// another site is refused whatever its session.
func TestSessionsSurviveRestart(t *testing.T) {
	srv, cat := newServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {"reviewer-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A new server on the same catalog: the daemon after a restart.
	again := &Server{Cfg: Config{Listen: "x", SessionTTL: time.Hour, Tokens: []Token{{Name: "ana", TokenSHA256: hash("reviewer-token"), Role: RoleReviewer}}},
		Catalog: cat, AuditCycle: 24 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv2 := httptest.NewServer(again.Handler())
	defer srv2.Close()
	u, _ := url.Parse(srv.URL)
	u2, _ := url.Parse(srv2.URL)
	jar.SetCookies(u2, jar.Cookies(u))
	resp, err = c.Get(srv2.URL + "/alerts")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindStringSubmatch(string(body))
	if m == nil || strings.Contains(string(body), "Sign in") {
		t.Fatalf("signed out by the restart:\n%s", body)
	}
	// The session's CSRF token is right, but the browser says the form
	// comes from another site.
	req, _ := http.NewRequest("POST", srv2.URL+"/alerts/1/ack", strings.NewReader(url.Values{"csrf": {m[1]}, "note": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site form: %d, want 403", resp.StatusCode)
	}
	if a, _ := cat.Alert(context.Background(), 1); a.State != catalog.AlertOpen {
		t.Errorf("a cross-site form changed the alert: %s", a.State)
	}
}
