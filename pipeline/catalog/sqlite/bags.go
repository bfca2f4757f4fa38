package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// PutBag implements catalog.Bags.
func (c *DB) PutBag(ctx context.Context, b catalog.Bag) error {
	_, err := c.db.ExecContext(ctx, `INSERT INTO bags (id, item_id, store, oxum, bytes, stored_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET store = excluded.store, oxum = excluded.oxum, bytes = excluded.bytes, stored_at = excluded.stored_at`,
		b.ID, b.ItemID, b.Store, b.Oxum, b.Bytes, ts(b.StoredAt))
	if err != nil {
		return fmt.Errorf("catalog: put bag %s: %w", b.ID, err)
	}
	return nil
}

func (c *DB) queryBags(ctx context.Context, rest string, args ...any) ([]catalog.Bag, error) {
	return query(ctx, c.db, func(r scanner) (b catalog.Bag, err error) {
		var at, disposed string
		err = r.Scan(&b.ID, &b.ItemID, &b.Store, &b.Oxum, &b.Bytes, &at, &disposed)
		b.StoredAt, b.Disposed = parseTS(at), parseTS(disposed)
		return b, err
	}, `SELECT id, item_id, store, oxum, bytes, stored_at, disposed FROM bags `+rest, args...)
}

// Bag implements catalog.Bags.
func (c *DB) Bag(ctx context.Context, id string) (*catalog.Bag, error) {
	bags, err := c.queryBags(ctx, `WHERE id = ?`, id)
	if err == nil && len(bags) == 0 {
		err = fmt.Errorf("%w: bag %s", catalog.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return &bags[0], nil
}

// Bags implements catalog.Bags.
func (c *DB) Bags(ctx context.Context, limit int) ([]catalog.Bag, error) {
	return c.queryBags(ctx, `WHERE disposed = '' ORDER BY stored_at DESC LIMIT ?`, limit)
}

// FindBags implements catalog.Bags.
func (c *DB) FindBags(ctx context.Context, q catalog.BagQuery) ([]catalog.BagRow, int, error) {
	where, args := []string{"1"}, []any{}
	if !q.Disposed {
		where = append(where, "b.disposed = ''")
	}
	meta := func(field, v string) {
		if v != "" {
			where = append(where, `json_extract(i.meta, '$.`+field+`') = ?`)
			args = append(args, v)
		}
	}
	meta("collection", q.Collection)
	meta("station", q.Station)
	if q.Year != 0 {
		where = append(where, `substr(json_extract(i.meta, '$.date'), 1, 4) = ?`)
		args = append(args, fmt.Sprintf("%04d", q.Year))
	}
	if q.Format != "" {
		where = append(where, `EXISTS (SELECT 1 FROM files f WHERE f.item_id = b.item_id AND f.mime = ?)`)
		args = append(args, q.Format)
	}
	if q.HasAlerts != nil {
		not := "NOT "
		if *q.HasAlerts {
			not = ""
		}
		where = append(where, not+`EXISTS (SELECT 1 FROM alerts a WHERE a.bag_id = b.id AND a.state IN (?, ?))`)
		args = append(args, catalog.AlertOpen, catalog.AlertAcknowledged)
	}
	if q.Access != nil {
		in := strings.TrimSuffix(strings.Repeat("?, ", len(q.Access)), ", ")
		if in == "" {
			return nil, 0, nil
		}
		where = append(where, `coalesce(json_extract(i.meta, '$.access'), '') IN (`+in+`)`)
		for _, a := range q.Access {
			args = append(args, a)
		}
	}
	from := ` FROM bags b JOIN items i ON i.id = b.item_id WHERE ` + strings.Join(where, " AND ")
	var total int
	if err := c.db.QueryRowContext(ctx, `SELECT count(*)`+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: find bags: %w", err)
	}
	order := `b.stored_at DESC`
	switch q.Sort {
	case catalog.SortTitle:
		order = `lower(coalesce(json_extract(i.meta, '$.title'), i.name)), b.stored_at DESC`
	case catalog.SortDate:
		order = `coalesce(json_extract(i.meta, '$.date'), '9999'), b.stored_at DESC`
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	rows, err := query(ctx, c.db, func(r scanner) (row catalog.BagRow, err error) {
		var at, meta string
		var disposed string
		if err = r.Scan(&row.ID, &row.ItemID, &row.Store, &row.Oxum, &row.Bytes, &at, &disposed, &row.Name, &meta, &row.Alerts); err != nil {
			return row, err
		}
		row.StoredAt, row.Disposed = parseTS(at), parseTS(disposed)
		return row, json.Unmarshal([]byte(meta), &row.Meta)
	}, `SELECT b.id, b.item_id, b.store, b.oxum, b.bytes, b.stored_at, b.disposed, i.name, i.meta,
		(SELECT count(*) FROM alerts a WHERE a.bag_id = b.id AND a.state IN (?, ?))`+from+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(append([]any{catalog.AlertOpen, catalog.AlertAcknowledged}, args...), q.Limit, max(q.Offset, 0))...)
	return rows, total, err
}

// PutObjects implements catalog.Bags.
func (c *DB) PutObjects(ctx context.Context, bagID string, objs []catalog.Object, checked time.Time) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM objects WHERE bag_id = ?`, bagID); err != nil {
			return fmt.Errorf("catalog: objects of %s: %w", bagID, err)
		}
		for _, o := range objs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO objects (bag_id, key, size, sha256, sha512, last_checked, last_outcome) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				bagID, o.Key, o.Size, o.SHA256, o.SHA512, ts(checked), catalog.ObjectIntact); err != nil {
				return fmt.Errorf("catalog: object %s of %s: %w", o.Key, bagID, err)
			}
		}
		return nil
	})
}

const objectCols = `bag_id, key, size, sha256, sha512, last_checked, last_outcome`

// Objects implements catalog.Bags.
func (c *DB) Objects(ctx context.Context, bagID string) ([]catalog.Object, error) {
	return query(ctx, c.db, scanObject, `SELECT `+objectCols+` FROM objects WHERE bag_id = ? ORDER BY key`, bagID)
}

func scanObject(r scanner) (o catalog.Object, err error) {
	var checked string
	err = r.Scan(&o.BagID, &o.Key, &o.Size, &o.SHA256, &o.SHA512, &checked, &o.LastOutcome)
	o.LastChecked = parseTS(checked)
	return o, err
}

// ObjectsBySHA256 implements catalog.Bags.
func (c *DB) ObjectsBySHA256(ctx context.Context, sha256 string) ([]catalog.Object, error) {
	return query(ctx, c.db, scanObject, `SELECT `+objectCols+` FROM objects WHERE sha256 = ? ORDER BY bag_id, key`, strings.ToLower(sha256))
}

// BagIDs implements catalog.Bags.
func (c *DB) BagIDs(ctx context.Context) ([]string, error) {
	return c.queryStrings(ctx, `SELECT DISTINCT bag_id FROM objects ORDER BY bag_id`)
}

// DueBags implements catalog.Audits.
func (c *DB) DueBags(ctx context.Context, n int) ([]string, error) {
	return c.queryStrings(ctx, `SELECT bag_id FROM (SELECT bag_id, last_checked FROM objects ORDER BY last_checked, bag_id LIMIT ?)
		GROUP BY bag_id ORDER BY MIN(last_checked), bag_id`, n)
}

// OverdueBags implements catalog.Audits.
func (c *DB) OverdueBags(ctx context.Context, cutoff time.Time) ([]string, error) {
	return c.queryStrings(ctx, `SELECT DISTINCT bag_id FROM objects WHERE last_checked = '' OR last_checked < ? ORDER BY bag_id`, ts(cutoff))
}

// MarkChecked implements catalog.Audits.
func (c *DB) MarkChecked(ctx context.Context, bagID, key, outcome string, at time.Time) error {
	_, err := c.db.ExecContext(ctx, `UPDATE objects SET last_checked = ?, last_outcome = ? WHERE bag_id = ? AND key = ?`, ts(at), outcome, bagID, key)
	return err
}

// AuditStatus implements catalog.Audits.
func (c *DB) AuditStatus(ctx context.Context, cutoff time.Time) (catalog.AuditStatus, error) {
	var s catalog.AuditStatus
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0),
		COALESCE(SUM(CASE WHEN last_checked >= ? AND last_checked != '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN last_checked = '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN last_outcome NOT IN ('', ?) THEN 1 ELSE 0 END), 0),
		COUNT(DISTINCT bag_id) FROM objects`, ts(cutoff), catalog.ObjectIntact).Scan(&s.Objects, &s.Bytes, &s.CheckedSince, &s.NeverChecked, &s.LastFailed, &s.Bags)
	if err != nil {
		return s, fmt.Errorf("catalog: audit status: %w", err)
	}
	var started, finished string
	err = c.db.QueryRowContext(ctx, `SELECT started, finished FROM audit_runs ORDER BY id DESC LIMIT 1`).Scan(&started, &finished)
	if err == nil {
		s.LastRunStarted, s.LastRunDone = parseTS(started), parseTS(finished)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return s, err
	}
	return s, nil
}

// StartRun implements catalog.Audits.
func (c *DB) StartRun(ctx context.Context, scope string, at time.Time) (int64, error) {
	res, err := c.db.ExecContext(ctx, `INSERT INTO audit_runs (started, scope) VALUES (?, ?)`, ts(at), scope)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// FinishRun implements catalog.Audits.
func (c *DB) FinishRun(ctx context.Context, r catalog.AuditRun) error {
	_, err := c.db.ExecContext(ctx, `UPDATE audit_runs SET finished = ?, bags = ?, objects = ?, bytes = ?, problems = ?, errors = ? WHERE id = ?`,
		ts(r.Finished), r.Bags, r.Objects, r.Bytes, r.Problems, r.Errors, r.ID)
	return err
}
