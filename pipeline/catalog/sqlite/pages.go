package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// AddPages implements catalog.Pages.
func (c *DB) AddPages(ctx context.Context, itemID string, specs [][]byte) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		added := ts(time.Now())
		for i, spec := range specs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pages (item_id, nr, spec, added) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				itemID, i+1, spec, added); err != nil {
				return fmt.Errorf("catalog: add pages of %s: %w", itemID, err)
			}
		}
		return nil
	})
}

const pageCols = `item_id, nr, spec, state, failure, attempts, holder`

func scanPage(r scanner) (p catalog.PageTask, err error) {
	err = r.Scan(&p.ItemID, &p.Nr, &p.Spec, &p.State, &p.Failure, &p.Attempts, &p.Holder)
	return p, err
}

// ClaimPage implements catalog.Pages, in one write transaction.
func (c *DB) ClaimPage(ctx context.Context, holder string, now, until time.Time) (*catalog.PageTask, error) {
	var out *catalog.PageTask
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var item string
		var nr int
		err := tx.QueryRowContext(ctx, `SELECT item_id, nr FROM pages WHERE state = 'waiting' AND (holder = '' OR until < ?)
			ORDER BY added, item_id, nr LIMIT 1`, ts(now)).Scan(&item, &nr)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pages SET attempts = attempts + (CASE WHEN holder = '' THEN 0 ELSE 1 END), holder = ?, until = ?
			WHERE item_id = ? AND nr = ?`, holder, ts(until), item, nr); err != nil {
			return err
		}
		p, err := scanPage(tx.QueryRowContext(ctx, `SELECT `+pageCols+` FROM pages WHERE item_id = ? AND nr = ?`, item, nr))
		out = &p
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: claim a page: %w", err)
	}
	return out, nil
}

// LeasePage implements catalog.Pages.
func (c *DB) LeasePage(ctx context.Context, itemID string, nr int, holder string, until time.Time) (bool, error) {
	res, err := c.db.ExecContext(ctx, `UPDATE pages SET until = ? WHERE item_id = ? AND nr = ? AND holder = ? AND state = 'waiting'`,
		ts(until), itemID, nr, holder)
	if err != nil {
		return false, fmt.Errorf("catalog: lease page %d of %s: %w", nr, itemID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishPage implements catalog.Pages.
func (c *DB) FinishPage(ctx context.Context, itemID string, nr int, holder, failure string) (bool, error) {
	state := catalog.PageDone
	if failure != "" {
		state = catalog.PageFailed
	}
	res, err := c.db.ExecContext(ctx, `UPDATE pages SET state = ?, failure = ?, holder = '', until = '' WHERE item_id = ? AND nr = ? AND holder = ? AND state = 'waiting'`,
		state, failure, itemID, nr, holder)
	if err != nil {
		return false, fmt.Errorf("catalog: finish page %d of %s: %w", nr, itemID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PagesOf implements catalog.Pages.
func (c *DB) PagesOf(ctx context.Context, itemID string) ([]catalog.PageTask, error) {
	return query(ctx, c.db, scanPage, `SELECT `+pageCols+` FROM pages WHERE item_id = ? ORDER BY nr`, itemID)
}

// DropPages implements catalog.Pages.
func (c *DB) DropPages(ctx context.Context, itemID string) error {
	if _, err := c.db.ExecContext(ctx, `DELETE FROM pages WHERE item_id = ?`, itemID); err != nil {
		return fmt.Errorf("catalog: drop pages of %s: %w", itemID, err)
	}
	return nil
}
