// Package pgtest starts a private PostgreSQL server for a test, from
// Debian's postgresql package, as the S3 tests start MinIO: initdb into a
// temporary folder, pg_ctl start on a free loopback port, stopped and
// removed when the test ends. Run as root (CI), the server runs as the
// postgres user the package made: PostgreSQL refuses to run as root.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running PostgreSQL.
type Server struct {
	// URL connects as the superuser strongroom to the database postgres,
	// trusted on the loopback address (no password).
	URL  string
	bin  string
	dir  string
	opts string   // the server's options (port, socket folder)
	as   []string // runuser -u postgres --, when run as root
}

// Start starts a server for t, stopped and removed when t ends;
// scripts/deps installs the package.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New starts a server that lives until Stop: one that a whole test binary
// shares (started from TestMain).
func New() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "strongroom-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.start(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgtest: running as root needs the postgres user (Debian's postgresql package makes it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return err
		}
		s.as = []string{"runuser", "-u", "postgres", "--"}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "strongroom", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// The socket in the private folder, TCP on loopback only; no fsync: a
	// test's server need not survive a power cut (a killed client is what
	// the tests kill).
	s.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", port, s.dir)
	if err := s.up(); err != nil {
		return err
	}
	s.URL = fmt.Sprintf("postgres://strongroom@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

func (s *Server) up() error {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-o", s.opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return nil
}

// Restart stops the server as a crash would (every connection cut, no
// checkpoint), keeps it down for down, and starts it again on its port.
func (s *Server) Restart(down time.Duration) error {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	time.Sleep(down)
	return s.up()
}

// NewDatabase creates an empty database name on the server and returns
// its URL.
func (s *Server) NewDatabase(t testing.TB, name string) string {
	t.Helper()
	u, err := s.CreateDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// CreateDatabase creates an empty database name and returns its URL.
func (s *Server) CreateDatabase(name string) (string, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return strings.Replace(s.URL, "/postgres?", "/"+name+"?", 1), nil
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, s.as...), filepath.Join(s.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	if _, err := os.Stat(filepath.Join(s.dir, "data", "postmaster.pid")); err == nil {
		s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	os.RemoveAll(s.dir)
}

// binDir finds the newest PostgreSQL's programs (Debian keeps initdb and
// pg_ctl under /usr/lib/postgresql/VERSION/bin, off the PATH).
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("pgtest: no PostgreSQL server programs (initdb, pg_ctl): install Debian's postgresql package (scripts/deps does)")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
