package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// SetRetention implements catalog.Retentions.
func (c *DB) SetRetention(ctx context.Context, r catalog.Retention) error {
	due := "" // a day, or an instant where the period has a time part
	if !r.Due.IsZero() {
		due = r.Due.UTC().Format(time.DateOnly)
		if !r.Due.Equal(r.Due.Truncate(24 * time.Hour)) {
			due = r.Due.UTC().Format(time.RFC3339)
		}
	}
	_, err := c.db.ExecContext(ctx, `INSERT INTO retention (bag_id, schedule, action, due, unknown, assigned) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(bag_id) DO UPDATE SET schedule = excluded.schedule, action = excluded.action, due = excluded.due,
		unknown = excluded.unknown, assigned = excluded.assigned`,
		r.BagID, r.Schedule, r.Action, due, r.Unknown, ts(r.Assigned))
	if err != nil {
		return fmt.Errorf("catalog: retention of %s: %w", r.BagID, err)
	}
	return nil
}

func scanRetention(r scanner) (catalog.Retention, error) {
	var x catalog.Retention
	var due, assigned string
	err := r.Scan(&x.BagID, &x.Schedule, &x.Action, &due, &x.Unknown, &assigned, &x.Held)
	if due != "" {
		var perr error
		if x.Due, perr = time.Parse(time.DateOnly, due); perr != nil {
			x.Due, _ = time.Parse(time.RFC3339, due)
		}
	}
	x.Assigned = parseTS(assigned)
	return x, err
}

// retentionCols are a retention's columns, and whether a hold in force
// holds the bag.
const retentionCols = `bag_id, schedule, action, due, unknown, assigned,
	EXISTS (SELECT 1 FROM hold_bags JOIN holds ON holds.id = hold_bags.hold_id WHERE hold_bags.bag_id = retention.bag_id AND holds.released = '')`

// Retention implements catalog.Retentions.
func (c *DB) Retention(ctx context.Context, bag string) (*catalog.Retention, error) {
	r, err := scanRetention(c.db.QueryRowContext(ctx, `SELECT `+retentionCols+` FROM retention WHERE bag_id = ?`, bag))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no retention recorded for bag %s", catalog.ErrNotFound, bag)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: retention of %s: %w", bag, err)
	}
	return &r, nil
}

// RetentionDue implements catalog.Retentions.
func (c *DB) RetentionDue(ctx context.Context, before time.Time, limit int) ([]catalog.Retention, error) {
	return query(ctx, c.db, scanRetention, `SELECT `+retentionCols+` FROM retention
		WHERE due = '' OR due <= ? ORDER BY due = '', due, bag_id LIMIT ?`, before.UTC().Format(time.DateOnly)+"T23:59:59Z", limit)
}

// RetentionsUnder implements catalog.Retentions.
func (c *DB) RetentionsUnder(ctx context.Context, schedule string) ([]catalog.Retention, error) {
	return query(ctx, c.db, scanRetention, `SELECT `+retentionCols+` FROM retention
		WHERE schedule = ? AND bag_id NOT IN (SELECT id FROM bags WHERE disposed != '') ORDER BY bag_id`, schedule)
}

// LastSchedule implements catalog.Retentions.
func (c *DB) LastSchedule(ctx context.Context, code string) (int, string, error) {
	var version int
	var def string
	err := c.db.QueryRowContext(ctx, `SELECT version, definition FROM schedule_versions WHERE code = ? ORDER BY version DESC LIMIT 1`, code).Scan(&version, &def)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return version, def, err
}

// RecordSchedule implements catalog.Retentions.
func (c *DB) RecordSchedule(ctx context.Context, code, definition string, at time.Time) (int, error) {
	var version int
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var last string
		err := tx.QueryRowContext(ctx, `SELECT version, definition FROM schedule_versions WHERE code = ? ORDER BY version DESC LIMIT 1`, code).Scan(&version, &last)
		switch {
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		case err == nil && last == definition:
			return nil
		}
		version++
		_, err = tx.ExecContext(ctx, `INSERT INTO schedule_versions (code, version, definition, since) VALUES (?, ?, ?, ?)`, code, version, definition, ts(at))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("catalog: record schedule %s: %w", code, err)
	}
	return version, nil
}

// SetQuality implements catalog.Qualities.
func (c *DB) SetQuality(ctx context.Context, bag, verdict string, report []byte) error {
	_, err := c.db.ExecContext(ctx, `INSERT INTO quality (bag_id, verdict, report) VALUES (?, ?, ?)
		ON CONFLICT(bag_id) DO UPDATE SET verdict = excluded.verdict, report = excluded.report`, bag, verdict, string(report))
	if err != nil {
		return fmt.Errorf("catalog: quality of %s: %w", bag, err)
	}
	return nil
}

// Quality implements catalog.Qualities.
func (c *DB) Quality(ctx context.Context, bag string) ([]byte, error) {
	var report string
	if err := c.db.QueryRowContext(ctx, `SELECT report FROM quality WHERE bag_id = ?`, bag).Scan(&report); err != nil {
		return nil, notFound(err, "quality report of bag "+bag)
	}
	return []byte(report), nil
}
