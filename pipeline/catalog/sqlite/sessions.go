package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// PutSession implements catalog.Sessions.
func (c *DB) PutSession(ctx context.Context, s catalog.Session) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires < ?`, ts(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, user, role, csrf, expires) VALUES (?, ?, ?, ?, ?)`,
			s.Hash, s.User, s.Role, s.CSRF, ts(s.Expires))
		if err != nil {
			return fmt.Errorf("catalog: put session: %w", err)
		}
		return nil
	})
}

// Session implements catalog.Sessions.
func (c *DB) Session(ctx context.Context, hash string, now time.Time) (*catalog.Session, error) {
	var s catalog.Session
	var expires string
	err := c.db.QueryRowContext(ctx, `SELECT hash, user, role, csrf, expires FROM sessions WHERE hash = ? AND expires > ?`, hash, ts(now)).
		Scan(&s.Hash, &s.User, &s.Role, &s.CSRF, &expires)
	if err != nil {
		return nil, notFound(err, "session")
	}
	s.Expires = parseTS(expires)
	return &s, nil
}

// DeleteSession implements catalog.Sessions.
func (c *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := c.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}
