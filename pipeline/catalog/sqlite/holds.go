package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

const holdCols = `id, name, reason, authority, created_by, created, released, released_by, release_reason`

func scanHold(r scanner) (catalog.Hold, error) {
	var h catalog.Hold
	var created, released string
	err := r.Scan(&h.ID, &h.Name, &h.Reason, &h.Authority, &h.CreatedBy, &created, &released, &h.ReleasedBy, &h.ReleaseReason)
	h.Created, h.Released = parseTS(created), parseTS(released)
	return h, err
}

// CreateHold implements catalog.Holds.
func (c *DB) CreateHold(ctx context.Context, h *catalog.Hold) error {
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	res, err := c.db.ExecContext(ctx, `INSERT INTO holds (name, reason, authority, created_by, created) VALUES (?, ?, ?, ?, ?)`,
		h.Name, h.Reason, h.Authority, h.CreatedBy, ts(h.Created))
	if err != nil {
		return fmt.Errorf("catalog: create hold: %w", err)
	}
	h.ID, err = res.LastInsertId()
	return err
}

// Hold implements catalog.Holds.
func (c *DB) Hold(ctx context.Context, id int64) (*catalog.Hold, error) {
	h, err := scanHold(c.db.QueryRowContext(ctx, `SELECT `+holdCols+` FROM holds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: legal hold %d", catalog.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: hold %d: %w", id, err)
	}
	h.Bags, err = query(ctx, c.db, func(r scanner) (b string, err error) { return b, r.Scan(&b) },
		`SELECT bag_id FROM hold_bags WHERE hold_id = ? ORDER BY bag_id`, id)
	return &h, err
}

// ListHolds implements catalog.Holds.
func (c *DB) ListHolds(ctx context.Context, all bool) ([]catalog.Hold, error) {
	where := `WHERE released = ''`
	if all {
		where = ``
	}
	return query(ctx, c.db, scanHold, `SELECT `+holdCols+` FROM holds `+where+` ORDER BY id DESC`)
}

// HoldBags implements catalog.Holds.
func (c *DB) HoldBags(ctx context.Context, id int64, add, remove []string, at time.Time) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		var released string
		err := tx.QueryRowContext(ctx, `SELECT released FROM holds WHERE id = ?`, id).Scan(&released)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: legal hold %d", catalog.ErrNotFound, id)
		case err != nil:
			return err
		case released != "":
			return fmt.Errorf("%w: hold %d, on %s", catalog.ErrReleased, id, released)
		}
		for _, b := range add {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM bags WHERE id = ?`, b).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: bag %s", catalog.ErrNotFound, b)
			}
			// A bag whose objects may be being deleted cannot be held: the
			// disposal was approved and checked for holds when it began.
			var other int64
			err := tx.QueryRowContext(ctx, `SELECT d.id FROM disposal_bags db JOIN disposals d ON d.id = db.disposal_id
				WHERE db.bag_id = ? AND (db.disposed != '' OR (db.started != '' AND d.state IN (?, ?))) LIMIT 1`,
				b, catalog.DisposalExecuting, catalog.DisposalFailed).Scan(&other)
			if err == nil {
				return fmt.Errorf("%w: bag %s is disposed of, or being disposed of, by request %d", catalog.ErrDisposed, b, other)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO hold_bags (hold_id, bag_id, added) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, id, b, ts(at)); err != nil {
				return err
			}
		}
		for _, b := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM hold_bags WHERE hold_id = ? AND bag_id = ?`, id, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseHold implements catalog.Holds.
func (c *DB) ReleaseHold(ctx context.Context, id int64, who, reason string, at time.Time) error {
	res, err := c.db.ExecContext(ctx, `UPDATE holds SET released = ?, released_by = ?, release_reason = ? WHERE id = ? AND released = ''`, ts(at), who, reason, id)
	if err != nil {
		return fmt.Errorf("catalog: release hold %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := c.Hold(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("%w: hold %d", catalog.ErrReleased, id)
	}
	return nil
}

// HoldsOn implements catalog.Holds.
func (c *DB) HoldsOn(ctx context.Context, bag string) ([]catalog.Hold, error) {
	return query(ctx, c.db, scanHold, `SELECT `+holdCols+` FROM holds WHERE released = '' AND id IN (SELECT hold_id FROM hold_bags WHERE bag_id = ?) ORDER BY id`, bag)
}
