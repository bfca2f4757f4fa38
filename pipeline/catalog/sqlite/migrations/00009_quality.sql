-- Each stored bag's data-quality report (quality.json), as made.

-- +goose Up
CREATE TABLE quality (
    bag_id  TEXT PRIMARY KEY REFERENCES bags(id),
    verdict TEXT NOT NULL,
    report  TEXT NOT NULL
);
CREATE INDEX quality_verdict ON quality(verdict);

-- +goose Down
DROP TABLE quality;
