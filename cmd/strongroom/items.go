package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

func cmdItems(ctx context.Context, args []string) error {
	fs := newFlags("items", "[--config FILE] list [--all] | show ID | release ID [--note N]", `Lists and inspects the pipeline's items, and gives up unfinished ones.

  list        one line per unfinished item (--all: the --limit most recent
              of every state, 200 unless given): id, stage, name, source,
              last error (tab-separated; --json: one JSON line per item)
  show ID     the item, its files and its PREMIS events, as JSON (--json:
              on one line)
  release ID  ends an unfinished item where it stands, e.g. one an
              interrupted ingest left that you do not want resumed: an item
              whose bag is stored and verified is marked done, any other
              failed ("released by USER: NOTE"). Its originals are not moved,
              so the path can be taken again. Refused while a running
              process works on the item.

Reads and changes only the catalog; the store is not opened.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("items: want list, show or release")}
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	sub := newFlags("items "+verb, "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	all := sub.Bool("all", false, "list: every state, not only unfinished items")
	limit := sub.Int("limit", 200, "list --all: how many of the most recent items")
	asJSON := sub.Bool("json", false, "list: one JSON line per item; show: one JSON line")
	note := sub.String("note", "", "release: why (recorded)")
	who := sub.String("by", currentUser(), "release: who (recorded)")
	id, err := parseWithID(sub, rest)
	if err != nil {
		return helpOK(err)
	}
	cfg, log, cat, err := openCatalog(ctx, *configPath, false)
	if err != nil {
		return err
	}
	defer cat.Close()
	switch verb {
	case "list":
		items, err := cat.Active(ctx)
		if *all {
			if *limit < 1 {
				return usageError{fmt.Errorf("items list: --limit %d: at least 1", *limit)}
			}
			items, err = cat.Items(ctx, *limit)
		}
		if err != nil {
			return err
		}
		if *all && len(items) == *limit {
			fmt.Fprintf(os.Stderr, "the %d most recent items; --limit N for more\n", *limit)
		}
		sayEmpty(len(items), map[bool]string{false: "no unfinished items (--all lists every state)", true: "no items"}[*all])
		if *asJSON {
			return printLines(items)
		}
		for _, it := range items {
			fmt.Printf("%s\t%s\t%s\t%s\t%s\n", it.ID, it.Stage, oneLine(it.Name), oneLine(it.Source), oneLine(it.LastError))
		}
		return nil
	case "show":
		return showItem(ctx, cat, id, *asJSON)
	case "release":
		if id == "" {
			return usageError{errors.New("items release: want an item id")}
		}
		eng, err := newEngine(cfg, log, cat, nil)
		if err != nil {
			return err
		}
		return releaseItem(ctx, eng, id, *who, *note)
	}
	return usageError{fmt.Errorf("items: unknown command %q", verb)}
}

// itemRecord is an item with its files and events, as items show and the
// API show it.
type itemRecord struct {
	Item   *catalog.Item   `json:"item"`
	Files  []catalog.File  `json:"files"`
	Events []catalog.Event `json:"events"`
}

// showItem prints an item, its files and its events as JSON.
func showItem(ctx context.Context, cat catalog.Catalog, id string, asJSON bool) error {
	it, err := cat.Item(ctx, id)
	if err != nil {
		return err // an unknown id is exit 2 (exitCode)
	}
	files, err := cat.Files(ctx, id)
	if err != nil {
		return err
	}
	evs, err := cat.Events(ctx, id)
	if err != nil {
		return err
	}
	return printShown(itemRecord{it, files, evs}, asJSON)
}

// releaseItem gives up an unfinished item (pipeline.Abandon).
func releaseItem(ctx context.Context, eng *pipeline.Engine, id, who, note string) error {
	it, err := eng.Abandon(ctx, id, who, note)
	switch {
	case errors.Is(err, pipeline.ErrLeased):
		return failedError{fmt.Errorf("items release %s: a running process is working on it; stop that process first: %w", id, err)}
	case errors.Is(err, pipeline.ErrFinished):
		return failedError{err}
	case err != nil:
		return err // an unknown id is exit 2 (exitCode)
	}
	fmt.Printf("%s\t%s\n", it.ID, it.Stage)
	return nil
}

// oneLine keeps a tab-separated line one line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
}
