-- Roles: duties one process of the cluster does at a time (a hot folder's
-- watcher, the audit scheduler), each held under a lease its holder renews.

-- +goose Up
CREATE TABLE roles (
    name   text PRIMARY KEY,
    holder text NOT NULL,
    until  timestamptz NOT NULL,
    since  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE roles;
