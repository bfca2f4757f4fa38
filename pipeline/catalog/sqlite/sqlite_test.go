package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/catalogtest"
)

var opener = catalogtest.Opener{
	Open: func(ctx context.Context, dsn string) (catalog.Catalog, error) { return Open(ctx, dsn) },
	NewDSN: func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "catalog.db")
	},
}

func TestMain(m *testing.M) {
	catalogtest.Child(opener)
	os.Exit(m.Run())
}

func TestSuite(t *testing.T) { catalogtest.Run(t, opener) }

// TestUpgradeFromBeforeMigrations opens a catalog that strongroom made
// before it had migrations (commit ab7c3a5: ingest of a file, a batch and a
// zero-byte file; an audit alert, acknowledged; a pushed batch; a file taken
// from the hot folder; and an item killed in the middle of its old
// "prepare" stage) and checks that it is upgraded in place with nothing
// lost, and that the item in progress starts over at fixity.
func TestUpgradeFromBeforeMigrations(t *testing.T) {
	b, err := os.ReadFile("testdata/catalog-ab7c3a5.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "catalog.db")
	os.WriteFile(path, b, 0o644)
	ctx := context.Background()
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	items, err := c.Items(ctx, 100)
	if err != nil || len(items) != 6 {
		t.Fatalf("items: %d %v", len(items), err)
	}
	stages := map[string]catalog.Stage{}
	for _, it := range items {
		stages[it.Name] = it.Stage
	}
	if stages["page.png"] != catalog.StageDone || stages["book"] != catalog.StageDone || stages["zero.png"] != catalog.StageFailed || stages["map.tif"] != catalog.StageFixity {
		t.Errorf("stages after the upgrade: %v", stages)
	}
	active, _ := c.Active(ctx)
	if len(active) != 1 || active[0].Name != "map.tif" {
		t.Fatalf("active: %+v", active)
	}
	// The old prepare's events of the item in progress are gone (fixity
	// records them again); everyone else's history is whole.
	if evs, _ := c.Events(ctx, active[0].ID); len(evs) != 0 {
		t.Errorf("events of the restarted item: %+v", evs)
	}
	for _, it := range items {
		if it.Stage != catalog.StageDone {
			continue
		}
		evs, _ := c.Events(ctx, it.ID)
		files, _ := c.Files(ctx, it.ID)
		bag, err := c.Bag(ctx, it.BagID)
		if len(evs) < 5 || len(files) == 0 || err != nil || bag.Oxum == "" {
			t.Errorf("%s: %d events, %d files, bag %+v %v", it.Name, len(evs), len(files), bag, err)
		}
	}
	alerts, _ := c.Alerts(ctx, "")
	if len(alerts) != 1 {
		t.Fatalf("alerts: %+v", alerts)
	}
	if a, err := c.Alert(ctx, alerts[0].ID); err != nil || a.State != catalog.AlertAcknowledged || len(a.Changes) != 2 || a.Problem != catalog.ProblemAltered {
		t.Errorf("alert: %+v %v", a, err)
	}
	st, _ := c.AuditStatus(ctx, alerts[0].FirstSeen.AddDate(0, 0, -1))
	if st.Objects == 0 || st.LastFailed != 1 {
		t.Errorf("audit status: %+v", st)
	}
	// The new parts work on the upgraded catalog.
	it := active[0]
	if ok, _, err := c.Lease(ctx, it.ID, "w1", it.Updated, it.Updated.Add(60e9)); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	it.Stage = catalog.StageIdentify
	if err := c.UpdateItem(ctx, it, catalog.StageFixity, "w1"); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSession(ctx, catalog.Session{Hash: "h", User: "ana", Role: "read", Expires: it.Updated.AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	// Opening it again migrates nothing more.
	c.Close()
	if c, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
}
