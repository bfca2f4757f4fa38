package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// TestDisposalCLI: the records manager's path with the real binary: a bag
// not due is refused; a request by rm is not approved by rm; a held bag is
// not requested; approved by another, the bag is gone from the store,
// leaves a tombstone and a certificate, is listed no more, and an audit of
// everything finds the archive intact.
func TestDisposalCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, `retention:
  schedules:
    - {code: FIN-1, title: Payment slips, mandate: Finance policy 3.1, trigger: closed, period: P1D, action: destroy}
    - {code: FIN-7, title: Ledgers, mandate: Companies Act 2006 s.388, trigger: ingested, period: P7Y, action: destroy}
    - {code: HIST, title: Minutes, mandate: Archives Act s.12, trigger: closed, period: P1D, action: transfer}
  transfer: {url: "file:county"}
`)
	item := func(name, meta string) string {
		p := filepath.Join(dir, "in", name)
		clitest.PNG(t, filepath.Join(p, "p1.png"), 20+len(name), 20)
		os.WriteFile(filepath.Join(p, "metadata.json"), []byte(meta), 0o644)
		return p
	}
	slips, held, ledger := item("slips", `{"retention": "FIN-1", "closed": "2020-01-31", "title": "Payment slips 2019"}`),
		item("slips-b", `{"retention": "FIN-1", "closed": "2020-01-31"}`), item("ledger", `{"retention": "FIN-7"}`)
	minutes := item("minutes", `{"retention": "HIST", "closed": "2020-01-31"}`)
	bags := ingestBags(t, dir, cfg, slips, held, ledger, minutes)
	run := func(args ...string) (string, string, int) {
		return clitest.Run(t, dir, append(append([]string{"disposal"}, args...), "--config", cfg)...)
	}
	if _, errs, code := run("request", bags[ledger], "--reason", "early", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "is due on") {
		t.Errorf("a bag not due: exit %d %q", code, errs)
	}
	clitest.Run(t, dir, "hold", "create", "--name", "audit 2026", "--reason", "tax inspection", "--authority", "HMRC", "--config", cfg)
	clitest.Run(t, dir, "hold", "add", "1", bags[held], "--config", cfg)
	if _, errs, code := run("request", bags[held], "--reason", "FIN-1 ended", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "legal hold 1") {
		t.Errorf("a held bag: exit %d %q", code, errs)
	}
	out, errs, code := run("request", bags[slips], "--reason", "FIN-1 ended", "--by", "rm", "--json")
	var d catalog.Disposal
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.State != catalog.DisposalRequested {
		t.Fatalf("request: exit %d %q %q", code, out, errs)
	}
	if _, errs, code := run("approve", "1", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "someone other than its requester") {
		t.Errorf("approved by its requester: exit %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", bags[slips], "bagit.txt")); err != nil {
		t.Fatal("the bag went before an approval")
	}
	out, errs, code = run("approve", "1", "--by", "director", "--note", "checked against the schedule", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.State != catalog.DisposalDone || d.DecidedBy != "director" {
		t.Fatalf("approve: exit %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", bags[slips])); !os.IsNotExist(err) {
		t.Errorf("the bag's folder is still in the store: %v", err)
	}
	out, _, code = run("tombstone", bags[slips])
	var tomb catalog.Tombstone
	if code != 0 || json.Unmarshal([]byte(out), &tomb) != nil || tomb.Title != "Payment slips 2019" || tomb.Mandate != "Finance policy 3.1" || tomb.ApprovedBy != "director" {
		t.Errorf("tombstone: exit %d %s", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "store", filepath.FromSlash(tomb.Certificate))); err != nil || !strings.Contains(string(b), bags[slips]) {
		t.Errorf("certificate %s: %v", tomb.Certificate, err)
	}
	if out, _, _ := clitest.Run(t, dir, "bags", "list", "--config", cfg); strings.Contains(out, bags[slips]) || !strings.Contains(out, bags[ledger]) {
		t.Errorf("bags list after the disposal:\n%s", out)
	}
	if out, errs, code := clitest.Run(t, dir, "audit", "--all", "--config", cfg); code != 0 || strings.Count(out, `"status":"intact"`) != 3 {
		t.Errorf("audit after the disposal: exit %d\n%s\n%s", code, out, errs)
	}
	if _, errs, code := clitest.Run(t, dir, "audit", "--bag", bags[slips], "--config", cfg); code != 0 || !strings.Contains(errs, "was disposed of on") {
		t.Errorf("audit of the disposed bag: exit %d %q", code, errs)
	}
	// A transfer schedule: the bag goes to the county archive's folder,
	// validated there, then away from here; one request per action.
	if _, errs, code := run("request", bags[minutes], bags[slips], "--reason", "mixed", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "one request per action") &&
		!strings.Contains(errs, "disposed of") {
		t.Errorf("a request mixing actions: exit %d %q", code, errs)
	}
	out, errs, code = run("request", bags[minutes], "--reason", "HIST: to the county archive", "--by", "rm", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Action != "transfer" {
		t.Fatalf("transfer request: exit %d %q %q", code, out, errs)
	}
	if out, errs, code := run("approve", fmt.Sprint(d.ID), "--by", "director"); code != 0 {
		t.Fatalf("transfer approve: exit %d %q %q", code, out, errs)
	}
	if r, err := bagit.ValidateDir(context.Background(), filepath.Join(dir, "county", bags[minutes]), bagit.ValidateOptions{}); err != nil || !r.Valid {
		t.Errorf("the transferred bag in the county archive's folder: %v %+v", err, r)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", bags[minutes])); !os.IsNotExist(err) {
		t.Errorf("the transferred bag is still here: %v", err)
	}
	if out, _, code := run("list", "--state", "done"); code != 0 || !strings.Contains(out, "rm") || !strings.Contains(out, "director") {
		t.Errorf("disposal list: exit %d\n%s", code, out)
	}
}
