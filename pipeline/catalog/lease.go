package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A lease says which worker is working on an item, until when. A step
// runs only under the item's lease and renews it while it works; a lease
// that was not renewed lapses, so an item whose worker died is taken up
// again. Holders name a process (see pipeline's holder), so that a lease
// of a process known to be dead can be taken at once (TakeLease).

// Lease acquires or renews the lease on item id for holder until until. It
// returns ok=false and the current holder when another holder's lease has
// not lapsed at now.
func (c *DB) Lease(ctx context.Context, id, holder string, now, until time.Time) (ok bool, current string, err error) {
	res, err := c.db.ExecContext(ctx, `UPDATE items SET lease_holder = ?, lease_until = ?
		WHERE id = ? AND (lease_holder = '' OR lease_holder = ? OR lease_until < ?)`, holder, ts(until), id, holder, ts(now))
	if err != nil {
		return false, "", fmt.Errorf("catalog: lease item %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, holder, nil
	}
	err = c.db.QueryRowContext(ctx, `SELECT lease_holder FROM items WHERE id = ?`, id).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return false, current, err
}

// TakeLease moves the lease on item id from a holder known to be gone to
// holder; ok=false if the lease is no longer from's.
func (c *DB) TakeLease(ctx context.Context, id, from, holder string, until time.Time) (bool, error) {
	res, err := c.db.ExecContext(ctx, `UPDATE items SET lease_holder = ?, lease_until = ? WHERE id = ? AND lease_holder = ?`, holder, ts(until), id, from)
	if err != nil {
		return false, fmt.Errorf("catalog: take lease on item %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Unlease gives up holder's lease on item id (if it still has it).
func (c *DB) Unlease(ctx context.Context, id, holder string) error {
	if _, err := c.db.ExecContext(ctx, `UPDATE items SET lease_holder = '', lease_until = '' WHERE id = ? AND lease_holder = ?`, id, holder); err != nil {
		return fmt.Errorf("catalog: end lease on item %s: %w", id, err)
	}
	return nil
}

// HeldAt returns the stored item whose changed originals were left at path
// for a new item and which no item follows yet, or nil.
func (c *DB) HeldAt(ctx context.Context, path string) (*Item, error) {
	it, err := scanItem(c.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items i WHERE held = ?
		AND NOT EXISTS (SELECT 1 FROM items f WHERE f.follows = i.id) ORDER BY created DESC LIMIT 1`, path))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return it, err
}
