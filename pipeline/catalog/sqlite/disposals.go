package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

const disposalCols = `id, action, reason, requested_by, created, state, decided_by, decided, note, ended, detail`

func scanDisposal(r scanner) (catalog.Disposal, error) {
	var d catalog.Disposal
	var created, decided, ended string
	err := r.Scan(&d.ID, &d.Action, &d.Reason, &d.RequestedBy, &created, &d.State, &d.DecidedBy, &decided, &d.Note, &ended, &d.Detail)
	d.Created, d.Decided, d.Ended = parseTS(created), parseTS(decided), parseTS(ended)
	return d, err
}

// heldBag returns a bag of bags that a hold in force holds, or "".
func heldBag(ctx context.Context, tx *sql.Tx, bags []string) (string, int64, error) {
	for _, b := range bags {
		var hold int64
		err := tx.QueryRowContext(ctx, `SELECT h.id FROM holds h JOIN hold_bags hb ON hb.hold_id = h.id
			WHERE hb.bag_id = ? AND h.released = '' ORDER BY h.id LIMIT 1`, b).Scan(&hold)
		switch {
		case err == nil:
			return b, hold, nil
		case !errors.Is(err, sql.ErrNoRows):
			return "", 0, err
		}
	}
	return "", 0, nil
}

// RequestDisposal implements catalog.Disposals.
func (c *DB) RequestDisposal(ctx context.Context, d *catalog.Disposal) error {
	if len(d.Bags) == 0 {
		return errors.New("catalog: a disposal request names at least one bag")
	}
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	d.State = catalog.DisposalRequested
	return c.tx(ctx, func(tx *sql.Tx) error {
		for _, b := range d.Bags {
			var disposed string
			err := tx.QueryRowContext(ctx, `SELECT disposed FROM bags WHERE id = ?`, b).Scan(&disposed)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("%w: bag %s", catalog.ErrNotFound, b)
			case err != nil:
				return err
			case disposed != "":
				return fmt.Errorf("%w: bag %s was disposed of on %s", catalog.ErrDisposed, b, disposed)
			}
			other, err := openDisposal(ctx, tx, b)
			if err != nil {
				return err
			}
			if other != 0 {
				return fmt.Errorf("%w: bag %s is in disposal request %d", catalog.ErrDisposed, b, other)
			}
		}
		if b, hold, err := heldBag(ctx, tx, d.Bags); err != nil || b != "" {
			return errors.Join(err, catalog.HeldError(b, hold))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO disposals (action, reason, requested_by, created, state) VALUES (?, ?, ?, ?, ?)`,
			d.Action, d.Reason, d.RequestedBy, ts(d.Created), d.State)
		if err != nil {
			return fmt.Errorf("catalog: request disposal: %w", err)
		}
		if d.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, b := range d.Bags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO disposal_bags (disposal_id, bag_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, d.ID, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// openDisposal returns the open request naming bag, or 0.
func openDisposal(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, bag string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT d.id FROM disposals d JOIN disposal_bags db ON db.disposal_id = d.id
		WHERE db.bag_id = ? AND d.state NOT IN (?, ?) LIMIT 1`, bag, catalog.DisposalRejected, catalog.DisposalDone).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// OpenDisposal implements catalog.Disposals.
func (c *DB) OpenDisposal(ctx context.Context, bag string) (int64, error) {
	return openDisposal(ctx, c.db, bag)
}

// Disposal implements catalog.Disposals.
func (c *DB) Disposal(ctx context.Context, id int64) (*catalog.Disposal, error) {
	d, err := scanDisposal(c.db.QueryRowContext(ctx, `SELECT `+disposalCols+` FROM disposals WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("disposal request %d", id))
	}
	type row struct {
		bag      string
		disposed bool
	}
	rows, err := query(ctx, c.db, func(r scanner) (x row, err error) {
		var at string
		err = r.Scan(&x.bag, &at)
		x.disposed = at != ""
		return x, err
	}, `SELECT bag_id, disposed FROM disposal_bags WHERE disposal_id = ? ORDER BY bag_id`, id)
	for _, r := range rows {
		d.Bags = append(d.Bags, r.bag)
		if r.disposed {
			d.Disposed = append(d.Disposed, r.bag)
		}
	}
	return &d, err
}

// ListDisposals implements catalog.Disposals.
func (c *DB) ListDisposals(ctx context.Context, states ...catalog.DisposalState) ([]catalog.Disposal, error) {
	where, args := "", []any{}
	if len(states) > 0 {
		where = `WHERE state IN (` + placeholders(len(states)) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	ids, err := query(ctx, c.db, func(r scanner) (id int64, err error) { return id, r.Scan(&id) },
		`SELECT id FROM disposals `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Disposal, 0, len(ids))
	for _, id := range ids {
		d, err := c.Disposal(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, nil
}

// DecideDisposal implements catalog.Disposals.
func (c *DB) DecideDisposal(ctx context.Context, id int64, approve bool, who, note string, at time.Time) (*catalog.Disposal, error) {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		d, err := scanDisposal(tx.QueryRowContext(ctx, `SELECT `+disposalCols+` FROM disposals WHERE id = ?`, id))
		switch {
		case err != nil:
			return notFound(err, fmt.Sprintf("disposal request %d", id))
		case d.State != catalog.DisposalRequested:
			return fmt.Errorf("%w: disposal request %d is %s (decided by %s)", catalog.ErrBadTransition, id, d.State, d.DecidedBy)
		}
		if err := catalog.CheckDecider(&d, who); err != nil {
			return err
		}
		state := catalog.DisposalRejected
		if approve {
			state = catalog.DisposalApproved
			bags, err := bagsOf(ctx, tx, id, false)
			if err != nil {
				return err
			}
			if b, hold, err := heldBag(ctx, tx, bags); err != nil || b != "" {
				return errors.Join(err, catalog.HeldError(b, hold))
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE disposals SET state = ?, decided_by = ?, decided = ?, note = ? WHERE id = ?`, state, who, ts(at), note, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.Disposal(ctx, id)
}

// bagsOf returns a request's bags (only those not disposed yet with
// pending).
func bagsOf(ctx context.Context, tx *sql.Tx, id int64, pending bool) ([]string, error) {
	q := `SELECT bag_id FROM disposal_bags WHERE disposal_id = ?`
	if pending {
		q += ` AND disposed = ''`
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY bag_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// BeginDisposal implements catalog.Disposals.
func (c *DB) BeginDisposal(ctx context.Context, id int64, at time.Time) (*catalog.Disposal, error) {
	var held error
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var state catalog.DisposalState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM disposals WHERE id = ?`, id).Scan(&state); err != nil {
			return notFound(err, fmt.Sprintf("disposal request %d", id))
		}
		switch state {
		case catalog.DisposalApproved, catalog.DisposalFailed, catalog.DisposalExecuting: // executing: resumed after a crash
		default:
			return fmt.Errorf("%w: disposal request %d is %s; only an approved (or failed) request is executed", catalog.ErrBadTransition, id, state)
		}
		bags, err := bagsOf(ctx, tx, id, true)
		if err != nil {
			return err
		}
		b, hold, err := heldBag(ctx, tx, bags)
		if err != nil {
			return err
		}
		if b != "" {
			// A hold came after the approval: the request fails, saying so;
			// nothing is deleted. Released, the request can be run again.
			held = catalog.HeldError(b, hold)
			_, err = tx.ExecContext(ctx, `UPDATE disposals SET state = ?, ended = ?, detail = ? WHERE id = ?`, catalog.DisposalFailed, ts(at), held.Error(), id)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE disposal_bags SET started = ? WHERE disposal_id = ? AND disposed = '' AND started = ''`, ts(at), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE disposals SET state = ?, detail = '' WHERE id = ?`, catalog.DisposalExecuting, id)
		return err
	})
	if err == nil {
		err = held
	}
	if err != nil {
		return nil, err
	}
	return c.Disposal(ctx, id)
}

// DisposeBag implements catalog.Disposals.
func (c *DB) DisposeBag(ctx context.Context, id int64, t catalog.Tombstone) error {
	record, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return c.tx(ctx, func(tx *sql.Tx) error {
		var started string
		err := tx.QueryRowContext(ctx, `SELECT db.started FROM disposal_bags db JOIN disposals d ON d.id = db.disposal_id
			WHERE db.disposal_id = ? AND db.bag_id = ? AND d.state = ?`, id, t.BagID, catalog.DisposalExecuting).Scan(&started)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: bag %s is not in disposal request %d being executed", catalog.ErrBadTransition, t.BagID, id)
		case err != nil:
			return err
		case started == "":
			return fmt.Errorf("%w: bag %s of request %d was not begun", catalog.ErrBadTransition, t.BagID, id)
		}
		at := ts(t.Disposed)
		for _, q := range []string{
			`DELETE FROM objects WHERE bag_id = ?`,
			`UPDATE bags SET disposed = '` + at + `' WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, t.BagID); err != nil {
				return fmt.Errorf("catalog: dispose of bag %s: %w", t.BagID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (bag_id, disposal_id, disposed, record) VALUES (?, ?, ?, ?)
			ON CONFLICT(bag_id) DO UPDATE SET record = excluded.record`, t.BagID, id, at, string(record)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE disposal_bags SET disposed = ? WHERE disposal_id = ? AND bag_id = ?`, at, id, t.BagID)
		return err
	})
}

// EndDisposal implements catalog.Disposals.
func (c *DB) EndDisposal(ctx context.Context, id int64, state catalog.DisposalState, detail string, at time.Time) error {
	if state != catalog.DisposalDone && state != catalog.DisposalFailed {
		return fmt.Errorf("%w: a disposal ends done or failed, not %s", catalog.ErrBadTransition, state)
	}
	res, err := c.db.ExecContext(ctx, `UPDATE disposals SET state = ?, ended = ?, detail = ? WHERE id = ? AND state = ?`,
		state, ts(at), detail, id, catalog.DisposalExecuting)
	if err != nil {
		return fmt.Errorf("catalog: end disposal %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: disposal request %d is not being executed", catalog.ErrBadTransition, id)
	}
	return nil
}

// Tombstone implements catalog.Disposals.
func (c *DB) Tombstone(ctx context.Context, bag string) (*catalog.Tombstone, error) {
	var record string
	if err := c.db.QueryRowContext(ctx, `SELECT record FROM tombstones WHERE bag_id = ?`, bag).Scan(&record); err != nil {
		return nil, notFound(err, "tombstone of bag "+bag)
	}
	var t catalog.Tombstone
	return &t, json.Unmarshal([]byte(record), &t)
}

// FindTombstones implements catalog.Disposals.
func (c *DB) FindTombstones(ctx context.Context, words []string, limit int) ([]catalog.Tombstone, error) {
	where, args := []string{"1"}, []any{}
	for _, w := range words {
		where = append(where, `lower(bag_id || ' ' || coalesce(json_extract(record, '$.title'), '') || ' ' ||
			coalesce(json_extract(record, '$.identifier'), '') || ' ' || coalesce(json_extract(record, '$.collection'), '')) LIKE ? ESCAPE '\'`)
		args = append(args, catalog.ContainsPattern(w))
	}
	return query(ctx, c.db, func(r scanner) (t catalog.Tombstone, err error) {
		var record string
		if err = r.Scan(&record); err != nil {
			return t, err
		}
		return t, json.Unmarshal([]byte(record), &t)
	}, `SELECT record FROM tombstones WHERE `+strings.Join(where, " AND ")+` ORDER BY disposed DESC LIMIT ?`, append(args, limit)...)
}
