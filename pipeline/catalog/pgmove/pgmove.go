// Package pgmove moves an archive's embedded catalog and search index (the
// SQLite files under data_dir) into PostgreSQL (`strongroom catalog
// migrate`): every table, row for row, in one transaction per database,
// each value in PostgreSQL's own type; then each table is read back from
// PostgreSQL and its row count and a SHA-256 over every value compared with
// the source's. The SQLite files are only read.
package pgmove

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/strongroom-archive/strongroom/pipeline/search/pgfts"
)

// kind is how a column's SQLite value becomes PostgreSQL's.
type kind int

const (
	text     kind = iota
	integer       // INTEGER → integer, bigint
	real          // REAL → double precision
	stamp         // RFC 3339 text, '' for none → timestamptz, NULL
	day           // YYYY-MM-DD or RFC 3339 text, '' → timestamptz, NULL
	nanos         // RFC 3339 text, '' → nanoseconds since 1970, NULL
	jsonb         // JSON text → jsonb (compared as JSON)
	jsonText      // JSON text → json, kept byte for byte
	blob          // BLOB → bytea
	words         // " a b " → text[]
)

type derived struct {
	col string
	of  func(row []any) any
}

type column struct {
	from, to string // to: "" for the same name
	kind     kind
}

type table struct {
	from, to string
	cols     []column
	key      []string // source column names, the order rows are compared in
	identity bool     // an id column whose sequence follows the copied ids
	// derived is a column computed from the row (a page's tsvector).
	derived *derived
}

func c(name string, k kind) column { return column{from: name, kind: k} }

// catalogTables are the catalog's tables in an order their references
// allow.
var catalogTables = []table{
	{from: "items", cols: []column{c("id", text), c("name", text), c("source", text), c("hot_folder", text), c("kind", text), c("release", text),
		c("stage", text), c("attempts", integer), c("last_error", text), c("fail_stage", text), c("bag_id", text), c("info", jsonb),
		c("created", stamp), c("updated", stamp), c("lease_holder", text), c("lease_until", stamp), c("ready_at", stamp), c("held", text), c("follows", text),
		c("ocr", jsonb), c("meta", jsonb)}, key: []string{"id"}},
	{from: "files", cols: []column{c("item_id", text), c("path", text), c("source", text), c("size", integer), c("sha256", text), c("sha512", text),
		c("puid", text), c("mime", text), c("format", text), c("format_version", text), c("basis", text), c("warning", text), c("action", text),
		{from: "mtime", to: "mtime_ns", kind: nanos}, c("inode", text)}, key: []string{"item_id", "path"}},
	{from: "bags", cols: []column{c("id", text), c("item_id", text), c("store", text), c("oxum", text), c("bytes", integer), c("stored_at", stamp),
		c("disposed", stamp)}, key: []string{"id"}},
	{from: "events", cols: []column{c("id", integer), c("item_id", text), c("bag_id", text), c("file", text), c("type", text), c("outcome", text),
		c("detail", text), c("agent", text), c("at", stamp), c("stage", text)}, key: []string{"id"}, identity: true},
	{from: "objects", cols: []column{c("bag_id", text), c("key", text), c("size", integer), c("sha256", text), c("sha512", text),
		c("last_checked", stamp), c("last_outcome", text)}, key: []string{"bag_id", "key"}},
	{from: "alerts", cols: []column{c("id", integer), c("bag_id", text), c("problem", text), c("key", text), c("state", text), c("detail", text),
		c("first_seen", stamp), c("last_seen", stamp), c("seen", integer)}, key: []string{"id"}, identity: true},
	{from: "alert_changes", cols: []column{c("id", integer), c("alert_id", integer), c("state", text), c("who", text), c("note", text),
		c("at", stamp)}, key: []string{"id"}, identity: true},
	{from: "audit_runs", cols: []column{c("id", integer), c("started", stamp), c("finished", stamp), c("scope", text), c("bags", integer),
		c("objects", integer), c("bytes", integer), c("problems", integer), c("errors", integer)}, key: []string{"id"}, identity: true},
	{from: "batches", cols: []column{c("id", text), c("station", text), c("state", text), c("manifest", jsonb), c("metadata", jsonb),
		c("item_id", text), c("reason", text), c("created", stamp), c("updated", stamp)}, key: []string{"id"}},
	{from: "sessions", cols: []column{c("hash", text), {from: "user", to: "username", kind: text}, c("role", text), c("csrf", text),
		c("expires", stamp)}, key: []string{"hash"}},
	{from: "retention", cols: []column{c("bag_id", text), c("schedule", text), c("action", text), c("due", day), c("unknown", text),
		c("assigned", stamp)}, key: []string{"bag_id"}},
	{from: "holds", cols: []column{c("id", integer), c("name", text), c("reason", text), c("authority", text), c("created_by", text),
		c("created", stamp), c("released", stamp), c("released_by", text), c("release_reason", text)}, key: []string{"id"}, identity: true},
	{from: "hold_bags", cols: []column{c("hold_id", integer), c("bag_id", text), c("added", stamp)}, key: []string{"hold_id", "bag_id"}},
	{from: "disposals", cols: []column{c("id", integer), c("action", text), c("reason", text), c("requested_by", text), c("created", stamp),
		c("state", text), c("decided_by", text), c("decided", stamp), c("note", text), c("ended", stamp), c("detail", text)},
		key: []string{"id"}, identity: true},
	{from: "disposal_bags", cols: []column{c("disposal_id", integer), c("bag_id", text), c("started", stamp), c("disposed", stamp)},
		key: []string{"disposal_id", "bag_id"}},
	{from: "tombstones", cols: []column{c("bag_id", text), c("disposal_id", integer), c("disposed", stamp), c("record", jsonb)}, key: []string{"bag_id"}},
	{from: "schedule_versions", cols: []column{c("code", text), c("version", integer), c("definition", text), c("since", stamp)},
		key: []string{"code", "version"}},
	{from: "quality", cols: []column{c("bag_id", text), c("verdict", text), c("report", jsonText)}, key: []string{"bag_id"}},
}

// indexTables are the search index's; a page's tsvector is made again from
// its words.
var indexTables = []table{
	{from: "docs", to: "search_docs", cols: []column{c("bag", text), c("title", text), c("collection", text), c("station", text), c("year", integer),
		c("formats", words), c("access", text), c("embargo", text), c("stored", stamp), c("meta", jsonb)}, key: []string{"bag"}},
	{from: "pages", to: "search_pages", cols: []column{c("bag", text), c("file", text), c("page", integer), c("w", integer), c("h", integer),
		c("wpt", real), c("hpt", real), c("text", text), c("boxes", blob)}, key: []string{"bag", "file", "page", "text"},
		derived: &derived{"tsv", func(row []any) any { return pgfts.TSVector(row[7].(string)) }}},
}

// Table is what was moved of one table: its rows, and the SHA-256 over its
// values as read from each side.
type Table struct {
	Name   string `json:"table"`
	Rows   int64  `json:"rows"`
	Source string `json:"sha256_source"`
	Target string `json:"sha256_target"`
}

// ErrNotEmpty is returned when the target already holds a catalog or an
// index: a move goes into an empty database, never over another archive.
var ErrNotEmpty = errors.New("pgmove: the target is not empty")

// ErrMismatch is returned when what was read back differs from the source;
// nothing is committed then.
var ErrMismatch = errors.New("pgmove: what PostgreSQL holds differs from the source")

// Move copies the catalog at catalogFile into catalogTo (a PostgreSQL
// catalog, its schema made), and the index at indexFile ("" for none) into
// indexTo, and verifies both; it commits only if every table's rows and
// checksums agree. progress, if not nil, is told of each table done.
func Move(ctx context.Context, catalogFile, indexFile string, catalogTo, indexTo *pgxpool.Pool, progress func(Table)) ([]Table, error) {
	type job struct {
		file   string
		to     *pgxpool.Pool
		tables []table
	}
	jobs := []job{{catalogFile, catalogTo, catalogTables}}
	if indexFile != "" {
		jobs = append(jobs, job{indexFile, indexTo, indexTables})
	}
	var out []Table
	var txs []pgx.Tx
	defer func() {
		for _, tx := range txs {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	for _, j := range jobs {
		src, err := sql.Open("sqlite", "file:"+j.file+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return out, fmt.Errorf("pgmove: open %s: %w", j.file, err)
		}
		defer src.Close()
		// One snapshot of the source for every table.
		stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return out, fmt.Errorf("pgmove: read %s: %w", j.file, err)
		}
		defer stx.Rollback()
		tx, err := j.to.Begin(ctx)
		if err != nil {
			return out, fmt.Errorf("pgmove: %w", err)
		}
		txs = append(txs, tx)
		for _, t := range j.tables {
			res, err := moveTable(ctx, stx, tx, t)
			if err != nil {
				return out, err
			}
			out = append(out, res)
			if progress != nil {
				progress(res)
			}
			if res.Source != res.Target {
				return out, fmt.Errorf("%w: table %s (%d rows): sha256 %s in the source, %s read back", ErrMismatch, res.Name, res.Rows, res.Source, res.Target)
			}
		}
	}
	for i, tx := range txs {
		if err := tx.Commit(ctx); err != nil {
			if i > 0 {
				return out, fmt.Errorf("pgmove: the catalog is moved, the index is not (strongroom index rebuild makes it): %w", err)
			}
			return out, fmt.Errorf("pgmove: commit: %w", err)
		}
	}
	txs = nil
	return out, nil
}

func (t table) target() string {
	if t.to != "" {
		return t.to
	}
	return t.from
}

func (col column) target() string {
	if col.to != "" {
		return col.to
	}
	return col.from
}

// moveTable copies one table, then reads it back.
func moveTable(ctx context.Context, src *sql.Tx, tx pgx.Tx, t table) (Table, error) {
	res := Table{Name: t.target()}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t.target()}.Sanitize()).Scan(&n); err != nil {
		return res, fmt.Errorf("pgmove: %s: %w", t.target(), err)
	}
	if n > 0 {
		return res, fmt.Errorf("%w: %s already has %d rows; move into an empty database", ErrNotEmpty, t.target(), n)
	}
	var from, to []string
	kinds := map[string]kind{}
	for _, col := range t.cols {
		from = append(from, `"`+col.from+`"`)
		to = append(to, col.target())
		kinds[col.from] = col.kind
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(from, ", ")+` FROM "`+t.from+`" ORDER BY `+strings.Join(t.key, ", "))
	if err != nil {
		return res, fmt.Errorf("pgmove: read %s: %w", t.from, err)
	}
	defer rows.Close()
	rs := &rowSource{t: t, rows: rows, sum: sha256.New()}
	if t.derived != nil {
		to = append(to, t.derived.col)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.target()}, to, rs); err != nil {
		if rs.err != nil {
			err = rs.err
		}
		return res, fmt.Errorf("pgmove: copy %s: %w", t.from, err)
	}
	res.Rows, res.Source = rs.n, hex.EncodeToString(rs.sum.Sum(nil))
	if t.identity {
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM `+pgx.Identifier{t.target()}.Sanitize(), t.target()); err != nil {
			return res, fmt.Errorf("pgmove: %s: %w", t.target(), err)
		}
	}
	// Read back, in the source's order (bytewise, as SQLite sorts text).
	var sel, order []string
	for _, col := range t.cols {
		e := pgx.Identifier{col.target()}.Sanitize()
		if col.kind == jsonb || col.kind == jsonText {
			e += "::text"
		}
		sel = append(sel, e)
	}
	for _, k := range t.key {
		e := pgx.Identifier{targetOf(t, k)}.Sanitize()
		if kinds[k] == text {
			e += ` COLLATE "C"`
		}
		order = append(order, e)
	}
	back, err := tx.Query(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+pgx.Identifier{t.target()}.Sanitize()+` ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return res, fmt.Errorf("pgmove: read back %s: %w", t.target(), err)
	}
	defer back.Close()
	sum := sha256.New()
	var m int64
	for back.Next() {
		vals, err := back.Values()
		if err != nil {
			return res, fmt.Errorf("pgmove: read back %s: %w", t.target(), err)
		}
		for i, col := range t.cols {
			writeCanon(sum, col.kind, vals[i])
		}
		sum.Write([]byte{0x1e})
		m++
	}
	if err := back.Err(); err != nil {
		return res, fmt.Errorf("pgmove: read back %s: %w", t.target(), err)
	}
	res.Target = hex.EncodeToString(sum.Sum(nil))
	if m != res.Rows {
		res.Target = fmt.Sprintf("%s (%d rows)", res.Target, m)
	}
	return res, nil
}

func targetOf(t table, from string) string {
	for _, col := range t.cols {
		if col.from == from {
			return col.target()
		}
	}
	return from
}

// rowSource feeds COPY from the source's rows, converting each value and
// adding it to the source's checksum.
type rowSource struct {
	t    table
	rows *sql.Rows
	sum  hash.Hash
	vals []any
	n    int64
	err  error
}

func (r *rowSource) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	raw := make([]any, len(r.t.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if r.err = r.rows.Scan(ptrs...); r.err != nil {
		return false
	}
	r.vals = make([]any, len(raw), len(raw)+1)
	for i, col := range r.t.cols {
		v, err := convert(col.kind, raw[i])
		if err != nil {
			r.err = fmt.Errorf("row %d, column %s: %w", r.n+1, col.from, err)
			return false
		}
		r.vals[i] = v
		writeCanon(r.sum, col.kind, v)
	}
	r.sum.Write([]byte{0x1e})
	if r.t.derived != nil {
		r.vals = append(r.vals, r.t.derived.of(r.vals))
	}
	r.n++
	return true
}

func (r *rowSource) Values() ([]any, error) { return r.vals, nil }

func (r *rowSource) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// convert turns a SQLite value into what its PostgreSQL column takes.
func convert(k kind, v any) (any, error) {
	switch k {
	case text, jsonText:
		return str(v), nil
	case integer:
		switch v := v.(type) {
		case int64:
			return v, nil
		case nil:
			return int64(0), nil
		}
		return strconv.ParseInt(str(v), 10, 64)
	case real:
		switch v := v.(type) {
		case float64:
			return v, nil
		case int64:
			return float64(v), nil
		}
		return strconv.ParseFloat(str(v), 64)
	case stamp, day, nanos:
		s := str(v)
		if s == "" {
			return nil, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil && k == day {
			t, err = time.Parse(time.DateOnly, s)
		}
		if err != nil {
			return nil, fmt.Errorf("not a time: %q", s)
		}
		if t.IsZero() {
			return nil, nil
		}
		if k == nanos {
			return t.UnixNano(), nil
		}
		// PostgreSQL keeps microseconds (and would round the rest).
		return t.UTC().Truncate(time.Microsecond), nil
	case jsonb:
		s := str(v)
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("not JSON: %.40q", s)
		}
		return s, nil
	case blob:
		b, _ := v.([]byte)
		if b == nil {
			b = []byte(str(v))
		}
		return b, nil
	case words:
		return strings.Fields(str(v)), nil
	}
	return nil, fmt.Errorf("pgmove: unknown kind %d", k)
}

// writeCanon writes the canonical form of a converted value (or one read
// back from PostgreSQL) to the checksum: both sides write the same bytes
// for the same value, whatever type their driver hands back.
func writeCanon(h hash.Hash, k kind, v any) {
	var s string
	switch {
	case v == nil:
		s = "\x00"
	case k == integer || k == nanos:
		s = fmt.Sprint(v)
	case k == real:
		f, _ := v.(float64)
		s = strconv.FormatFloat(f, 'g', -1, 64)
		if math.IsNaN(f) {
			s = "NaN"
		}
	case k == stamp || k == day:
		t, _ := v.(time.Time)
		s = t.UTC().Format(time.RFC3339Nano)
	case k == jsonb:
		s = canonJSON(str(v))
	case k == blob:
		b, _ := v.([]byte)
		s = hex.EncodeToString(b)
	case k == words:
		var w []string
		switch v := v.(type) {
		case []string:
			w = v
		case []any:
			for _, x := range v {
				w = append(w, str(x))
			}
		}
		s = strings.Join(w, "\x1f")
	default:
		s = str(v)
	}
	h.Write([]byte(s))
	h.Write([]byte{0x1f})
}

// canonJSON is JSON with its objects' keys sorted and no spaces, numbers
// as written: jsonb keeps the value, not the text.
func canonJSON(s string) string {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "invalid:" + s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
