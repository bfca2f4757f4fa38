package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const auditSchema = `
CREATE TABLE IF NOT EXISTS objects (
	bag_id TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, sha512 TEXT NOT NULL,
	last_checked TEXT NOT NULL DEFAULT '', last_outcome TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (bag_id, key));
CREATE INDEX IF NOT EXISTS objects_checked ON objects(last_checked);
CREATE TABLE IF NOT EXISTS alerts (
	id INTEGER PRIMARY KEY AUTOINCREMENT, bag_id TEXT NOT NULL, problem TEXT NOT NULL, key TEXT NOT NULL,
	state TEXT NOT NULL, detail TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, seen INTEGER NOT NULL,
	UNIQUE (bag_id, problem, key));
CREATE TABLE IF NOT EXISTS alert_changes (
	id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL REFERENCES alerts(id), state TEXT NOT NULL,
	who TEXT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_runs (
	id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL DEFAULT '', scope TEXT NOT NULL,
	bags INTEGER NOT NULL DEFAULT 0, objects INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
	problems INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0);
`

// Object is one stored object of a bag with the digests recorded when it
// was stored: what every audit compares the store's bytes against.
type Object struct {
	BagID       string
	Key         string // relative to the bag, e.g. data/original/page.tif
	Size        int64
	SHA256      string
	SHA512      string
	LastChecked time.Time // zero: never audited
	LastOutcome string
}

// PutObjects records the objects of a stored bag (replacing earlier
// records), as checked at checked: the read-back after upload is a check.
func (c *DB) PutObjects(ctx context.Context, bagID string, objs []Object, checked time.Time) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM objects WHERE bag_id = ?`, bagID); err != nil {
		return fmt.Errorf("catalog: objects of %s: %w", bagID, err)
	}
	for _, o := range objs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO objects (bag_id, key, size, sha256, sha512, last_checked, last_outcome) VALUES (?, ?, ?, ?, ?, ?, 'intact')`,
			bagID, o.Key, o.Size, o.SHA256, o.SHA512, ts(checked)); err != nil {
			return fmt.Errorf("catalog: object %s of %s: %w", o.Key, bagID, err)
		}
	}
	return tx.Commit()
}

func scanObjects(rows *sql.Rows) ([]Object, error) {
	defer rows.Close()
	var out []Object
	for rows.Next() {
		var o Object
		var checked string
		if err := rows.Scan(&o.BagID, &o.Key, &o.Size, &o.SHA256, &o.SHA512, &checked, &o.LastOutcome); err != nil {
			return nil, err
		}
		o.LastChecked = parseTS(checked)
		out = append(out, o)
	}
	return out, rows.Err()
}

const objectCols = `bag_id, key, size, sha256, sha512, last_checked, last_outcome`

// Objects returns the recorded objects of a bag.
func (c *DB) Objects(ctx context.Context, bagID string) ([]Object, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT `+objectCols+` FROM objects WHERE bag_id = ? ORDER BY key`, bagID)
	if err != nil {
		return nil, fmt.Errorf("catalog: objects of %s: %w", bagID, err)
	}
	return scanObjects(rows)
}

// BagIDs returns the ids of every bag with recorded objects.
func (c *DB) BagIDs(ctx context.Context) ([]string, error) {
	return c.queryStrings(ctx, `SELECT DISTINCT bag_id FROM objects ORDER BY bag_id`)
}

// queryStrings runs a query of one text column.
func (c *DB) queryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DueBags returns the bags holding the n least recently checked objects
// (never-checked first): the next slice of an audit cycle.
func (c *DB) DueBags(ctx context.Context, n int) ([]string, error) {
	return c.queryStrings(ctx, `SELECT bag_id FROM (SELECT bag_id, last_checked FROM objects ORDER BY last_checked, bag_id LIMIT ?)
		GROUP BY bag_id ORDER BY MIN(last_checked), bag_id`, n)
}

// MarkChecked records the outcome of an object's check.
func (c *DB) MarkChecked(ctx context.Context, bagID, key, outcome string, at time.Time) error {
	_, err := c.db.ExecContext(ctx, `UPDATE objects SET last_checked = ?, last_outcome = ? WHERE bag_id = ? AND key = ?`, ts(at), outcome, bagID, key)
	return err
}

// AuditStatus summarises the audit coverage.
type AuditStatus struct {
	Objects        int64
	Bytes          int64
	CheckedSince   int64 // objects checked since the cutoff (within the cycle)
	NeverChecked   int64
	LastFailed     int64 // objects whose last check failed
	Bags           int64
	LastRunStarted time.Time
	LastRunDone    time.Time
}

// AuditStatus reports coverage relative to cutoff (now minus the cycle).
func (c *DB) AuditStatus(ctx context.Context, cutoff time.Time) (AuditStatus, error) {
	var s AuditStatus
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0),
		COALESCE(SUM(CASE WHEN last_checked >= ? AND last_checked != '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN last_checked = '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN last_outcome NOT IN ('', 'intact') THEN 1 ELSE 0 END), 0),
		COUNT(DISTINCT bag_id) FROM objects`, ts(cutoff)).Scan(&s.Objects, &s.Bytes, &s.CheckedSince, &s.NeverChecked, &s.LastFailed, &s.Bags)
	if err != nil {
		return s, fmt.Errorf("catalog: audit status: %w", err)
	}
	var started, finished string
	err = c.db.QueryRowContext(ctx, `SELECT started, finished FROM audit_runs ORDER BY id DESC LIMIT 1`).Scan(&started, &finished)
	if err == nil {
		s.LastRunStarted, s.LastRunDone = parseTS(started), parseTS(finished)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return s, err
	}
	return s, nil
}

// AuditRun is one audit run.
type AuditRun struct {
	ID                                     int64
	Started, Finished                      time.Time
	Scope                                  string
	Bags, Objects, Bytes, Problems, Errors int64
}

// StartRun records the start of an audit run.
func (c *DB) StartRun(ctx context.Context, scope string, at time.Time) (int64, error) {
	res, err := c.db.ExecContext(ctx, `INSERT INTO audit_runs (started, scope) VALUES (?, ?)`, ts(at), scope)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// FinishRun records the totals of a run.
func (c *DB) FinishRun(ctx context.Context, r AuditRun) error {
	_, err := c.db.ExecContext(ctx, `UPDATE audit_runs SET finished = ?, bags = ?, objects = ?, bytes = ?, problems = ?, errors = ? WHERE id = ?`,
		ts(r.Finished), r.Bags, r.Objects, r.Bytes, r.Problems, r.Errors, r.ID)
	return err
}

// Alert states.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// Alert is one problem with one bag (and file), deduplicated across audits.
type Alert struct {
	ID        int64
	BagID     string
	Problem   string
	Key       string
	State     string
	Detail    string
	FirstSeen time.Time
	LastSeen  time.Time
	Seen      int
	Changes   []AlertChange
}

// AlertChange is one state change of an alert: who, when, and why.
type AlertChange struct {
	State string
	Who   string
	Note  string
	At    time.Time
}

// RaiseAlert records that a problem was seen. It returns the alert and
// whether it is new or reopened (a resolved alert whose problem came back),
// which is what a notification should tell people about.
func (c *DB) RaiseAlert(ctx context.Context, bagID, problem, key, detail string, at time.Time) (*Alert, bool, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	var id int64
	var state string
	err = tx.QueryRowContext(ctx, `SELECT id, state FROM alerts WHERE bag_id = ? AND problem = ? AND key = ?`, bagID, problem, key).Scan(&id, &state)
	fresh := false
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (bag_id, problem, key, state, detail, first_seen, last_seen, seen) VALUES (?, ?, ?, 'open', ?, ?, ?, 1)`,
			bagID, problem, key, detail, ts(at), ts(at))
		if err != nil {
			return nil, false, err
		}
		id, _ = res.LastInsertId()
		fresh = true
		_, err = tx.ExecContext(ctx, `INSERT INTO alert_changes (alert_id, state, who, note, at) VALUES (?, 'open', 'audit', ?, ?)`, id, detail, ts(at))
		if err != nil {
			return nil, false, err
		}
	case err != nil:
		return nil, false, err
	case state == AlertResolved:
		fresh = true
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'open', detail = ?, last_seen = ?, seen = seen + 1 WHERE id = ?`, detail, ts(at), id); err != nil {
			return nil, false, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_changes (alert_id, state, who, note, at) VALUES (?, 'open', 'audit', ?, ?)`, id, "reopened: "+detail, ts(at)); err != nil {
			return nil, false, err
		}
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET detail = ?, last_seen = ?, seen = seen + 1 WHERE id = ?`, detail, ts(at), id); err != nil {
			return nil, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, false, err
	}
	a, err := c.Alert(ctx, id)
	return a, fresh, err
}

// ErrBadTransition is returned for a state change the alert can't make.
var ErrBadTransition = errors.New("catalog: alert cannot change to that state")

// ChangeAlert moves an alert to state (acknowledged or resolved), recording
// who and why. open → acknowledged → resolved; open → resolved too.
func (c *DB) ChangeAlert(ctx context.Context, id int64, state, who, note string, at time.Time) (*Alert, error) {
	a, err := c.Alert(ctx, id)
	if err != nil {
		return nil, err
	}
	ok := state == AlertAcknowledged && a.State == AlertOpen || state == AlertResolved && a.State != AlertResolved
	if !ok {
		return nil, fmt.Errorf("%w: %s → %s", ErrBadTransition, a.State, state)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ? WHERE id = ?`, state, id); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_changes (alert_id, state, who, note, at) VALUES (?, ?, ?, ?, ?)`, id, state, who, note, ts(at)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return c.Alert(ctx, id)
}

const alertCols = `id, bag_id, problem, key, state, detail, first_seen, last_seen, seen`

func scanAlert(row interface{ Scan(...any) error }) (*Alert, error) {
	var a Alert
	var first, last string
	if err := row.Scan(&a.ID, &a.BagID, &a.Problem, &a.Key, &a.State, &a.Detail, &first, &last, &a.Seen); err != nil {
		return nil, err
	}
	a.FirstSeen, a.LastSeen = parseTS(first), parseTS(last)
	return &a, nil
}

// Alert returns an alert with its changes.
func (c *DB) Alert(ctx context.Context, id int64) (*Alert, error) {
	a, err := scanAlert(c.db.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: alert %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, `SELECT state, who, note, at FROM alert_changes WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ch AlertChange
		var at string
		if err := rows.Scan(&ch.State, &ch.Who, &ch.Note, &at); err != nil {
			return nil, err
		}
		ch.At = parseTS(at)
		a.Changes = append(a.Changes, ch)
	}
	return a, rows.Err()
}

// Alerts lists alerts in the given states (all when none), newest first,
// optionally of one bag.
func (c *DB) Alerts(ctx context.Context, bagID string, states ...string) ([]*Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE (? = '' OR bag_id = ?)`
	args := []any{bagID, bagID}
	if len(states) > 0 {
		q += ` AND state IN (?` + repeat(",?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := c.db.QueryContext(ctx, q+` ORDER BY last_seen DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: alerts: %w", err)
	}
	defer rows.Close()
	var out []*Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// Bag returns a stored bag.
func (c *DB) Bag(ctx context.Context, id string) (*Bag, error) {
	bags, err := c.queryBags(ctx, `WHERE id = ?`, id)
	if err == nil && len(bags) == 0 {
		err = fmt.Errorf("%w: bag %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return &bags[0], nil
}

// Bags returns the most recently stored bags.
func (c *DB) Bags(ctx context.Context, limit int) ([]Bag, error) {
	return c.queryBags(ctx, `ORDER BY stored_at DESC LIMIT ?`, limit)
}

// Counts are the numbers the overview and the metrics show.
type Counts struct {
	ItemsByStage map[string]int64
	BagsStored   int64
	BytesStored  int64
	OpenAlerts   int64
	AckedAlerts  int64
}

// Counts computes the overview numbers.
func (c *DB) Counts(ctx context.Context) (Counts, error) {
	out := Counts{ItemsByStage: map[string]int64{}}
	rows, err := c.db.QueryContext(ctx, `SELECT stage, COUNT(*) FROM items GROUP BY stage`)
	if err != nil {
		return out, err
	}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return out, err
		}
		out.ItemsByStage[s] = n
	}
	rows.Close()
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM bags`).Scan(&out.BagsStored, &out.BytesStored); err != nil {
		return out, err
	}
	err = c.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'acknowledged' THEN 1 ELSE 0 END), 0) FROM alerts`).Scan(&out.OpenAlerts, &out.AckedAlerts)
	return out, err
}

// OverdueBags returns the bags with an object not checked since cutoff.
func (c *DB) OverdueBags(ctx context.Context, cutoff time.Time) ([]string, error) {
	return c.queryStrings(ctx, `SELECT DISTINCT bag_id FROM objects WHERE last_checked = '' OR last_checked < ? ORDER BY bag_id`, ts(cutoff))
}
