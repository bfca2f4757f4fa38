// Package catalog records what strongroom knows about items, their files,
// bags and PREMIS events, in SQLite (pure Go, no server) under data_dir.
// It is the source of truth for where each item is in the pipeline: the
// queue only carries references, and is rebuilt from here after a crash.
package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Stages an item moves through. Done and Failed are terminal.
const (
	StagePrepare = "prepare" // fixity, identification, bag built and validated
	StageStore   = "store"   // bag uploaded and read back
	StageRelease = "release" // originals moved to done (or removed)
	StageFail    = "fail"    // originals moving to failed with a reason
	StageDone    = "done"
	StageFailed  = "failed"
)

// Terminal reports whether an item in stage s needs no more work.
func Terminal(s string) bool { return s == StageDone || s == StageFailed }

// Item is one unit of intake: a file or a batch folder.
type Item struct {
	ID        string
	Name      string // file or folder name as received
	Source    string // absolute path where it was found
	HotFolder string // the hot folder it came from ("" for the ingest command)
	Kind      string // "file" or "batch"
	Release   string // what to do with originals once stored: move, delete, keep
	Stage     string
	Attempts  int    // failed attempts at the current stage
	LastError string // the last error, or the reason it failed
	FailStage string // the stage that failed, for the reason file
	BagID     string
	Info      []InfoField // extra bag-info.txt fields, in order
	// Held is where originals that changed after intake were left (in the
	// hot folder) instead of being released: a new item takes them.
	Held string
	// Follows is the item whose changed original this item is.
	Follows string
	Created time.Time
	Updated time.Time
}

// InfoField is a bag-info.txt field an item brings with it.
type InfoField struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// File is one original file of an item.
type File struct {
	Path   string // payload path below data/, e.g. original/page.tif
	Source string // absolute path at intake
	Size   int64
	// ModTime and Inode are what the file was when its fixity was taken;
	// release checks them (and the digest) before it lets the file go.
	ModTime       time.Time
	Inode         string `json:"-"` // device:inode, meaningful on this machine only
	SHA256        string
	SHA512        string
	PUID          string
	MIME          string
	Format        string
	FormatVersion string
	Basis         string
	Warning       string
	Action        string
}

// Event is a PREMIS event.
type Event struct {
	ID      int64
	ItemID  string
	BagID   string
	File    string // payload path, or "" for the item
	Type    string // PREMIS event type: ingestion, message digest calculation, ...
	Outcome string // success, failure, warning
	Detail  string
	Agent   string
	At      time.Time
}

// Bag is a stored bag.
type Bag struct {
	ID       string
	ItemID   string
	Store    string // store URL
	Oxum     string
	Bytes    int64
	StoredAt time.Time
}

// ErrNotFound is returned when a lookup finds nothing.
var ErrNotFound = errors.New("catalog: not found")

// ErrActive is returned by CreateItem when the source already has an item in
// progress: the same file is never taken twice.
var ErrActive = errors.New("catalog: source already has an active item")

// NewID returns a sortable, unique item id: UTC time and 40 random bits.
func NewID(now time.Time) string {
	var b [5]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// DB is the SQLite catalog.
type DB struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS items (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, hot_folder TEXT NOT NULL,
	kind TEXT NOT NULL, release TEXT NOT NULL, stage TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '', fail_stage TEXT NOT NULL DEFAULT '', bag_id TEXT NOT NULL DEFAULT '',
	info TEXT NOT NULL DEFAULT 'null', created TEXT NOT NULL, updated TEXT NOT NULL,
	lease_holder TEXT NOT NULL DEFAULT '', lease_until TEXT NOT NULL DEFAULT '',
	held TEXT NOT NULL DEFAULT '', follows TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS items_active_source ON items(source) WHERE stage NOT IN ('done', 'failed');
CREATE INDEX IF NOT EXISTS items_stage ON items(stage);
CREATE TABLE IF NOT EXISTS files (
	item_id TEXT NOT NULL REFERENCES items(id), path TEXT NOT NULL, source TEXT NOT NULL, size INTEGER NOT NULL,
	sha256 TEXT NOT NULL, sha512 TEXT NOT NULL, puid TEXT NOT NULL, mime TEXT NOT NULL, format TEXT NOT NULL,
	format_version TEXT NOT NULL, basis TEXT NOT NULL, warning TEXT NOT NULL, action TEXT NOT NULL,
	mtime TEXT NOT NULL DEFAULT '', inode TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (item_id, path));
CREATE TABLE IF NOT EXISTS bags (
	id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), store TEXT NOT NULL, oxum TEXT NOT NULL,
	bytes INTEGER NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
	id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, bag_id TEXT NOT NULL, file TEXT NOT NULL,
	type TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, agent TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_item ON events(item_id);
CREATE INDEX IF NOT EXISTS events_bag ON events(bag_id);
`

// Open opens (creating if needed) the catalog database at path. WAL with
// synchronous=FULL: a committed state change survives a crash or power loss.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a small pool serves readers.
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, schema+auditSchema+batchSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: create schema in %s: %w", path, err)
	}
	if err := addColumns(ctx, db, added); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: upgrade schema in %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// added are the columns a catalog made by an earlier version lacks.
var added = []struct{ table, column, decl string }{
	{"items", "lease_holder", "TEXT NOT NULL DEFAULT ''"},
	{"items", "lease_until", "TEXT NOT NULL DEFAULT ''"},
	{"items", "held", "TEXT NOT NULL DEFAULT ''"},
	{"items", "follows", "TEXT NOT NULL DEFAULT ''"},
	{"files", "mtime", "TEXT NOT NULL DEFAULT ''"},
	{"files", "inode", "TEXT NOT NULL DEFAULT ''"},
}

// addColumns adds the columns a table lacks.
func addColumns(ctx context.Context, db *sql.DB, cols []struct{ table, column, decl string }) error {
	for _, c := range cols {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.decl); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the database.
func (c *DB) Close() error { return c.db.Close() }

const timeFmt = time.RFC3339Nano

func ts(t time.Time) string { return t.UTC().Format(timeFmt) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeFmt, s)
	return t
}

// CreateItem records a new item; ErrActive if its source is already taken.
func (c *DB) CreateItem(ctx context.Context, it *Item) error {
	now := time.Now()
	it.Created, it.Updated = now, now
	info, err := json.Marshal(it.Info)
	if err != nil {
		return err
	}
	_, err = c.db.ExecContext(ctx, `INSERT INTO items (id, name, source, hot_folder, kind, release, stage, attempts, last_error, fail_stage, bag_id, info, created, updated, follows)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', '', ?, ?, ?, ?, ?)`,
		it.ID, it.Name, it.Source, it.HotFolder, it.Kind, it.Release, it.Stage, it.BagID, string(info), ts(now), ts(now), it.Follows)
	if err != nil {
		if existing, e2 := c.ActiveBySource(ctx, it.Source); e2 == nil && existing != nil {
			return fmt.Errorf("%w: %s is item %s", ErrActive, it.Source, existing.ID)
		}
		return fmt.Errorf("catalog: create item %s: %w", it.Source, err)
	}
	return nil
}

const itemCols = `id, name, source, hot_folder, kind, release, stage, attempts, last_error, fail_stage, bag_id, info, created, updated, held, follows`

func scanItem(row interface{ Scan(...any) error }) (*Item, error) {
	var it Item
	var created, updated, info string
	if err := row.Scan(&it.ID, &it.Name, &it.Source, &it.HotFolder, &it.Kind, &it.Release, &it.Stage, &it.Attempts,
		&it.LastError, &it.FailStage, &it.BagID, &info, &created, &updated, &it.Held, &it.Follows); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(info), &it.Info); err != nil {
		return nil, fmt.Errorf("catalog: item %s: info: %w", it.ID, err)
	}
	it.Created, it.Updated = parseTS(created), parseTS(updated)
	return &it, nil
}

// Item returns the item with id.
func (c *DB) Item(ctx context.Context, id string) (*Item, error) {
	it, err := scanItem(c.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return it, err
}

// ActiveBySource returns the non-terminal item for source, or nil.
func (c *DB) ActiveBySource(ctx context.Context, source string) (*Item, error) {
	it, err := scanItem(c.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE source = ? AND stage NOT IN ('done', 'failed')`, source))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return it, err
}

// Active returns every item not yet done or failed, oldest first.
func (c *DB) Active(ctx context.Context) ([]*Item, error) {
	return c.queryItems(ctx, `SELECT `+itemCols+` FROM items WHERE stage NOT IN ('done', 'failed') ORDER BY created`)
}

// Items returns the most recent items, newest first.
func (c *DB) Items(ctx context.Context, limit int) ([]*Item, error) {
	return c.queryItems(ctx, `SELECT `+itemCols+` FROM items ORDER BY created DESC LIMIT ?`, limit)
}

func (c *DB) queryItems(ctx context.Context, q string, args ...any) ([]*Item, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list items: %w", err)
	}
	defer rows.Close()
	var out []*Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ErrStale is returned by UpdateItem when the item is no longer where the
// update started from: another worker moved it on, or took its lease.
var ErrStale = errors.New("catalog: item changed under a stale step")

// UpdateItem saves the mutable fields of it, if it is still at stage from
// and leased to holder (compare-and-set); ErrStale otherwise. A step that
// outlived its lease can so never move an item back.
func (c *DB) UpdateItem(ctx context.Context, it *Item, from, holder string) error {
	it.Updated = time.Now()
	res, err := c.db.ExecContext(ctx, `UPDATE items SET stage = ?, attempts = ?, last_error = ?, fail_stage = ?, bag_id = ?, held = ?, updated = ?
		WHERE id = ? AND stage = ? AND lease_holder = ?`,
		it.Stage, it.Attempts, it.LastError, it.FailStage, it.BagID, it.Held, ts(it.Updated), it.ID, from, holder)
	if err != nil {
		return fmt.Errorf("catalog: update item %s: %w", it.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: %s was to leave stage %s under lease %s", ErrStale, it.ID, from, holder)
	}
	return nil
}

// PutFiles replaces the files of an item (idempotent for a re-run step).
func (c *DB) PutFiles(ctx context.Context, itemID string, files []File) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE item_id = ?`, itemID); err != nil {
		return fmt.Errorf("catalog: put files of %s: %w", itemID, err)
	}
	for _, f := range files {
		mtime := ""
		if !f.ModTime.IsZero() {
			mtime = ts(f.ModTime)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO files (item_id, path, source, size, sha256, sha512, puid, mime, format, format_version, basis, warning, action, mtime, inode)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			itemID, f.Path, f.Source, f.Size, f.SHA256, f.SHA512, f.PUID, f.MIME, f.Format, f.FormatVersion, f.Basis, f.Warning, f.Action, mtime, f.Inode); err != nil {
			return fmt.Errorf("catalog: put file %s of %s: %w", f.Path, itemID, err)
		}
	}
	return tx.Commit()
}

// Files returns the files of an item, by path.
func (c *DB) Files(ctx context.Context, itemID string) ([]File, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT path, source, size, sha256, sha512, puid, mime, format, format_version, basis, warning, action, mtime, inode
		FROM files WHERE item_id = ? ORDER BY path`, itemID)
	if err != nil {
		return nil, fmt.Errorf("catalog: files of %s: %w", itemID, err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		var f File
		var mtime string
		if err := rows.Scan(&f.Path, &f.Source, &f.Size, &f.SHA256, &f.SHA512, &f.PUID, &f.MIME, &f.Format, &f.FormatVersion, &f.Basis, &f.Warning, &f.Action, &mtime, &f.Inode); err != nil {
			return nil, err
		}
		f.ModTime = parseTS(mtime)
		out = append(out, f)
	}
	return out, rows.Err()
}

// AddEvents records PREMIS events.
func (c *DB) AddEvents(ctx context.Context, evs ...Event) error {
	for _, e := range evs {
		if e.At.IsZero() {
			e.At = time.Now()
		}
		if _, err := c.db.ExecContext(ctx, `INSERT INTO events (item_id, bag_id, file, type, outcome, detail, agent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ItemID, e.BagID, e.File, e.Type, e.Outcome, e.Detail, e.Agent, ts(e.At)); err != nil {
			return fmt.Errorf("catalog: add %s event for %s: %w", e.Type, e.ItemID, err)
		}
	}
	return nil
}

// Events returns the events of an item, oldest first.
func (c *DB) Events(ctx context.Context, itemID string) ([]Event, error) {
	return c.queryEvents(ctx, "item_id", itemID)
}

// BagEvents returns a bag's history: every event recorded for it, oldest first.
func (c *DB) BagEvents(ctx context.Context, bagID string) ([]Event, error) {
	return c.queryEvents(ctx, "bag_id", bagID)
}

// queryEvents lists the events whose column (item_id or bag_id) is id.
func (c *DB) queryEvents(ctx context.Context, column, id string) ([]Event, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, item_id, bag_id, file, type, outcome, detail, agent, at FROM events WHERE `+column+` = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("catalog: events of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&e.ID, &e.ItemID, &e.BagID, &e.File, &e.Type, &e.Outcome, &e.Detail, &e.Agent, &at); err != nil {
			return nil, err
		}
		e.At = parseTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteEvents removes an item's events of one type, so that a re-run step
// does not record its events twice.
func (c *DB) DeleteEvents(ctx context.Context, itemID string, types ...string) error {
	for _, t := range types {
		if _, err := c.db.ExecContext(ctx, `DELETE FROM events WHERE item_id = ? AND type = ?`, itemID, t); err != nil {
			return fmt.Errorf("catalog: delete events of %s: %w", itemID, err)
		}
	}
	return nil
}

// PutBag records a stored bag (idempotent).
func (c *DB) PutBag(ctx context.Context, b Bag) error {
	_, err := c.db.ExecContext(ctx, `INSERT INTO bags (id, item_id, store, oxum, bytes, stored_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET store = excluded.store, oxum = excluded.oxum, bytes = excluded.bytes, stored_at = excluded.stored_at`,
		b.ID, b.ItemID, b.Store, b.Oxum, b.Bytes, ts(b.StoredAt))
	if err != nil {
		return fmt.Errorf("catalog: put bag %s: %w", b.ID, err)
	}
	return nil
}

func (c *DB) queryBags(ctx context.Context, rest string, args ...any) ([]Bag, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, item_id, store, oxum, bytes, stored_at FROM bags `+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: bags: %w", err)
	}
	defer rows.Close()
	var out []Bag
	for rows.Next() {
		var b Bag
		var at string
		if err := rows.Scan(&b.ID, &b.ItemID, &b.Store, &b.Oxum, &b.Bytes, &at); err != nil {
			return nil, err
		}
		b.StoredAt = parseTS(at)
		out = append(out, b)
	}
	return out, rows.Err()
}
