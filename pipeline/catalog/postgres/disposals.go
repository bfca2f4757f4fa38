package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

const disposalCols = `id, action, reason, requested_by, created, state, decided_by, decided, note, ended, detail`

func scanDisposal(r scanner) (catalog.Disposal, error) {
	var d catalog.Disposal
	var decided, ended pgtype.Timestamptz
	err := r.Scan(&d.ID, &d.Action, &d.Reason, &d.RequestedBy, &d.Created, &d.State, &d.DecidedBy, &decided, &d.Note, &ended, &d.Detail)
	d.Decided, d.Ended = decided.Time, ended.Time
	return d, err
}

// heldBag locks bags and returns one a hold in force holds, or "".
func heldBag(ctx context.Context, tx pgx.Tx, bags []string) (string, int64, error) {
	for _, b := range bags {
		if _, _, err := lockBag(ctx, tx, b); err != nil {
			return "", 0, err
		}
		var hold int64
		err := tx.QueryRow(ctx, `SELECT h.id FROM holds h JOIN hold_bags hb ON hb.hold_id = h.id
			WHERE hb.bag_id = $1 AND h.released IS NULL ORDER BY h.id LIMIT 1`, b).Scan(&hold)
		switch {
		case err == nil:
			return b, hold, nil
		case !errors.Is(err, pgx.ErrNoRows):
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
		d.Created = now()
	}
	d.State = catalog.DisposalRequested
	return c.tx(ctx, func(tx pgx.Tx) error {
		for _, b := range d.Bags {
			exists, disposed, err := lockBag(ctx, tx, b)
			switch {
			case err != nil:
				return err
			case !exists:
				return fmt.Errorf("%w: bag %s", catalog.ErrNotFound, b)
			case !disposed.IsZero():
				return fmt.Errorf("%w: bag %s was disposed of on %s", catalog.ErrDisposed, b, disposed.UTC().Format(time.RFC3339))
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
		if err := tx.QueryRow(ctx, `INSERT INTO disposals (action, reason, requested_by, created, state) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			d.Action, d.Reason, d.RequestedBy, d.Created, d.State).Scan(&d.ID); err != nil {
			return fmt.Errorf("catalog: request disposal: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO disposal_bags (disposal_id, bag_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, d.ID, d.Bags)
		return err
	})
}

// openDisposal returns the open request naming bag, or 0.
func openDisposal(ctx context.Context, q querier, bag string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT d.id FROM disposals d JOIN disposal_bags db ON db.disposal_id = d.id
		WHERE db.bag_id = $1 AND d.state NOT IN ($2, $3) LIMIT 1`, bag, catalog.DisposalRejected, catalog.DisposalDone).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// OpenDisposal implements catalog.Disposals.
func (c *DB) OpenDisposal(ctx context.Context, bag string) (int64, error) {
	return openDisposal(ctx, c.pool, bag)
}

// Disposal implements catalog.Disposals.
func (c *DB) Disposal(ctx context.Context, id int64) (*catalog.Disposal, error) {
	d, err := scanDisposal(c.pool.QueryRow(ctx, `SELECT `+disposalCols+` FROM disposals WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("disposal request %d", id))
	}
	type row struct {
		bag      string
		disposed bool
	}
	rows, err := query(ctx, c.pool, func(r scanner) (x row, err error) { return x, r.Scan(&x.bag, &x.disposed) },
		`SELECT bag_id, disposed IS NOT NULL FROM disposal_bags WHERE disposal_id = $1 ORDER BY bag_id COLLATE "C"`, id)
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
	var a args
	where := ""
	if len(states) > 0 {
		s := make([]string, len(states))
		for i, st := range states {
			s[i] = string(st)
		}
		where = `WHERE state = ANY(` + a.add(s) + `)`
	}
	ids, err := query(ctx, c.pool, func(r scanner) (id int64, err error) { return id, r.Scan(&id) },
		`SELECT id FROM disposals `+where+` ORDER BY id DESC`, a...)
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
	err := c.tx(ctx, func(tx pgx.Tx) error {
		d, err := scanDisposal(tx.QueryRow(ctx, `SELECT `+disposalCols+` FROM disposals WHERE id = $1 FOR UPDATE`, id))
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
		_, err = tx.Exec(ctx, `UPDATE disposals SET state = $1, decided_by = $2, decided = $3, note = $4 WHERE id = $5`, state, who, at, note, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.Disposal(ctx, id)
}

// bagsOf returns a request's bags (only those not disposed yet with
// pending).
func bagsOf(ctx context.Context, tx pgx.Tx, id int64, pending bool) ([]string, error) {
	q := `SELECT bag_id FROM disposal_bags WHERE disposal_id = $1`
	if pending {
		q += ` AND disposed IS NULL`
	}
	return queryStrings(ctx, tx, q+` ORDER BY bag_id COLLATE "C"`, id)
}

// BeginDisposal implements catalog.Disposals.
func (c *DB) BeginDisposal(ctx context.Context, id int64, at time.Time) (*catalog.Disposal, error) {
	var held error
	err := c.tx(ctx, func(tx pgx.Tx) error {
		var state catalog.DisposalState
		if err := tx.QueryRow(ctx, `SELECT state FROM disposals WHERE id = $1 FOR UPDATE`, id).Scan(&state); err != nil {
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
			_, err = tx.Exec(ctx, `UPDATE disposals SET state = $1, ended = $2, detail = $3 WHERE id = $4`, catalog.DisposalFailed, at, held.Error(), id)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE disposal_bags SET started = $1 WHERE disposal_id = $2 AND disposed IS NULL AND started IS NULL`, at, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE disposals SET state = $1, detail = '' WHERE id = $2`, catalog.DisposalExecuting, id)
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
	return c.tx(ctx, func(tx pgx.Tx) error {
		var started pgtype.Timestamptz
		err := tx.QueryRow(ctx, `SELECT db.started FROM disposal_bags db JOIN disposals d ON d.id = db.disposal_id
			WHERE db.disposal_id = $1 AND db.bag_id = $2 AND d.state = $3 FOR UPDATE OF db`, id, t.BagID, catalog.DisposalExecuting).Scan(&started)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("%w: bag %s is not in disposal request %d being executed", catalog.ErrBadTransition, t.BagID, id)
		case err != nil:
			return err
		case !started.Valid:
			return fmt.Errorf("%w: bag %s of request %d was not begun", catalog.ErrBadTransition, t.BagID, id)
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM objects WHERE bag_id = $1`, t.BagID)
		b.Queue(`UPDATE bags SET disposed = $1 WHERE id = $2`, t.Disposed, t.BagID)
		b.Queue(`INSERT INTO tombstones (bag_id, disposal_id, disposed, record) VALUES ($1, $2, $3, $4)
			ON CONFLICT (bag_id) DO UPDATE SET record = excluded.record`, t.BagID, id, t.Disposed, record)
		b.Queue(`UPDATE disposal_bags SET disposed = $1 WHERE disposal_id = $2 AND bag_id = $3`, t.Disposed, id, t.BagID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("catalog: dispose of bag %s: %w", t.BagID, err)
		}
		return nil
	})
}

// EndDisposal implements catalog.Disposals.
func (c *DB) EndDisposal(ctx context.Context, id int64, state catalog.DisposalState, detail string, at time.Time) error {
	if state != catalog.DisposalDone && state != catalog.DisposalFailed {
		return fmt.Errorf("%w: a disposal ends done or failed, not %s", catalog.ErrBadTransition, state)
	}
	tag, err := c.pool.Exec(ctx, `UPDATE disposals SET state = $1, ended = $2, detail = $3 WHERE id = $4 AND state = $5`,
		state, at, detail, id, catalog.DisposalExecuting)
	if err != nil {
		return fmt.Errorf("catalog: end disposal %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: disposal request %d is not being executed", catalog.ErrBadTransition, id)
	}
	return nil
}

// Tombstone implements catalog.Disposals.
func (c *DB) Tombstone(ctx context.Context, bag string) (*catalog.Tombstone, error) {
	var record []byte
	if err := c.pool.QueryRow(ctx, `SELECT record FROM tombstones WHERE bag_id = $1`, bag).Scan(&record); err != nil {
		return nil, notFound(err, "tombstone of bag "+bag)
	}
	var t catalog.Tombstone
	return &t, json.Unmarshal(record, &t)
}

// FindTombstones implements catalog.Disposals.
func (c *DB) FindTombstones(ctx context.Context, words []string, limit int) ([]catalog.Tombstone, error) {
	var a args
	where := []string{"true"}
	for _, w := range words {
		where = append(where, `lower(bag_id || ' ' || coalesce(record->>'title', '') || ' ' ||
			coalesce(record->>'identifier', '') || ' ' || coalesce(record->>'collection', '')) LIKE `+a.add(catalog.ContainsPattern(w))+` ESCAPE '\'`)
	}
	return query(ctx, c.pool, func(r scanner) (t catalog.Tombstone, err error) {
		var record []byte
		if err = r.Scan(&record); err != nil {
			return t, err
		}
		return t, json.Unmarshal(record, &t)
	}, `SELECT record FROM tombstones WHERE `+strings.Join(where, " AND ")+` ORDER BY disposed DESC LIMIT `+a.add(limit), a...)
}
