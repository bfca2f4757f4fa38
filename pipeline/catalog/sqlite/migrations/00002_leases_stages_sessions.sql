-- Leases (one worker per item), the release re-check (files' mtime and
-- inode, held originals and the items that follow them), events owned by
-- the stage that recorded them, an item's own OCR settings, and review
-- sessions that survive a restart.
--
-- The old "prepare" stage is now five (fixity, identify, validate,
-- normalise, package): an item that was in it starts over at fixity, and
-- the events prepare had recorded for it are recorded again there.

-- +goose Up
ALTER TABLE items ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN lease_until TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN held TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN follows TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN ocr TEXT NOT NULL DEFAULT 'null';
CREATE INDEX items_held ON items(held) WHERE held != '';
ALTER TABLE files ADD COLUMN mtime TEXT NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN inode TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN stage TEXT NOT NULL DEFAULT '';
CREATE INDEX events_item_stage ON events(item_id, stage);
DELETE FROM events WHERE stage = '' AND item_id IN (SELECT id FROM items WHERE stage = 'prepare')
	AND type IN ('ingestion', 'message digest calculation', 'format identification', 'validation', 'normalization');
UPDATE items SET stage = 'fixity' WHERE stage = 'prepare';
CREATE TABLE sessions (
	hash TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL, expires TEXT NOT NULL);
