-- Roles: duties one process of the cluster does at a time (a hot folder's
-- watcher, the audit scheduler), each held under a lease its holder renews.

-- +goose Up
CREATE TABLE roles (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL,
    since  TEXT NOT NULL
);

-- +goose Down
DROP TABLE roles;
