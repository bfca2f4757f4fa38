package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// queueEvents adds the inserts of evs to b.
func queueEvents(b *pgx.Batch, evs []catalog.Event) {
	for _, e := range evs {
		if e.At.IsZero() {
			e.At = now()
		}
		b.Queue(`INSERT INTO events (item_id, bag_id, file, type, outcome, detail, agent, at, stage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.ItemID, e.BagID, e.File, e.Type, e.Outcome, e.Detail, e.Agent, e.At, e.Stage)
	}
}

// AddEvents implements catalog.Events.
func (c *DB) AddEvents(ctx context.Context, evs ...catalog.Event) error {
	if len(evs) == 0 {
		return nil
	}
	return c.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queueEvents(b, evs)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("catalog: add events for %s: %w", evs[0].ItemID, err)
		}
		return nil
	})
}

// SetStageEvents implements catalog.Events.
func (c *DB) SetStageEvents(ctx context.Context, itemID string, stage catalog.Stage, evs []catalog.Event) error {
	return c.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM events WHERE item_id = $1 AND stage = $2`, itemID, stage)
		for i := range evs {
			evs[i].ItemID, evs[i].Stage = itemID, stage
		}
		queueEvents(b, evs)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("catalog: events of %s at %s: %w", itemID, stage, err)
		}
		return nil
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
	return query(ctx, c.pool, func(r scanner) (e catalog.Event, err error) {
		err = r.Scan(&e.ID, &e.ItemID, &e.BagID, &e.File, &e.Type, &e.Outcome, &e.Detail, &e.Agent, &e.At, &e.Stage)
		return e, err
	}, `SELECT id, item_id, bag_id, file, type, outcome, detail, agent, at, stage FROM events WHERE `+column+` = $1 ORDER BY id`, id)
}
