package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// CreateItem implements catalog.Items.
func (c *DB) CreateItem(ctx context.Context, it *catalog.Item) error {
	t := now()
	it.Created, it.Updated = t, t
	info, err := json.Marshal(it.Info)
	if err != nil {
		return err
	}
	ocr, err := json.Marshal(it.OCR)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(it.Meta)
	if err != nil {
		return err
	}
	_, err = c.pool.Exec(ctx, `INSERT INTO items (id, name, source, hot_folder, kind, release, stage, bag_id, info, ocr, meta, follows, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		it.ID, it.Name, it.Source, it.HotFolder, it.Kind, it.Release, it.Stage, it.BagID, info, ocr, meta, it.Follows, t)
	if err != nil {
		// The unique index on unfinished sources: the insert that lost
		// waited for the one that won, and sees it.
		if existing, e2 := c.ActiveBySource(ctx, it.Source); e2 == nil && existing != nil {
			return fmt.Errorf("%w: %s is item %s", catalog.ErrActive, it.Source, existing.ID)
		}
		return fmt.Errorf("catalog: create item %s: %w", it.Source, err)
	}
	return nil
}

const itemCols = `id, name, source, hot_folder, kind, release, stage, attempts, last_error, fail_stage, bag_id, info, ocr, meta, held, follows, created, updated, ready_at`

func scanItem(row scanner) (*catalog.Item, error) {
	var it catalog.Item
	var info, ocr, meta []byte
	var ready pgtype.Timestamptz
	if err := row.Scan(&it.ID, &it.Name, &it.Source, &it.HotFolder, &it.Kind, &it.Release, &it.Stage, &it.Attempts,
		&it.LastError, &it.FailStage, &it.BagID, &info, &ocr, &meta, &it.Held, &it.Follows, &it.Created, &it.Updated, &ready); err != nil {
		return nil, err
	}
	if ready.Valid {
		it.ReadyAt = ready.Time
	}
	if err := json.Unmarshal(meta, &it.Meta); err != nil {
		return nil, fmt.Errorf("catalog: item %s: meta: %w", it.ID, err)
	}
	if err := json.Unmarshal(info, &it.Info); err != nil {
		return nil, fmt.Errorf("catalog: item %s: info: %w", it.ID, err)
	}
	if err := json.Unmarshal(ocr, &it.OCR); err != nil {
		return nil, fmt.Errorf("catalog: item %s: ocr: %w", it.ID, err)
	}
	return &it, nil
}

// Item implements catalog.Items.
func (c *DB) Item(ctx context.Context, id string) (*catalog.Item, error) {
	it, err := scanItem(c.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM items WHERE id = $1`, id))
	return it, notFound(err, "item "+id)
}

// unfinished is the condition of an item that still needs work (the
// unique index on sources has the same).
const unfinished = `stage NOT IN ('done', 'failed')`

// ActiveBySource implements catalog.Items.
func (c *DB) ActiveBySource(ctx context.Context, source string) (*catalog.Item, error) {
	it, err := scanItem(c.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM items WHERE source = $1 AND `+unfinished, source))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return it, err
}

// NewerVersions implements catalog.Items.
func (c *DB) NewerVersions(ctx context.Context, bag string) ([]string, error) {
	out, err := queryStrings(ctx, c.pool, `SELECT bag_id FROM items WHERE source = $1 AND kind = $2 AND stage = $3 AND bag_id <> '' ORDER BY created DESC, id DESC`,
		catalog.ReprocessSource(bag), catalog.KindReprocess, catalog.StageDone)
	if err != nil {
		return nil, fmt.Errorf("catalog: newer versions of %s: %w", bag, err)
	}
	return out, nil
}

// Active implements catalog.Items.
func (c *DB) Active(ctx context.Context) ([]*catalog.Item, error) {
	return query(ctx, c.pool, scanItem, `SELECT `+itemCols+` FROM items WHERE `+unfinished+` ORDER BY created, id`)
}

// Items implements catalog.Items.
func (c *DB) Items(ctx context.Context, limit int) ([]*catalog.Item, error) {
	return query(ctx, c.pool, scanItem, `SELECT `+itemCols+` FROM items ORDER BY created DESC, id DESC LIMIT $1`, limit)
}

// ItemsAt implements catalog.Items.
func (c *DB) ItemsAt(ctx context.Context, stage catalog.Stage, limit int) ([]*catalog.Item, error) {
	return query(ctx, c.pool, scanItem, `SELECT `+itemCols+` FROM items WHERE stage = $1 ORDER BY created DESC, id DESC LIMIT $2`, stage, limit)
}

// SetMetadata implements catalog.Items.
func (c *DB) SetMetadata(ctx context.Context, itemID string, m catalog.Metadata) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tag, err := c.pool.Exec(ctx, `UPDATE items SET meta = $1 WHERE id = $2`, b, itemID)
	if err != nil {
		return fmt.Errorf("catalog: metadata of %s: %w", itemID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: item %s", catalog.ErrNotFound, itemID)
	}
	return nil
}

// UpdateItem implements catalog.Items. The WHERE is the compare: a second
// update of the same row waits for the first and is checked against what
// it wrote.
func (c *DB) UpdateItem(ctx context.Context, it *catalog.Item, from catalog.Stage, holder string) error {
	it.Updated = now()
	tag, err := c.pool.Exec(ctx, `UPDATE items SET stage = $1, attempts = $2, last_error = $3, fail_stage = $4, bag_id = $5, held = $6, updated = $7, ready_at = $11
		WHERE id = $8 AND stage = $9 AND lease_holder = $10`,
		it.Stage, it.Attempts, it.LastError, it.FailStage, it.BagID, it.Held, it.Updated, it.ID, from, holder, tz(it.ReadyAt))
	if err != nil {
		return fmt.Errorf("catalog: update item %s: %w", it.ID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: %s was to leave stage %s under lease %s", catalog.ErrStale, it.ID, from, holder)
	}
	return nil
}

// Lease implements catalog.Items.
func (c *DB) Lease(ctx context.Context, id, holder string, at, until time.Time) (bool, string, error) {
	tag, err := c.pool.Exec(ctx, `UPDATE items SET lease_holder = $1, lease_until = $2
		WHERE id = $3 AND (lease_holder = '' OR lease_holder = $1 OR lease_until < $4)`, holder, tz(until), id, tz(at))
	if err != nil {
		return false, "", fmt.Errorf("catalog: lease item %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return true, holder, nil
	}
	var current string
	err = c.pool.QueryRow(ctx, `SELECT lease_holder FROM items WHERE id = $1`, id).Scan(&current)
	return false, current, notFound(err, "item "+id)
}

// TakeLease implements catalog.Items.
func (c *DB) TakeLease(ctx context.Context, id, from, holder string, until time.Time) (bool, error) {
	tag, err := c.pool.Exec(ctx, `UPDATE items SET lease_holder = $1, lease_until = $2 WHERE id = $3 AND lease_holder = $4`, holder, tz(until), id, from)
	if err != nil {
		return false, fmt.Errorf("catalog: take lease on item %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Unlease implements catalog.Items.
func (c *DB) Unlease(ctx context.Context, id, holder string) error {
	if _, err := c.pool.Exec(ctx, `UPDATE items SET lease_holder = '', lease_until = NULL WHERE id = $1 AND lease_holder = $2`, id, holder); err != nil {
		return fmt.Errorf("catalog: end lease on item %s: %w", id, err)
	}
	return nil
}

// Claim implements catalog.Items: the row chosen is locked, and rows other
// claims have locked are skipped, so claims at once take different items
// without waiting for each other.
func (c *DB) Claim(ctx context.Context, stage catalog.Stage, holder string, at, until time.Time, gone []string) (*catalog.Item, string, error) {
	if gone == nil {
		gone = []string{}
	}
	var prev string
	row := c.pool.QueryRow(ctx, `WITH next AS (
			SELECT id, lease_holder FROM items WHERE stage = $1 AND (ready_at IS NULL OR ready_at <= $2)
				AND (lease_holder = '' OR lease_until < $2 OR lease_holder = ANY($3))
			ORDER BY ready_at NULLS FIRST, created, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE items i SET lease_holder = $4, lease_until = $5 FROM next WHERE i.id = next.id
		RETURNING next.lease_holder, `+prefixed("i.", itemCols), stage, tz(at), gone, holder, tz(until))
	it, err := scanItem(scanFunc(func(dest ...any) error { return row.Scan(append([]any{&prev}, dest...)...) }))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("catalog: claim an item at %s: %w", stage, err)
	}
	return it, prev, nil
}

// scanFunc is a scanner made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed puts p before each of a list of columns.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// LeaseHolders implements catalog.Items.
func (c *DB) LeaseHolders(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, c.pool, `SELECT DISTINCT lease_holder FROM items WHERE lease_holder <> '' ORDER BY lease_holder`)
}

// HeldAt implements catalog.Items.
func (c *DB) HeldAt(ctx context.Context, path string) (*catalog.Item, error) {
	it, err := scanItem(c.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM items i WHERE held = $1
		AND NOT EXISTS (SELECT 1 FROM items f WHERE f.follows = i.id) ORDER BY created DESC, id DESC LIMIT 1`, path))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return it, err
}

// PutFiles implements catalog.Items: the files go in one round trip.
func (c *DB) PutFiles(ctx context.Context, itemID string, files []catalog.File) error {
	return c.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM files WHERE item_id = $1`, itemID)
		for _, f := range files {
			b.Queue(`INSERT INTO files (item_id, path, source, size, sha256, sha512, puid, mime, format, format_version, basis, warning, action, mtime_ns, inode)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
				itemID, f.Path, f.Source, f.Size, f.SHA256, f.SHA512, f.PUID, f.MIME, f.Format, f.FormatVersion, f.Basis, f.Warning, f.Action, nanos(f.ModTime), f.Inode)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("catalog: put files of %s: %w", itemID, err)
		}
		return nil
	})
}

// Files implements catalog.Items.
func (c *DB) Files(ctx context.Context, itemID string) ([]catalog.File, error) {
	return query(ctx, c.pool, func(r scanner) (f catalog.File, err error) {
		var mtime pgtype.Int8
		err = r.Scan(&f.Path, &f.Source, &f.Size, &f.SHA256, &f.SHA512, &f.PUID, &f.MIME, &f.Format, &f.FormatVersion, &f.Basis, &f.Warning, &f.Action, &mtime, &f.Inode)
		if mtime.Valid {
			f.ModTime = time.Unix(0, mtime.Int64)
		}
		return f, err
	}, `SELECT path, source, size, sha256, sha512, puid, mime, format, format_version, basis, warning, action, mtime_ns, inode
		FROM files WHERE item_id = $1 ORDER BY path COLLATE "C"`, itemID)
}
