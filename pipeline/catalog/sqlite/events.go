package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

func addEvents(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, evs []catalog.Event) error {
	for _, e := range evs {
		if e.At.IsZero() {
			e.At = time.Now()
		}
		if _, err := ex.ExecContext(ctx, `INSERT INTO events (item_id, bag_id, file, type, outcome, detail, agent, at, stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ItemID, e.BagID, e.File, e.Type, e.Outcome, e.Detail, e.Agent, ts(e.At), e.Stage); err != nil {
			return fmt.Errorf("catalog: add %s event for %s: %w", e.Type, e.ItemID, err)
		}
	}
	return nil
}

// AddEvents implements catalog.Events.
func (c *DB) AddEvents(ctx context.Context, evs ...catalog.Event) error {
	return c.tx(ctx, func(tx *sql.Tx) error { return addEvents(ctx, tx, evs) })
}

// SetStageEvents implements catalog.Events.
func (c *DB) SetStageEvents(ctx context.Context, itemID string, stage catalog.Stage, evs []catalog.Event) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE item_id = ? AND stage = ?`, itemID, stage); err != nil {
			return fmt.Errorf("catalog: events of %s at %s: %w", itemID, stage, err)
		}
		for i := range evs {
			evs[i].ItemID, evs[i].Stage = itemID, stage
		}
		return addEvents(ctx, tx, evs)
	})
}

// Events implements catalog.Events.
func (c *DB) Events(ctx context.Context, itemID string) ([]catalog.Event, error) {
	return c.queryEvents(ctx, "item_id", itemID)
}

// BagEvents implements catalog.Events.
func (c *DB) BagEvents(ctx context.Context, bagID string) ([]catalog.Event, error) {
	return c.queryEvents(ctx, "bag_id", bagID)
}

// queryEvents lists the events whose column (item_id or bag_id) is id.
func (c *DB) queryEvents(ctx context.Context, column, id string) ([]catalog.Event, error) {
	return query(ctx, c.db, func(r scanner) (e catalog.Event, err error) {
		var at string
		err = r.Scan(&e.ID, &e.ItemID, &e.BagID, &e.File, &e.Type, &e.Outcome, &e.Detail, &e.Agent, &at, &e.Stage)
		e.At = parseTS(at)
		return e, err
	}, `SELECT id, item_id, bag_id, file, type, outcome, detail, agent, at, stage FROM events WHERE `+column+` = ? ORDER BY id`, id)
}
