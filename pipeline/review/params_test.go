package review

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestBoundedParams: every numeric query parameter is range-checked and
// answered 400 naming it; an offset near MaxInt once panicked the search
// for anonymous callers (`slice bounds out of range`).
func TestBoundedParams(t *testing.T) {
	l := newLibrary(t, true)
	const pdf = "file=data/access/doc.pdf"
	for _, c := range []struct {
		path, token string
		status      int
		says        string
	}{
		{"/api/v1/search?q=harbour&offset=9223372036854775807", "", 400, `offset=\"9223372036854775807\"`},
		{"/search?q=harbour&offset=9223372036854775807", "", 400, "offset"},
		{"/api/v1/search?q=harbour&limit=9223372036854775807", "", 400, "limit"},
		{"/api/v1/search?q=harbour&limit=0", "", 400, "limit"},
		{"/api/v1/search?q=harbour&year=-1", "", 400, "year"},
		{"/api/v1/search?q=harbour&offset=5000", "", 200, `[]`},
		{"/api/v1/search?q=harbour&offset=1", "", 200, `[]`},
		{"/api/v1/bags?offset=99999999999999999999", "", 400, "offset"},
		{"/api/v1/bags?limit=-1", "", 400, "limit"},
		{"/api/v1/bags?limit=abc", "", 400, "limit"},
		{"/bags?offset=-5", "", 400, "offset"},
		{"/api/v1/items?limit=100000", "reviewer-token", 400, "limit"},
		{"/api/v1/bags/b-open/image?" + pdf + "&page=9223372036854775807", "", 400, "page"},
		{"/api/v1/bags/b-open/image?" + pdf + "&page=1&w=-9223372036854775808", "", 400, "page"},
		{"/bags/b-open/view?" + pdf + "&page=99999999999", "", 400, "page"},
		{"/bags/b-open/view?" + pdf + "&page=1", "", 200, "Ledger b-open"},
		{"/api/v1/search?q=harbour&group=books", "", 400, `group=\"books\": want bag or page`},
		{"/api/v1/search?q=herring&group=bag", "", 200, `"pages": 1`},
		{"/api/v1/search?q=herring&group=bag&bag=b-open", "", 200, `"bag": "b-open"`},
		{"/api/v1/search?q=herring&bag=nope", "", 200, `[]`},
	} {
		code, body := call(t, "GET", l.srv.URL+c.path, c.token, "")
		if code != c.status || !strings.Contains(body, c.says) {
			t.Errorf("GET %s: %d %q, want %d saying %q", c.path, code, firstLine(body), c.status, c.says)
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// TestPanicIs500: a handler that panics answers 500 and logs the panic
// with its stack; one that had begun its answer is cut off, so the
// client sees a broken answer, not a short one that looks whole.
func TestPanicIs500(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{Log: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := httptest.NewServer(s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("half"))
			http.NewResponseController(w).Flush() // the header is out
		}
		var a []int
		_ = a[len(r.URL.Path)] // index out of range, as a handler's bug would
	})))
	defer srv.Close()
	code, body := call(t, "GET", srv.URL+"/early", "", "")
	if code != 500 || !strings.Contains(body, internalError) {
		t.Errorf("panic before answering: %d %q", code, body)
	}
	if !strings.Contains(logs.String(), "handler panicked") || !strings.Contains(logs.String(), "index out of range") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("log lacks the panic and its stack:\n%s", logs.String())
	}
	resp, err := http.Get(srv.URL + "/late")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("an answer cut by a panic read as whole")
	}
	if n := s.failures.panics.Load(); n != 2 {
		t.Errorf("%d panics counted, want 2", n)
	}
}

// FuzzQueryParams sends any value of every numeric parameter to every
// route that reads one, as a signed-in reviewer and as an anonymous
// reader of a public server: no answer may be a 500 (a panic included).
func FuzzQueryParams(f *testing.F) {
	for _, v := range []string{"0", "-1", "1", "20", "9223372036854775807", "-9223372036854775808", "1e9", " 3", "0x10", "", "99999999999999999999"} {
		f.Add(uint8(0), v)
	}
	routes := []string{"/api/v1/search?q=harbour", "/search?q=harbour", "/api/v1/bags?sort=title", "/bags?", "/api/v1/items?",
		"/failed?", "/api/v1/bags/b-open/image?file=data/access/doc.pdf&page=1", "/bags/b-open/view?file=data/access/doc.pdf&q=herring"}
	names := []string{"offset", "limit", "year", "page", "w"}
	l := newLibrary(f, true)
	h := l.srv.Config.Handler
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		route, name := routes[int(which)%len(routes)], names[int(which)/len(routes)%len(names)]
		u := route + "&" + name + "=" + url.QueryEscape(value)
		for _, token := range []string{"", "reviewer-token"} {
			req := httptest.NewRequest("GET", u, nil)
			if token != "" && strings.HasPrefix(u, "/api/") {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code == http.StatusInternalServerError {
				t.Fatalf("GET %s: 500 %s", u, rec.Body.String())
			}
		}
	})
}
