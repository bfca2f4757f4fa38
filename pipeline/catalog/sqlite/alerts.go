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
	fresh := false
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var state catalog.AlertState
		err := tx.QueryRowContext(ctx, `SELECT id, state FROM alerts WHERE bag_id = ? AND problem = ? AND key = ?`, bagID, problem, key).Scan(&id, &state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, `INSERT INTO alerts (bag_id, problem, key, state, detail, first_seen, last_seen, seen) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
				bagID, problem, key, catalog.AlertOpen, detail, ts(at), ts(at))
			if err != nil {
				return err
			}
			id, _ = res.LastInsertId()
			fresh = true
			return addChange(ctx, tx, id, catalog.AlertOpen, auditor, detail, at)
		case err != nil:
			return err
		case state == catalog.AlertResolved:
			fresh = true
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ?, detail = ?, last_seen = ?, seen = seen + 1 WHERE id = ?`, catalog.AlertOpen, detail, ts(at), id); err != nil {
				return err
			}
			return addChange(ctx, tx, id, catalog.AlertOpen, auditor, "reopened: "+detail, at)
		}
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET detail = ?, last_seen = ?, seen = seen + 1 WHERE id = ?`, detail, ts(at), id)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("catalog: raise alert %s %s %s: %w", bagID, problem, key, err)
	}
	a, err := c.Alert(ctx, id)
	return a, fresh, err
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
		ok := state == catalog.AlertAcknowledged && cur == catalog.AlertOpen || state == catalog.AlertResolved && cur != catalog.AlertResolved
		if !ok {
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
