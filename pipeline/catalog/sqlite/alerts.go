package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// auditor is who raises and reopens alerts in their history.
const auditor = "audit"

// RaiseAlert implements catalog.Alerts.
func (c *DB) RaiseAlert(ctx context.Context, bagID string, problem catalog.Problem, key, detail string, at time.Time) (*catalog.Alert, bool, error) {
	var id int64
	var fresh bool
	err := c.tx(ctx, func(tx *sql.Tx) (err error) {
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
	return c.tx(ctx, func(tx *sql.Tx) error {
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
// reopened.
func raise(ctx context.Context, tx *sql.Tx, r catalog.Raise, at time.Time) (id int64, fresh bool, err error) {
	var state catalog.AlertState
	err = tx.QueryRowContext(ctx, `SELECT id, state FROM alerts WHERE bag_id = ? AND problem = ? AND key = ?`, r.BagID, r.Problem, r.Key).Scan(&id, &state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (bag_id, problem, key, state, detail, first_seen, last_seen, seen) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
			r.BagID, r.Problem, r.Key, catalog.AlertOpen, r.Detail, ts(at), ts(at))
		if err != nil {
			return 0, false, err
		}
		id, _ = res.LastInsertId()
		return id, true, addChange(ctx, tx, id, catalog.AlertOpen, auditor, r.Detail, at)
	case err != nil:
		return 0, false, err
	case state == catalog.AlertResolved:
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ?, detail = ?, last_seen = ?, seen = seen + 1 WHERE id = ?`, catalog.AlertOpen, r.Detail, ts(at), id); err != nil {
			return 0, false, err
		}
		return id, true, addChange(ctx, tx, id, catalog.AlertOpen, auditor, "reopened: "+r.Detail, at)
	}
	_, err = tx.ExecContext(ctx, `UPDATE alerts SET detail = ?, last_seen = ?, seen = seen + 1 WHERE id = ?`, r.Detail, ts(at), id)
	return id, false, err
}

func addChange(ctx context.Context, tx *sql.Tx, id int64, state catalog.AlertState, who, note string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_changes (alert_id, state, who, note, at) VALUES (?, ?, ?, ?, ?)`, id, state, who, note, ts(at))
	return err
}

// ChangeAlert implements catalog.Alerts. open → acknowledged → resolved;
// open → resolved too. The check and the change are one transaction.
func (c *DB) ChangeAlert(ctx context.Context, id int64, state catalog.AlertState, who, note string, at time.Time) (*catalog.Alert, error) {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var cur catalog.AlertState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM alerts WHERE id = ?`, id).Scan(&cur); err != nil {
			return notFound(err, fmt.Sprintf("alert %d", id))
		}
		if !cur.CanChange(state) {
			return fmt.Errorf("%w: %s → %s", catalog.ErrBadTransition, cur, state)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ? WHERE id = ?`, state, id); err != nil {
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
	var first, last string
	if err := row.Scan(&a.ID, &a.BagID, &a.Problem, &a.Key, &a.State, &a.Detail, &first, &last, &a.Seen); err != nil {
		return nil, err
	}
	a.FirstSeen, a.LastSeen = parseTS(first), parseTS(last)
	return &a, nil
}

// Alert implements catalog.Alerts.
func (c *DB) Alert(ctx context.Context, id int64) (*catalog.Alert, error) {
	a, err := scanAlert(c.db.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("alert %d", id))
	}
	a.Changes, err = query(ctx, c.db, func(r scanner) (ch catalog.AlertChange, err error) {
		var at string
		err = r.Scan(&ch.State, &ch.Who, &ch.Note, &at)
		ch.At = parseTS(at)
		return ch, err
	}, `SELECT state, who, note, at FROM alert_changes WHERE alert_id = ? ORDER BY id`, id)
	return a, err
}

// Alerts implements catalog.Alerts.
func (c *DB) Alerts(ctx context.Context, bagID string, states ...catalog.AlertState) ([]*catalog.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE (? = '' OR bag_id = ?)`
	args := []any{bagID, bagID}
	if len(states) > 0 {
		q += ` AND state IN (` + placeholders(len(states)) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	return query(ctx, c.db, scanAlert, q+` ORDER BY last_seen DESC, id DESC`, args...)
}
