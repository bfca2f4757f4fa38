package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// PutSession implements catalog.Sessions.
func (c *DB) PutSession(ctx context.Context, s catalog.Session) error {
	return c.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires < $1`, time.Now()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (hash, username, role, csrf, expires) VALUES ($1, $2, $3, $4, $5)`,
			s.Hash, s.User, s.Role, s.CSRF, s.Expires); err != nil {
			return fmt.Errorf("catalog: put session: %w", err)
		}
		return nil
	})
}

// Session implements catalog.Sessions.
func (c *DB) Session(ctx context.Context, hash string, at time.Time) (*catalog.Session, error) {
	var s catalog.Session
	err := c.pool.QueryRow(ctx, `SELECT hash, username, role, csrf, expires FROM sessions WHERE hash = $1 AND expires > $2`, hash, at).
		Scan(&s.Hash, &s.User, &s.Role, &s.CSRF, &s.Expires)
	if err != nil {
		return nil, notFound(err, "session")
	}
	return &s, nil
}

// DeleteSession implements catalog.Sessions.
func (c *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := c.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return err
}
