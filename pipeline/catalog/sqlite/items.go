package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// CreateItem implements catalog.Items.
func (c *DB) CreateItem(ctx context.Context, it *catalog.Item) error {
	now := time.Now()
	it.Created, it.Updated = now, now
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
	_, err = c.db.ExecContext(ctx, `INSERT INTO items (id, name, source, hot_folder, kind, release, stage, attempts, last_error, fail_stage, bag_id, info, ocr, meta, follows, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', '', ?, ?, ?, ?, ?, ?, ?)`,
		it.ID, it.Name, it.Source, it.HotFolder, it.Kind, it.Release, it.Stage, it.BagID, string(info), string(ocr), string(meta), it.Follows, ts(now), ts(now))
	if err != nil {
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
	var created, updated, ready, info, ocr, meta string
	if err := row.Scan(&it.ID, &it.Name, &it.Source, &it.HotFolder, &it.Kind, &it.Release, &it.Stage, &it.Attempts,
		&it.LastError, &it.FailStage, &it.BagID, &info, &ocr, &meta, &it.Held, &it.Follows, &created, &updated, &ready); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(meta), &it.Meta); err != nil {
		return nil, fmt.Errorf("catalog: item %s: meta: %w", it.ID, err)
	}
	if err := json.Unmarshal([]byte(info), &it.Info); err != nil {
		return nil, fmt.Errorf("catalog: item %s: info: %w", it.ID, err)
	}
	if err := json.Unmarshal([]byte(ocr), &it.OCR); err != nil {
		return nil, fmt.Errorf("catalog: item %s: ocr: %w", it.ID, err)
	}
	it.Created, it.Updated, it.ReadyAt = parseTS(created), parseTS(updated), parseTS(ready)
	return &it, nil
}

// Item implements catalog.Items.
func (c *DB) Item(ctx context.Context, id string) (*catalog.Item, error) {
	it, err := scanItem(c.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE id = ?`, id))
	return it, notFound(err, "item "+id)
}

// unfinished is the condition of an item that still needs work.
const unfinished = `stage NOT IN (?, ?)`

var finals = []any{catalog.StageDone, catalog.StageFailed}

// ActiveBySource implements catalog.Items.
func (c *DB) ActiveBySource(ctx context.Context, source string) (*catalog.Item, error) {
	it, err := scanItem(c.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE source = ? AND `+unfinished, append([]any{source}, finals...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return it, err
}

// NewerVersions implements catalog.Items.
func (c *DB) NewerVersions(ctx context.Context, bag string) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT bag_id FROM items WHERE source = ? AND kind = ? AND stage = ? AND bag_id != '' ORDER BY created DESC, id DESC`,
		catalog.ReprocessSource(bag), catalog.KindReprocess, catalog.StageDone)
	if err != nil {
		return nil, fmt.Errorf("catalog: newer versions of %s: %w", bag, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Active implements catalog.Items.
func (c *DB) Active(ctx context.Context) ([]*catalog.Item, error) {
	return c.queryItems(ctx, `SELECT `+itemCols+` FROM items WHERE `+unfinished+` ORDER BY created`, finals...)
}

// Items implements catalog.Items.
func (c *DB) Items(ctx context.Context, limit int) ([]*catalog.Item, error) {
	return c.queryItems(ctx, `SELECT `+itemCols+` FROM items ORDER BY created DESC LIMIT ?`, limit)
}

// ItemsAt implements catalog.Items.
func (c *DB) ItemsAt(ctx context.Context, stage catalog.Stage, limit int) ([]*catalog.Item, error) {
	return c.queryItems(ctx, `SELECT `+itemCols+` FROM items WHERE stage = ? ORDER BY created DESC LIMIT ?`, stage, limit)
}

// SetMetadata implements catalog.Items.
func (c *DB) SetMetadata(ctx context.Context, itemID string, m catalog.Metadata) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	res, err := c.db.ExecContext(ctx, `UPDATE items SET meta = ? WHERE id = ?`, string(b), itemID)
	if err != nil {
		return fmt.Errorf("catalog: metadata of %s: %w", itemID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: item %s", catalog.ErrNotFound, itemID)
	}
	return nil
}

func (c *DB) queryItems(ctx context.Context, q string, args ...any) ([]*catalog.Item, error) {
	return query(ctx, c.db, scanItem, q, args...)
}

// UpdateItem implements catalog.Items.
func (c *DB) UpdateItem(ctx context.Context, it *catalog.Item, from catalog.Stage, holder string) error {
	it.Updated = time.Now()
	res, err := c.db.ExecContext(ctx, `UPDATE items SET stage = ?, attempts = ?, last_error = ?, fail_stage = ?, bag_id = ?, held = ?, updated = ?, ready_at = ?
		WHERE id = ? AND stage = ? AND lease_holder = ?`,
		it.Stage, it.Attempts, it.LastError, it.FailStage, it.BagID, it.Held, ts(it.Updated), ts(it.ReadyAt), it.ID, from, holder)
	if err != nil {
		return fmt.Errorf("catalog: update item %s: %w", it.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: %s was to leave stage %s under lease %s", catalog.ErrStale, it.ID, from, holder)
	}
	return nil
}

// Lease implements catalog.Items.
func (c *DB) Lease(ctx context.Context, id, holder string, now, until time.Time) (bool, string, error) {
	res, err := c.db.ExecContext(ctx, `UPDATE items SET lease_holder = ?, lease_until = ?
		WHERE id = ? AND (lease_holder = '' OR lease_holder = ? OR lease_until < ?)`, holder, ts(until), id, holder, ts(now))
	if err != nil {
		return false, "", fmt.Errorf("catalog: lease item %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, holder, nil
	}
	var current string
	err = c.db.QueryRowContext(ctx, `SELECT lease_holder FROM items WHERE id = ?`, id).Scan(&current)
	return false, current, notFound(err, "item "+id)
}

// TakeLease implements catalog.Items.
func (c *DB) TakeLease(ctx context.Context, id, from, holder string, until time.Time) (bool, error) {
	res, err := c.db.ExecContext(ctx, `UPDATE items SET lease_holder = ?, lease_until = ? WHERE id = ? AND lease_holder = ?`, holder, ts(until), id, from)
	if err != nil {
		return false, fmt.Errorf("catalog: take lease on item %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Unlease implements catalog.Items.
func (c *DB) Unlease(ctx context.Context, id, holder string) error {
	if _, err := c.db.ExecContext(ctx, `UPDATE items SET lease_holder = '', lease_until = '' WHERE id = ? AND lease_holder = ?`, id, holder); err != nil {
		return fmt.Errorf("catalog: end lease on item %s: %w", id, err)
	}
	return nil
}

// Claim implements catalog.Items: the transaction takes SQLite's write
// lock when it begins (_txlock=immediate), so no other claim runs between
// the choice and the lease.
func (c *DB) Claim(ctx context.Context, stage catalog.Stage, holder string, now, until time.Time, gone []string) (*catalog.Item, string, error) {
	var it *catalog.Item
	var prev string
	err := c.tx(ctx, func(tx *sql.Tx) error {
		args := []any{stage, ts(now), ts(now)}
		for _, g := range gone {
			args = append(args, g)
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id, lease_holder FROM items WHERE stage = ? AND ready_at <= ?
			AND (lease_holder = '' OR lease_until < ? OR lease_holder IN (`+placeholders(len(gone))+`))
			ORDER BY ready_at, created, id LIMIT 1`, args...).Scan(&id, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE items SET lease_holder = ?, lease_until = ? WHERE id = ?`, holder, ts(until), id); err != nil {
			return err
		}
		it, err = scanItem(tx.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("catalog: claim an item at %s: %w", stage, err)
	}
	return it, prev, nil
}

// LeaseHolders implements catalog.Items.
func (c *DB) LeaseHolders(ctx context.Context) ([]string, error) {
	return query(ctx, c.db, func(r scanner) (h string, err error) { return h, r.Scan(&h) },
		`SELECT DISTINCT lease_holder FROM items WHERE lease_holder != '' ORDER BY lease_holder`)
}

// HeldAt implements catalog.Items.
func (c *DB) HeldAt(ctx context.Context, path string) (*catalog.Item, error) {
	it, err := scanItem(c.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items i WHERE held = ?
		AND NOT EXISTS (SELECT 1 FROM items f WHERE f.follows = i.id) ORDER BY created DESC LIMIT 1`, path))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return it, err
}

// PutFiles implements catalog.Items.
func (c *DB) PutFiles(ctx context.Context, itemID string, files []catalog.File) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE item_id = ?`, itemID); err != nil {
			return fmt.Errorf("catalog: put files of %s: %w", itemID, err)
		}
		for _, f := range files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO files (item_id, path, source, size, sha256, sha512, puid, mime, format, format_version, basis, warning, action, mtime, inode)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				itemID, f.Path, f.Source, f.Size, f.SHA256, f.SHA512, f.PUID, f.MIME, f.Format, f.FormatVersion, f.Basis, f.Warning, f.Action, ts(f.ModTime), f.Inode); err != nil {
				return fmt.Errorf("catalog: put file %s of %s: %w", f.Path, itemID, err)
			}
		}
		return nil
	})
}

// Files implements catalog.Items.
func (c *DB) Files(ctx context.Context, itemID string) ([]catalog.File, error) {
	return query(ctx, c.db, func(r scanner) (f catalog.File, err error) {
		var mtime string
		err = r.Scan(&f.Path, &f.Source, &f.Size, &f.SHA256, &f.SHA512, &f.PUID, &f.MIME, &f.Format, &f.FormatVersion, &f.Basis, &f.Warning, &f.Action, &mtime, &f.Inode)
		f.ModTime = parseTS(mtime)
		return f, err
	}, `SELECT path, source, size, sha256, sha512, puid, mime, format, format_version, basis, warning, action, mtime, inode
		FROM files WHERE item_id = ? ORDER BY path`, itemID)
}
