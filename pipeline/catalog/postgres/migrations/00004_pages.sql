-- Pages of items' access copies as tasks any worker of the cluster claims.

-- +goose Up
CREATE TABLE pages (
    item_id  text NOT NULL,
    nr       integer NOT NULL,
    spec     bytea NOT NULL,
    state    text NOT NULL DEFAULT 'waiting',
    failure  text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    holder   text NOT NULL DEFAULT '',
    until    timestamptz,
    added    timestamptz NOT NULL,
    PRIMARY KEY (item_id, nr)
);
CREATE INDEX pages_waiting ON pages (added, item_id, nr) WHERE state = 'waiting';

-- +goose Down
DROP TABLE pages;
