package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// TestPush200Pages: the "done" check, end to end with the real
// binary: a daemon serving on 127.0.0.1, and `strongroom push --wait` of a
// 200-page folder, whose last line is the bag id; the bag holds the 200
// pages, the station's name and the pushed metadata.
func TestPush200Pages(t *testing.T) {
	dir := t.TempDir()
	addr, tokenFile := startServe(t, dir)
	for i := range 200 {
		clitest.PNG(t, filepath.Join(dir, "station", "book-42", fmt.Sprintf("page-%03d.png", i)), 20+i%9, 24)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, clitest.Bin, "push", "--server", "http://"+addr, "--token-file", tokenFile,
		"--meta", "title=Book of hours", "--meta", "operator=sam", "--wait", filepath.Join(dir, "station", "book-42"))
	out, err := cmd.Output()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
		t.Fatalf("push: %v\n%s\n%s", err, out, clitest.LastLines(string(log), 20))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	bag := lines[len(lines)-1]
	r, err := bagit.ValidateDir(context.Background(), filepath.Join(dir, "store", bag), bagit.ValidateOptions{})
	if err != nil || !r.Valid {
		t.Fatalf("bag %q: %v %v", bag, err, r)
	}
	pages := 0
	for p := range r.Payload {
		if strings.HasPrefix(p, "data/original/") {
			pages++
		}
	}
	// The station's folder name is kept: the originals' folder and the
	// access copy's name.
	if _, ok := r.Payload["data/original/book-42/page-199.png"]; !ok {
		t.Errorf("the pushed folder's name is lost: %v", r.Payload["data/access/book-42.pdf"])
	}
	if _, ok := r.Payload["data/access/book-42.pdf"]; !ok {
		t.Error("the access copy is not named for the pushed folder")
	}
	// The 200 originals, and the access copy the format policy asks for.
	if pages != 200 || len(r.Payload) != 203 || r.Info.Get("Scanner-Station") != "scanner-7" || r.Info.Get("Title") != "Book of hours" || r.Info.Get("Operator") != "sam" {
		t.Errorf("bag: %d pages of %d files, bag-info %+v", pages, len(r.Payload), r.Info.Fields)
	}
	// Nothing left receiving; aborting what is stored is refused.
	push := func(args ...string) (string, string, int) {
		return clitest.Run(t, dir, append([]string{"push", "--server", "http://" + addr, "--token-file", tokenFile}, args...)...)
	}
	if out, errs, code := push("list"); code != 0 || out != "" {
		t.Errorf("push list: exit %d %q %q", code, out, errs)
	}
	if _, errs, code := push("abort", strings.TrimSuffix(strings.Fields(lines[0])[1], ":")); code != exitFailed || !strings.Contains(errs, "only a batch still receiving") {
		t.Errorf("abort of a stored batch: exit %d %q", code, errs)
	}
	// A wrong token is refused with exit code 1, and the server says so.
	os.WriteFile(tokenFile, []byte("not-the-token"), 0o600)
	if _, _, code := push(filepath.Join(dir, "station", "book-42")); code != exitFailed {
		t.Errorf("wrong token: exit %d", code)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "serve.log")); !strings.Contains(string(log), "push: refused") {
		t.Error("the server did not log the refusal")
	}
	// A server that does not answer is said within seconds, not after minutes.
	os.WriteFile(tokenFile, []byte("station-secret-token\n"), 0o600)
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	down := l2.Addr().String()
	l2.Close()
	cmd = exec.Command(clitest.Bin, "push", "--server", "http://"+down, "--token-file", tokenFile, filepath.Join(dir, "station", "book-42"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Start()
	time.Sleep(3 * time.Second)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if !strings.Contains(stderr.String(), "trying again in") || !strings.Contains(stderr.String(), "connection refused") {
		t.Errorf("a server down, after 3 s the station sees: %q", stderr.String())
	}
}

// startServe runs `strongroom serve` on dir with a station scanner-7 and
// returns its address and the station's token file; the daemon is stopped
// when the test ends.
func startServe(t *testing.T, dir string) (addr, tokenFile string) {
	t.Helper()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr = l.Addr().String()
	l.Close()
	sum := sha256.Sum256([]byte("station-secret-token"))
	cfg := clitest.WriteConfig(t, dir, fmt.Sprintf("http:\n  listen: %s\nstations:\n  - {name: scanner-7, token_sha256: %s}\n", addr, hex.EncodeToString(sum[:])))
	srv := exec.Command(clitest.Bin, "serve", "--config", cfg)
	srv.Dir = dir
	logf, _ := os.Create(filepath.Join(dir, "serve.log"))
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait(); logf.Close() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not listen")
		}
	}
	tokenFile = filepath.Join(dir, "station", "token")
	os.MkdirAll(filepath.Dir(tokenFile), 0o755)
	os.WriteFile(tokenFile, []byte("station-secret-token\n"), 0o600)
	return addr, tokenFile
}

// TestPushInterrupted: Ctrl-C in the middle of a push over a slow link
// says what was sent and how to go on (not "context canceled"); the same
// command then resumes the same batch, sends only what is missing, and the
// batch is stored whole.
func TestPushInterrupted(t *testing.T) {
	dir := t.TempDir()
	addr, tokenFile := startServe(t, dir)
	book := filepath.Join(dir, "station", "book-9")
	for i := range 12 {
		clitest.PNG(t, filepath.Join(book, fmt.Sprintf("page-%02d.png", i)), 300+i, 300)
	}
	// A slow link between the station and the daemon: a proxy that lets
	// the request bodies through at 4 KiB/s (a page takes about a second).
	target, _ := url.Parse("http://" + addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = io.NopCloser(&slowReader{r: r.Body, perSecond: 4 << 10})
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	cmd := exec.Command(clitest.Bin, "push", "--server", slow.URL, "--token-file", tokenFile, book)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	said := stderr.String()
	if !strings.Contains(said, "push: interrupted: batch ") || !strings.Contains(said, "run the same command again") || strings.Contains(said, "context canceled") {
		t.Fatalf("after Ctrl-C the station sees: %q", said)
	}
	out, errs, code := clitest.Run(t, dir, "push", "--server", "http://"+addr, "--token-file", tokenFile, "--wait", book)
	m := regexp.MustCompile(`resuming batch \S+ \(book-9\): (\d+) of 12 files already received`).FindStringSubmatch(errs)
	if code != 0 || m == nil || m[1] == "0" || m[1] == "12" {
		t.Fatalf("the same command again: exit %d, %q %q", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	r, err := bagit.ValidateDir(context.Background(), filepath.Join(dir, "store", lines[len(lines)-1]), bagit.ValidateOptions{})
	if err != nil || !r.Valid || r.Info.Get("Scanner-Station") != "scanner-7" {
		t.Fatalf("the resumed batch's bag: %v %+v", err, r)
	}
	if _, ok := r.Payload["data/original/book-9/page-11.png"]; !ok {
		t.Errorf("the resumed bag lacks the last page: %d files", len(r.Payload))
	}
}

// slowReader lets perSecond bytes through each second.
type slowReader struct {
	r         io.Reader
	perSecond int
}

func (s *slowReader) Read(p []byte) (int, error) {
	chunk := s.perSecond / 20
	if len(p) > chunk {
		p = p[:chunk]
	}
	time.Sleep(50 * time.Millisecond)
	return s.r.Read(p)
}
