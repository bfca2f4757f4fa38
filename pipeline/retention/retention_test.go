package retention

import (
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
		bad  bool
	}{
		{"P7Y", Period{Years: 7}, false},
		{"P18M", Period{Months: 18}, false},
		{"P1Y6M", Period{Years: 1, Months: 6}, false},
		{"P2W", Period{Days: 14}, false},
		{"P30D", Period{Days: 30}, false},
		{"P", Period{}, true},
		{"7Y", Period{}, true},
		{"P7Y2H", Period{}, true},
		{"PT12H", Period{Time: 12 * time.Hour}, false},
		{"P1DT1M30S", Period{Days: 1, Time: 90 * time.Second}, false},
		{"PT", Period{}, true},
		{"P1DT", Period{}, true},
		{"P-1Y", Period{}, true},
	} {
		got, err := ParsePeriod(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParsePeriod(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// TestDue: each trigger, a leap day, and the dates a description writes.
func TestDue(t *testing.T) {
	ingested := time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, tc := range []struct {
		name    string
		s       Schedule
		m       catalog.Metadata
		want    time.Time
		unknown string
	}{
		{"ingested", Schedule{Trigger: Ingested, Period: "P7Y"}, catalog.Metadata{}, day("2033-12-06"), ""},
		{"seconds after intake", Schedule{Trigger: Ingested, Period: "PT30S"}, catalog.Metadata{}, ingested.Add(30 * time.Second), ""},
		{"a day and hours after closing", Schedule{Trigger: Closed, Period: "P1DT12H"}, catalog.Metadata{Closed: "2024-08-31"}, day("2024-09-01").Add(12 * time.Hour), ""},
		{"closed", Schedule{Trigger: Closed, Period: "P6M"}, catalog.Metadata{Closed: "2024-08-31"}, day("2025-03-03"), ""},
		{"leap day", Schedule{Trigger: Closed, Period: "P1Y"}, catalog.Metadata{Closed: "2024-02-29"}, day("2025-03-01"), ""},
		{"not closed yet", Schedule{Trigger: Closed, Period: "P6M"}, catalog.Metadata{}, time.Time{}, "no closed date"},
		{"year", Schedule{Trigger: "field:date", Period: "P100Y"}, catalog.Metadata{Date: "1923"}, day("2023-01-01"), ""},
		{"month", Schedule{Trigger: "field:date", Period: "P100Y"}, catalog.Metadata{Date: "1923-04"}, day("2023-04-01"), ""},
		{"range", Schedule{Trigger: "field:date", Period: "P10Y"}, catalog.Metadata{Date: "1923-1925"}, day("1933-01-01"), ""},
		{"range of days", Schedule{Trigger: "field:date", Period: "P10Y"}, catalog.Metadata{Date: "1923-04-05/1923-06-30"}, day("1933-04-05"), ""},
		{"no date", Schedule{Trigger: "field:date", Period: "P10Y"}, catalog.Metadata{Date: "undated"}, time.Time{}, "holds no date"},
	} {
		got, why := tc.s.Due(tc.m, ingested)
		if !got.Equal(tc.want) || !strings.Contains(why, tc.unknown) || (tc.unknown == "") != (why == "") {
			t.Errorf("%s: due %v (%q), want %v (%q)", tc.name, got, why, tc.want, tc.unknown)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Schedule{Code: "FIN-7", Title: "Financial records", Mandate: "Companies Act 2006 s.388", Trigger: Ingested, Period: "P7Y", Action: Destroy}
	if err := (Config{Schedules: []Schedule{good}}).Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Schedules: []Schedule{good, good, {Code: "x y", Trigger: "field:nonesuch", Period: "7 years", Action: "burn"}}}
	err := bad.Validate()
	for _, want := range []string{"used twice", `code "x y"`, "no description field", "ISO 8601", "want retain, review, transfer or destroy", "mandate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not say %q: %v", want, err)
		}
	}
}
