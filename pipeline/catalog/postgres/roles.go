package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// HoldRole implements catalog.Roles: one statement takes a free or lapsed
// role, or renews the holder's own; two processes taking it at once are
// ordered by the row's lock, and the second sees the first's lease.
func (c *DB) HoldRole(ctx context.Context, role, holder string, now, until time.Time) (bool, string, error) {
	var current string
	err := c.pool.QueryRow(ctx, `INSERT INTO roles (name, holder, until, since) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
			since = CASE WHEN roles.holder = excluded.holder THEN roles.since ELSE excluded.since END
		WHERE roles.holder = excluded.holder OR roles.until < excluded.since
		RETURNING holder`, role, holder, until, now).Scan(&current)
	switch {
	case err == nil:
		return true, holder, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return false, "", fmt.Errorf("catalog: hold role %s: %w", role, err)
	}
	err = c.pool.QueryRow(ctx, `SELECT holder FROM roles WHERE name = $1`, role).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) { // dropped since: free for the next try
		err = nil
	}
	return false, current, err
}

// DropRole implements catalog.Roles.
func (c *DB) DropRole(ctx context.Context, role, holder string) error {
	_, err := c.pool.Exec(ctx, `DELETE FROM roles WHERE name = $1 AND holder = $2`, role, holder)
	return err
}

// RoleLeases implements catalog.Roles.
func (c *DB) RoleLeases(ctx context.Context, now time.Time) ([]catalog.RoleLease, error) {
	return query(ctx, c.pool, func(r scanner) (l catalog.RoleLease, err error) {
		return l, r.Scan(&l.Role, &l.Holder, &l.Since, &l.Until)
	}, `SELECT name, holder, since, until FROM roles WHERE until >= $1 ORDER BY name COLLATE "C"`, now)
}
