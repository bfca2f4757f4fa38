// Package fts is the embedded search index: SQLite FTS5 (modernc.org/sqlite,
// pure Go) in one file under data_dir, apart from the catalog because it is
// rebuilt from the store (strongroom index rebuild) and may grow large.
// Text is tokenised with unicode61 and remove_diacritics 2 (so "Müller"
// finds "muller") and ranked with bm25; each page keeps its words' boxes,
// so that a hit says where on the page the words are.
package fts

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"slices"
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
		var text strings.Builder
		for _, p := range pages {
			text.Reset()
			boxes := make([]byte, 0, len(p.Words)*8)
			for i, w := range p.Words {
				if i > 0 {
					text.WriteByte(' ')
				}
				// A word never holds a space: the n-th word of the text
				// is the n-th box.
				text.WriteString(strings.Join(strings.Fields(w.Text), "\u00a0"))
				for _, v := range []int{w.Box.Min.X, w.Box.Min.Y, w.Box.Dx(), w.Box.Dy()} {
					boxes = binary.AppendUvarint(boxes, uint64(max(v, 0)))
				}
			}
			if _, err := st.ExecContext(ctx, d.Bag, p.File, p.N, p.Width, p.Height, p.WidthPt, p.HeightPt, text.String(), boxes); err != nil {
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
	res := &search.Result{}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 20
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
	type scored struct {
		id   int64
		rank float64
		bag  string
	}
	var all []scored
	for ranked.Next() {
		var sc scored
		if err := ranked.Scan(&sc.id, &sc.rank, &sc.bag); err != nil {
			ranked.Close()
			return nil, fmt.Errorf("search index: %w", err)
		}
		all = append(all, sc)
	}
	ranked.Close()
	if err := ranked.Err(); err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	res.Total = len(all)
	if res.Total > search.MaxTotal {
		res.Total, res.TotalCapped, all = search.MaxTotal, true, all[:search.MaxTotal]
	}
	slices.SortStableFunc(all, func(a, b scored) int { return cmp.Compare(a.rank, b.rank) })
	var ids []any
	score := map[int64]float64{}
	// Bounds taken apart so that no sum can overflow, whatever the caller
	// passed (an offset near MaxInt once panicked here).
	if q.ByDocument {
		// Documents in the order of their best page; each keeps its
		// best pages. Offset and Limit count documents.
		var order []string
		groups := map[string]*search.DocHit{}
		best := map[string][]scored{}
		for _, sc := range all {
			g := groups[sc.bag]
			if g == nil {
				g = &search.DocHit{Bag: sc.bag}
				groups[sc.bag] = g
				order = append(order, sc.bag)
			}
			g.Pages++
			if len(best[sc.bag]) < search.PagesPerDoc {
				best[sc.bag] = append(best[sc.bag], sc)
			}
		}
		res.DocTotal = len(order)
		first := min(max(q.Offset, 0), len(order))
		for _, bag := range order[first : first+min(max(q.Limit, 0), len(order)-first)] {
			res.Docs = append(res.Docs, *groups[bag])
			for _, sc := range best[bag] {
				ids, score[sc.id] = append(ids, sc.id), sc.rank
			}
		}
	} else {
		first := min(max(q.Offset, 0), len(all))
		for _, sc := range all[first : first+min(max(q.Limit, 0), len(all)-first)] {
			ids, score[sc.id] = append(ids, sc.id), sc.rank
		}
	}
	if len(ids) == 0 {
		res.Took = time.Since(start)
		return res, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT p.id, p.bag, d.title, p.file, p.page, p.w, p.h, p.wpt, p.hpt, p.text, p.boxes,
		snippet(pages_fts, 0, '`+openMark+`', '`+closeMark+`', '…', 24) FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid JOIN docs d ON d.bag = p.bag
		WHERE pages_fts MATCH ? AND pages_fts.rowid IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)`, append([]any{args[0]}, ids...)...)
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
		h.Score = score[id]
		h.Snippet = fragments(snippet)
		h.Boxes = matchedBoxes(terms, text, boxes, search.Page{Width: h.Width, Height: h.Height, WidthPt: h.WidthPt, HeightPt: h.HeightPt})
		byID[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	for _, id := range ids {
		if h, ok := byID[id.(int64)]; ok {
			res.Hits = append(res.Hits, h)
		}
	}
	for i := range res.Docs { // the hits, in order, are the documents' best pages
		d := &res.Docs[i]
		for _, h := range res.Hits {
			if h.Bag == d.Bag {
				d.Title = h.Title
				d.Hits = append(d.Hits, h)
			}
		}
	}
	res.Took = time.Since(start)
	return res, nil
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

// matchedBoxes finds the words the terms match on a page and their boxes.
func matchedBoxes(terms []search.Term, text string, blob []byte, p search.Page) []search.Box {
	words := strings.Split(text, " ")
	var boxes []image.Rectangle
	for len(blob) > 0 && len(boxes) < len(words) {
		var v [4]int
		for k := range v {
			n, used := binary.Uvarint(blob)
			if used <= 0 {
				return nil
			}
			v[k], blob = int(n), blob[used:]
		}
		boxes = append(boxes, image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	var out []search.Box
	for _, i := range search.Matches(terms, words) {
		if i < len(boxes) && !boxes[i].Empty() {
			out = append(out, search.BoxOf(strings.ReplaceAll(words[i], "\u00a0", " "), boxes[i], p))
		}
	}
	return out
}
