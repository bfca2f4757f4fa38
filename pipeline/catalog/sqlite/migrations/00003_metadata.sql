-- Descriptive metadata and rights per item (JSON; the fields a catalogue
-- filters on are read with json_extract), and indexes for bag listings.

-- +goose Up
ALTER TABLE items ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
CREATE INDEX bags_stored ON bags(stored_at);
CREATE INDEX bags_item ON bags(item_id);
CREATE INDEX alerts_bag ON alerts(bag_id, state);
CREATE INDEX items_stage_created ON items(stage, created);
