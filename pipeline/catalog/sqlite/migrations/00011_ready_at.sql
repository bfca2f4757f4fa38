-- The catalog is the work list: a worker claims the oldest item of a stage
-- that is ready (ready_at passed: a retry's pause is over) and not leased.

-- +goose Up
ALTER TABLE items ADD COLUMN ready_at TEXT NOT NULL DEFAULT '';
CREATE INDEX items_work ON items(stage, ready_at, created) WHERE stage NOT IN ('done', 'failed');

-- +goose Down
DROP INDEX items_work;
ALTER TABLE items DROP COLUMN ready_at;
