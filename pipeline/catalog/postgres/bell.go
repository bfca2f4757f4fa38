package postgres

import (
	"context"
	"fmt"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// workChannel is the NOTIFY channel on which an item reaching a stage is
// announced to every process sharing the catalog.
const workChannel = "strongroom_work"

// Ring implements pipeline.Bell.
func (c *DB) Ring(ctx context.Context, stage catalog.Stage) error {
	if _, err := c.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, workChannel, string(stage)); err != nil {
		return fmt.Errorf("catalog: notify %s: %w", stage, err)
	}
	return nil
}

// Listen implements pipeline.Bell: a connection of its own LISTENs until
// ctx ends or the connection is lost (its error).
func (c *DB) Listen(ctx context.Context, heard func(catalog.Stage)) error {
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: it is LISTENing, and is closed, not
	// reused, when done.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+workChannel); err != nil {
		return err
	}
	heard("") // what was announced while no one listened
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		heard(catalog.Stage(n.Payload))
	}
}
