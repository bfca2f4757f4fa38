package disposal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
)

// Proposer is the name the daemon's requests carry: a schedule asks, so
// any person may decide (four eyes: the schedule's authors, and the
// approver).
const Proposer = "strongroom (retention schedule)"

// proposeBatch bounds the bags of one request: a decision a person can
// read through.
const proposeBatch = 500

// Propose makes disposal requests for the bags due by now under a destroy
// or transfer schedule that no hold holds, no open request names and that are not
// disposed of: one request per schedule (more past proposeBatch bags). It
// returns the requests made.
func Propose(ctx context.Context, cat catalog.Catalog, cfg retention.Config, now time.Time) ([]catalog.Disposal, error) {
	due, err := cat.RetentionDue(ctx, now, 100_000)
	if err != nil {
		return nil, err
	}
	bySchedule, actions := map[string][]string{}, map[string]string{}
	var order []string
	for _, r := range due {
		if (r.Action != string(retention.Destroy) && r.Action != string(retention.Transfer)) || r.Held || r.Due.IsZero() || r.Due.After(now) {
			continue
		}
		if b, err := cat.Bag(ctx, r.BagID); err != nil || !b.Disposed.IsZero() {
			continue
		}
		if open, err := cat.OpenDisposal(ctx, r.BagID); err != nil || open != 0 {
			continue
		}
		if len(bySchedule[r.Schedule]) == 0 {
			order = append(order, r.Schedule)
		}
		bySchedule[r.Schedule] = append(bySchedule[r.Schedule], r.BagID)
		actions[r.Schedule] = r.Action
	}
	var made []catalog.Disposal
	for _, code := range order {
		reason := fmt.Sprintf("due under retention schedule %s by %s", code, now.UTC().Format(time.DateOnly))
		if s, ok := cfg.Find(code); ok {
			reason = fmt.Sprintf("due under retention schedule %s (%s; %s) by %s", code, s.Title, s.Mandate, now.UTC().Format(time.DateOnly))
		}
		bags := bySchedule[code]
		for len(bags) > 0 {
			n := min(len(bags), proposeBatch)
			d := &catalog.Disposal{Bags: bags[:n], Action: actions[code], Reason: reason, RequestedBy: Proposer, Created: now}
			bags = bags[n:]
			// A hold or a request that came between the listing and now
			// leaves these bags for the next round.
			if err := cat.RequestDisposal(ctx, d); err != nil && !errors.Is(err, catalog.ErrHeld) && !errors.Is(err, catalog.ErrDisposed) {
				return made, err
			} else if err == nil {
				made = append(made, *d)
			}
		}
	}
	return made, nil
}

// ProposeLoop runs apply (the engine's ApplySchedules: schedules that
// changed computed again) and then Propose, at start and every
// cfg.ProposeEvery, logging what it asked for; a round that fails is
// logged and tried again a minute later (a store still opening).
func ProposeLoop(ctx context.Context, cat catalog.Catalog, cfg retention.Config, apply func(context.Context) (int, error), log *slog.Logger) error {
	if len(cfg.Schedules) == 0 {
		return nil
	}
	for {
		wait := cfg.ProposeEvery
		n, err := apply(ctx)
		if n > 0 {
			log.Info("retention: bags computed again under changed schedules", "bags", n)
		}
		var made []catalog.Disposal
		if err == nil && cfg.ProposeEvery > 0 {
			made, err = Propose(ctx, cat, cfg, time.Now())
		}
		if err != nil && ctx.Err() == nil {
			log.Error("retention: schedules or proposals failed; trying again in a minute", "err", err)
			wait = time.Minute
		}
		for _, d := range made {
			log.Info("retention: disposal proposed; a person must approve or reject it", "request", d.ID, "bags", len(d.Bags), "reason", d.Reason)
		}
		if wait <= 0 {
			return nil // schedules applied; proposals off
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Review records a person's decision on a bag due under a review
// schedule: keep it until a later day (its due date moves there, and it is
// up for review again then), or ask for its disposal (a destroy request,
// which a second person decides). Either way a PREMIS policy assignment
// event records who decided what and why. It returns the request made,
// if any.
func Review(ctx context.Context, cat catalog.Catalog, bag string, keepUntil time.Time, dispose bool, reason, who string, now time.Time) (*catalog.Disposal, error) {
	r, err := cat.Retention(ctx, bag)
	switch {
	case err != nil:
		return nil, err
	case r.Action != string(retention.Review):
		return nil, fmt.Errorf("%w: bag %s: schedule %s ends in %s, not review", ErrNotDue, bag, r.Schedule, r.Action)
	case r.Due.IsZero() || r.Due.After(now):
		return nil, fmt.Errorf("%w: bag %s is not due for review (due %s)", ErrNotDue, bag, retention.DueOf(*r))
	case dispose == !keepUntil.IsZero():
		return nil, errors.New("a review keeps the bag until a later day, or asks for its disposal: one of them")
	case !dispose && !keepUntil.After(now):
		return nil, fmt.Errorf("keep until %s: want a day after today", keepUntil.Format(time.DateOnly))
	}
	ev := catalog.Event{BagID: bag, Type: catalog.EvPolicyAssignment, Outcome: catalog.OutcomeSuccess, Agent: "user " + who, At: now}
	var d *catalog.Disposal
	if dispose {
		d = &catalog.Disposal{Bags: []string{bag}, Action: string(retention.Destroy), Reason: "review under " + r.Schedule + ": " + reason, RequestedBy: who, Created: now}
		if err := cat.RequestDisposal(ctx, d); err != nil {
			return nil, err
		}
		ev.Detail = fmt.Sprintf("reviewed under schedule %s by %s: disposal requested (request %d): %s", r.Schedule, who, d.ID, reason)
	} else {
		was := r.Due
		r.Due, r.Assigned = keepUntil.UTC(), now
		if err := cat.SetRetention(ctx, *r); err != nil {
			return nil, err
		}
		ev.Detail = fmt.Sprintf("reviewed under schedule %s by %s: kept until %s (was due %s): %s", r.Schedule, who, retention.DueText(r.Due), retention.DueText(was), reason)
	}
	return d, cat.AddEvents(ctx, ev)
}
