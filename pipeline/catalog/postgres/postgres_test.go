package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/catalogtest"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
)

// server is the suite's PostgreSQL, started by the first test that asks
// (the crash-safety child is handed a database's URL and starts none).
var (
	server *pgtest.Server
	dbs    atomic.Int64
)

var opener = catalogtest.Opener{
	Open: func(ctx context.Context, dsn string) (catalog.Catalog, error) { return Open(ctx, dsn) },
	NewDSN: func(t *testing.T) string {
		if server == nil {
			server = pgtest.Start(t)
		}
		return server.NewDatabase(t, fmt.Sprintf("catalog%d", dbs.Add(1)))
	},
}

func TestMain(m *testing.M) {
	catalogtest.Child(opener)
	os.Exit(m.Run())
}

func TestSuite(t *testing.T) {
	server = pgtest.Start(t)
	defer func() { server = nil }()
	catalogtest.Run(t, opener)
}

// TestMigrateTwice: two processes opening a new catalog at once migrate it
// once, and opening it again changes nothing.
func TestMigrateTwice(t *testing.T) {
	s := pgtest.Start(t)
	url := s.NewDatabase(t, "twice")
	ctx := context.Background()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			c, err := Open(ctx, url)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var n int
	if err := c.pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil || n != len(files) {
		t.Fatalf("migrations applied: %d of %d %v", n, len(files), err)
	}
}

// TestRedact: a URL's password never reaches a message.
func TestRedact(t *testing.T) {
	got := Redact("postgres://archive:s3cret@db.example:5433/strongroom?sslmode=require")
	if got != "postgres://archive@db.example:5433/strongroom" {
		t.Errorf("Redact: %s", got)
	}
	if _, err := Open(context.Background(), "postgres://archive:s3cret@127.0.0.1:1/x?connect_timeout=1"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open's error: %v", err)
	}
}

// TestBell: a ring from one process is heard by another's Listen, which
// ends with an error when PostgreSQL goes away and hears again (first ""
// for what it missed) once listening again after the restart.
func TestBell(t *testing.T) {
	s := pgtest.Start(t)
	url := s.NewDatabase(t, "bell")
	ctx := context.Background()
	a, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	listen := func() (chan catalog.Stage, chan error) {
		heard, ended := make(chan catalog.Stage, 10), make(chan error, 1)
		go func() { ended <- b.Listen(ctx, func(st catalog.Stage) { heard <- st }) }()
		if st := <-heard; st != "" {
			t.Fatalf("first heard %q, want \"\"", st)
		}
		return heard, ended
	}
	expect := func(heard chan catalog.Stage, want catalog.Stage) {
		t.Helper()
		select {
		case st := <-heard:
			if st != want {
				t.Fatalf("heard %q, want %q", st, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q not heard", want)
		}
	}
	heard, ended := listen()
	if err := a.Ring(ctx, catalog.StageIdentify); err != nil {
		t.Fatal(err)
	}
	expect(heard, catalog.StageIdentify)
	if err := s.Restart(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("Listen ended without an error when the server went away")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen still waiting after the server restarted")
	}
	heard, _ = listen()
	for try := 0; ; try++ { // the pool's old connections fail once each
		if err := a.Ring(ctx, catalog.StageStore); err == nil {
			break
		} else if try > 5 {
			t.Fatal(err)
		}
	}
	expect(heard, catalog.StageStore)
}
