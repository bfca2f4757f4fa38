// Package retention holds retention schedules: how long a class of records
// is kept after a trigger (ingest, the day the record was closed, or a date
// in its description), by whose mandate, and what happens at the end. An
// item falls under the schedule its description names (the metadata field
// retention: from bag.metadata, its hot folder or station, a batch's
// metadata file or push --meta); its due date is computed here and kept in
// the catalog.
package retention

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
)

// Action is what happens when a schedule's period ends.
type Action string

const (
	Retain   Action = "retain"   // kept for good (the period is a review point, not an end)
	Review   Action = "review"   // someone decides
	Transfer Action = "transfer" // to another archive
	Destroy  Action = "destroy"  // disposed of, with a record, after approval
)

// Trigger is what a schedule's period runs from.
type Trigger string

const (
	Ingested Trigger = "ingested" // the day the item was taken
	Closed   Trigger = "closed"   // the description's closed date
	// "field:NAME" runs from the date in description field NAME (date:
	// the first day of what it says, 1923-04 → 1923-04-01).
)

// Schedule is one retention schedule.
type Schedule struct {
	Code    string  `yaml:"code" json:"code"`
	Title   string  `yaml:"title" json:"title"`
	Mandate string  `yaml:"mandate" json:"mandate"` // the law or policy that sets it
	Trigger Trigger `yaml:"trigger" json:"trigger"`
	Period  string  `yaml:"period" json:"period"` // ISO 8601, e.g. P7Y, P6M, P30D
	Action  Action  `yaml:"action" json:"action"`
}

// Config is the retention section.
type Config struct {
	Schedules []Schedule `yaml:"schedules"`
	// ProposeEvery is how often the daemon turns the bags due under a
	// destroy or transfer schedule into disposal requests for a person to
	// decide (one request per schedule); 0: never.
	ProposeEvery time.Duration `yaml:"propose_every"`
	// Transfer is where bags under a transfer schedule go (another
	// archive's folder or bucket) before they are disposed of here.
	Transfer storage.Config `yaml:"transfer"`
}

// Find returns the schedule with code.
func (c Config) Find(code string) (Schedule, bool) {
	for _, s := range c.Schedules {
		if s.Code == code {
			return s, true
		}
	}
	return Schedule{}, false
}

// Validate checks every schedule and reports every problem.
func (c Config) Validate() error {
	var errs []error
	if c.Transfer.URL != "" {
		if err := c.Transfer.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("retention.transfer: %w", err))
		}
	}
	if c.ProposeEvery < 0 || (c.ProposeEvery > 0 && c.ProposeEvery < time.Minute) {
		errs = append(errs, fmt.Errorf("retention.propose_every %s: 0 (never) or at least 1m", c.ProposeEvery))
	}
	seen := map[string]bool{}
	for i, s := range c.Schedules {
		if s.Action == Transfer && c.Transfer.URL == "" {
			errs = append(errs, fmt.Errorf("retention.schedules[%d] (%s) ends in transfer: retention.transfer.url must say where to", i, s.Code))
		}
		at := fmt.Sprintf("retention.schedules[%d]", i)
		if _, err := (&catalog.Metadata{}).Set("retention", s.Code); err != nil || s.Code == "" {
			errs = append(errs, fmt.Errorf("%s.code %q: want a code of letters, digits, . _ -", at, s.Code))
		}
		if seen[s.Code] {
			errs = append(errs, fmt.Errorf("%s.code %q: used twice", at, s.Code))
		}
		seen[s.Code] = true
		if _, err := ParsePeriod(s.Period); err != nil {
			errs = append(errs, fmt.Errorf("%s.period: %w", at, err))
		}
		switch s.Action {
		case Retain, Review, Transfer, Destroy:
		default:
			errs = append(errs, fmt.Errorf("%s.action %q: want retain, review, transfer or destroy", at, s.Action))
		}
		if name, ok := strings.CutPrefix(string(s.Trigger), "field:"); ok {
			if _, known := catalog.FieldNamed(name); !known {
				errs = append(errs, fmt.Errorf("%s.trigger %q: no description field %q", at, s.Trigger, name))
			}
		} else if s.Trigger != Ingested && s.Trigger != Closed {
			errs = append(errs, fmt.Errorf("%s.trigger %q: want ingested, closed or field:NAME", at, s.Trigger))
		}
		if s.Mandate == "" {
			errs = append(errs, fmt.Errorf("%s.mandate: say which law or policy sets it", at))
		}
	}
	return errors.Join(errs...)
}

// Period is an ISO 8601 duration: calendar units, and a time part
// (hours, minutes, seconds) for short trials and tests; a schedule with a
// time part runs from the trigger's instant, not its day.
type Period struct {
	Years, Months, Days int
	Time                time.Duration
}

var periodRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// ParsePeriod reads an ISO 8601 period of years, months, weeks and days
// (P7Y, P18M, P2W, P1Y6M), with a time part where needed (PT30S).
func ParsePeriod(s string) (Period, error) {
	m := periodRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return Period{}, fmt.Errorf("%q: want an ISO 8601 period such as P7Y, P6M or P30D", s)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return Period{Years: n(1), Months: n(2), Days: 7*n(3) + n(4),
		Time: time.Duration(n(5))*time.Hour + time.Duration(n(6))*time.Minute + time.Duration(n(7))*time.Second}, nil
}

// After is the time p after from.
func (p Period) After(from time.Time) time.Time {
	return from.AddDate(p.Years, p.Months, p.Days).Add(p.Time)
}

// Due computes when an item under s is due for its action: the trigger's
// day plus the period. Without the trigger's date (no closed date yet, a
// field left empty) the due date is unknown, and the reason says why.
func (s Schedule) Due(m catalog.Metadata, ingested time.Time) (time.Time, string) {
	p, err := ParsePeriod(s.Period)
	if err != nil {
		return time.Time{}, err.Error()
	}
	var from time.Time
	switch name, isField := strings.CutPrefix(string(s.Trigger), "field:"); {
	case s.Trigger == Ingested:
		from = ingested
	case s.Trigger == Closed:
		if from, err = time.Parse(time.DateOnly, m.Closed); err != nil {
			return time.Time{}, "the record has no closed date yet (metadata closed: YYYY-MM-DD)"
		}
	case isField:
		if from, err = firstDay(m.Get(name)); err != nil {
			return time.Time{}, fmt.Sprintf("description field %s %q holds no date", name, m.Get(name))
		}
	}
	if p.Time != 0 && s.Trigger == Ingested {
		return p.After(from.UTC()), ""
	}
	y, mo, d := from.UTC().Date()
	return p.After(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)), ""
}

// firstDay reads the first day of a date as descriptions write it: 1923,
// 1923-04, 1923-04-05, or the start of a range (1923/1925, 1923-1925,
// 1923-04-05/1923-06-30).
func firstDay(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.DateOnly, "2006-01", "2006"} {
		if len(v) < len(layout) {
			continue
		}
		rest := v[len(layout):]
		if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			continue // 19234 is no year
		}
		if t, err := time.Parse(layout, v[:len(layout)]); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("no date in %q", v)
}

// DueText writes a due date as a day, or as an instant where it has a
// time of day (a period with a time part).
func DueText(t time.Time) string {
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339)
}

// DueOf writes a bag's due date as DueText does, or, while it cannot be
// known, why.
func DueOf(r catalog.Retention) string {
	if r.Due.IsZero() {
		return "unknown: " + r.Unknown
	}
	return DueText(r.Due)
}
