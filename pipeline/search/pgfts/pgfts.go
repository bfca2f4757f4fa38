// Package pgfts is the search index in PostgreSQL, for an archive that
// more than one machine serves: the same queries, hits, snippets and word
// boxes as the embedded index (the searchtest suite), on PostgreSQL's
// full-text search (tsvector, GIN). The words are folded and split by
// strongroom itself (search.Tokens: lower case, diacritics removed), into
// a tsvector with each token's position, and queries are built from the
// same tokens as a tsquery (& for all words, <-> for phrases, :* for
// prefixes, ! for exclusions): PostgreSQL's parser, dictionaries and the
// unaccent extension play no part, so both indexes agree on what a word is.
// Ranking is ts_rank (negated: lower is better, as bm25 is).
package pgfts

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strongroom-archive/strongroom/pipeline/catalog/postgres"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Index is the PostgreSQL index.
type Index struct {
	pool *pgxpool.Pool
	db   db // the pool, or the transaction of a rebuild
}

// db is what the index runs its statements on.
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

var _ search.Index = (*Index)(nil)

func init() {
	for _, scheme := range []string{"postgres", "postgresql"} {
		search.Register(scheme, func(ctx context.Context, u *url.URL) (search.Index, error) { return Open(ctx, u.String()) })
	}
}

// Open connects to the index at url (postgres://…; its database may be
// the catalog's) and makes or migrates its tables: its own version table
// and lock, as the index and the catalog each have their history.
func Open(ctx context.Context, url string) (*Index, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	pool, err := postgres.Connect(ctx, url, postgres.Schema{What: "search index", Migrations: fsys,
		Table: "search_db_version", LockID: 5887940537704921959})
	if err != nil {
		return nil, err
	}
	return &Index{pool: pool, db: pool}, nil
}

// Pool is the connection pool, for moving an archive.
func (x *Index) Pool() *pgxpool.Pool { return x.pool }

// Close closes the pool.
func (x *Index) Close() error {
	x.pool.Close()
	return nil
}

// tx runs f in a transaction (a nested one, a savepoint, in a rebuild).
func (x *Index) tx(ctx context.Context, f func(pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, x.db, f); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	return nil
}

// Rebuild replaces the whole index with what fill puts into the index it
// is given, in one transaction: searches see the old index until the new
// one is whole (index rebuild).
func (x *Index) Rebuild(ctx context.Context, fill func(search.Index) error) error {
	return x.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM search_pages; DELETE FROM search_docs`); err != nil {
			return err
		}
		return fill(&Index{pool: x.pool, db: tx})
	})
}

func putDoc(ctx context.Context, tx pgx.Tx, d search.Doc) error {
	meta, err := json.Marshal(d.Meta)
	if err != nil {
		return err
	}
	formats := d.Formats
	if formats == nil {
		formats = []string{}
	}
	_, err = tx.Exec(ctx, `INSERT INTO search_docs (bag, title, collection, station, year, formats, access, embargo, stored, meta)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (bag) DO UPDATE SET title = excluded.title, collection = excluded.collection,
		station = excluded.station, year = excluded.year, formats = excluded.formats, access = excluded.access,
		embargo = excluded.embargo, stored = excluded.stored, meta = excluded.meta`,
		d.Bag, d.Title, d.Meta.Collection, d.Meta.Station, d.Meta.Year(), formats, string(d.Meta.Access),
		d.Meta.EmbargoUntil, nullTime(d.Stored), meta)
	return err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// maxPos is the last position a tsvector records; later tokens share it
// (a page of more than 16,383 words finds them, and phrases among the
// first).
const maxPos = 16383

// TSVector is the literal of the tokens, with their positions, of a page
// kept as search.EncodePage keeps it.
func TSVector(text string) string {
	pos := map[string][]int{}
	var order []string
	n := 0
	for _, w := range strings.Split(text, " ") {
		for _, tok := range search.Tokens(w) {
			n++
			if _, ok := pos[tok]; !ok {
				order = append(order, tok)
			}
			if p := pos[tok]; len(p) < 256 { // a lexeme keeps at most 256 positions
				pos[tok] = append(p, min(n, maxPos))
			}
		}
	}
	var b strings.Builder
	for i, tok := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(tok))
		b.WriteByte(':')
		for j, p := range pos[tok] {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
		}
	}
	return b.String()
}

// quote makes a token a tsvector or tsquery lexeme (tokens are letters and
// digits, but nothing typed is trusted).
func quote(tok string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(tok) + "'"
}

// PutBag implements search.Index.
func (x *Index) PutBag(ctx context.Context, d search.Doc, pages []search.Page) error {
	return x.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM search_pages WHERE bag = $1`, d.Bag); err != nil {
			return err
		}
		if err := putDoc(ctx, tx, d); err != nil {
			return err
		}
		rows := make([][]any, len(pages))
		for i, p := range pages {
			text, boxes := search.EncodePage(p)
			rows[i] = []any{d.Bag, p.File, p.N, p.Width, p.Height, p.WidthPt, p.HeightPt, text, boxes, TSVector(text)}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"search_pages"}, []string{"bag", "file", "page", "w", "h", "wpt", "hpt", "text", "boxes", "tsv"},
			pgx.CopyFromRows(rows))
		return err
	})
}

// SetDoc implements search.Index.
func (x *Index) SetDoc(ctx context.Context, d search.Doc) error {
	return x.tx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM search_docs WHERE bag = $1`, d.Bag).Scan(&n); err != nil || n == 0 {
			return err // a bag not indexed (yet) is described when it is
		}
		return putDoc(ctx, tx, d)
	})
}

// DeleteBag implements search.Index.
func (x *Index) DeleteBag(ctx context.Context, bag string) error {
	return x.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM search_pages WHERE bag = $1; `, bag)
		if err == nil {
			_, err = tx.Exec(ctx, `DELETE FROM search_docs WHERE bag = $1`, bag)
		}
		return err
	})
}

// tsquery renders parsed terms as a tsquery: every positive term (&), a
// phrase's words in order (<->), prefixes (:*), exclusions (& !).
func tsquery(terms []search.Term) string {
	var parts []string
	for _, t := range terms {
		words := make([]string, len(t.Words))
		for i, w := range t.Words {
			words[i] = quote(w)
		}
		e := strings.Join(words, " <-> ")
		if t.Prefix {
			e += ":*"
		}
		if len(words) > 1 {
			e = "(" + e + ")"
		}
		if t.Not {
			e = "!" + e
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, " & ")
}

// args numbers a query's parameters.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// Search implements search.Index.
func (x *Index) Search(ctx context.Context, q search.Query) (*search.Result, error) {
	start := time.Now()
	terms, err := search.Parse(q.Text)
	if err != nil {
		return nil, err
	}
	var a args
	tsq := a.add(tsquery(terms)) + "::tsquery"
	where := []string{"p.tsv @@ " + tsq}
	eq := func(col string, v any, set bool) {
		if set {
			where = append(where, "d."+col+" = "+a.add(v))
		}
	}
	eq("bag", q.Bag, q.Bag != "")
	eq("collection", q.Collection, q.Collection != "")
	eq("station", q.Station, q.Station != "")
	eq("year", q.Year, q.Year != 0)
	if q.Format != "" {
		where = append(where, a.add(q.Format)+" = ANY(d.formats)")
	}
	if q.Only != nil {
		where = append(where, "d.bag = ANY("+a.add(q.Only)+")")
	}
	if len(q.Except) > 0 {
		where = append(where, "NOT d.bag = ANY("+a.add(q.Except)+")")
	}
	if q.Access != nil {
		levels := make([]string, len(q.Access))
		for i, l := range q.Access {
			levels[i] = string(l)
		}
		where = append(where, "d.access = ANY("+a.add(levels)+")")
	}
	if q.EmbargoAt != "" {
		where = append(where, "(d.embargo = '' OR d.embargo <= "+a.add(q.EmbargoAt)+")")
	}
	// As in the embedded index: one pass over at most MaxTotal+1 matches
	// gives the count and the ranks; text and boxes are read only for the
	// hits shown.
	rows, err := x.db.Query(ctx, `SELECT p.id, -ts_rank(p.tsv, `+tsq+`), p.bag FROM search_pages p JOIN search_docs d ON d.bag = p.bag
		WHERE `+strings.Join(where, " AND ")+` LIMIT `+a.add(search.MaxTotal+1), a...)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sc search.Scored, err error) {
		var rank float32
		err = r.Scan(&sc.ID, &rank, &sc.Bag)
		sc.Rank = float64(rank)
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	return search.Assemble(q, all, start, func(ids []int64) (map[int64]search.Hit, error) {
		rows, err := x.db.Query(ctx, `SELECT p.id, p.bag, d.title, p.file, p.page, p.w, p.h, p.wpt, p.hpt, p.text, p.boxes
			FROM search_pages p JOIN search_docs d ON d.bag = p.bag WHERE p.id = ANY($1)`, ids)
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		byID := map[int64]search.Hit{}
		_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
			var h search.Hit
			var id int64
			var text string
			var boxes []byte
			if err := r.Scan(&id, &h.Bag, &h.Title, &h.File, &h.Page, &h.Width, &h.Height, &h.WidthPt, &h.HeightPt, &text, &boxes); err != nil {
				return struct{}{}, err
			}
			h.Snippet = search.Snippet(terms, text)
			h.Boxes = search.HitBoxes(terms, text, boxes, search.Page{Width: h.Width, Height: h.Height, WidthPt: h.WidthPt, HeightPt: h.HeightPt})
			byID[id] = h
			return struct{}{}, nil
		})
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		return byID, nil
	})
}
