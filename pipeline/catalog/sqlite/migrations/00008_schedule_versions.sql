-- Each retention schedule's definitions as configured, versioned: a change
-- is a new version, and the bags under it are computed again.

-- +goose Up
CREATE TABLE schedule_versions (
    code       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    since      TEXT NOT NULL,
    PRIMARY KEY (code, version)
);

-- +goose Down
DROP TABLE schedule_versions;
