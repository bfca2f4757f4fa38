package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// auditor is who raises and reopens alerts in their history.
const auditor = "audit"

// RaiseAlert implements catalog.Alerts.
func (c *DB) RaiseAlert(ctx context.Context, bagID string, problem catalog.Problem, key, detail string, at time.Time) (*catalog.Alert, bool, error) {
	var id int64
	var fresh bool
	err := c.tx(ctx, func(tx pgx.Tx) (err error) {
		id, fresh, err = raise(ctx, tx, catalog.Raise{BagID: bagID, Problem: problem, Key: key, Detail: detail}, at)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("catalog: raise alert %s %s %s: %w", bagID, problem, key, err)
	}
	a, err := c.Alert(ctx, id)
	return a, fresh, err
}

// RaiseAlerts implements catalog.Alerts.
func (c *DB) RaiseAlerts(ctx context.Context, raises []catalog.Raise, at time.Time) error {
	if len(raises) == 0 {
		return nil
	}
	return c.tx(ctx, func(tx pgx.Tx) error {
		for _, r := range raises {
			if _, _, err := raise(ctx, tx, r, at); err != nil {
				return fmt.Errorf("catalog: raise alert %s %s %s: %w", r.BagID, r.Problem, r.Key, err)
			}
		}
		return nil
	})
}

// raise opens an alert, reopens a resolved one, or counts one more
// sighting of an open one; it returns its id and whether it is new or
// reopened. Two raising the same problem at once: one inserts, the other's
// insert waits for it and finds the row, which it then locks.
func raise(ctx context.Context, tx pgx.Tx, r catalog.Raise, at time.Time) (id int64, fresh bool, err error) {
	err = tx.QueryRow(ctx, `INSERT INTO alerts (bag_id, problem, key, state, detail, first_seen, last_seen, seen) VALUES ($1, $2, $3, $4, $5, $6, $6, 1)
		ON CONFLICT (bag_id, problem, key) DO NOTHING RETURNING id`, r.BagID, r.Problem, r.Key, catalog.AlertOpen, r.Detail, at).Scan(&id)
	switch {
	case err == nil:
		return id, true, addChange(ctx, tx, id, catalog.AlertOpen, auditor, r.Detail, at)
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, false, err
	}
	var state catalog.AlertState
	if err := tx.QueryRow(ctx, `SELECT id, state FROM alerts WHERE bag_id = $1 AND problem = $2 AND key = $3 FOR UPDATE`, r.BagID, r.Problem, r.Key).Scan(&id, &state); err != nil {
		return 0, false, err
	}
	if state == catalog.AlertResolved {
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = $1, detail = $2, last_seen = $3, seen = seen + 1 WHERE id = $4`, catalog.AlertOpen, r.Detail, at, id); err != nil {
			return 0, false, err
		}
		return id, true, addChange(ctx, tx, id, catalog.AlertOpen, auditor, "reopened: "+r.Detail, at)
	}
	_, err = tx.Exec(ctx, `UPDATE alerts SET detail = $1, last_seen = $2, seen = seen + 1 WHERE id = $3`, r.Detail, at, id)
	return id, false, err
}

func addChange(ctx context.Context, tx pgx.Tx, id int64, state catalog.AlertState, who, note string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO alert_changes (alert_id, state, who, note, at) VALUES ($1, $2, $3, $4, $5)`, id, state, who, note, at)
	return err
}

// ChangeAlert implements catalog.Alerts. open → acknowledged → resolved;
// open → resolved too. The check and the change are one transaction, the
// alert's row locked between them.
func (c *DB) ChangeAlert(ctx context.Context, id int64, state catalog.AlertState, who, note string, at time.Time) (*catalog.Alert, error) {
	err := c.tx(ctx, func(tx pgx.Tx) error {
		var cur catalog.AlertState
		if err := tx.QueryRow(ctx, `SELECT state FROM alerts WHERE id = $1 FOR UPDATE`, id).Scan(&cur); err != nil {
			return notFound(err, fmt.Sprintf("alert %d", id))
		}
		if !cur.CanChange(state) {
			return fmt.Errorf("%w: %s → %s", catalog.ErrBadTransition, cur, state)
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = $1 WHERE id = $2`, state, id); err != nil {
			return err
		}
		return addChange(ctx, tx, id, state, who, note, at)
	})
	if err != nil {
		return nil, err
	}
	return c.Alert(ctx, id)
}

const alertCols = `id, bag_id, problem, key, state, detail, first_seen, last_seen, seen`

func scanAlert(row scanner) (*catalog.Alert, error) {
	var a catalog.Alert
	if err := row.Scan(&a.ID, &a.BagID, &a.Problem, &a.Key, &a.State, &a.Detail, &a.FirstSeen, &a.LastSeen, &a.Seen); err != nil {
		return nil, err
	}
	return &a, nil
}

// Alert implements catalog.Alerts.
func (c *DB) Alert(ctx context.Context, id int64) (*catalog.Alert, error) {
	a, err := scanAlert(c.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("alert %d", id))
	}
	a.Changes, err = query(ctx, c.pool, func(r scanner) (ch catalog.AlertChange, err error) {
		return ch, r.Scan(&ch.State, &ch.Who, &ch.Note, &ch.At)
	}, `SELECT state, who, note, at FROM alert_changes WHERE alert_id = $1 ORDER BY id`, id)
	return a, err
}

// Alerts implements catalog.Alerts.
func (c *DB) Alerts(ctx context.Context, bagID string, states ...catalog.AlertState) ([]*catalog.Alert, error) {
	var a args
	q := `SELECT ` + alertCols + ` FROM alerts WHERE true`
	if bagID != "" {
		q += ` AND bag_id = ` + a.add(bagID)
	}
	if len(states) > 0 {
		s := make([]string, len(states))
		for i, st := range states {
			s[i] = string(st)
		}
		q += ` AND state = ANY(` + a.add(s) + `)`
	}
	return query(ctx, c.pool, scanAlert, q+` ORDER BY last_seen DESC, id DESC`, a...)
}
