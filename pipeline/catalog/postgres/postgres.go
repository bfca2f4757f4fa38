// Package postgres is the catalog in PostgreSQL (pgx), for an archive that
// more than one machine works on: every process that opens the same URL
// sees one catalog. What the SQLite catalog serialises by taking the write
// lock for every transaction is made atomic here by the statements
// themselves (compare-and-set updates, INSERT … ON CONFLICT) and by row
// locks (SELECT … FOR UPDATE) where a transaction reads before it writes:
// never by a lock inside one process. Its schema is versioned with goose,
// as SQLite's is; two processes migrating at once take turns (an advisory
// lock).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL catalog.
type DB struct {
	pool *pgxpool.Pool
}

var _ catalog.Catalog = (*DB)(nil)

func init() {
	for _, scheme := range []string{"postgres", "postgresql"} {
		catalog.Register(scheme, func(ctx context.Context, u *url.URL) (catalog.Catalog, error) { return Open(ctx, u.String()) })
	}
}

// Open connects to the catalog at url (postgres://…) and migrates its
// schema. The database must exist; its tables are made on first open.
func Open(ctx context.Context, url string) (*DB, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	pool, err := Connect(ctx, url, Schema{What: "catalog", Migrations: fsys})
	if err != nil {
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// Schema is what Connect brings up to date: the migrations of one part of
// strongroom (the catalog, the search index) in a database it may share.
type Schema struct {
	What       string // for messages: "catalog", "search index"
	Migrations fs.FS  // goose's SQL files
	// Table and LockID keep this part's history and its migrations' lock
	// apart from another's in the same database (default: goose's).
	Table  string
	LockID int64
}

// Connect opens a pool on the database at url and migrates sc's schema,
// two processes at once taking turns (an advisory lock). No message
// carries the URL's password.
func Connect(ctx context.Context, url string, sc Schema) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can quote the URL, password and all.
		return nil, fmt.Errorf("%s: the PostgreSQL URL does not parse (postgres://user@host:port/database)", sc.What)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", sc.What, Redact(url), err)
	}
	if err := migrate(ctx, pool, sc); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: migrate %s: %w", sc.What, Redact(url), err)
	}
	return pool, nil
}

// Exists reports whether the database at url holds a catalog (its tables
// made): a command that only reads must not make an empty catalog where
// a wrong configuration points, and report that nothing is wrong.
func Exists(ctx context.Context, url string) (bool, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return false, errors.New("catalog: the PostgreSQL URL does not parse (postgres://user@host:port/database)")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("catalog: connect to %s: %w", Redact(url), err)
	}
	defer conn.Close(ctx)
	var ok bool
	err = conn.QueryRow(ctx, `SELECT to_regclass('items') IS NOT NULL AND to_regclass('goose_db_version') IS NOT NULL`).Scan(&ok)
	return ok, err
}

func migrate(ctx context.Context, pool *pgxpool.Pool, sc Schema) error {
	var lockOpts []lock.SessionLockerOption
	if sc.LockID != 0 {
		lockOpts = append(lockOpts, lock.WithLockID(sc.LockID))
	}
	locker, err := lock.NewPostgresSessionLocker(lockOpts...)
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if sc.Table != "" {
		opts = append(opts, goose.WithTableName(sc.Table))
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sc.Migrations, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Redact returns url without its password, for messages and logs.
func Redact(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "postgres://…"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Pool is the connection pool, for the search index that shares it and
// for moving an archive.
func (c *DB) Pool() *pgxpool.Pool { return c.pool }

// Close closes the pool.
func (c *DB) Close() error { c.pool.Close(); return nil }

// now is the time a record is made, to PostgreSQL's microsecond: the item
// a caller holds says what was stored.
func now() time.Time { return time.Now().Truncate(time.Microsecond) }

// tz is t as a timestamptz, NULL for the zero time.
func tz(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }

// nanos is t as nanoseconds since 1970, NULL for the zero time.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(...any) error }

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// query runs q and reads every row with scan.
func query[T any](ctx context.Context, db querier, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, q, args...)
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

func queryStrings(ctx context.Context, db querier, q string, args ...any) ([]string, error) {
	return query(ctx, db, func(r scanner) (s string, err error) { return s, r.Scan(&s) }, q, args...)
}

// tx runs f in a transaction (READ COMMITTED; what must not interleave
// locks its rows).
func (c *DB) tx(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, c.pool, f)
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", catalog.ErrNotFound, what)
	}
	return err
}

// args numbers a dynamic query's parameters.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// Counts implements catalog.Catalog.
func (c *DB) Counts(ctx context.Context) (catalog.Counts, error) {
	out := catalog.Counts{ItemsByStage: map[catalog.Stage]int64{}}
	rows, err := c.pool.Query(ctx, `SELECT stage, count(*) FROM items GROUP BY stage`)
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
	if err := rows.Err(); err != nil {
		return out, err
	}
	if err := c.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(bytes), 0)::bigint FROM bags WHERE disposed IS NULL`).Scan(&out.BagsStored, &out.BytesStored); err != nil {
		return out, err
	}
	return out, c.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = $1), count(*) FILTER (WHERE state = $2) FROM alerts`,
		catalog.AlertOpen, catalog.AlertAcknowledged).Scan(&out.OpenAlerts, &out.AckedAlerts)
}
