package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retrieve"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/storage"
)

// The commands that give things back: get, export, search, bags, index.
// They run as the operator, who can read data_dir: no access level stops
// them (the HTTP API is where rights apply).

// openStore opens the catalog and the store, for commands that read bags.
func openStore(ctx context.Context, configPath string) (catalog.Catalog, storage.Store, error) {
	cfg, _, cat, err := openCatalog(ctx, configPath, false)
	if err != nil {
		return nil, nil, err
	}
	st, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		cat.Close()
		return nil, nil, err
	}
	return cat, st, nil
}

// openBag opens the catalog and the store, and returns what the catalog
// recorded of a stored bag's objects.
func openBag(ctx context.Context, configPath, id string) (catalog.Catalog, storage.Store, []catalog.Object, error) {
	cat, st, err := openStore(ctx, configPath)
	if err != nil {
		return nil, nil, nil, err
	}
	objs, err := cat.Objects(ctx, id)
	if err == nil && len(objs) == 0 {
		err = usageError{fmt.Errorf("bag %s: not in the catalog (strongroom bags list shows the stored bags)", id)}
	}
	if err != nil {
		cat.Close()
		return nil, nil, nil, err
	}
	return cat, st, objs, nil
}

// retrieved turns a mismatch into an alert and a failure of the command.
func retrieved(ctx context.Context, cat catalog.Catalog, err error) error {
	var m *retrieve.Mismatch
	if errors.As(err, &m) {
		if aerr := m.Raise(ctx, cat, time.Now()); aerr != nil {
			return errors.Join(err, aerr)
		}
		return failedError{fmt.Errorf("%w; an alert was raised (strongroom alerts list)", err)}
	}
	return err
}

func cmdGet(ctx context.Context, args []string) error {
	fs := newFlags("get", "[--config FILE] BAG_ID DEST", `Downloads a stored bag into the folder DEST (which must not exist), checking
every byte against the digests recorded when it was stored as it streams,
then validating it as a bag. Until then it is built in DEST.partial, which
is left there if anything fails; a file that does not match raises an
alert and the command exits 1.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 2 {
		return usageError{errors.New("get: want BAG_ID DEST")}
	}
	cat, st, objs, err := openBag(ctx, *configPath, fs.Arg(0))
	if err != nil {
		return err
	}
	defer cat.Close()
	dest, err := filepath.Abs(fs.Arg(1))
	if err != nil {
		return err
	}
	if err := retrieve.Get(ctx, st, objs, dest); err != nil {
		return retrieved(ctx, cat, fmt.Errorf("get %s: %w", fs.Arg(0), err))
	}
	var size int64
	for _, o := range objs {
		size += o.Size
	}
	fmt.Printf("%s: %d files, %d bytes, every one checked; a valid bag in %s\n", fs.Arg(0), len(objs), size, dest)
	return nil
}

func cmdExport(ctx context.Context, args []string) error {
	fs := newFlags("export", "[--config FILE] [--format tar|zip] [--output FILE] BAG_ID", `Writes a stored bag as one tar or zip archive, to standard output or a
file, every byte checked against its record as it streams. On a mismatch
the archive is cut short (no tool takes it as whole), an alert is raised
and the command exits 1; with --output nothing is left under FILE.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	format := fs.String("format", "tar", "tar or zip")
	output := fs.String("output", "", "write to this file (default: standard output)")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return helpOK(err)
	}
	f, err := retrieve.ParseFormat(*format)
	if err != nil {
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("export: want one BAG_ID")}
	}
	cat, st, objs, err := openBag(ctx, *configPath, fs.Arg(0))
	if err != nil {
		return err
	}
	defer cat.Close()
	var w io.Writer = os.Stdout
	var out *os.File
	if *output != "" {
		if out, err = os.Create(*output + ".partial"); err != nil {
			return err
		}
		defer os.Remove(out.Name())
		defer out.Close()
		w = out
	}
	if err := retrieve.Archive(ctx, st, fs.Arg(0), objs, w, f); err != nil {
		return retrieved(ctx, cat, fmt.Errorf("export %s: %w", fs.Arg(0), err))
	}
	if out == nil {
		return nil
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return os.Rename(out.Name(), *output)
}

// reorder puts flags before the positional arguments, so that
// "get BAG DEST --config c.yaml" works as well as the other order. Whether
// a flag takes the next argument as its value is fs's to say: a boolean
// flag does not (restore BAK --force --config c.yaml).
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !isBoolFlag(fs, a) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...) // "--": a positional "-x" is not read as a flag
}

// queryTerms keeps a query's excluded words (-salmon) for the query: an
// argument that looks like a flag but names none of fs's goes after "--".
func queryTerms(fs *flag.FlagSet, args []string) []string {
	var keep, terms []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case a == "--":
			terms = append(terms, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-' && fs.Lookup(name) == nil && name != "h" && name != "help":
			terms = append(terms, a)
		default:
			keep = append(keep, a)
		}
	}
	return append(append(keep, "--"), terms...)
}

// isBoolFlag says whether the flag a names in fs is boolean (help is).
func isBoolFlag(fs *flag.FlagSet, a string) bool {
	name := strings.TrimLeft(a, "-")
	if name == "h" || name == "help" {
		return true
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func cmdSearch(ctx context.Context, args []string) error {
	fs := newFlags("search", "[--config FILE] [--json] [filters] QUERY...", `Searches the pages of the stored bags: words (all on one page), "a phrase",
prefix*, -excluded. Each hit names the bag, the file and the page, with a
snippet ([matched] words) and the matched words' boxes in page pixels and
in PDF points (x0,y0,x1,y1 from the bottom left). --json: one JSON object
per hit.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	asJSON := fs.Bool("json", false, "one JSON line per hit")
	var q search.Query
	fs.StringVar(&q.Collection, "collection", "", "only this collection")
	fs.StringVar(&q.Station, "station", "", "only this scanner station")
	fs.StringVar(&q.Format, "format", "", "only bags with originals of this MIME type")
	fs.IntVar(&q.Year, "year", 0, "only items of this year")
	fs.IntVar(&q.Limit, "limit", 20, "hits to show")
	fs.IntVar(&q.Offset, "offset", 0, "hits to skip")
	fs.StringVar(&q.Bag, "bag", "", "search within this bag (one document)")
	if err := parse(fs, reorder(fs, queryTerms(fs, args))); err != nil {
		return helpOK(err)
	}
	q.Text = strings.Join(fs.Args(), " ")
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if _, file := indexURL(cfg); file != "" {
		if _, err := os.Stat(file); err != nil {
			return usageError{fmt.Errorf("no search index at %s (is this the right --config? nothing stored yet? strongroom index rebuild makes it from the store)", file)}
		}
	}
	idx, err := openIndex(ctx, cfg)
	if err != nil {
		return err
	}
	defer idx.Close()
	res, err := idx.Search(ctx, q)
	if errors.Is(err, search.ErrQuery) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	more := ""
	if res.TotalCapped {
		more = "+"
	}
	// Where this page of hits is, on stderr: the hits stay parseable.
	if shown := len(res.Hits); shown == 0 {
		fmt.Fprintf(os.Stderr, "no page matches (of %d%s)\n", res.Total, more)
	} else if from, to := q.Offset+1, q.Offset+shown; to < res.Total {
		fmt.Fprintf(os.Stderr, "showing %d–%d of %d%s pages; --offset %d for more\n", from, to, res.Total, more, to)
	} else {
		fmt.Fprintf(os.Stderr, "showing %d–%d of %d%s pages\n", from, to, res.Total, more)
	}
	if *asJSON {
		return printLines(res.Hits)
	}
	fmt.Printf("%d%s pages match (%.1f ms)\n", res.Total, more, float64(res.Took.Microseconds())/1000)
	for _, h := range res.Hits {
		fmt.Printf("\n%s  page %d  %s\n  %s\n  ", h.Bag, h.Page, h.File, h.Title)
		for _, f := range h.Snippet {
			if f.Match {
				fmt.Printf("[%s]", f.Text)
			} else {
				fmt.Print(strings.ReplaceAll(f.Text, "\n", " "))
			}
		}
		fmt.Println()
		for _, b := range h.Boxes {
			fmt.Printf("  %q at %d,%d %dx%d px; %g,%g,%g,%g pt\n", b.Word, b.X, b.Y, b.W, b.H, b.PDF[0], b.PDF[1], b.PDF[2], b.PDF[3])
		}
	}
	return nil
}

func cmdBags(ctx context.Context, args []string) error {
	fs := newFlags("bags", "[--config FILE] list [filters] | show ID  [--json]", `Lists the stored bags with their titles, and shows one bag: its description,
files and history. Reads only the catalog.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("bags: want list or show")}
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	sub := newFlags("bags "+verb, "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	asJSON := sub.Bool("json", false, "JSON")
	var q catalog.BagQuery
	sub.StringVar(&q.Collection, "collection", "", "list: only this collection")
	sub.StringVar(&q.Station, "station", "", "list: only this scanner station")
	sub.StringVar(&q.Format, "format", "", "list: only bags with originals of this MIME type")
	sub.IntVar(&q.Year, "year", 0, "list: only items of this year")
	sort := sub.String("sort", "stored", "list: stored (newest first), title or date")
	sub.IntVar(&q.Limit, "limit", 100, "list: bags to show")
	sub.IntVar(&q.Offset, "offset", 0, "list: bags to skip")
	id, err := parseWithID(sub, rest)
	if err != nil {
		return helpOK(err)
	}
	q.Sort = catalog.BagSort(*sort)
	_, _, cat, err := openCatalog(ctx, *configPath, false)
	if err != nil {
		return err
	}
	defer cat.Close()
	switch verb {
	case "list":
		rows, total, err := cat.FindBags(ctx, q)
		if err != nil {
			return err
		}
		sayEmpty(len(rows), "no bags match")
		if *asJSON {
			return printLines(rows)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BAG\tTITLE\tDATE\tCOLLECTION\tACCESS\tSTORED\tALERTS")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Meta.Title, r.Meta.Date, r.Meta.Collection, r.Meta.Access, r.StoredAt.UTC().Format("2006-01-02 15:04"), r.Alerts)
		}
		tw.Flush()
		fmt.Fprintf(os.Stderr, "%d–%d of %d bags\n", min(q.Offset+1, total), min(q.Offset+len(rows), total), total)
		return nil
	case "show":
		if id == "" {
			return usageError{errors.New("bags show: want a bag id")}
		}
		b, err := cat.Bag(ctx, id)
		if err != nil {
			return err
		}
		it, err := cat.Item(ctx, b.ItemID)
		if err != nil {
			return err
		}
		objs, err := cat.Objects(ctx, id)
		if err != nil {
			return err
		}
		evs, err := cat.BagEvents(ctx, id)
		if err != nil {
			return err
		}
		var tomb *catalog.Tombstone
		if !b.Disposed.IsZero() {
			if tomb, err = cat.Tombstone(ctx, id); err != nil {
				return err
			}
		}
		v := struct {
			Bag       *catalog.Bag       `json:"bag"`
			Name      string             `json:"name"`
			Meta      catalog.Metadata   `json:"meta"`
			Objects   []catalog.Object   `json:"objects"`
			Events    []catalog.Event    `json:"events"`
			Tombstone *catalog.Tombstone `json:"tombstone,omitempty"` // what is kept of a disposed bag
		}{b, it.Name, it.Meta, objs, evs, tomb}
		if *asJSON {
			return printShown(v, true)
		}
		fmt.Printf("%s\n", id)
		for _, f := range catalog.Fields {
			if val := *f.Ptr(&it.Meta); val != "" {
				fmt.Printf("  %-22s %s\n", f.Label+":", val)
			}
		}
		fmt.Printf("  %-22s %s, %d files, %d bytes\n", "Stored:", b.StoredAt.UTC().Format("2006-01-02 15:04 UTC"), len(objs), b.Bytes)
		if tomb != nil {
			fmt.Printf("  %-22s %s by request %d (%s), approved by %s; certificate %s\n", "Disposed of:", tomb.Disposed.UTC().Format("2006-01-02 15:04 UTC"),
				tomb.Request, tomb.Reason, tomb.ApprovedBy, tomb.Certificate)
		}
		for _, o := range objs {
			fmt.Printf("    %s\n", o.Key)
		}
		return nil
	}
	return usageError{fmt.Errorf("bags: unknown verb %q (want list or show)", verb)}
}

func cmdIndex(ctx context.Context, args []string) error {
	fs := newFlags("index", "[--config FILE] rebuild [--bag ID]", `Rebuilds the search index from the store alone: every bag found there (or
one, with --bag) is read back (its ALTO, access copies and PDFs), each file
checked against the catalog's digests and the bag's own manifests (and
those, with bag-info.txt, against its tag manifest), and its pages indexed
again; descriptions come from the catalog, or from the bag's bag-info.txt
for a bag the catalog does not know. A bag that fails its check is not
indexed and raises an alert. A full rebuild is built apart (a new file, or
one PostgreSQL transaction) and then replaces the index in one step: bags
no longer in the store are gone from it, and searches meanwhile find the
old index, never a half-built one.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 || fs.Arg(0) != "rebuild" {
		return usageError{errors.New("index: want rebuild")}
	}
	sub := newFlags("index rebuild", "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	only := sub.String("bag", "", "only this bag")
	if err := parse(sub, fs.Args()[1:]); err != nil {
		return helpOK(err)
	}
	e, err := openEnv(ctx, *configPath, false, true)
	if err != nil {
		return err
	}
	defer e.Close()
	idx := e.engine.Index
	if idx == nil {
		if idx, err = openIndex(ctx, e.cfg); err != nil {
			return err
		}
		defer idx.Close()
	}
	bags := map[string][]storage.ObjectInfo{}
	for oi, err := range e.engine.Store.List(ctx, *only) {
		if err != nil {
			return err
		}
		bag, _, ok := strings.Cut(oi.Key, "/")
		if ok && (*only == "" || bag == *only) {
			bags[bag] = append(bags[bag], oi)
		}
	}
	var failed, pages int
	fill := func(into search.Index) error {
		for _, bag := range slices.Sorted(maps.Keys(bags)) {
			n, err := e.engine.Reindex(ctx, into, bag, bags[bag])
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed++
				fmt.Fprintf(os.Stderr, "%s: %v\n", bag, err)
				continue
			}
			pages += n
			fmt.Printf("%s: %d pages\n", bag, n)
		}
		return nil
	}
	if *only != "" {
		err = fill(idx)
	} else if r, ok := idx.(interface {
		Rebuild(ctx context.Context, fill func(search.Index) error) error
	}); ok {
		// Built apart and swapped in whole: what is gone from the store
		// is gone from the index, and searches never see it half made.
		err = r.Rebuild(ctx, fill)
	} else {
		err = fmt.Errorf("index rebuild: this index cannot be rebuilt whole")
	}
	if err != nil {
		return err
	}
	fmt.Printf("%d bags, %d pages indexed; %d failed\n", len(bags)-failed, pages, failed)
	if failed > 0 {
		return failedError{fmt.Errorf("%d bags not indexed (strongroom alerts list)", failed)}
	}
	return nil
}
