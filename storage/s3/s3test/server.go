// Package s3test starts real S3 servers for tests: MinIO (built from source
// by scripts/s3-servers) and Versity's gateway, each on 127.0.0.1 with a
// temporary data directory. A missing binary is testenv.Missing: a skip on
// a laptop, a failure in CI.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// Server is a running S3 server process.
type Server struct {
	Kind      string // "minio" or "versitygw"
	Endpoint  string // 127.0.0.1:PORT
	AccessKey string
	SecretKey string
	bin, dir  string
	cmd       *exec.Cmd
	t         testing.TB
}

// Binary finds a server binary: $STRONGROOM_<KIND>, the cache that
// scripts/s3-servers fills, or PATH.
func Binary(kind string) string {
	if p := os.Getenv("STRONGROOM_" + map[string]string{"minio": "MINIO", "versitygw": "VERSITYGW"}[kind]); p != "" {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "strongroom", "bin", kind)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath(kind)
	return p
}

// Start starts a server of kind with a fresh data directory, stopped when
// the test ends.
func Start(t testing.TB, kind string) *Server {
	t.Helper()
	bin := Binary(kind)
	if bin == "" {
		testenv.Missing(t, "%s is not installed (scripts/s3-servers builds it)", kind)
	}
	s := &Server{Kind: kind, bin: bin, dir: t.TempDir(), AccessKey: "strongroom-" + rnd(4), SecretKey: rnd(20), t: t}
	s.Endpoint = freeAddr(t)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func rnd(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Start (re)starts the server process on the same address and data.
func (s *Server) Start() {
	s.t.Helper()
	var cmd *exec.Cmd
	switch s.Kind {
	case "minio":
		cmd = exec.Command(s.bin, "server", filepath.Join(s.dir, "data"), "--address", s.Endpoint,
			"--console-address", freeAddr(s.t), "--quiet")
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	case "versitygw":
		os.MkdirAll(filepath.Join(s.dir, "data"), 0o755)
		cmd = exec.Command(s.bin, "--port", s.Endpoint, "posix", filepath.Join(s.dir, "data"))
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	default:
		s.t.Fatalf("unknown server kind %q", s.Kind)
	}
	log, _ := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.Kind, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			if _, err := s.Client().ListBuckets(context.Background()); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			s.t.Fatalf("%s did not come up on %s: %v\n%s", s.Kind, s.Endpoint, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server process (the data stays, for Start).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Client returns an admin client.
func (s *Server) Client() *minio.Client {
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// Bucket creates a bucket with a unique name (with Object Lock, which
// implies versioning, if lock) and returns the name.
func (s *Server) Bucket(lock bool) string {
	s.t.Helper()
	name := "sr-" + rnd(6)
	if err := s.Client().MakeBucket(context.Background(), name, minio.MakeBucketOptions{ObjectLocking: lock, Region: "us-east-1"}); err != nil {
		s.t.Fatalf("make bucket on %s: %v", s.Kind, err)
	}
	return name
}

// Env sets the standard AWS credential variables for the test.
func (s *Server) Env(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(s.dir, "no-credentials"))
}

// URL is a store URL for bucket with a fresh prefix.
func URL(bucket string) string { return fmt.Sprintf("s3://%s/t-%s", bucket, rnd(4)) }
