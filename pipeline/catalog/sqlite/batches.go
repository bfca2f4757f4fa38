package sqlite

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
	now := time.Now()
	b.Created, b.Updated = now, now
	_, err = c.db.ExecContext(ctx, `INSERT INTO batches (id, station, state, manifest, metadata, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Station, b.State, string(files), string(meta), ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("catalog: create batch: %w", err)
	}
	return nil
}

func scanBatch(row scanner) (*catalog.Batch, error) {
	var b catalog.Batch
	var files, meta, created, updated string
	if err := row.Scan(&b.ID, &b.Station, &b.State, &files, &meta, &b.ItemID, &b.Reason, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(files), &b.Files); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(meta), &b.Metadata); err != nil {
		return nil, err
	}
	b.Created, b.Updated = parseTS(created), parseTS(updated)
	return &b, nil
}

const batchCols = `id, station, state, manifest, metadata, item_id, reason, created, updated`

// Batch implements catalog.Batches.
func (c *DB) Batch(ctx context.Context, id string) (*catalog.Batch, error) {
	b, err := scanBatch(c.db.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches WHERE id = ?`, id))
	return b, notFound(err, "batch "+id)
}

// UpdateBatch implements catalog.Batches.
func (c *DB) UpdateBatch(ctx context.Context, b *catalog.Batch) error {
	b.Updated = time.Now()
	_, err := c.db.ExecContext(ctx, `UPDATE batches SET state = ?, item_id = ?, reason = ?, updated = ? WHERE id = ?`, b.State, b.ItemID, b.Reason, ts(b.Updated), b.ID)
	return err
}

// ReceivingBatches implements catalog.Batches.
func (c *DB) ReceivingBatches(ctx context.Context, station string) ([]*catalog.Batch, error) {
	return query(ctx, c.db, scanBatch, `SELECT `+batchCols+` FROM batches WHERE station = ? AND state = ? ORDER BY created, id`, station, catalog.BatchReceiving)
}

// StaleBatches implements catalog.Batches.
func (c *DB) StaleBatches(ctx context.Context, cutoff time.Time) ([]*catalog.Batch, error) {
	return query(ctx, c.db, scanBatch, `SELECT `+batchCols+` FROM batches WHERE state = ? AND updated < ?`, catalog.BatchReceiving, ts(cutoff))
}
