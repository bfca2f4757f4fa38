-- Pages of items' access copies as tasks any worker of the cluster claims.

-- +goose Up
CREATE TABLE pages (
    item_id  TEXT NOT NULL,
    nr       INTEGER NOT NULL,
    spec     BLOB NOT NULL,
    state    TEXT NOT NULL DEFAULT 'waiting',
    failure  TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    holder   TEXT NOT NULL DEFAULT '',
    until    TEXT NOT NULL DEFAULT '',
    added    TEXT NOT NULL,
    PRIMARY KEY (item_id, nr)
);
CREATE INDEX pages_waiting ON pages(added, item_id, nr) WHERE state = 'waiting';

-- +goose Down
DROP TABLE pages;
