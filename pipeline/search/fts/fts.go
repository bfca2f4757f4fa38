// Package fts is the embedded search index: SQLite FTS5 (modernc.org/sqlite,
// pure Go) in one file under data_dir, apart from the catalog because it is
// rebuilt from the store (strongroom index rebuild) and may grow large.
// Text is tokenised with unicode61 and remove_diacritics 2 (so "Müller"
// finds "muller") and ranked with bm25; each page keeps its words' boxes,
// so that a hit says where on the page the words are.
package fts

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/strongroom-archive/strongroom/pipeline/search"
)

// Index is the FTS5 index.
type Index struct {
	path string
	// mu guards db and file: operations hold it for reading, a reopen for
	// writing, so no operation runs on a database being closed.
	mu   sync.RWMutex
	db   *sql.DB
	file fileID // the file db has open
}

// fileID tells one file from another at the same path.
type fileID struct{ dev, ino uint64 }

func statID(path string) (fileID, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

var _ search.Index = (*Index)(nil)

func init() {
	search.Register("sqlite", func(ctx context.Context, u *url.URL) (search.Index, error) {
		if u.Path == "" || u.Host != "" {
			return nil, fmt.Errorf("search index: want sqlite:///absolute/path/index.db, not %s", u.Redacted())
		}
		return Open(ctx, u.Path)
	})
}

// URL is the index URL of the index file at path.
func URL(path string) string { return (&url.URL{Scheme: "sqlite", Path: path}).String() }

const schema = `
CREATE TABLE IF NOT EXISTS docs (
	bag TEXT PRIMARY KEY, title TEXT NOT NULL, collection TEXT NOT NULL, station TEXT NOT NULL, year INTEGER NOT NULL,
	formats TEXT NOT NULL, access TEXT NOT NULL, embargo TEXT NOT NULL, stored TEXT NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
	id INTEGER PRIMARY KEY, bag TEXT NOT NULL, file TEXT NOT NULL, page INTEGER NOT NULL,
	w INTEGER NOT NULL, h INTEGER NOT NULL, wpt REAL NOT NULL, hpt REAL NOT NULL, text TEXT NOT NULL, boxes BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS pages_bag ON pages(bag);
CREATE VIRTUAL TABLE IF NOT EXISTS pages_fts USING fts5(text, content='pages', content_rowid='id',
	tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS pages_ai AFTER INSERT ON pages BEGIN
	INSERT INTO pages_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER IF NOT EXISTS pages_ad AFTER DELETE ON pages BEGIN
	INSERT INTO pages_fts(pages_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
`

// Open opens (creating if needed) the index at path. It is rebuilt from
// the store if lost, so it trades the catalog's synchronous=FULL for
// speed: a crash may lose the last pages indexed, never corrupt the file.
func Open(ctx context.Context, path string) (*Index, error) {
	x := &Index{path: path}
	if err := x.open(ctx); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *Index) open(ctx context.Context) error {
	dsn := "file:" + x.path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("search index: open %s: %w", x.path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return fmt.Errorf("search index %s: %w", x.path, err)
	}
	x.db = db
	x.file, _ = statID(x.path)
	return nil
}

// acquire returns the open database for one operation, and its release.
// If the file at the index's path is no longer the one open (removed, or
// replaced by hand), the index is reopened there first: a daemon never
// goes on writing into a file no one else can see. The old database is
// closed before the new one opens, which checkpoints and removes its
// write-ahead log: the new file never meets a stale one.
func (x *Index) acquire(ctx context.Context) (*sql.DB, func(), error) {
	id, ok := statID(x.path)
	x.mu.RLock()
	if ok && id == x.file {
		return x.db, x.mu.RUnlock, nil
	}
	x.mu.RUnlock()
	x.mu.Lock()
	if id, ok := statID(x.path); !ok || id != x.file {
		x.db.Close()
		if err := x.open(ctx); err != nil {
			x.mu.Unlock()
			return nil, nil, err
		}
	}
	x.mu.Unlock()
	x.mu.RLock()
	return x.db, x.mu.RUnlock, nil
}

// Close closes the index.
// Backup writes a consistent copy of the index to dest, a new file, while
// it is in use (VACUUM INTO reads one snapshot), and syncs it.
func (x *Index) Backup(ctx context.Context, dest string) error {
	db, release, err := x.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("search index: back up to %s: %w", dest, err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.db.Close()
}

// Rebuild replaces the whole index with what fill puts into the index it
// is given: a new file beside this one, swapped in whole (Replace) when
// fill is done, so that searches see the old index until then and what is
// gone from the store is gone from the index.
func (x *Index) Rebuild(ctx context.Context, fill func(search.Index) error) error {
	staging := x.path + ".rebuild"
	removeFile(staging)
	defer removeFile(staging)
	fresh, err := Open(ctx, staging)
	if err != nil {
		return err
	}
	if err := fill(fresh); err != nil {
		fresh.Close()
		return err
	}
	if err := fresh.Close(); err != nil {
		return err
	}
	return x.Replace(ctx, staging)
}

// removeFile removes an SQLite file and what SQLite keeps beside it.
func removeFile(p string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(p + suffix)
	}
}

// Replace makes the index hold exactly what the index file at from holds,
// in one transaction: searches see the old index or the new, never a mix
// and never an empty one. `index rebuild` builds into a new file and
// replaces with it, so that what is gone from the store is gone from the
// index.
func (x *Index) Replace(ctx context.Context, from string) error {
	db, done, err := x.acquire(ctx)
	if err != nil {
		return err
	}
	defer done()
	conn, err := db.Conn(ctx) // ATTACH holds for one connection
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS fresh`, from); err != nil {
		return fmt.Errorf("search index: attach %s: %w", from, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE fresh`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	for _, q := range []string{`DELETE FROM pages`, `DELETE FROM docs`, `INSERT INTO docs SELECT * FROM fresh.docs`,
		`INSERT INTO pages SELECT * FROM fresh.pages`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return fmt.Errorf("search index: replace: %w", err)
		}
	}
	return tx.Commit()
}

func (x *Index) tx(ctx context.Context, f func(*sql.Tx) error) error {
	db, done, err := x.acquire(ctx)
	if err != nil {
		return err
	}
	defer done()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("search index: %w", err)
	}
	return tx.Commit()
}

func putDoc(ctx context.Context, tx *sql.Tx, d search.Doc) error {
	meta, err := json.Marshal(d.Meta)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO docs (bag, title, collection, station, year, formats, access, embargo, stored, meta)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(bag) DO UPDATE SET title = excluded.title, collection = excluded.collection,
		station = excluded.station, year = excluded.year, formats = excluded.formats, access = excluded.access,
		embargo = excluded.embargo, stored = excluded.stored, meta = excluded.meta`,
		d.Bag, d.Title, d.Meta.Collection, d.Meta.Station, d.Meta.Year(), " "+strings.Join(d.Formats, " ")+" ", string(d.Meta.Access),
		d.Meta.EmbargoUntil, d.Stored.UTC().Format(time.RFC3339), string(meta))
	return err
}

// PutBag implements search.Index.
func (x *Index) PutBag(ctx context.Context, d search.Doc, pages []search.Page) error {
	return x.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pages WHERE bag = ?`, d.Bag); err != nil {
			return err
		}
		if err := putDoc(ctx, tx, d); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO pages (bag, file, page, w, h, wpt, hpt, text, boxes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range pages {
			text, boxes := search.EncodePage(p)
			if _, err := st.ExecContext(ctx, d.Bag, p.File, p.N, p.Width, p.Height, p.WidthPt, p.HeightPt, text, boxes); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetDoc implements search.Index.
func (x *Index) SetDoc(ctx context.Context, d search.Doc) error {
	return x.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM docs WHERE bag = ?`, d.Bag).Scan(&n); err != nil || n == 0 {
			return err // a bag not indexed (yet) is described when it is
		}
		return putDoc(ctx, tx, d)
	})
}

// DeleteBag implements search.Index.
func (x *Index) DeleteBag(ctx context.Context, bag string) error {
	return x.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pages WHERE bag = ?`, bag); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM docs WHERE bag = ?`, bag)
		return err
	})
}

// Snippet markers: control characters no OCR text holds.
const openMark, closeMark = "\x02", "\x03"

// match renders parsed terms as an FTS5 expression: each word or phrase
// quoted (so nothing a user types is FTS5 syntax), prefixes starred,
// exclusions with NOT.
func match(terms []search.Term) string {
	var pos, neg []string
	for _, t := range terms {
		e := `"` + strings.ReplaceAll(strings.Join(t.Words, " "), `"`, `""`) + `"`
		if t.Prefix {
			e += "*"
		}
		if t.Not {
			neg = append(neg, e)
		} else {
			pos = append(pos, e)
		}
	}
	e := strings.Join(pos, " AND ")
	for _, n := range neg {
		e += " NOT " + n
	}
	return e
}

// Search implements search.Index.
func (x *Index) Search(ctx context.Context, q search.Query) (*search.Result, error) {
	start := time.Now()
	terms, err := search.Parse(q.Text)
	if err != nil {
		return nil, err
	}
	where, args := []string{"pages_fts MATCH ?"}, []any{match(terms)}
	eq := func(col string, v any, set bool) {
		if set {
			where = append(where, "d."+col+" = ?")
			args = append(args, v)
		}
	}
	eq("bag", q.Bag, q.Bag != "")
	eq("collection", q.Collection, q.Collection != "")
	eq("station", q.Station, q.Station != "")
	eq("year", q.Year, q.Year != 0)
	if q.Format != "" {
		where = append(where, "d.formats LIKE ?")
		args = append(args, "% "+strings.NewReplacer("%", "", "_", "").Replace(q.Format)+" %")
	}
	in := func(col string, not bool, vals []string) {
		w := "d." + col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")"
		if not {
			w = "NOT " + w
		}
		where = append(where, w)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if q.Only != nil {
		in("bag", false, q.Only)
	}
	if len(q.Except) > 0 {
		in("bag", true, q.Except)
	}
	if q.Access != nil {
		levels := make([]string, len(q.Access))
		for i, a := range q.Access {
			levels[i] = string(a)
		}
		in("access", false, levels)
	}
	if q.EmbargoAt != "" {
		where = append(where, "(d.embargo = '' OR d.embargo <= ?)")
		args = append(args, q.EmbargoAt)
	}
	cols, from := `pages_fts.rowid, rank, ''`, ` FROM pages_fts WHERE `+where[0]
	if len(where) > 1 || q.ByDocument { // the joins cost a row read per match: only when a filter or the grouping needs them
		cols, from = `pages_fts.rowid, rank, p.bag`, ` FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid JOIN docs d ON d.bag = p.bag WHERE `+strings.Join(where, " AND ")
	}
	// One pass over at most MaxTotal+1 matches gives the count and the
	// ranks; ranking is on row ids alone, so the text, boxes and snippet
	// are read only for the page of hits shown. A query matching more than
	// MaxTotal pages (a very common word) is ranked among the first
	// MaxTotal it matches, in index order, and says so (TotalCapped): that
	// bounds its cost whatever the size of the index.
	db, done, err := x.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	ranked, err := db.QueryContext(ctx, `SELECT `+cols+from+` LIMIT ?`, append(args, search.MaxTotal+1)...)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	var all []search.Scored
	for ranked.Next() {
		var sc search.Scored
		if err := ranked.Scan(&sc.ID, &sc.Rank, &sc.Bag); err != nil {
			ranked.Close()
			return nil, fmt.Errorf("search index: %w", err)
		}
		all = append(all, sc)
	}
	ranked.Close()
	if err := ranked.Err(); err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	return search.Assemble(q, all, start, func(ids []int64) (map[int64]search.Hit, error) {
		in := make([]any, len(ids))
		for i, id := range ids {
			in[i] = id
		}
		rows, err := db.QueryContext(ctx, `SELECT p.id, p.bag, d.title, p.file, p.page, p.w, p.h, p.wpt, p.hpt, p.text, p.boxes,
			snippet(pages_fts, 0, '`+openMark+`', '`+closeMark+`', '…', `+strconv.Itoa(search.SnippetWords)+`) FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid JOIN docs d ON d.bag = p.bag
			WHERE pages_fts MATCH ? AND pages_fts.rowid IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)`, append([]any{args[0]}, in...)...)
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		defer rows.Close()
		byID := map[int64]search.Hit{}
		for rows.Next() {
			var h search.Hit
			var id int64
			var text, snippet string
			var boxes []byte
			if err := rows.Scan(&id, &h.Bag, &h.Title, &h.File, &h.Page, &h.Width, &h.Height, &h.WidthPt, &h.HeightPt, &text, &boxes, &snippet); err != nil {
				return nil, fmt.Errorf("search index: %w", err)
			}
			h.Snippet = fragments(snippet)
			h.Boxes = search.HitBoxes(terms, text, boxes, search.Page{Width: h.Width, Height: h.Height, WidthPt: h.WidthPt, HeightPt: h.HeightPt})
			byID[id] = h
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		return byID, nil
	})
}

// fragments splits a snippet at its markers.
func fragments(s string) []search.Fragment {
	var out []search.Fragment
	for s != "" {
		i := strings.Index(s, openMark)
		if i < 0 {
			out = append(out, search.Fragment{Text: s})
			break
		}
		if i > 0 {
			out = append(out, search.Fragment{Text: s[:i]})
		}
		s = s[i+1:]
		j := strings.Index(s, closeMark)
		if j < 0 {
			j = len(s)
		}
		out = append(out, search.Fragment{Text: s[:j], Match: true})
		s = s[min(j+1, len(s)):]
	}
	return out
}
