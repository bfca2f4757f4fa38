-- Stored objects by their SHA-256: a dropped original that is already
-- stored is found at once (the duplicates policy).

-- +goose Up
CREATE INDEX objects_sha256 ON objects(sha256);

-- +goose Down
DROP INDEX objects_sha256;
