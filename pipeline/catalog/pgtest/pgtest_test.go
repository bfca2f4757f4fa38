package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestServer: the private server takes connections on its URL, commits
// what one connection writes for another to read, and claims work with
// FOR UPDATE SKIP LOCKED (what the catalog's leases will rest on): two
// transactions each claiming one row get different rows.
func TestServer(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var version string
	if err := pool.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil || !strings.HasPrefix(version, "PostgreSQL ") {
		t.Fatalf("version: %q %v", version, err)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE work (id int PRIMARY KEY, taken_by text); INSERT INTO work VALUES (1, NULL), (2, NULL)"); err != nil {
		t.Fatal(err)
	}
	claim := func(tx pgx.Tx) int {
		var id int
		if err := tx.QueryRow(ctx, "SELECT id FROM work WHERE taken_by IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback(ctx)
	b, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Rollback(ctx)
	if x, y := claim(a), claim(b); x == y {
		t.Errorf("two claims took the same row %d", x)
	}
	t.Logf("%s at %s", version[:strings.IndexByte(version, ',')], s.URL)
}
