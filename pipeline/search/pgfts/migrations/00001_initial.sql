-- The search index on PostgreSQL: each bag's description and rights
-- (docs), each page's words, boxes and tsvector (pages). The tsvector is
-- made by strongroom from the same folded tokens the embedded index and
-- every query use (search.Tokens), with their positions for phrases, so
-- that no text-search configuration, dictionary or extension decides what
-- a word is.

-- +goose Up
CREATE TABLE search_docs (
    bag        text PRIMARY KEY,
    title      text NOT NULL,
    collection text NOT NULL,
    station    text NOT NULL,
    year       integer NOT NULL,
    formats    text[] NOT NULL,
    access     text NOT NULL,
    embargo    text NOT NULL,
    stored     timestamptz,
    meta       jsonb NOT NULL
);
CREATE TABLE search_pages (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bag   text NOT NULL,
    file  text NOT NULL,
    page  integer NOT NULL,
    w     integer NOT NULL,
    h     integer NOT NULL,
    wpt   double precision NOT NULL,
    hpt   double precision NOT NULL,
    text  text NOT NULL,
    boxes bytea NOT NULL,
    tsv   tsvector NOT NULL
);
CREATE INDEX search_pages_bag ON search_pages (bag);
CREATE INDEX search_pages_tsv ON search_pages USING gin (tsv);

-- +goose Down
DROP TABLE search_pages, search_docs;
