-- Disposal requests, their bags, and the tombstones disposed bags leave.

-- +goose Up
CREATE TABLE disposals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    action       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created      TEXT NOT NULL,
    state        TEXT NOT NULL,
    decided_by   TEXT NOT NULL DEFAULT '',
    decided      TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    ended        TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX disposals_state ON disposals(state);
-- started: the bag's objects may be being deleted (no hold may take it);
-- disposed: they are gone and the tombstone is kept.
CREATE TABLE disposal_bags (
    disposal_id INTEGER NOT NULL REFERENCES disposals(id),
    bag_id      TEXT NOT NULL REFERENCES bags(id),
    started     TEXT NOT NULL DEFAULT '',
    disposed    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (disposal_id, bag_id)
);
CREATE INDEX disposal_bags_bag ON disposal_bags(bag_id);
CREATE TABLE tombstones (
    bag_id      TEXT PRIMARY KEY REFERENCES bags(id),
    disposal_id INTEGER NOT NULL REFERENCES disposals(id),
    disposed    TEXT NOT NULL,
    record      TEXT NOT NULL
);
ALTER TABLE bags ADD COLUMN disposed TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bags DROP COLUMN disposed;
DROP TABLE tombstones;
DROP TABLE disposal_bags;
DROP TABLE disposals;
