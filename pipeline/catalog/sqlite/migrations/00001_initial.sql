-- The catalog as strongroom made it before it had migrations (up to
-- commit ab7c3a5): created if missing, left as it is if there.

-- +goose Up
CREATE TABLE IF NOT EXISTS items (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, hot_folder TEXT NOT NULL,
	kind TEXT NOT NULL, release TEXT NOT NULL, stage TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '', fail_stage TEXT NOT NULL DEFAULT '', bag_id TEXT NOT NULL DEFAULT '',
	info TEXT NOT NULL DEFAULT 'null', created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS items_active_source ON items(source) WHERE stage NOT IN ('done', 'failed');
CREATE INDEX IF NOT EXISTS items_stage ON items(stage);
CREATE TABLE IF NOT EXISTS files (
	item_id TEXT NOT NULL REFERENCES items(id), path TEXT NOT NULL, source TEXT NOT NULL, size INTEGER NOT NULL,
	sha256 TEXT NOT NULL, sha512 TEXT NOT NULL, puid TEXT NOT NULL, mime TEXT NOT NULL, format TEXT NOT NULL,
	format_version TEXT NOT NULL, basis TEXT NOT NULL, warning TEXT NOT NULL, action TEXT NOT NULL,
	PRIMARY KEY (item_id, path));
CREATE TABLE IF NOT EXISTS bags (
	id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), store TEXT NOT NULL, oxum TEXT NOT NULL,
	bytes INTEGER NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
	id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, bag_id TEXT NOT NULL, file TEXT NOT NULL,
	type TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, agent TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_item ON events(item_id);
CREATE INDEX IF NOT EXISTS events_bag ON events(bag_id);
CREATE TABLE IF NOT EXISTS objects (
	bag_id TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, sha512 TEXT NOT NULL,
	last_checked TEXT NOT NULL DEFAULT '', last_outcome TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (bag_id, key));
CREATE INDEX IF NOT EXISTS objects_checked ON objects(last_checked);
CREATE TABLE IF NOT EXISTS alerts (
	id INTEGER PRIMARY KEY AUTOINCREMENT, bag_id TEXT NOT NULL, problem TEXT NOT NULL, key TEXT NOT NULL,
	state TEXT NOT NULL, detail TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, seen INTEGER NOT NULL,
	UNIQUE (bag_id, problem, key));
CREATE TABLE IF NOT EXISTS alert_changes (
	id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL REFERENCES alerts(id), state TEXT NOT NULL,
	who TEXT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_runs (
	id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL DEFAULT '', scope TEXT NOT NULL,
	bags INTEGER NOT NULL DEFAULT 0, objects INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
	problems INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS batches (
	id TEXT PRIMARY KEY, station TEXT NOT NULL, state TEXT NOT NULL, manifest TEXT NOT NULL, metadata TEXT NOT NULL,
	item_id TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS batches_station ON batches(station, state);
