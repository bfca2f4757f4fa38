package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// CreateBatch implements catalog.Batches.
func (c *DB) CreateBatch(ctx context.Context, b *catalog.Batch) error {
	files, err := json.Marshal(b.Files)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(b.Metadata)
	if err != nil {
		return err
	}
	t := now()
	b.Created, b.Updated = t, t
	_, err = c.pool.Exec(ctx, `INSERT INTO batches (id, station, state, manifest, metadata, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
		b.ID, b.Station, b.State, files, meta, t)
	if err != nil {
		return fmt.Errorf("catalog: create batch: %w", err)
	}
	return nil
}

func scanBatch(row scanner) (*catalog.Batch, error) {
	var b catalog.Batch
	var files, meta []byte
	if err := row.Scan(&b.ID, &b.Station, &b.State, &files, &meta, &b.ItemID, &b.Reason, &b.Created, &b.Updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(files, &b.Files); err != nil {
		return nil, err
	}
	return &b, json.Unmarshal(meta, &b.Metadata)
}

const batchCols = `id, station, state, manifest, metadata, item_id, reason, created, updated`

// Batch implements catalog.Batches.
func (c *DB) Batch(ctx context.Context, id string) (*catalog.Batch, error) {
	b, err := scanBatch(c.pool.QueryRow(ctx, `SELECT `+batchCols+` FROM batches WHERE id = $1`, id))
	return b, notFound(err, "batch "+id)
}

// UpdateBatch implements catalog.Batches.
func (c *DB) UpdateBatch(ctx context.Context, b *catalog.Batch) error {
	b.Updated = now()
	_, err := c.pool.Exec(ctx, `UPDATE batches SET state = $1, item_id = $2, reason = $3, updated = $4 WHERE id = $5`, b.State, b.ItemID, b.Reason, b.Updated, b.ID)
	return err
}

// ReceivingBatches implements catalog.Batches.
func (c *DB) ReceivingBatches(ctx context.Context, station string) ([]*catalog.Batch, error) {
	return query(ctx, c.pool, scanBatch, `SELECT `+batchCols+` FROM batches WHERE station = $1 AND state = $2 ORDER BY created, id`, station, catalog.BatchReceiving)
}

// StaleBatches implements catalog.Batches.
func (c *DB) StaleBatches(ctx context.Context, cutoff time.Time) ([]*catalog.Batch, error) {
	return query(ctx, c.pool, scanBatch, `SELECT `+batchCols+` FROM batches WHERE state = $1 AND updated < $2`, catalog.BatchReceiving, cutoff)
}
