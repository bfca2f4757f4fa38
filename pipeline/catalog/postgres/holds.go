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

const holdCols = `id, name, reason, authority, created_by, created, released, released_by, release_reason`

func scanHold(r scanner) (catalog.Hold, error) {
	var h catalog.Hold
	var released pgtype.Timestamptz
	err := r.Scan(&h.ID, &h.Name, &h.Reason, &h.Authority, &h.CreatedBy, &h.Created, &released, &h.ReleasedBy, &h.ReleaseReason)
	h.Released = released.Time
	return h, err
}

// CreateHold implements catalog.Holds.
func (c *DB) CreateHold(ctx context.Context, h *catalog.Hold) error {
	if h.Created.IsZero() {
		h.Created = now()
	}
	err := c.pool.QueryRow(ctx, `INSERT INTO holds (name, reason, authority, created_by, created) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		h.Name, h.Reason, h.Authority, h.CreatedBy, h.Created).Scan(&h.ID)
	if err != nil {
		return fmt.Errorf("catalog: create hold: %w", err)
	}
	return nil
}

// Hold implements catalog.Holds.
func (c *DB) Hold(ctx context.Context, id int64) (*catalog.Hold, error) {
	h, err := scanHold(c.pool.QueryRow(ctx, `SELECT `+holdCols+` FROM holds WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: legal hold %d", catalog.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: hold %d: %w", id, err)
	}
	h.Bags, err = queryStrings(ctx, c.pool, `SELECT bag_id COLLATE "C" FROM hold_bags WHERE hold_id = $1 ORDER BY 1`, id)
	return &h, err
}

// ListHolds implements catalog.Holds.
func (c *DB) ListHolds(ctx context.Context, all bool) ([]catalog.Hold, error) {
	where := `WHERE released IS NULL`
	if all {
		where = ``
	}
	return query(ctx, c.pool, scanHold, `SELECT `+holdCols+` FROM holds `+where+` ORDER BY id DESC`)
}

// lockBag locks a stored bag's row for the rest of the transaction, so
// that a hold and a disposal of it take turns; false if there is none.
func lockBag(ctx context.Context, tx pgx.Tx, bag string) (exists bool, disposed time.Time, err error) {
	var at pgtype.Timestamptz
	err = tx.QueryRow(ctx, `SELECT disposed FROM bags WHERE id = $1 FOR UPDATE`, bag).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, time.Time{}, nil
	}
	return err == nil, at.Time, err
}

// HoldBags implements catalog.Holds.
func (c *DB) HoldBags(ctx context.Context, id int64, add, remove []string, at time.Time) error {
	return c.tx(ctx, func(tx pgx.Tx) error {
		var released pgtype.Timestamptz
		err := tx.QueryRow(ctx, `SELECT released FROM holds WHERE id = $1 FOR UPDATE`, id).Scan(&released)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("%w: legal hold %d", catalog.ErrNotFound, id)
		case err != nil:
			return err
		case released.Valid:
			return fmt.Errorf("%w: hold %d, on %s", catalog.ErrReleased, id, released.Time.UTC().Format(time.RFC3339))
		}
		for _, b := range add {
			exists, _, err := lockBag(ctx, tx, b)
			if err != nil {
				return err
			}
			if !exists {
				return fmt.Errorf("%w: bag %s", catalog.ErrNotFound, b)
			}
			// A bag whose objects may be being deleted cannot be held: the
			// disposal was approved and checked for holds when it began.
			var other int64
			err = tx.QueryRow(ctx, `SELECT d.id FROM disposal_bags db JOIN disposals d ON d.id = db.disposal_id
				WHERE db.bag_id = $1 AND (db.disposed IS NOT NULL OR (db.started IS NOT NULL AND d.state IN ($2, $3))) LIMIT 1`,
				b, catalog.DisposalExecuting, catalog.DisposalFailed).Scan(&other)
			if err == nil {
				return fmt.Errorf("%w: bag %s is disposed of, or being disposed of, by request %d", catalog.ErrDisposed, b, other)
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO hold_bags (hold_id, bag_id, added) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, b, at); err != nil {
				return err
			}
		}
		for _, b := range remove {
			if _, err := tx.Exec(ctx, `DELETE FROM hold_bags WHERE hold_id = $1 AND bag_id = $2`, id, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseHold implements catalog.Holds.
func (c *DB) ReleaseHold(ctx context.Context, id int64, who, reason string, at time.Time) error {
	tag, err := c.pool.Exec(ctx, `UPDATE holds SET released = $1, released_by = $2, release_reason = $3 WHERE id = $4 AND released IS NULL`, at, who, reason, id)
	if err != nil {
		return fmt.Errorf("catalog: release hold %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := c.Hold(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("%w: hold %d", catalog.ErrReleased, id)
	}
	return nil
}

// HoldsOn implements catalog.Holds.
func (c *DB) HoldsOn(ctx context.Context, bag string) ([]catalog.Hold, error) {
	return query(ctx, c.pool, scanHold, `SELECT `+holdCols+` FROM holds WHERE released IS NULL AND id IN (SELECT hold_id FROM hold_bags WHERE bag_id = $1) ORDER BY id`, bag)
}
