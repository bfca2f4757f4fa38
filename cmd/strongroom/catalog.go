package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgmove"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/postgres"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	"github.com/strongroom-archive/strongroom/pipeline/search/pgfts"
)

func cmdCatalog(ctx context.Context, args []string) error {
	flags := newFlags("catalog", "[--config FILE] migrate --to postgres://USER@HOST:PORT/DB [--index-to postgres://…]",
		`Moves the embedded catalog (data_dir/catalog.db: items, events, bags, audits,
alerts, batches, sessions, descriptions, rights, retention, holds, disposals)
and the search index (data_dir/index.db) into PostgreSQL, for an archive that
more than one machine works on. Every table is copied in one transaction,
then read back and compared with the source (its rows, and a SHA-256 over
every value); only if all agree is it committed. The database must be empty
(it is given its tables); the SQLite files are only read, and kept.

Stop the daemon first (what it wrote after the copy began would not be
moved), then set catalog.url and search.url to the URLs given here and start
it again. Give the password in PGPASSWORD or ~/.pgpass, not in the URL.`)
	configPath := flags.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(flags, args); err != nil {
		return helpOK(err)
	}
	if flags.NArg() == 0 || flags.Arg(0) != "migrate" {
		return usageError{errors.New("catalog: want migrate")}
	}
	sub := newFlags("catalog migrate", "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	to := sub.String("to", "", "the PostgreSQL database to move the catalog into (postgres://user@host:port/database)")
	indexTo := sub.String("index-to", "", "the database for the search index (default: --to)")
	if err := parse(sub, reorder(sub, flags.Args()[1:])); err != nil {
		return helpOK(err)
	}
	if *to == "" {
		return usageError{errors.New("catalog migrate: --to postgres://… is required")}
	}
	if *indexTo == "" {
		*indexTo = *to
	}
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	_, file := catalogURL(cfg)
	if file == "" {
		return usageError{fmt.Errorf("catalog migrate: catalog.url already names %s, not an embedded catalog", postgres.Redact(cfg.Catalog.URL))}
	}
	if _, err := os.Stat(file); err != nil {
		return usageError{fmt.Errorf("catalog migrate: no catalog at %s (is this the right --config?)", file)}
	}
	// Both files brought to this version's schema first: what is copied is
	// what this version's PostgreSQL schema holds.
	src, err := sqlite.Open(ctx, file)
	if err != nil {
		return err
	}
	src.Close()
	_, indexFile := indexURL(cfg)
	if _, err := os.Stat(indexFile); indexFile == "" || errors.Is(err, fs.ErrNotExist) {
		indexFile = ""
	} else {
		idx, err := fts.Open(ctx, indexFile)
		if err != nil {
			return err
		}
		idx.Close()
	}
	dst, err := postgres.Open(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	var x *pgfts.Index
	if indexFile != "" {
		if x, err = pgfts.Open(ctx, *indexTo); err != nil {
			return err
		}
		defer x.Close()
	}
	tables, err := pgmove.Move(ctx, file, indexFile, dst.Pool(), poolOf(x), func(t pgmove.Table) {
		fmt.Fprintf(os.Stderr, "%-18s %9d rows  sha256 %.16s…\n", t.Name, t.Rows, t.Source)
	})
	if errors.Is(err, pgmove.ErrNotEmpty) {
		return usageError{err}
	}
	if err != nil {
		return failedError{err}
	}
	fmt.Fprintf(os.Stderr, `moved and verified; %s is kept as it was. Now set, in the configuration:
  catalog:
    url: %s
  search:
    url: %s
and start strongroom again.
`, file, postgres.Redact(*to), postgres.Redact(*indexTo))
	return printShown(struct {
		Catalog string         `json:"catalog"`
		Index   string         `json:"index"`
		Tables  []pgmove.Table `json:"tables"`
	}{postgres.Redact(*to), postgres.Redact(*indexTo), tables}, true)
}

func poolOf(x *pgfts.Index) *pgxpool.Pool {
	if x == nil {
		return nil
	}
	return x.Pool()
}
