package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
)

func cmdRetention(ctx context.Context, args []string) error {
	fs := newFlags("retention", "[--config FILE] schedules | due [--before YYYY-MM-DD] | show BAG | apply | assign BAG CODE --reason R | review BAG (--keep-until DAY | --dispose) --reason R  [--json]", `Retention: the schedules in the configuration, the stored bags due for their
schedule's action (by --before, default today; then those whose due date is
not known yet: no schedule named, a closed date not given), and one bag's.
apply records the configured schedules now (the daemon does at start and
every retention.propose_every): a schedule that changed is a new version,
and every bag under it is computed again, with an event; on S3 with Object
Lock a later due date extends the locks. review decides on a bag due under a
review schedule: keep it until a later day, or ask for its disposal (a
destroy request another person approves). assign puts a bag under another
schedule (its due date computed again, with an event).`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("retention: want schedules, due, show, apply, assign or review")}
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	sub := newFlags("retention "+verb, "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	asJSON := sub.Bool("json", false, "JSON lines")
	before := sub.String("before", time.Now().UTC().Format(time.DateOnly), "due: bags due on or before this day")
	limit := sub.Int("limit", 1000, "due: at most this many")
	keepUntil := sub.String("keep-until", "", "review: keep the bag until this day (YYYY-MM-DD)")
	dispose := sub.Bool("dispose", false, "review: ask for the bag's disposal")
	reason := sub.String("reason", "", "review, assign: why")
	who := sub.String("by", currentUser(), "review, assign: who decides (recorded)")
	id, err := parseWithID(sub, rest)
	if err != nil {
		return helpOK(err)
	}
	if verb == "assign" {
		args := sub.Args()
		if len(args) != 2 || strings.TrimSpace(*reason) == "" {
			return usageError{errors.New("retention assign: want BAG CODE and --reason")}
		}
		e, err := openEnv(ctx, *configPath, false, false)
		if err != nil {
			return err
		}
		defer e.Close()
		r, err := e.engine.Assign(ctx, args[0], args[1], *who, *reason)
		if errors.Is(err, pipeline.ErrNoSchedule) {
			return usageError{err}
		}
		if err != nil {
			return refused(err)
		}
		return printShown(r, *asJSON)
	}
	if verb == "apply" {
		e, err := openEnv(ctx, *configPath, false, false)
		if err != nil {
			return err
		}
		defer e.Close()
		n, err := e.engine.ApplySchedules(ctx)
		fmt.Fprintf(os.Stderr, "retention: %d bags computed again under changed schedules\n", n)
		return err
	}
	if verb == "schedules" {
		cfg, _, err := loadConfig(*configPath)
		if err != nil {
			return err
		}
		sayEmpty(len(cfg.Retention.Schedules), "no retention schedules (retention.schedules in the configuration)")
		if *asJSON {
			return printLines(cfg.Retention.Schedules)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CODE\tTITLE\tFROM\tPERIOD\tTHEN\tMANDATE")
		for _, s := range cfg.Retention.Schedules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Code, s.Title, s.Trigger, s.Period, s.Action, s.Mandate)
		}
		return tw.Flush()
	}
	_, _, cat, err := openCatalog(ctx, *configPath, false)
	if err != nil {
		return err
	}
	defer cat.Close()
	switch verb {
	case "review":
		if id == "" || strings.TrimSpace(*reason) == "" {
			return usageError{errors.New("retention review: want a bag id and --reason")}
		}
		if *dispose == (*keepUntil != "") {
			return usageError{errors.New("retention review: give one of --keep-until DAY and --dispose")}
		}
		var until time.Time
		if *keepUntil != "" {
			if until, err = time.Parse(time.DateOnly, *keepUntil); err != nil {
				return usageError{fmt.Errorf("retention review --keep-until %q: want YYYY-MM-DD", *keepUntil)}
			}
		}
		d, err := disposal.Review(ctx, cat, id, until, *dispose, *reason, *who, time.Now())
		if err != nil {
			return refused(err)
		}
		if d != nil {
			return printShown(d, *asJSON)
		}
		r, err := cat.Retention(ctx, id)
		if err != nil {
			return err
		}
		return printShown(r, *asJSON)
	case "due":
		day, err := time.Parse(time.DateOnly, *before)
		if err != nil {
			return usageError{fmt.Errorf("retention due --before %q: want YYYY-MM-DD", *before)}
		}
		due, err := cat.RetentionDue(ctx, day, *limit)
		if err != nil {
			return err
		}
		sayEmpty(len(due), "no bag due by "+*before+", and none without a due date")
		if *asJSON {
			return printLines(due)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BAG\tSCHEDULE\tACTION\tDUE\tHOLD")
		for _, r := range due {
			held := ""
			if r.Held {
				held = "held (strongroom hold list)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.BagID, r.Schedule, r.Action, retention.DueOf(r), held)
		}
		return tw.Flush()
	case "show":
		if id == "" {
			return usageError{errors.New("retention show: want a bag id")}
		}
		r, err := cat.Retention(ctx, id)
		if err != nil {
			return err // an unknown bag is exit 2 (exitCode)
		}
		return printShown(r, *asJSON)
	}
	return usageError{fmt.Errorf("retention: unknown command %q", verb)}
}
