package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// scheduleEnv is a test engine whose bags fall under schedule TMP.
func scheduleEnv(t *testing.T, period string) *testEnv {
	te := newTestEnv(t)
	te.setSchedule(period, retention.Destroy)
	te.Bag.Metadata = map[string]string{"retention": "TMP"}
	return te
}

func (te *testEnv) setSchedule(period string, action retention.Action) {
	te.Retention = retention.Config{Schedules: []retention.Schedule{{Code: "TMP", Title: "Temporary records", Mandate: "Policy 9",
		Trigger: retention.Ingested, Period: period, Action: action}}}
}

// TestScheduleChange: a schedule changed in the configuration is a new
// version; every bag under it is computed again, with an event saying from
// what to what; the same configuration again changes nothing.
func TestScheduleChange(t *testing.T) {
	te := scheduleEnv(t, "P1Y")
	ctx := context.Background()
	if n, err := te.ApplySchedules(ctx); err != nil || n != 0 {
		t.Fatalf("the first version: %d %v", n, err)
	}
	it := te.ingest(t, put(t, filepath.Join(te.hot, "slip.png"), pngBytes(t, 30, 20)))
	before, _ := te.cat.Retention(ctx, it.BagID)
	te.setSchedule("P3Y", retention.Destroy)
	if n, err := te.ApplySchedules(ctx); err != nil || n != 1 {
		t.Fatalf("a longer period: %d bags %v", n, err)
	}
	after, _ := te.cat.Retention(ctx, it.BagID)
	if !after.Due.Equal(before.Due.AddDate(2, 0, 0)) {
		t.Errorf("due %s, was %s: want two years later", after.Due, before.Due)
	}
	evs, _ := te.cat.BagEvents(ctx, it.BagID)
	last := evs[len(evs)-1]
	if last.Type != catalog.EvPolicyAssignment || !strings.Contains(last.Detail, "retention schedule TMP changed (version 2): destroy, due "+retention.DueText(after.Due)+"; was destroy, due "+retention.DueText(before.Due)) {
		t.Errorf("the event: %+v", last)
	}
	if n, _ := te.ApplySchedules(ctx); n != 0 {
		t.Errorf("the same configuration again changed %d bags", n)
	}
	te.setSchedule("P3Y", retention.Retain)
	if n, _ := te.ApplySchedules(ctx); n != 1 {
		t.Errorf("a new action changed %d bags", n)
	}
	if r, _ := te.cat.Retention(ctx, it.BagID); r.Action != "retain" {
		t.Errorf("action after the change: %+v", r)
	}
}

// TestScheduleChangeExtendsLock: on MinIO in compliance mode a longer
// period extends every object's lock to the new due date; a shorter one
// cannot shorten it, and the event says the disposal must wait.
func TestScheduleChangeExtendsLock(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	no := false
	cfg := storage.Config{URL: s3test.URL(srv.Bucket(true)), S3: storage.S3Config{Endpoint: srv.Endpoint, Region: "us-east-1", Secure: &no, PathStyle: true,
		Lock: storage.S3Lock{Mode: "compliance", RetainFor: time.Minute}}}
	st, err := storage.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	te := scheduleEnv(t, "PT1H")
	te.Store, te.StoreURL = st, cfg.URL
	ctx := context.Background()
	te.ApplySchedules(ctx)
	it := te.ingest(t, put(t, filepath.Join(te.hot, "slip.png"), pngBytes(t, 30, 20)))
	locks := func() (min, max time.Time) {
		objs, _ := te.cat.Objects(ctx, it.BagID)
		for _, o := range objs {
			l, err := st.(interface {
				Lock(context.Context, string) (storage.Lock, error)
			}).Lock(ctx, it.BagID+"/"+o.Key)
			if err != nil || l.Mode != "compliance" {
				t.Fatalf("lock of %s: %+v %v", o.Key, l, err)
			}
			if min.IsZero() || l.Until.Before(min) {
				min = l.Until
			}
			max = later(max, l.Until)
		}
		return min, max
	}
	if lo, _ := locks(); time.Until(lo) > time.Hour || time.Until(lo) < 50*time.Minute {
		t.Fatalf("locked until %s, want in about an hour", lo)
	}
	te.setSchedule("PT3H", retention.Destroy)
	if n, err := te.ApplySchedules(ctx); err != nil || n != 1 {
		t.Fatalf("a longer period: %d %v", n, err)
	}
	r, _ := te.cat.Retention(ctx, it.BagID)
	if lo, hi := locks(); lo.Sub(r.Due).Abs() > time.Second || !hi.Equal(lo) {
		t.Errorf("locks %s–%s after the change, want all at the new due date %s", lo, hi, r.Due)
	}
	te.setSchedule("PT30M", retention.Destroy)
	if n, err := te.ApplySchedules(ctx); err != nil || n != 1 {
		t.Fatalf("a shorter period: %d %v", n, err)
	}
	evs, _ := te.cat.BagEvents(ctx, it.BagID)
	if last := evs[len(evs)-1]; !strings.Contains(last.Detail, "cannot be shortened: the disposal must wait until") {
		t.Errorf("the event of a shorter period: %s", last.Detail)
	}
	if lo, _ := locks(); time.Until(lo) < 2*time.Hour {
		t.Errorf("the lock was shortened to %s", lo)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
