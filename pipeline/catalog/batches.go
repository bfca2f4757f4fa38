package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const batchSchema = `
CREATE TABLE IF NOT EXISTS batches (
	id TEXT PRIMARY KEY, station TEXT NOT NULL, state TEXT NOT NULL, manifest TEXT NOT NULL, metadata TEXT NOT NULL,
	item_id TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS batches_station ON batches(station, state);
`

// Batch states (a batch's later states come from its item).
const (
	BatchReceiving = "receiving"
	BatchClosed    = "closed" // handed to the pipeline as an item
	BatchExpired   = "expired"
)

// BatchFile is one file a station announced.
type BatchFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Batch is a push from a scanner station.
type Batch struct {
	ID       string
	Station  string
	State    string
	Files    []BatchFile
	Metadata []InfoField
	ItemID   string
	Reason   string
	Created  time.Time
	Updated  time.Time
}

// CreateBatch records a new batch.
func (c *DB) CreateBatch(ctx context.Context, b *Batch) error {
	files, _ := json.Marshal(b.Files)
	meta, _ := json.Marshal(b.Metadata)
	now := time.Now()
	b.Created, b.Updated = now, now
	_, err := c.db.ExecContext(ctx, `INSERT INTO batches (id, station, state, manifest, metadata, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Station, b.State, string(files), string(meta), ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("catalog: create batch: %w", err)
	}
	return nil
}

func scanBatch(row interface{ Scan(...any) error }) (*Batch, error) {
	var b Batch
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

// Batch returns a batch.
func (c *DB) Batch(ctx context.Context, id string) (*Batch, error) {
	b, err := scanBatch(c.db.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: batch %s", ErrNotFound, id)
	}
	return b, err
}

// UpdateBatch saves a batch's state, item and reason.
func (c *DB) UpdateBatch(ctx context.Context, b *Batch) error {
	b.Updated = time.Now()
	_, err := c.db.ExecContext(ctx, `UPDATE batches SET state = ?, item_id = ?, reason = ?, updated = ? WHERE id = ?`, b.State, b.ItemID, b.Reason, ts(b.Updated), b.ID)
	return err
}

// OpenBatches counts a station's batches still receiving.
func (c *DB) OpenBatches(ctx context.Context, station string) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM batches WHERE station = ? AND state = 'receiving'`, station).Scan(&n)
	return n, err
}

// StaleBatches returns batches still receiving that were last touched
// before cutoff: abandoned, to be expired.
func (c *DB) StaleBatches(ctx context.Context, cutoff time.Time) ([]*Batch, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT `+batchCols+` FROM batches WHERE state = 'receiving' AND updated < ?`, ts(cutoff))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
