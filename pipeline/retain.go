package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
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
