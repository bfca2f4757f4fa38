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

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
)

func cmdDisposal(ctx context.Context, args []string) error {
	fs := newFlags("disposal", "[--config FILE] request --reason R BAG... | approve ID [--note N] | reject ID --note N | execute ID | list [--state S] | show ID | tombstone BAG  [--by NAME] [--json]",
		`Disposal of stored bags at the end of their retention, with four eyes: one
person requests (naming bags whose retention schedule ends in destroy and is
due, and why), another approves or rejects (the
catalog refuses a decision by the requester, and any bag a legal hold holds).
An approved request is executed at once: every object of each bag is deleted
from the store, with its index rows and cached copies; a disposal certificate
(JSON) is stored under disposal-certificates/ and the catalog keeps a tombstone
and a PREMIS deletion event. A request that failed halfway (the store went
away) says how far it got; execute runs it again to the end.

On the command line, --by is the name the operator gives (default: the
account running the command); the review page and the API use the signed-in
account.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("disposal: want request, approve, reject, execute, list, show or tombstone")}
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	sub := newFlags("disposal "+verb, "", "")
	sub.StringVar(configPath, "config", *configPath, "config file (default: the embedded defaults)")
	asJSON := sub.Bool("json", false, "JSON lines")
	reason := sub.String("reason", "", "request: why (the schedule that ended, a decision)")
	note := sub.String("note", "", "approve, reject: the decider's note (required to reject)")
	state := sub.String("state", "", "list: requested, approved, rejected, executing, done, failed, or open (every state but rejected and done)")
	who := sub.String("by", currentUser(), "who (recorded; the catalog refuses a decision by the requester)")
	if err := parse(sub, reorder(sub, rest)); err != nil {
		return helpOK(err)
	}
	pos := sub.Args()
	now := time.Now()
	switch verb {
	case "request":
		if len(pos) == 0 {
			return usageError{errors.New("disposal request: want the bags")}
		}
		if strings.TrimSpace(*reason) == "" {
			return usageError{errors.New("disposal request: --reason is required: a disposal says why")}
		}
		if err := catalog.CheckValue(*reason); err != nil {
			return usageError{fmt.Errorf("disposal request --reason: %w", err)}
		}
		_, _, cat, err := openCatalog(ctx, *configPath, false)
		if err != nil {
			return err
		}
		defer cat.Close()
		action, err := disposal.Due(ctx, cat, pos, now)
		if err != nil {
			return refused(err)
		}
		d := &catalog.Disposal{Bags: pos, Action: action, Reason: *reason, RequestedBy: *who, Created: now}
		if err := cat.RequestDisposal(ctx, d); err != nil {
			return refused(err)
		}
		return printShown(d, *asJSON)
	case "list":
		var states []catalog.DisposalState
		switch *state {
		case "":
		case "open":
			states = []catalog.DisposalState{catalog.DisposalRequested, catalog.DisposalApproved, catalog.DisposalExecuting, catalog.DisposalFailed}
		default:
			if s := catalog.DisposalState(*state); s.Valid() {
				states = []catalog.DisposalState{s}
			} else {
				return usageError{fmt.Errorf("disposal list --state %q: want requested, approved, rejected, executing, done, failed or open", *state)}
			}
		}
		_, _, cat, err := openCatalog(ctx, *configPath, false)
		if err != nil {
			return err
		}
		defer cat.Close()
		list, err := cat.ListDisposals(ctx, states...)
		if err != nil {
			return err
		}
		sayEmpty(len(list), "no disposal requests")
		if *asJSON {
			return printLines(list)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tBAGS\tREQUESTED BY\tDECIDED BY\tREASON")
		for _, d := range list {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.State, len(d.Bags), d.RequestedBy, d.DecidedBy, d.Reason)
		}
		return tw.Flush()
	case "tombstone":
		if len(pos) != 1 {
			return usageError{errors.New("disposal tombstone: want one bag id")}
		}
		_, _, cat, err := openCatalog(ctx, *configPath, false)
		if err != nil {
			return err
		}
		defer cat.Close()
		t, err := cat.Tombstone(ctx, pos[0])
		if err != nil {
			return err
		}
		return printShown(t, true)
	case "approve", "reject", "execute", "show":
	default:
		return usageError{fmt.Errorf("disposal: unknown command %q", verb)}
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("disposal %s: want one request id", verb)}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageError{fmt.Errorf("disposal %s: want a request id, got %q", verb, pos[0])}
	}
	if verb == "reject" && strings.TrimSpace(*note) == "" {
		return usageError{errors.New("disposal reject: --note is required: a rejection says why")}
	}
	if verb == "show" || verb == "reject" {
		_, _, cat, err := openCatalog(ctx, *configPath, false)
		if err != nil {
			return err
		}
		defer cat.Close()
		d, err := cat.Disposal(ctx, id)
		if verb == "reject" && err == nil {
			d, err = cat.DecideDisposal(ctx, id, false, *who, *note, now)
		}
		if err != nil {
			return refused(err)
		}
		return printShown(d, *asJSON)
	}
	e, err := openEnv(ctx, *configPath, false, false)
	if err != nil {
		return err
	}
	defer e.Close()
	if verb == "approve" {
		if _, err := e.catalog.DecideDisposal(ctx, id, true, *who, *note, now); err != nil {
			return refused(err)
		}
	}
	d, err := e.disposer().Execute(ctx, id)
	if d != nil {
		printShown(d, *asJSON)
	}
	return refused(err)
}

// refused makes a rule the catalog enforces (four eyes, holds, a request
// in the wrong state) exit 1 with its reason, like any refusal.
func refused(err error) error {
	for _, rule := range []error{catalog.ErrSelfApproval, catalog.ErrHeld, catalog.ErrDisposed, catalog.ErrBadTransition, disposal.ErrNotDue} {
		if errors.Is(err, rule) {
			return failedError{err}
		}
	}
	return err
}
