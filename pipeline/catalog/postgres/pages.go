package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// AddPages implements catalog.Pages: the pages go in one round trip.
func (c *DB) AddPages(ctx context.Context, itemID string, specs [][]byte) error {
	b := &pgx.Batch{}
	added := now()
	for i, spec := range specs {
		b.Queue(`INSERT INTO pages (item_id, nr, spec, added) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, itemID, i+1, spec, added)
	}
	if err := c.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("catalog: add pages of %s: %w", itemID, err)
	}
	return nil
}

const pageCols = `item_id, nr, spec, state, failure, attempts, holder`

func scanPage(r scanner) (p catalog.PageTask, err error) {
	err = r.Scan(&p.ItemID, &p.Nr, &p.Spec, &p.State, &p.Failure, &p.Attempts, &p.Holder)
	return p, err
}

// ClaimPage implements catalog.Pages: the row chosen is locked and rows
// other claims locked are skipped, as for items.
func (c *DB) ClaimPage(ctx context.Context, holder string, at, until time.Time) (*catalog.PageTask, error) {
	p, err := scanPage(c.pool.QueryRow(ctx, `WITH next AS (
			SELECT item_id, nr FROM pages WHERE state = 'waiting' AND (holder = '' OR until < $1)
			ORDER BY added, item_id, nr LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE pages p SET attempts = p.attempts + (CASE WHEN p.holder = '' THEN 0 ELSE 1 END), holder = $2, until = $3
		FROM next WHERE p.item_id = next.item_id AND p.nr = next.nr
		RETURNING `+prefixed("p.", pageCols), tz(at), holder, tz(until)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: claim a page: %w", err)
	}
	return &p, nil
}

// LeasePage implements catalog.Pages.
func (c *DB) LeasePage(ctx context.Context, itemID string, nr int, holder string, until time.Time) (bool, error) {
	tag, err := c.pool.Exec(ctx, `UPDATE pages SET until = $1 WHERE item_id = $2 AND nr = $3 AND holder = $4 AND state = 'waiting'`,
		tz(until), itemID, nr, holder)
	if err != nil {
		return false, fmt.Errorf("catalog: lease page %d of %s: %w", nr, itemID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// FinishPage implements catalog.Pages.
func (c *DB) FinishPage(ctx context.Context, itemID string, nr int, holder, failure string) (bool, error) {
	state := catalog.PageDone
	if failure != "" {
		state = catalog.PageFailed
	}
	tag, err := c.pool.Exec(ctx, `UPDATE pages SET state = $1, failure = $2, holder = '', until = NULL
		WHERE item_id = $3 AND nr = $4 AND holder = $5 AND state = 'waiting'`, state, failure, itemID, nr, holder)
	if err != nil {
		return false, fmt.Errorf("catalog: finish page %d of %s: %w", nr, itemID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// PagesOf implements catalog.Pages.
func (c *DB) PagesOf(ctx context.Context, itemID string) ([]catalog.PageTask, error) {
	return query(ctx, c.pool, scanPage, `SELECT `+pageCols+` FROM pages WHERE item_id = $1 ORDER BY nr`, itemID)
}

// DropPages implements catalog.Pages.
func (c *DB) DropPages(ctx context.Context, itemID string) error {
	if _, err := c.pool.Exec(ctx, `DELETE FROM pages WHERE item_id = $1`, itemID); err != nil {
		return fmt.Errorf("catalog: drop pages of %s: %w", itemID, err)
	}
	return nil
}
