package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/strongroom-archive/strongroom/configs"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/storage"
)

func cmdHold(ctx context.Context, args []string) error {
	fs := newFlags("hold", "[--config FILE] create --name N --reason R --authority A | add ID BAG... | remove ID BAG... | release ID --reason R | list [--all] | show ID  [--json]",
		`Legal holds: while a hold is in force, nothing it holds is disposed of, whatever
its retention says (retention due marks such bags held). A hold names why and
who ordered it; bags join and leave it; releasing it says who and why. Each
change is a PREMIS event on the bags it concerns.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("hold: want create, add, remove, release, list or show")}
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	sub := newFlags("hold "+verb, "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	asJSON := sub.Bool("json", false, "JSON lines")
	all := sub.Bool("all", false, "list: released holds too")
	name := sub.String("name", "", "create: the hold's name (a case, a request)")
	reason := sub.String("reason", "", "create, release: why")
	authority := sub.String("authority", "", "create: who or what ordered it (counsel, a court, an inquiry)")
	who := sub.String("by", currentUser(), "who (recorded)")
	if err := parse(sub, reorder(sub, rest)); err != nil { // the id and bags anywhere among the flags
		return helpOK(err)
	}
	pos := sub.Args()
	cfg, _, cat, err := openCatalog(ctx, *configPath, false)
	if err != nil {
		return err
	}
	defer cat.Close()
	now := time.Now()
	if verb == "create" {
		for flag, v := range map[string]string{"--name": *name, "--reason": *reason, "--authority": *authority} {
			if strings.TrimSpace(v) == "" {
				return usageError{fmt.Errorf("hold create: %s is required: a hold says what it is, why, and on whose authority", flag)}
			}
			if err := catalog.CheckValue(v); err != nil {
				return usageError{fmt.Errorf("hold create %s: %w", flag, err)}
			}
		}
		h := &catalog.Hold{Name: *name, Reason: *reason, Authority: *authority, CreatedBy: *who, Created: now}
		if err := cat.CreateHold(ctx, h); err != nil {
			return err
		}
		return printShown(h, *asJSON)
	}
	if verb == "list" {
		holds, err := cat.ListHolds(ctx, *all)
		if err != nil {
			return err
		}
		sayEmpty(len(holds), "no legal holds in force (--all lists released ones too)")
		if *asJSON {
			return printLines(holds)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tAUTHORITY\tSINCE\tRELEASED")
		for _, h := range holds {
			released := ""
			if !h.Released.IsZero() {
				released = h.Released.UTC().Format(time.DateOnly) + " by " + h.ReleasedBy
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", h.ID, h.Name, h.Authority, h.Created.UTC().Format(time.DateOnly), released)
		}
		return tw.Flush()
	}
	if len(pos) == 0 {
		return usageError{fmt.Errorf("hold %s: want a hold id", verb)}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageError{fmt.Errorf("hold %s: want a hold id, got %q", verb, pos[0])}
	}
	bags := pos[1:]
	h, err := cat.Hold(ctx, id)
	if err != nil {
		return err // an unknown hold is exit 2 (exitCode)
	}
	event := func(bag, detail string) catalog.Event {
		return catalog.Event{BagID: bag, Type: catalog.EvPolicyAssignment, Outcome: catalog.OutcomeSuccess, Agent: "user " + *who, At: now,
			Detail: fmt.Sprintf("legal hold %d (%s; %s): %s", h.ID, h.Name, h.Authority, detail)}
	}
	var evs []catalog.Event
	switch verb {
	case "show":
		return printShown(h, *asJSON)
	case "add", "remove":
		if len(bags) == 0 {
			return usageError{fmt.Errorf("hold %s %d: want the bags", verb, id)}
		}
		add, remove := bags, []string(nil)
		if verb == "remove" {
			add, remove = nil, bags
		}
		err = cat.HoldBags(ctx, id, add, remove, now)
		for _, b := range bags {
			evs = append(evs, event(b, map[string]string{"add": "applied", "remove": "lifted for this bag"}[verb]))
		}
	case "release":
		if strings.TrimSpace(*reason) == "" {
			return usageError{errors.New("hold release: --reason is required")}
		}
		err = cat.ReleaseHold(ctx, id, *who, *reason, now)
		for _, b := range h.Bags {
			evs = append(evs, event(b, "released: "+*reason))
		}
	default:
		return usageError{fmt.Errorf("hold: unknown command %q", verb)}
	}
	if errors.Is(err, catalog.ErrReleased) {
		return failedError{err}
	}
	if err != nil {
		return err
	}
	if err := cat.AddEvents(ctx, evs...); err != nil {
		return err
	}
	if h, err = cat.Hold(ctx, id); err != nil {
		return err
	}
	if err := syncLegalHolds(ctx, cfg, cat, evs); err != nil {
		return fmt.Errorf("hold %d is recorded in the catalog, but %w; run the same command again", id, err)
	}
	return printShown(h, *asJSON)
}

// syncLegalHolds puts the store's own legal hold (S3 Object Lock) on every
// object of the bags a hold change concerned, or lifts it from those no
// hold holds any more; a store that cannot hold objects is left alone.
func syncLegalHolds(ctx context.Context, cfg *configs.Config, cat catalog.Catalog, evs []catalog.Event) error {
	if len(evs) == 0 {
		return nil
	}
	st, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		return fmt.Errorf("the store could not be opened to set its legal hold: %w", err)
	}
	for _, ev := range evs {
		if _, err := disposal.SyncLegalHold(ctx, cat, st, ev.BagID); err != nil {
			return fmt.Errorf("the store's legal hold on bag %s could not be set: %w", ev.BagID, err)
		}
	}
	return nil
}
