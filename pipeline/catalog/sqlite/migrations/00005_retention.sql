-- Each stored bag's retention: its schedule, the action at the end, and
-- the day it is due ('' while unknown, with the reason).

-- +goose Up
CREATE TABLE retention (
    bag_id   TEXT PRIMARY KEY REFERENCES bags(id),
    schedule TEXT NOT NULL,
    action   TEXT NOT NULL,
    due      TEXT NOT NULL DEFAULT '',
    unknown  TEXT NOT NULL DEFAULT '',
    assigned TEXT NOT NULL
);
CREATE INDEX retention_due ON retention(due);

-- +goose Down
DROP TABLE retention;
