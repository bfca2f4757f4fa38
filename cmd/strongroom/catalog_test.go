package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
)

// wordPDF writes a one-page born-digital PDF whose text is words.
func wordPDF(t *testing.T, p, words string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	err := os.WriteFile(p, testenv.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		testenv.Stream("", "BT /F1 24 Tf 100 600 Td ("+words+") Tj ET")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
}

// stamps are times as the commands print them: compared to the
// microsecond, which is what PostgreSQL keeps.
var stamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

func toMicros(s string) string {
	return stamps.ReplaceAllStringFunc(s, func(m string) string {
		tm, err := time.Parse(time.RFC3339Nano, m)
		if err != nil {
			return m
		}
		return tm.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
	})
}

// sameHits is a search's JSON lines without their scores (bm25 in FTS5,
// ts_rank in PostgreSQL), in the order of their text: the same hits, with
// the same boxes and snippets.
func sameHits(t *testing.T, out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var hit map[string]any
		if err := json.Unmarshal([]byte(l), &hit); err != nil {
			t.Fatalf("search output: %v: %s", err, l)
		}
		delete(hit, "score")
		b, _ := json.Marshal(hit)
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestCatalogMigrate: an archive of 20 items (stored, failed, with alerts
// and a corrected description) moves into PostgreSQL with `catalog
// migrate`; with catalog.url and search.url on it, the same commands give
// the same bags, histories, alerts and search hits, the SQLite files are
// unchanged, and the archive goes on: a new item is stored, found, audited
// and retrieved. A second migrate into the same database is refused.
func TestCatalogMigrate(t *testing.T) {
	clitest.Embedded(t)
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	in := filepath.Join(dir, "in")
	var paths []string
	for i := range 16 {
		p := filepath.Join(in, fmt.Sprintf("letter%02d.pdf", i))
		wordPDF(t, p, fmt.Sprintf("Dear cousin, the weaver%02d sends wool", i))
		paths = append(paths, p)
	}
	for i := range 2 { // cut short: failed
		p := filepath.Join(in, fmt.Sprintf("broken%d.png", i))
		clitest.PNG(t, p, 400, 300)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)/2], 0o644)
		paths = append(paths, p)
	}
	for i := range 2 { // no format anyone knows: stored, with an alert
		p := filepath.Join(in, fmt.Sprintf("unknown%d.bin", i))
		b := make([]byte, 4096)
		rand.Read(b)
		os.WriteFile(p, b, 0o644)
		paths = append(paths, p)
	}
	out, errs, _ := clitest.Run(t, dir, append([]string{"ingest", "--config", cfg}, paths...)...)
	var stored, failed []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l ingestLine
		json.Unmarshal(sc.Bytes(), &l)
		switch l.Status {
		case "stored":
			stored = append(stored, l.Bag)
		case "failed":
			failed = append(failed, l.ID)
		}
	}
	if len(stored) != 18 || len(failed) != 2 {
		t.Fatalf("ingest: %d stored, %d failed\n%s%s", len(stored), len(failed), out, clitest.LastLines(errs, 10))
	}
	// A description corrected after storing, in the catalog and the index
	// (as the review API's PUT …/metadata does).
	ctx := context.Background()
	data := filepath.Join(dir, "data")
	func() {
		cat, err := sqlite.Open(ctx, filepath.Join(data, "catalog.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer cat.Close()
		b, err := cat.Bag(ctx, stored[0])
		if err != nil {
			t.Fatal(err)
		}
		it, err := cat.Item(ctx, b.ItemID)
		if err != nil {
			t.Fatal(err)
		}
		it.Meta.Title, it.Meta.Collection = "Letters to a cousin", "family"
		if err := cat.SetMetadata(ctx, it.ID, it.Meta); err != nil {
			t.Fatal(err)
		}
		idx, err := fts.Open(ctx, filepath.Join(data, "index.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer idx.Close()
		files, err := cat.Files(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.SetDoc(ctx, search.DocOf(b, it, files)); err != nil {
			t.Fatal(err)
		}
	}()

	// What the archive answers, asked through the commands.
	answers := func(cfg string) map[string]string {
		got := map[string]string{}
		ask := func(args ...string) {
			out, errs, code := clitest.Run(t, dir, append(args, "--config", cfg)...)
			if args[0] == "search" {
				out = sameHits(t, out)
			}
			got[strings.Join(args, " ")] = fmt.Sprintf("exit %d\n%s", code, toMicros(out))
			if code != 0 {
				t.Errorf("%v: exit %d %s", args, code, errs)
			}
		}
		ask("bags", "list", "--json")
		ask("bags", "list", "--json", "--collection", "family")
		ask("items", "list", "--all")
		ask("alerts", "list", "--state", "all", "--json")
		ask("search", "--json", "weaver03")
		ask("search", "--json", "--limit", "50", "wool", "-weaver05")
		ask("search", "--json", `"cousin the weaver07"`, "dear*")
		ask("bags", "show", "--json", stored[0])
		ask("bags", "show", "--json", stored[17])
		return got
	}
	before := answers(cfg)
	if !strings.Contains(before["bags list --json --collection family"], "Letters to a cousin") || !strings.Contains(before["search --json weaver03"], `"page":1`) ||
		strings.Count(before["alerts list --state all --json"], "\n") < 2 {
		t.Fatalf("the embedded archive's answers:\n%v", before)
	}
	sums := map[string]string{}
	for _, f := range []string{"catalog.db", "index.db"} {
		_, sums[f], _ = hashFile(filepath.Join(data, f))
	}

	s := pgtest.Start(t)
	url := s.NewDatabase(t, "archive")
	out, errs, code := clitest.Run(t, dir, "catalog", "migrate", "--config", cfg, "--to", url)
	var moved struct {
		Tables []struct {
			Table  string `json:"table"`
			Rows   int64  `json:"rows"`
			Source string `json:"sha256_source"`
			Target string `json:"sha256_target"`
		} `json:"tables"`
	}
	if json.Unmarshal([]byte(out), &moved); code != 0 || len(moved.Tables) < 20 || !strings.Contains(errs, "catalog:\n    url: postgres://") {
		t.Fatalf("catalog migrate: exit %d\n%s\n%s", code, out, errs)
	}
	for _, tb := range moved.Tables {
		if tb.Source != tb.Target || tb.Table == "items" && tb.Rows != 20 {
			t.Errorf("%+v", tb)
		}
	}
	for f, sum := range sums {
		if _, now, _ := hashFile(filepath.Join(data, f)); now != sum {
			t.Errorf("%s changed by the migration", f)
		}
	}
	if _, errs, code := clitest.Run(t, dir, "catalog", "migrate", "--config", cfg, "--to", url); code != exitUsage || !strings.Contains(errs, "not empty") {
		t.Errorf("a second migrate: exit %d %s", code, errs)
	}

	pg := filepath.Join(dir, "pg.yaml")
	os.WriteFile(pg, []byte(strings.Replace(clitest.ReadFile(t, cfg), "data_dir: data\n", "data_dir: data-pg\ncatalog:\n  url: "+url+"\nsearch:\n  url: "+url+"\n", 1)), 0o644)
	after := answers(pg)
	for q, want := range before {
		if after[q] != want {
			t.Errorf("%s:\nembedded:\n%s\nPostgreSQL:\n%s", q, want, after[q])
		}
	}
	// No catalog or index file is made: the archive is in PostgreSQL.
	for _, f := range []string{"catalog.db", "index.db"} {
		if _, err := os.Stat(filepath.Join(dir, "data-pg", f)); err == nil {
			t.Errorf("data-pg/%s was made", f)
		}
	}

	// The archive goes on in PostgreSQL: store, find, audit, retrieve.
	p := filepath.Join(in, "late.pdf")
	wordPDF(t, p, "a late herring ledger")
	out, errs, code = clitest.Run(t, dir, "ingest", "--config", pg, p)
	var line ingestLine
	if json.Unmarshal([]byte(out), &line); code != 0 || line.Bag == "" {
		t.Fatalf("ingest on PostgreSQL: %d %s %s", code, out, clitest.LastLines(errs, 10))
	}
	if out, _, _ := clitest.Run(t, dir, "search", "--config", pg, "--json", "herring"); !strings.Contains(out, line.Bag) {
		t.Errorf("search on PostgreSQL: %s", out)
	}
	if out, errs, code := clitest.Run(t, dir, "audit", "--config", pg, "--all"); code != 0 || strings.Count(out, `"status":"intact"`) != 19 {
		t.Errorf("audit on PostgreSQL: exit %d\n%s%s", code, out, clitest.LastLines(errs, 5))
	}
	if _, errs, code := clitest.Run(t, dir, "get", "--config", pg, line.Bag, filepath.Join(dir, "got")); code != 0 {
		t.Errorf("get on PostgreSQL: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "got", "data", "original", "late.pdf")); err != nil {
		t.Errorf("the bag retrieved: %v", err)
	}

}

// TestPostgresURLSecret: a password written into catalog.url or search.url
// is not shown by `config`, nor in the errors of `config check` or of a
// command that cannot reach the server.
func TestPostgresURLSecret(t *testing.T) {
	dir := t.TempDir()
	url := "postgres://archive:s3cret@127.0.0.1:1/archive?connect_timeout=2"
	cfg := clitest.WriteConfig(t, dir, "")
	text := strings.Replace(clitest.ReadFile(t, cfg), "data_dir: data\n", "data_dir: data\ncatalog:\n  url: "+url+"\nsearch:\n  url: "+url+"\n", 1)
	text = regexp.MustCompile(`(?m)^(catalog|search):\n  url: postgres://strongroom@.*\n`).ReplaceAllString(text, "")
	os.WriteFile(cfg, []byte(text), 0o644)
	out, errs, code := clitest.Run(t, dir, "config", "--config", cfg)
	if code != 0 || strings.Contains(out+errs, "s3cret") || !strings.Contains(out, "postgres://archive:xxxxx@127.0.0.1:1/archive") {
		t.Errorf("config: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = clitest.Run(t, dir, "config", "check", "--config", cfg)
	if code != exitUsage || strings.Contains(out+errs, "s3cret") || !strings.Contains(out, "catalog.url postgres://archive@127.0.0.1:1/archive") {
		t.Errorf("config check: exit %d\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{{"bags", "list"}, {"search", "herring"}, {"serve"}} {
		out, errs, code := clitest.Run(t, dir, append(args, "--config", cfg)...)
		if code == 0 || strings.Contains(out+errs, "s3cret") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
}
