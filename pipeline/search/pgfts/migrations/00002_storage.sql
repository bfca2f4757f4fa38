-- A page's tsvector stays in the table's row (MAIN), its text and boxes go
-- to TOAST (EXTERNAL, not compressed): ranking and phrase checks read every
-- matching page's tsvector, and a row read is one buffer where a TOAST
-- fetch was several. 100,000 generated pages: a common word's 5,000 pages
-- ranked in 10.5 ms instead of 37-72 ms; a phrase of three common words in
-- 135 ms instead of 640 ms.

-- +goose Up
ALTER TABLE search_pages ALTER COLUMN tsv SET STORAGE MAIN,
    ALTER COLUMN text SET STORAGE EXTERNAL,
    ALTER COLUMN boxes SET STORAGE EXTERNAL;

-- +goose Down
ALTER TABLE search_pages ALTER COLUMN tsv SET STORAGE EXTENDED,
    ALTER COLUMN text SET STORAGE EXTENDED,
    ALTER COLUMN boxes SET STORAGE EXTENDED;
