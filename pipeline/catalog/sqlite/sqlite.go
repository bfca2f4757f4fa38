// Package sqlite is the catalog in SQLite (pure Go, no server) under
// data_dir, the embedded default. Its schema is versioned: migrations (goose,
// embedded SQL) bring a catalog made by any earlier version up to date when
// it opens.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite catalog.
type DB struct {
	db *sql.DB
}

var _ catalog.Catalog = (*DB)(nil)

func init() {
	catalog.Register("sqlite", func(ctx context.Context, u *url.URL) (catalog.Catalog, error) {
		if u.Path == "" || u.Host != "" {
			return nil, fmt.Errorf("catalog: want sqlite:///absolute/path/catalog.db, not %s", u.Redacted())
		}
		return Open(ctx, u.Path)
	})
}

// URL is the catalog URL of the SQLite file at path.
func URL(path string) string { return (&url.URL{Scheme: "sqlite", Path: path}).String() }

// Open opens (creating if needed) the catalog at path and migrates its
// schema. WAL with synchronous=FULL: a committed state change survives a
// crash or power loss.
func Open(ctx context.Context, path string) (*DB, error) {
	// Transactions take the write lock when they begin (_txlock=immediate):
	// one that read first and then wrote could not wait for another
	// writer, and would fail at once with SQLITE_BUSY.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a small pool serves readers.
	db.SetMaxOpenConns(4)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: migrate %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// migrate brings the schema up to date. Two processes opening an old
// catalog at once (the daemon and a command) may race to apply a version:
// the loser finds it applied when it looks again.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return err
	}
	if _, err = p.Up(ctx); err != nil {
		time.Sleep(100 * time.Millisecond)
		_, err = p.Up(ctx)
	}
	return err
}

// Close closes the database.
func (c *DB) Close() error { return c.db.Close() }

// Backup writes a consistent copy of the catalog to dest, a new file, while
// it is in use (VACUUM INTO reads one snapshot), and syncs it.
func (c *DB) Backup(ctx context.Context, dest string) error {
	if _, err := c.db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("catalog: back up to %s: %w", dest, err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// timeFmt has a fixed width, so that times compare as strings in SQL
// (RFC3339Nano drops trailing zeros: "…:05Z" would sort after "…:05.5Z").
const timeFmt = "2006-01-02T15:04:05.000000000Z07:00"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFmt)
}

// parseTS reads a time this package or an earlier version wrote.
func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// query runs q and reads every row with scan.
func query[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryStrings runs a query of one text column.
func (c *DB) queryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	return query(ctx, c.db, func(r scanner) (s string, err error) { return s, r.Scan(&s) }, q, args...)
}

// tx runs f in a transaction.
func (c *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", catalog.ErrNotFound, what)
	}
	return err
}

// Counts implements catalog.Catalog.
func (c *DB) Counts(ctx context.Context) (catalog.Counts, error) {
	out := catalog.Counts{ItemsByStage: map[catalog.Stage]int64{}}
	rows, err := c.db.QueryContext(ctx, `SELECT stage, COUNT(*) FROM items GROUP BY stage`)
	if err != nil {
		return out, err
	}
	for rows.Next() {
		var s catalog.Stage
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return out, err
		}
		out.ItemsByStage[s] = n
	}
	rows.Close()
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM bags WHERE disposed = ''`).Scan(&out.BagsStored, &out.BytesStored); err != nil {
		return out, err
	}
	err = c.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0) FROM alerts`, catalog.AlertOpen, catalog.AlertAcknowledged).Scan(&out.OpenAlerts, &out.AckedAlerts)
	return out, err
}
