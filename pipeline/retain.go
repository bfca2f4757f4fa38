package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/storage"
)

// retention computes the retention schedule a bag falls under, by its
// description, and when it is due, with the PREMIS policy assignment event
// that records it; ok is false without schedules configured. A schedule's
// period runs from the day the item was first taken: a new version made by
// reprocess keeps the first bag's day. A bag that names no schedule, or
// one not configured, gets its due date unknown and why, so that it is
// listed for someone to assign. The store stage computes it before the
// upload (a store that locks objects locks them until the due date) and
// records it once the bag is stored.
func (e *Engine) retention(ctx context.Context, it *catalog.Item, now time.Time) (r catalog.Retention, ev catalog.Event, ok bool) {
	if len(e.Retention.Schedules) == 0 {
		return r, ev, false
	}
	ingested := it.Created
	for from := it; from.Kind == catalog.KindReprocess; {
		first, err := e.Catalog.Bag(ctx, catalog.ReprocessedBag(from))
		if err != nil {
			break
		}
		if from, err = e.Catalog.Item(ctx, first.ItemID); err != nil {
			break
		}
		ingested = from.Created
	}
	r = catalog.Retention{BagID: it.BagID, Schedule: it.Meta.Retention, Assigned: now}
	ev = catalog.Event{Type: catalog.EvPolicyAssignment, Outcome: catalog.OutcomeSuccess, Agent: e.Agent, At: now}
	s, found := e.Retention.Find(r.Schedule)
	switch {
	case r.Schedule == "":
		r.Unknown = "no retention schedule named (metadata retention: CODE)"
	case !found:
		r.Unknown = fmt.Sprintf("schedule %q is not in retention.schedules", r.Schedule)
	default:
		r.Action = string(s.Action)
		r.Due, r.Unknown = s.Due(it.Meta, ingested)
	}
	if r.Unknown != "" {
		ev.Outcome = catalog.OutcomeWarning
		ev.Detail = fmt.Sprintf("retention: %s; the due date is not known until it is", r.Unknown)
	} else {
		ev.Detail = fmt.Sprintf("retention schedule %s (%s; %s): %s after %s, due %s", s.Code, s.Title, s.Mandate, s.Action, s.Period, retention.DueText(r.Due))
	}
	return r, ev, true
}

// lockExtender is a store that locks objects and can lock them for longer
// (S3 Object Lock).
type lockExtender interface {
	Lock(ctx context.Context, key string) (storage.Lock, error)
	ExtendLock(ctx context.Context, key string, until time.Time) error
}

// ApplySchedules records the configured retention schedules, versioned;
// where one changed since it was last recorded, the retention of every bag
// under it is computed again, and each bag whose action or due date
// changed gets a PREMIS policy assignment event saying from what to what.
// On a store that locks objects, a later due date extends the locks of a
// bag under a destroy schedule; an earlier one cannot shorten a lock in
// compliance mode, and the event says until when the disposal must wait.
// It returns the bags computed again.
func (e *Engine) ApplySchedules(ctx context.Context) (int, error) {
	now := e.Now()
	changed := 0
	for _, s := range e.Retention.Schedules {
		b, _ := json.Marshal(s)
		def := string(b)
		last, was, err := e.Catalog.LastSchedule(ctx, s.Code)
		if err != nil {
			return changed, err
		}
		if last > 0 && was != def {
			// Every bag first, the new version after: a run cut short (a
			// store not reachable, a crash) is run again in full.
			e.Log.Info("retention schedule changed; computing its bags again", "schedule", s.Code, "version", last+1, "was", was)
			under, err := e.Catalog.RetentionsUnder(ctx, s.Code)
			if err != nil {
				return changed, err
			}
			for _, old := range under {
				n, err := e.reapply(ctx, s, last+1, old, now)
				if err != nil {
					return changed, fmt.Errorf("retention of bag %s under version %d of %s: %w", old.BagID, last+1, s.Code, err)
				}
				changed += n
			}
		}
		if _, err := e.Catalog.RecordSchedule(ctx, s.Code, def, now); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// reapply computes one bag's retention again under a new version of its
// schedule; it returns 1 if anything changed.
func (e *Engine) reapply(ctx context.Context, s retention.Schedule, version int, old catalog.Retention, now time.Time) (int, error) {
	b, err := e.Catalog.Bag(ctx, old.BagID)
	if err != nil {
		return 0, err
	}
	it, err := e.Catalog.Item(ctx, b.ItemID)
	if err != nil {
		return 0, err
	}
	r, ev, _ := e.retention(ctx, it, now)
	if r.Action == old.Action && r.Due.Equal(old.Due) && r.Unknown == old.Unknown {
		return 0, nil
	}
	ev.BagID, ev.ItemID = old.BagID, it.ID
	ev.Detail = fmt.Sprintf("retention schedule %s changed (version %d): %s, due %s; was %s, due %s", s.Code, version,
		r.Action, retention.DueOf(r), old.Action, retention.DueOf(old))
	if note, err := e.relock(ctx, old.BagID, r, now); err != nil {
		return 0, err
	} else if note != "" {
		ev.Detail += "; " + note
	}
	if err := e.Catalog.SetRetention(ctx, r); err != nil {
		return 0, err
	}
	return 1, e.Catalog.AddEvents(ctx, ev)
}

// relock extends a bag's object locks to its new due date, and says so, or
// says that a compliance lock outlasts an earlier due date.
func (e *Engine) relock(ctx context.Context, bag string, r catalog.Retention, now time.Time) (string, error) {
	st, err := storage.Unwrap(e.Store)
	if err != nil {
		return "", err
	}
	lx, ok := st.(lockExtender)
	if !ok || r.Action != string(retention.Destroy) || r.Due.IsZero() {
		return "", nil
	}
	objs, err := e.Catalog.Objects(ctx, bag)
	if err != nil || len(objs) == 0 {
		return "", err
	}
	lock, err := lx.Lock(ctx, bag+"/"+objs[0].Key)
	if err != nil {
		return "", err
	}
	switch {
	case lock.Mode == "":
		return "", nil // not locked: nothing to extend
	case r.Due.After(lock.Until):
		for _, o := range objs {
			if err := lx.ExtendLock(ctx, bag+"/"+o.Key, r.Due); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("the store's %s lock extended from %s to %s", lock.Mode, retention.DueText(lock.Until), retention.DueText(r.Due)), nil
	case lock.Mode == "compliance" && lock.Until.After(r.Due) && lock.Until.After(now):
		return fmt.Sprintf("the store's compliance lock runs to %s and cannot be shortened: the disposal must wait until then", retention.DueText(lock.Until)), nil
	}
	return "", nil
}

// Assign puts a stored bag under another retention schedule, by a
// person's decision: its description names the schedule from then on, its
// due date is computed again (locks extended where the store locks
// objects), and a PREMIS policy assignment event records who did it, why,
// and what it was before.
func (e *Engine) Assign(ctx context.Context, bag, code, who, reason string) (*catalog.Retention, error) {
	s, ok := e.Retention.Find(code)
	if !ok {
		return nil, fmt.Errorf("%w: retention schedule %q is not configured", ErrNoSchedule, code)
	}
	b, err := e.Catalog.Bag(ctx, bag)
	if err != nil {
		return nil, err
	}
	if !b.Disposed.IsZero() {
		return nil, fmt.Errorf("%w: bag %s was disposed of", catalog.ErrDisposed, bag)
	}
	it, err := e.Catalog.Item(ctx, b.ItemID)
	if err != nil {
		return nil, err
	}
	old, err := e.Catalog.Retention(ctx, bag)
	if errors.Is(err, catalog.ErrNotFound) {
		old, err = &catalog.Retention{Schedule: "none"}, nil
	}
	if err != nil {
		return nil, err
	}
	it.Meta.Retention = code
	if err := e.Catalog.SetMetadata(ctx, it.ID, it.Meta); err != nil {
		return nil, err
	}
	now := e.Now()
	it.BagID = bag
	r, ev, _ := e.retention(ctx, it, now)
	ev.BagID, ev.ItemID, ev.Agent = bag, it.ID, "user "+who
	ev.Detail = fmt.Sprintf("retention schedule %s (%s; %s) assigned by %s: %s, due %s; was %s: %s, due %s; %s", s.Code, s.Title, s.Mandate, who,
		r.Action, retention.DueOf(r), old.Schedule, old.Action, retention.DueOf(*old), reason)
	if note, err := e.relock(ctx, bag, r, now); err != nil {
		return nil, err
	} else if note != "" {
		ev.Detail += "; " + note
	}
	if err := e.Catalog.SetRetention(ctx, r); err != nil {
		return nil, err
	}
	return &r, e.Catalog.AddEvents(ctx, ev)
}

// ErrNoSchedule is returned for a schedule that is not configured.
var ErrNoSchedule = errors.New("no such retention schedule")
