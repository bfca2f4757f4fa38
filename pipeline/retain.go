package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// retain puts a stored bag under the retention schedule its description
// names and records when it is due, with a PREMIS policy assignment event.
// A schedule's period runs from the day the item was first taken: a new
// version made by reprocess keeps the first bag's day. Without schedules
// configured, nothing is recorded; a bag that names none, or one not
// configured, is recorded with its due date unknown and why, so that it
// is listed for someone to assign.
func (e *Engine) retain(ctx context.Context, it *catalog.Item, now time.Time) (*catalog.Event, error) {
	if len(e.Retention.Schedules) == 0 {
		return nil, nil
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
	r := catalog.Retention{BagID: it.BagID, Schedule: it.Meta.Retention, Assigned: now}
	ev := catalog.Event{Type: catalog.EvPolicyAssignment, Outcome: catalog.OutcomeSuccess, Agent: e.Agent, At: now}
	s, ok := e.Retention.Find(r.Schedule)
	switch {
	case r.Schedule == "":
		r.Unknown = "no retention schedule named (metadata retention: CODE)"
	case !ok:
		r.Unknown = fmt.Sprintf("schedule %q is not in retention.schedules", r.Schedule)
	default:
		r.Action = string(s.Action)
		r.Due, r.Unknown = s.Due(it.Meta, ingested)
	}
	if r.Unknown != "" {
		ev.Outcome = catalog.OutcomeWarning
		ev.Detail = fmt.Sprintf("retention: %s; the due date is not known until it is", r.Unknown)
	} else {
		ev.Detail = fmt.Sprintf("retention schedule %s (%s; %s): %s after %s, due %s", s.Code, s.Title, s.Mandate, s.Action, s.Period, r.Due.Format(time.DateOnly))
	}
	if err := e.Catalog.SetRetention(ctx, r); err != nil {
		return nil, err
	}
	return &ev, nil
}
