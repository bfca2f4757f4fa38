package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/audit"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

func cmdAudit(ctx context.Context, args []string) error {
	fs := newFlags("audit", "[--config FILE] (--bag ID | --all | --due) [--subset n/t]", `Re-reads stored bags now and compares every byte with the digests recorded
when they were stored and with the store's own checksums. Prints one JSON
line per bag (status intact, damaged or error, with the problems). New
problems become alerts; the webhook gets one message for the run.

Exit codes: 0 every bag intact; 1 damage found; 3 the audit could not
finish (the store unreachable or refusing: not corruption); 2 usage.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	bag := fs.String("bag", "", "audit this bag")
	all := fs.Bool("all", false, "audit every bag")
	due := fs.Bool("due", false, "audit bags with an object not re-read within audit.cycle")
	subsetFlag := fs.String("subset", "", "n/t: audit the n-th of t parts of the selected bags")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	picked := 0
	for _, b := range []bool{*bag != "", *all, *due} {
		if b {
			picked++
		}
	}
	if picked != 1 || fs.NArg() > 0 {
		return usageError{errors.New("audit: give exactly one of --bag ID, --all, --due")}
	}
	sel := audit.Selection{Bag: *bag, All: *all, Due: *due}
	if *subsetFlag != "" {
		n, t, ok := strings.Cut(*subsetFlag, "/")
		sel.SubsetN, _ = strconv.Atoi(n)
		sel.SubsetT, _ = strconv.Atoi(t)
		if !ok || sel.SubsetT < 1 || sel.SubsetN < 1 || sel.SubsetN > sel.SubsetT {
			return usageError{fmt.Errorf("audit: --subset %q: want n/t with 1 <= n <= t", *subsetFlag)}
		}
	}
	e, err := openEnv(ctx, *configPath, false, false)
	if err != nil {
		return err
	}
	defer e.Close()
	enc := json.NewEncoder(os.Stdout)
	a := newAuditor(e)
	var mu sync.Mutex // the progress line and the results take turns on a terminal
	clear := func() {}
	if stderrIsTerminal() {
		clear = func() { fmt.Fprint(os.Stderr, "\r\x1b[K") }
		a.OnProgress = func(p audit.Progress) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(os.Stderr, "\r\x1b[Kaudit: %d of %d bags, %s of %s, %s/s, about %s left", p.Bags, p.BagsTotal,
				humanMiB(p.Bytes), humanMiB(p.BytesTotal), humanMiB(int64(p.Rate)), p.Left)
		}
	}
	sum, err := a.Run(ctx, sel, func(r audit.BagResult) {
		mu.Lock()
		defer mu.Unlock()
		clear()
		enc.Encode(r)
	})
	clear()
	switch {
	case errors.Is(err, audit.ErrDisposed):
		fmt.Fprintln(os.Stderr, "strongroom:", err) // said, and not a failure: nothing is wrong
		return nil
	case err != nil:
		return err // an unknown bag is exit 2 (exitCode)
	case sum.Damaged > 0 || sum.Foreign > 0:
		return failedError{fmt.Errorf("audit: %d of %d bags damaged, %d folders or files in the store outside every bag (%d new alerts)", sum.Damaged, sum.Bags, sum.Foreign, sum.NewAlert)}
	case sum.Errors > 0:
		return fmt.Errorf("audit: %d of %d bags could not be audited (the store did not answer); no damage found in the rest", sum.Errors, sum.Bags)
	case sum.SweepErr != nil:
		return fmt.Errorf("audit: the store could not be listed for objects outside every bag: %w", sum.SweepErr)
	}
	return nil
}

func cmdAlerts(ctx context.Context, args []string) error {
	fs := newFlags("alerts", "[--config FILE] list [--state open|acknowledged|resolved|all] | show ID | ack ID [--note N] | resolve ID [--note N]",
		"Lists and triages the alerts that audits raise. list prints one line per alert:\nid, state, bag, problem, file, detail (tab-separated; --json: one JSON line each).")
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("alerts: want list, show, ack or resolve")}
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	sub := newFlags("alerts "+verb, "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	state := sub.String("state", "open", "list: open, acknowledged, resolved, active or all")
	asJSON := sub.Bool("json", false, "list: one JSON line per alert; show, ack, resolve: one JSON line")
	note := sub.String("note", "", "ack/resolve: why")
	who := sub.String("by", currentUser(), "ack/resolve: who (recorded with the change)")
	id, err := parseWithID(sub, rest)
	if err != nil {
		return helpOK(err)
	}
	_, _, cat, err := openCatalog(ctx, *configPath, false)
	if err != nil {
		return err
	}
	defer cat.Close()
	switch verb {
	case "list":
		states, err := catalog.AlertFilter(*state)
		if err != nil {
			return usageError{fmt.Errorf("alerts list --state: %w", err)}
		}
		alerts, err := cat.Alerts(ctx, "", states...)
		if err != nil {
			return err
		}
		sayEmpty(len(alerts), fmt.Sprintf("no alerts (state %s)", *state))
		if *asJSON {
			return printLines(alerts)
		}
		for _, a := range alerts {
			fmt.Printf("%d\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.BagID, a.Problem, a.Key, a.Detail)
		}
		return nil
	case "show", "ack", "resolve":
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("alerts %s: want an alert id, got %q", verb, id)}
		}
		var a *catalog.Alert
		switch verb {
		case "show":
			a, err = cat.Alert(ctx, n)
		case "ack":
			a, err = cat.ChangeAlert(ctx, n, catalog.AlertAcknowledged, *who, *note, time.Now())
		case "resolve":
			a, err = cat.ChangeAlert(ctx, n, catalog.AlertResolved, *who, *note, time.Now())
		}
		if errors.Is(err, catalog.ErrBadTransition) {
			return failedError{err}
		}
		if err != nil {
			return err
		}
		return printShown(a, *asJSON)
	}
	return usageError{fmt.Errorf("alerts: unknown command %q", verb)}
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "cli"
}
