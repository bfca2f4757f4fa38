package s3

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom-archive/strongroom/storage"
)

// lax is a fault-injection S3 endpoint that a real server can't stand in
// for: it stores whatever it is sent and verifies no checksum, like some
// older S3-compatible stores. Beside, not instead of, the MinIO and Versity
// suites.
type lax struct {
	mu      sync.Mutex
	objects map[string][]byte
	md5     []string // Content-MD5 headers seen
}

func (l *lax) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Method {
	case http.MethodHead:
		if r.URL.Path == "/bucket" || r.URL.Path == "/bucket/" {
			return
		}
		w.WriteHeader(http.StatusNotFound)
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		l.objects[r.URL.Path] = b
		if m := r.Header.Get("Content-MD5"); m != "" {
			l.md5 = append(l.md5, m)
		}
		w.Header().Set("ETag", `"0"`)
	case http.MethodDelete:
		delete(l.objects, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func TestStoreWithoutChecksumsGetsContentMD5(t *testing.T) {
	fake := &lax{objects: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	no := false
	u, _ := url.Parse("s3://bucket/p")
	var logs strings.Builder
	st, err := Open(context.Background(), u, storage.S3Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Region: "us-east-1",
		Secure: &no, PathStyle: true}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if st.checksums || !strings.Contains(logs.String(), "does not verify") {
		t.Fatalf("a store that verifies nothing was not detected; log: %s", logs.String())
	}
	if err := st.Put(context.Background(), "bag/data/a", strings.NewReader("abc"), 3, storage.PutOptions{SHA256: strings.Repeat("0", 64)}); err != nil {
		t.Fatal(err)
	}
	if len(fake.md5) != 1 {
		t.Errorf("Content-MD5 headers sent: %v", fake.md5)
	}
	if len(fake.objects) != 1 {
		t.Errorf("objects in the store: %d, want 1 (the probe object must be removed)", len(fake.objects))
	}
}
