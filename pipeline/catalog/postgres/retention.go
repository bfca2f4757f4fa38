package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// SetRetention implements catalog.Retentions.
func (c *DB) SetRetention(ctx context.Context, r catalog.Retention) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO retention (bag_id, schedule, action, due, unknown, assigned) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (bag_id) DO UPDATE SET schedule = excluded.schedule, action = excluded.action, due = excluded.due,
		unknown = excluded.unknown, assigned = excluded.assigned`,
		r.BagID, r.Schedule, r.Action, tz(r.Due), r.Unknown, tz(r.Assigned))
	if err != nil {
		return fmt.Errorf("catalog: retention of %s: %w", r.BagID, err)
	}
	return nil
}

func scanRetention(r scanner) (catalog.Retention, error) {
	var x catalog.Retention
	var due, assigned pgtype.Timestamptz
	err := r.Scan(&x.BagID, &x.Schedule, &x.Action, &due, &x.Unknown, &assigned, &x.Held)
	// A due day is midnight UTC, as the SQLite catalog reads its days.
	x.Due, x.Assigned = due.Time.UTC(), assigned.Time
	if !due.Valid {
		x.Due = time.Time{}
	}
	return x, err
}

// retentionCols are a retention's columns, and whether a hold in force
// holds the bag.
const retentionCols = `bag_id, schedule, action, due, unknown, assigned,
	EXISTS (SELECT 1 FROM hold_bags JOIN holds ON holds.id = hold_bags.hold_id WHERE hold_bags.bag_id = retention.bag_id AND holds.released IS NULL)`

// Retention implements catalog.Retentions.
func (c *DB) Retention(ctx context.Context, bag string) (*catalog.Retention, error) {
	r, err := scanRetention(c.pool.QueryRow(ctx, `SELECT `+retentionCols+` FROM retention WHERE bag_id = $1`, bag))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no retention recorded for bag %s", catalog.ErrNotFound, bag)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: retention of %s: %w", bag, err)
	}
	return &r, nil
}

// RetentionDue implements catalog.Retentions: due on or before the day of
// before (UTC), then those whose due date is not known.
func (c *DB) RetentionDue(ctx context.Context, before time.Time, limit int) ([]catalog.Retention, error) {
	y, m, d := before.UTC().Date()
	end := time.Date(y, m, d, 23, 59, 59, 0, time.UTC)
	return query(ctx, c.pool, scanRetention, `SELECT `+retentionCols+` FROM retention
		WHERE due IS NULL OR due <= $1 ORDER BY due NULLS LAST, bag_id COLLATE "C" LIMIT $2`, end, limit)
}

// RetentionsUnder implements catalog.Retentions.
func (c *DB) RetentionsUnder(ctx context.Context, schedule string) ([]catalog.Retention, error) {
	return query(ctx, c.pool, scanRetention, `SELECT `+retentionCols+` FROM retention
		WHERE schedule = $1 AND bag_id NOT IN (SELECT id FROM bags WHERE disposed IS NOT NULL) ORDER BY bag_id COLLATE "C"`, schedule)
}

// LastSchedule implements catalog.Retentions.
func (c *DB) LastSchedule(ctx context.Context, code string) (int, string, error) {
	var version int
	var def string
	err := c.pool.QueryRow(ctx, `SELECT version, definition FROM schedule_versions WHERE code = $1 ORDER BY version DESC LIMIT 1`, code).Scan(&version, &def)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	return version, def, err
}

// RecordSchedule implements catalog.Retentions. Two processes recording
// one schedule at once take turns on a lock named for its code.
func (c *DB) RecordSchedule(ctx context.Context, code, definition string, at time.Time) (int, error) {
	var version int
	err := c.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('schedule:' || $1))`, code); err != nil {
			return err
		}
		var last string
		err := tx.QueryRow(ctx, `SELECT version, definition FROM schedule_versions WHERE code = $1 ORDER BY version DESC LIMIT 1`, code).Scan(&version, &last)
		switch {
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		case err == nil && last == definition:
			return nil
		}
		version++
		_, err = tx.Exec(ctx, `INSERT INTO schedule_versions (code, version, definition, since) VALUES ($1, $2, $3, $4)`, code, version, definition, at)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("catalog: record schedule %s: %w", code, err)
	}
	return version, nil
}

// SetQuality implements catalog.Qualities.
func (c *DB) SetQuality(ctx context.Context, bag, verdict string, report []byte) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO quality (bag_id, verdict, report) VALUES ($1, $2, $3)
		ON CONFLICT (bag_id) DO UPDATE SET verdict = excluded.verdict, report = excluded.report`, bag, verdict, report)
	if err != nil {
		return fmt.Errorf("catalog: quality of %s: %w", bag, err)
	}
	return nil
}

// Quality implements catalog.Qualities.
func (c *DB) Quality(ctx context.Context, bag string) ([]byte, error) {
	var report string
	if err := c.pool.QueryRow(ctx, `SELECT report::text FROM quality WHERE bag_id = $1`, bag).Scan(&report); err != nil {
		return nil, notFound(err, "quality report of bag "+bag)
	}
	return []byte(report), nil
}
