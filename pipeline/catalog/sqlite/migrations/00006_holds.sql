-- Legal holds and the bags they hold.

-- +goose Up
CREATE TABLE holds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    authority      TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created        TEXT NOT NULL,
    released       TEXT NOT NULL DEFAULT '',
    released_by    TEXT NOT NULL DEFAULT '',
    release_reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE hold_bags (
    hold_id INTEGER NOT NULL REFERENCES holds(id),
    bag_id  TEXT NOT NULL REFERENCES bags(id),
    added   TEXT NOT NULL,
    PRIMARY KEY (hold_id, bag_id)
);
CREATE INDEX hold_bags_bag ON hold_bags(bag_id);

-- +goose Down
DROP TABLE hold_bags;
DROP TABLE holds;
