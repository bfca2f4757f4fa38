package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// PutBag implements catalog.Bags.
func (c *DB) PutBag(ctx context.Context, b catalog.Bag) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO bags (id, item_id, store, oxum, bytes, stored_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET store = excluded.store, oxum = excluded.oxum, bytes = excluded.bytes, stored_at = excluded.stored_at`,
		b.ID, b.ItemID, b.Store, b.Oxum, b.Bytes, tz(b.StoredAt))
	if err != nil {
		return fmt.Errorf("catalog: put bag %s: %w", b.ID, err)
	}
	return nil
}

const bagCols = `b.id, b.item_id, b.store, b.oxum, b.bytes, b.stored_at, b.disposed`

func scanBag(r scanner, b *catalog.Bag, more ...any) error {
	var at, disposed pgtype.Timestamptz
	err := r.Scan(append([]any{&b.ID, &b.ItemID, &b.Store, &b.Oxum, &b.Bytes, &at, &disposed}, more...)...)
	b.StoredAt, b.Disposed = at.Time, disposed.Time
	return err
}

func (c *DB) queryBags(ctx context.Context, rest string, args ...any) ([]catalog.Bag, error) {
	return query(ctx, c.pool, func(r scanner) (b catalog.Bag, err error) { return b, scanBag(r, &b) },
		`SELECT `+bagCols+` FROM bags b `+rest, args...)
}

// Bag implements catalog.Bags.
func (c *DB) Bag(ctx context.Context, id string) (*catalog.Bag, error) {
	bags, err := c.queryBags(ctx, `WHERE id = $1`, id)
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
	return c.queryBags(ctx, `WHERE disposed IS NULL ORDER BY stored_at DESC NULLS LAST, id DESC LIMIT $1`, limit)
}

// FindBags implements catalog.Bags.
func (c *DB) FindBags(ctx context.Context, q catalog.BagQuery) ([]catalog.BagRow, int, error) {
	if q.Access != nil && len(q.Access) == 0 {
		return nil, 0, nil
	}
	var a args
	where := []string{"true"}
	if !q.Disposed {
		where = append(where, "b.disposed IS NULL")
	}
	meta := func(field, v string) {
		if v != "" {
			where = append(where, `i.meta->>'`+field+`' = `+a.add(v))
		}
	}
	meta("collection", q.Collection)
	meta("station", q.Station)
	if q.Year != 0 {
		where = append(where, `substr(i.meta->>'date', 1, 4) = `+a.add(fmt.Sprintf("%04d", q.Year)))
	}
	if q.Format != "" {
		where = append(where, `EXISTS (SELECT 1 FROM files f WHERE f.item_id = b.item_id AND f.mime = `+a.add(q.Format)+`)`)
	}
	if q.HasAlerts != nil {
		not := "NOT "
		if *q.HasAlerts {
			not = ""
		}
		where = append(where, not+`EXISTS (SELECT 1 FROM alerts a WHERE a.bag_id = b.id AND a.state IN ('open', 'acknowledged'))`)
	}
	if q.Access != nil {
		levels := make([]string, len(q.Access))
		for i, l := range q.Access {
			levels[i] = string(l)
		}
		where = append(where, `coalesce(i.meta->>'access', '') = ANY(`+a.add(levels)+`)`)
	}
	from := ` FROM bags b JOIN items i ON i.id = b.item_id WHERE ` + strings.Join(where, " AND ")
	var total int
	if err := c.pool.QueryRow(ctx, `SELECT count(*)`+from, a...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: find bags: %w", err)
	}
	order := `b.stored_at DESC NULLS LAST, b.id DESC`
	switch q.Sort {
	case catalog.SortTitle:
		order = `lower(coalesce(i.meta->>'title', i.name)) COLLATE "C", ` + order
	case catalog.SortDate:
		order = `coalesce(i.meta->>'date', '9999') COLLATE "C", ` + order
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	limit, offset := a.add(q.Limit), a.add(max(q.Offset, 0))
	rows, err := query(ctx, c.pool, func(r scanner) (row catalog.BagRow, err error) {
		var meta []byte
		if err = scanBag(r, &row.Bag, &row.Name, &meta, &row.Alerts); err != nil {
			return row, err
		}
		return row, json.Unmarshal(meta, &row.Meta)
	}, `SELECT `+bagCols+`, i.name, i.meta,
		(SELECT count(*) FROM alerts a WHERE a.bag_id = b.id AND a.state IN ('open', 'acknowledged'))`+from+` ORDER BY `+order+` LIMIT `+limit+` OFFSET `+offset, a...)
	return rows, total, err
}

// PutObjects implements catalog.Bags.
func (c *DB) PutObjects(ctx context.Context, bagID string, objs []catalog.Object, checked time.Time) error {
	return c.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM objects WHERE bag_id = $1`, bagID)
		for _, o := range objs {
			b.Queue(`INSERT INTO objects (bag_id, key, size, sha256, sha512, last_checked, last_outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				bagID, o.Key, o.Size, o.SHA256, o.SHA512, tz(checked), catalog.ObjectIntact)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("catalog: objects of %s: %w", bagID, err)
		}
		return nil
	})
}

const objectCols = `bag_id, key, size, sha256, sha512, last_checked, last_outcome`

func scanObject(r scanner) (o catalog.Object, err error) {
	var checked pgtype.Timestamptz
	err = r.Scan(&o.BagID, &o.Key, &o.Size, &o.SHA256, &o.SHA512, &checked, &o.LastOutcome)
	o.LastChecked = checked.Time
	return o, err
}

// Objects implements catalog.Bags.
func (c *DB) Objects(ctx context.Context, bagID string) ([]catalog.Object, error) {
	return query(ctx, c.pool, scanObject, `SELECT `+objectCols+` FROM objects WHERE bag_id = $1 ORDER BY key COLLATE "C"`, bagID)
}

// ObjectsBySHA256 implements catalog.Bags.
func (c *DB) ObjectsBySHA256(ctx context.Context, sha256 string) ([]catalog.Object, error) {
	return query(ctx, c.pool, scanObject, `SELECT `+objectCols+` FROM objects WHERE sha256 = $1 ORDER BY bag_id COLLATE "C", key COLLATE "C"`, strings.ToLower(sha256))
}

// BagIDs implements catalog.Bags.
func (c *DB) BagIDs(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, c.pool, `SELECT DISTINCT bag_id COLLATE "C" FROM objects ORDER BY 1`)
}

// DueBags implements catalog.Audits.
func (c *DB) DueBags(ctx context.Context, n int) ([]string, error) {
	return queryStrings(ctx, c.pool, `SELECT bag_id FROM
		(SELECT bag_id, last_checked FROM objects ORDER BY last_checked NULLS FIRST, bag_id LIMIT $1) o
		GROUP BY bag_id ORDER BY bool_or(last_checked IS NULL) DESC, min(last_checked), bag_id COLLATE "C"`, n)
}

// OverdueBags implements catalog.Audits.
func (c *DB) OverdueBags(ctx context.Context, cutoff time.Time) ([]string, error) {
	return queryStrings(ctx, c.pool, `SELECT DISTINCT bag_id COLLATE "C" FROM objects WHERE last_checked IS NULL OR last_checked < $1 ORDER BY 1`, cutoff)
}

// MarkChecked implements catalog.Audits.
func (c *DB) MarkChecked(ctx context.Context, bagID, key, outcome string, at time.Time) error {
	_, err := c.pool.Exec(ctx, `UPDATE objects SET last_checked = $1, last_outcome = $2 WHERE bag_id = $3 AND key = $4`, tz(at), outcome, bagID, key)
	return err
}

// AuditStatus implements catalog.Audits.
func (c *DB) AuditStatus(ctx context.Context, cutoff time.Time) (catalog.AuditStatus, error) {
	var s catalog.AuditStatus
	err := c.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0)::bigint,
		count(*) FILTER (WHERE last_checked >= $1),
		count(*) FILTER (WHERE last_checked IS NULL),
		count(*) FILTER (WHERE last_outcome NOT IN ('', $2)),
		count(DISTINCT bag_id) FROM objects`, cutoff, catalog.ObjectIntact).Scan(&s.Objects, &s.Bytes, &s.CheckedSince, &s.NeverChecked, &s.LastFailed, &s.Bags)
	if err != nil {
		return s, fmt.Errorf("catalog: audit status: %w", err)
	}
	var started, finished pgtype.Timestamptz
	err = c.pool.QueryRow(ctx, `SELECT started, finished FROM audit_runs ORDER BY id DESC LIMIT 1`).Scan(&started, &finished)
	if err == nil {
		s.LastRunStarted, s.LastRunDone = started.Time, finished.Time
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return s, err
	}
	return s, nil
}

// StartRun implements catalog.Audits.
func (c *DB) StartRun(ctx context.Context, scope string, at time.Time) (int64, error) {
	var id int64
	err := c.pool.QueryRow(ctx, `INSERT INTO audit_runs (started, scope) VALUES ($1, $2) RETURNING id`, at, scope).Scan(&id)
	return id, err
}

// FinishRun implements catalog.Audits.
func (c *DB) FinishRun(ctx context.Context, r catalog.AuditRun) error {
	_, err := c.pool.Exec(ctx, `UPDATE audit_runs SET finished = $1, bags = $2, objects = $3, bytes = $4, problems = $5, errors = $6 WHERE id = $7`,
		tz(r.Finished), r.Bags, r.Objects, r.Bytes, r.Problems, r.Errors, r.ID)
	return err
}
