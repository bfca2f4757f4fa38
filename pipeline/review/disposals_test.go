package review

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// TestDisposalAPI: four eyes over the API, the signed-in user being the
// person: a reviewer asks for the disposal of a due bag; the admin who
// approves it has it run (the bag's objects leave the store, its tombstone
// is served); an admin cannot approve their own request (403), nor ask
// for a bag that is not due (409) or held (409).
func TestDisposalAPI(t *testing.T) {
	l := newLibrary(t, false)
	ctx := context.Background()
	past := time.Now().AddDate(0, 0, -1)
	for _, b := range []string{"b-open", "b-restricted", "b-closed"} {
		l.cat.SetRetention(ctx, catalog.Retention{BagID: b, Schedule: "FIN-7", Action: "destroy", Due: past, Assigned: past})
	}
	post := func(path, token, body string) (int, catalog.Disposal, string) {
		code, answer := call(t, "POST", l.srv.URL+path, token, body)
		var d catalog.Disposal
		json.Unmarshal([]byte(answer), &d)
		return code, d, answer
	}
	code, d, answer := post("/api/v1/disposals", "reviewer-token", `{"bags": ["b-open"], "reason": "FIN-7 ended"}`)
	if code != 200 || d.RequestedBy != "ana" || d.State != catalog.DisposalRequested {
		t.Fatalf("a reviewer's request: %d %s", code, answer)
	}
	if code, _, answer := post("/api/v1/disposals/"+itoa(d.ID)+"/approve", "reviewer-token", ""); code != http.StatusForbidden {
		t.Errorf("a reviewer approving: %d %s", code, answer)
	}
	code, done, answer := post("/api/v1/disposals/"+itoa(d.ID)+"/approve", "admin-token", `{"note": "checked"}`)
	if code != 200 || done.State != catalog.DisposalDone || done.DecidedBy != "adam" {
		t.Fatalf("the admin's approval: %d %s", code, answer)
	}
	for oi, err := range l.s.Library.Store.List(ctx, "b-open/") {
		t.Errorf("left in the store: %s %v", oi.Key, err)
	}
	if code, answer := call(t, "GET", l.srv.URL+"/api/v1/bags/b-open/tombstone", "reviewer-token", ""); code != 200 || !strings.Contains(answer, `"approved_by": "adam"`) {
		t.Errorf("tombstone: %d %s", code, answer)
	}
	// The admin's own request: not theirs to approve.
	code, own, answer := post("/api/v1/disposals", "admin-token", `{"bags": ["b-restricted"], "reason": "FIN-7 ended"}`)
	if code != 200 {
		t.Fatalf("the admin's request: %d %s", code, answer)
	}
	if code, _, answer := post("/api/v1/disposals/"+itoa(own.ID)+"/approve", "admin-token", ""); code != http.StatusForbidden || !strings.Contains(answer, "someone other than its requester") {
		t.Errorf("approving one's own request: %d %s", code, answer)
	}
	// On the page, the requester sees no approve button on their request.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, err := c.PostForm(l.srv.URL+"/login", url.Values{"token": {"admin-token"}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	_, page := get(t, c, l.srv.URL+"/retention", "")
	row, _, _ := strings.Cut(page[strings.Index(page, `id="disposal-`+itoa(own.ID)+`"`):], "</tr>")
	if !strings.Contains(row, "your request: another person decides") || strings.Contains(row, "/approve") {
		t.Errorf("the admin's own request on the page:\n%s", row)
	}
	if code, _, answer := post("/api/v1/disposals/"+itoa(own.ID)+"/reject", "admin-token", ""); code != http.StatusBadRequest {
		t.Errorf("a rejection without a note: %d %s", code, answer)
	}
	h := &catalog.Hold{Name: "inquiry", Reason: "r", Authority: "a", CreatedBy: "counsel"}
	l.cat.CreateHold(ctx, h)
	l.cat.HoldBags(ctx, h.ID, []string{"b-closed"}, nil, time.Now())
	if code, _, answer := post("/api/v1/disposals", "reviewer-token", `{"bags": ["b-closed"], "reason": "FIN-7 ended"}`); code != http.StatusConflict || !strings.Contains(answer, "legal hold") {
		t.Errorf("a held bag: %d %s", code, answer)
	}
	l.cat.SetRetention(ctx, catalog.Retention{BagID: "b-embargo", Schedule: "FIN-7", Action: "destroy", Due: time.Now().AddDate(1, 0, 0), Assigned: past})
	if code, _, answer := post("/api/v1/disposals", "reviewer-token", `{"bags": ["b-embargo"], "reason": "early"}`); code != http.StatusConflict || !strings.Contains(answer, "is due on") {
		t.Errorf("a bag not due: %d %s", code, answer)
	}
	if code, answer := call(t, "GET", l.srv.URL+"/api/v1/disposals?state=done", "reviewer-token", ""); code != 200 || !strings.Contains(answer, `"decided_by": "adam"`) {
		t.Errorf("done requests: %d %s", code, answer)
	}
	// A bag due for review: kept until 2040, then (due again) asked for
	// disposal by the reviewer, whose request another person decides.
	l.cat.SetRetention(ctx, catalog.Retention{BagID: "b-embargo", Schedule: "CASE", Action: "review", Due: past, Assigned: past})
	if code, answer := call(t, "POST", l.srv.URL+"/api/v1/bags/b-embargo/review", "reviewer-token", `{"keep_until": "2040-01-01", "reason": "the case may reopen"}`); code != 200 || !strings.Contains(answer, `"due": "2040-01-01T00:00:00Z"`) {
		t.Errorf("review, keep: %d %s", code, answer)
	}
	if code, answer := call(t, "POST", l.srv.URL+"/api/v1/bags/b-embargo/review", "reviewer-token", `{"dispose": true, "reason": "closed"}`); code != http.StatusConflict {
		t.Errorf("a review of a bag no longer due: %d %s", code, answer)
	}
	l.cat.SetRetention(ctx, catalog.Retention{BagID: "b-embargo", Schedule: "CASE", Action: "review", Due: past, Assigned: past})
	code, req, answer := post("/api/v1/bags/b-embargo/review", "reviewer-token", `{"dispose": true, "reason": "the case is closed"}`)
	if code != 200 || req.Action != "destroy" || req.RequestedBy != "ana" || req.State != catalog.DisposalRequested {
		t.Errorf("review, dispose: %d %s", code, answer)
	}
}
