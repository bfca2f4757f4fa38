package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// HoldRole implements catalog.Roles: one statement takes a free or lapsed
// role, or renews the holder's own.
func (c *DB) HoldRole(ctx context.Context, role, holder string, now, until time.Time) (bool, string, error) {
	res, err := c.db.ExecContext(ctx, `INSERT INTO roles (name, holder, until, since) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
			since = CASE WHEN roles.holder = excluded.holder THEN roles.since ELSE excluded.since END
		WHERE roles.holder = excluded.holder OR roles.until < excluded.since`, role, holder, ts(until), ts(now))
	if err != nil {
		return false, "", fmt.Errorf("catalog: hold role %s: %w", role, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, holder, nil
	}
	var current string
	err = c.db.QueryRowContext(ctx, `SELECT holder FROM roles WHERE name = ?`, role).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) { // dropped since: free for the next try
		err = nil
	}
	return false, current, err
}

// DropRole implements catalog.Roles.
func (c *DB) DropRole(ctx context.Context, role, holder string) error {
	_, err := c.db.ExecContext(ctx, `DELETE FROM roles WHERE name = ? AND holder = ?`, role, holder)
	return err
}

// RoleLeases implements catalog.Roles.
func (c *DB) RoleLeases(ctx context.Context, now time.Time) ([]catalog.RoleLease, error) {
	return query(ctx, c.db, func(r scanner) (l catalog.RoleLease, err error) {
		var since, until string
		err = r.Scan(&l.Role, &l.Holder, &since, &until)
		l.Since, l.Until = parseTS(since), parseTS(until)
		return l, err
	}, `SELECT name, holder, since, until FROM roles WHERE until >= ? ORDER BY name`, ts(now))
}
