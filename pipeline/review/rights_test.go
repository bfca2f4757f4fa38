package review

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// readmeRights reads the README's table of access rights: for each row
// (by its label's first word: descriptions, content, packages, triage,
// correct) what each role (anonymous, reader, reviewer, admin) may see.
func readmeRights(t *testing.T) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, text, ok := strings.Cut(string(b), "### Access rights\n")
	if !ok {
		t.Fatal("README: no section \"### Access rights\"")
	}
	cells := func(line string) []string {
		f := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f
	}
	var roles []string
	rows := map[string]map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			if roles != nil {
				break // the end of the table
			}
			continue
		}
		f := cells(line)
		switch {
		case roles == nil:
			for _, h := range f[1:] {
				roles = append(roles, strings.Fields(h)[0])
			}
		case strings.HasPrefix(f[0], "---"):
		default:
			row := map[string]string{}
			for i, role := range roles {
				row[role] = f[1+i]
			}
			rows[strings.TrimRight(strings.Fields(f[0])[0], ":,")] = row
		}
	}
	if len(rows) == 0 || !slices.Equal(roles, []string{"anonymous", "reader", "reviewer", "admin"}) {
		t.Fatalf("README's table of rights: roles %q, %d rows", roles, len(rows))
	}
	return rows
}

// permits says whether a cell of the table lets its role at a bag.
func permits(t *testing.T, cell string, access catalog.AccessLevel, embargoed bool) bool {
	switch cell {
	case "—":
		return false
	case "yes", "all":
		return true
	}
	if !strings.Contains(cell, "`") {
		t.Fatalf("README's table of rights: a cell this test cannot read: %q", cell)
	}
	if embargoed && strings.Contains(cell, "not under embargo") {
		return false
	}
	return strings.Contains(cell, "`"+string(access)+"`")
}

// TestRightsTable holds every route of the API and of the pages to the
// README's table of access rights, read from the README itself so that the
// two cannot drift: for each role and each bag (open, restricted, closed,
// open under embargo), a route is answered (200, or a form's redirect)
// exactly where the table's row says, and refused otherwise: what a role
// may see of some bags but not this one is 404, a route it may not use at
// all is 401, 403 or the sign-in page. A route added without a row here
// fails the test. Every JSON answer's keys are snake_case.
func TestRightsTable(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	table := readmeRights(t)
	l := newLibrary(t, true)
	withALTO(t, l) // IIIF's page sizes
	ctx := context.Background()
	a, _, err := l.cat.RaiseAlert(ctx, "b-closed", catalog.ProblemAltered, "data/original/page.tif", "read 13 bytes", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	alert := fmt.Sprint(a.ID)
	item := "item-b-closed"
	// A request to read, and a bag disposed of, with its tombstone.
	gone := disposedBag(t, l, "b-gone")
	reqs, _ := l.cat.ListDisposals(ctx)
	request := fmt.Sprint(reqs[0].ID)

	type probe struct {
		pattern, row, method, path, body string
		// seen, for a route that answers 200 whatever the role (a list,
		// a field), says whether the bag is in the answer.
		seen func(body, bag string) bool
	}
	const access, original, originalPDF, tag = "data/access/doc.pdf", "data/original/page.tif", "data/original/scan.pdf", "bagit.txt"
	listed := func(body, bag string) bool { return strings.Contains(body, "Ledger "+bag) }
	probes := []probe{
		{pattern: "GET /api/v1/bags", row: "descriptions", path: "/api/v1/bags", seen: listed},
		{pattern: "GET /api/v1/bags/{id}", row: "descriptions", path: "/api/v1/bags/{bag}"},
		{pattern: "GET /bags", row: "descriptions", path: "/bags", seen: listed},
		{pattern: "GET /bags/{id}", row: "descriptions", path: "/bags/{bag}"},
		{pattern: "GET /api/v1/search", row: "content", path: "/api/v1/search?q=herring&limit=50", seen: listed},
		{pattern: "GET /search", row: "content", path: "/search?q=herring", seen: listed},
		{pattern: "GET /api/v1/bags/{id}/image", row: "content", path: "/api/v1/bags/{bag}/image?file=" + access + "&page=1&w=200"},
		{pattern: "GET /bags/{id}/image", row: "content", path: "/bags/{bag}/image?file=" + access + "&page=1&w=200"},
		{pattern: "GET /bags/{id}/view", row: "content", path: "/bags/{bag}/view?file=" + access + "&page=1&q=herring"},
		{pattern: "GET /api/v1/bags/{id}/files/{path...}", row: "content", path: "/api/v1/bags/{bag}/files/" + access},
		{pattern: "GET /bags/{id}/files/{path...}", row: "content", path: "/bags/{bag}/files/" + access},
		{pattern: "GET /iiif/3/{a}/{b}", row: "content", path: "/iiif/3/{bag}/manifest"},
		{pattern: "GET /iiif/3/collection", row: "content", path: "/iiif/3/collection", seen: listed},
		{pattern: "GET /bags/{id}/viewer", row: "content", path: "/bags/{bag}/viewer?canvas=1&q=herring"},
		{pattern: "GET /iiif/3/image/{id}/info.json", row: "content", path: "/iiif/3/image/{bag}~1/info.json"},
		{pattern: "GET /iiif/3/image/{id}/{region}/{size}/{rotation}/{quality}", row: "content", path: "/iiif/3/image/{bag}~1/full/100,/0/default.jpg"},
		{row: "packages", path: "/api/v1/bags/{bag}/files/" + original},
		{row: "packages", path: "/api/v1/bags/{bag}/files/" + originalPDF},
		{row: "packages", path: "/api/v1/bags/{bag}/files/" + tag},
		{row: "packages", path: "/bags/{bag}/files/" + original},
		{row: "packages", path: "/bags/{bag}/files/" + tag},
		{pattern: "GET /api/v1/bags/{id}/download", row: "packages", path: "/api/v1/bags/{bag}/download"},
		{pattern: "GET /bags/{id}/download", row: "packages", path: "/bags/{bag}/download"},
		{row: "packages", path: "/api/v1/bags/{bag}", seen: func(body, _ string) bool {
			return strings.Contains(body, `"store"`) // where the bytes live
		}},
		{row: "packages", path: "/bags?alerts=yes", seen: func(body, bag string) bool {
			// The has-alerts filter: only b-closed has an alert.
			return !strings.Contains(body, "Ledger b-open") && strings.Contains(body, "Ledger b-closed")
		}},
		{pattern: "GET /api/v1/alerts", row: "packages", path: "/api/v1/alerts"},
		{pattern: "GET /api/v1/alerts/{id}", row: "packages", path: "/api/v1/alerts/" + alert},
		{pattern: "GET /api/v1/items", row: "packages", path: "/api/v1/items"},
		{pattern: "GET /api/v1/items/{id}", row: "packages", path: "/api/v1/items/" + item},
		{pattern: "GET /api/v1/events", row: "packages", path: "/api/v1/events?bag={bag}"},
		{pattern: "GET /api/v1/audit", row: "packages", path: "/api/v1/audit"},
		{pattern: "GET /api/v1/retention/due", row: "packages", path: "/api/v1/retention/due"},
		{pattern: "GET /api/v1/holds", row: "packages", path: "/api/v1/holds"},
		{pattern: "GET /api/v1/bags/{id}/retention", row: "packages", path: "/api/v1/bags/{bag}/retention"},
		{pattern: "GET /api/v1/bags/{id}/tombstone", row: "packages", path: "/api/v1/bags/" + gone + "/tombstone"},
		{pattern: "GET /api/v1/disposals", row: "packages", path: "/api/v1/disposals"},
		{pattern: "GET /api/v1/retention/schedules", row: "packages", path: "/api/v1/retention/schedules"},
		{pattern: "POST /api/v1/bags/{id}/retention", row: "assign", method: "POST", path: "/api/v1/bags/{bag}/retention", body: `{"schedule": "FIN-7", "reason": "filed under ledgers"}`},
		{pattern: "GET /api/v1/disposals/{id}", row: "packages", path: "/api/v1/disposals/" + request},
		{pattern: "POST /api/v1/bags/{id}/review", row: "request", method: "POST", path: "/api/v1/bags/{bag}/review", body: `{"keep_until": "2040-01-01", "reason": "still in use"}`},
		{pattern: "POST /bags/{id}/review", row: "request", method: "POST", path: "/bags/{bag}/review", body: "keep_until=2040-01-01&decision=keep&reason=still+in+use"},
		{pattern: "POST /api/v1/disposals", row: "request", method: "POST", path: "/api/v1/disposals", body: `{"bags": ["b-open"], "reason": "FIN-7 ended"}`},
		{pattern: "POST /api/v1/disposals/{id}/{action}", row: "decide", method: "POST", path: "/api/v1/disposals/{newdisposal}/reject", body: `{"note": "kept: still in use"}`},
		{pattern: "GET /alerts", row: "packages", path: "/alerts"},
		{pattern: "GET /alerts/{id}", row: "packages", path: "/alerts/" + alert},
		{pattern: "GET /failed", row: "packages", path: "/failed"},
		{pattern: "GET /retention", row: "packages", path: "/retention"},
		{pattern: "POST /disposals", row: "request", method: "POST", path: "/disposals", body: "bags=b-open&reason=FIN-7+ended"},
		{pattern: "POST /disposals/{id}/{action}", row: "decide", method: "POST", path: "/disposals/{newdisposal}/reject", body: "note=kept"},
		{pattern: "POST /api/v1/alerts/{id}/{action}", row: "triage", method: "POST", path: "/api/v1/alerts/{new}/ack"},
		{pattern: "POST /alerts/{id}/{action}", row: "triage", method: "POST", path: "/alerts/{new}/ack", body: "note=seen"},
		{pattern: "PUT /api/v1/bags/{id}/metadata", row: "correct", method: "PUT", path: "/api/v1/bags/{bag}/metadata", body: `{"dc.title": "Ledger {bag}"}`},
		{pattern: "POST /bags/{id}/metadata", row: "correct", method: "POST", path: "/bags/{bag}/metadata", body: "dc.title=Ledger+{bag}"},
	}
	// Not in the table: open to all by their nature (health, sign-in, the
	// style sheet, the overview of what each role may see), or with a rule
	// of their own (/metrics: a metrics, reviewer or admin token) that TestAPI holds.
	outside := []string{"GET /healthz", "GET /readyz", "GET /login", "POST /login", "GET /static/style.css", "GET /static/viewer/{file}", "POST /logout", "GET /{$}", "GET /metrics"}
	for _, p := range l.s.patterns {
		if !slices.Contains(outside, p) && !slices.ContainsFunc(probes, func(pr probe) bool { return pr.pattern == p }) {
			t.Errorf("route %q has no row of the README's table in this test", p)
		}
	}
	for _, pr := range probes {
		if table[pr.row] == nil {
			t.Errorf("%s: the README's table has no row %q", pr.path, pr.row)
		}
	}

	for _, role := range []struct{ name, token string }{{"anonymous", ""}, {"reader", "reader-token"}, {"reviewer", "reviewer-token"}, {"admin", "admin-token"}} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		csrf := ""
		if role.token != "" {
			resp, err := c.PostForm(l.srv.URL+"/login", url.Values{"token": {role.token}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			_, page := get(t, c, l.srv.URL+"/bags/b-open", "")
			if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page); m != nil {
				csrf = m[1]
			}
		}
		for _, pr := range probes {
			cell := table[pr.row][role.name]
			bags := levels
			if !strings.Contains(pr.path, "{bag}") && pr.seen == nil {
				bags = levels[:1] // the same answer whatever the bag
			}
			for _, lv := range bags {
				want := permits(t, cell, lv.access, lv.embargo != "")
				path := strings.ReplaceAll(pr.path, "{bag}", lv.bag)
				if strings.Contains(path, "{new}") { // an alert of its own to triage
					a, _, err := l.cat.RaiseAlert(ctx, "b-closed", catalog.ProblemAltered, path+role.name, "read 13 bytes", time.Now())
					if err != nil {
						t.Fatal(err)
					}
					path = strings.ReplaceAll(path, "{new}", fmt.Sprint(a.ID))
				}
				if strings.Contains(path, "{newdisposal}") { // a request of its own to decide
					path = strings.ReplaceAll(path, "{newdisposal}", fmt.Sprint(newDisposal(t, l, lv.bag)))
				}
				body := strings.ReplaceAll(pr.body, "{bag}", lv.bag)
				method := cmp.Or(pr.method, "GET")
				var code int
				var answer string
				if strings.HasPrefix(path, "/api/") {
					code, answer = call(t, method, l.srv.URL+path, role.token, body)
					var v any // one JSON: snake_case keys, as on the CLI
					if json.Unmarshal([]byte(answer), &v) == nil {
						if bad := testenv.NotSnakeCase(v, "info"); len(bad) > 0 {
							t.Errorf("%s %s: keys not in snake_case: %q", method, path, bad)
						}
					}
				} else {
					if method == "POST" {
						body += "&csrf=" + url.QueryEscape(csrf)
					}
					code, answer = get(t, c, l.srv.URL+path, map[bool]string{true: body}[method == "POST"])
				}
				// A change the role may make but that a rule refuses (a
				// request for a bag not due: 409) was let through.
				got := code == 200 || method != "GET" && (code == http.StatusConflict || code == http.StatusSeeOther && !strings.HasPrefix(answer, "/login"))
				if pr.seen != nil {
					got = code == 200 && pr.seen(answer, lv.bag)
				}
				what := role.name + " " + method + " " + path
				if got != want {
					t.Errorf("%s: %d, allowed %v; the README's %q row says %q (%s)", what, code, got, pr.row, cell, firstLine(answer))
					continue
				}
				switch {
				case got || pr.seen != nil && code == 200:
				case cell != "—" && code != 404:
					t.Errorf("%s: %d; a bag the role may not see is 404 for it", what, code)
				case cell == "—" && code != 401 && code != 403 && code != 404 && !(code == http.StatusSeeOther && strings.HasPrefix(answer, "/login")):
					t.Errorf("%s: %d; a route the role may not use is 401, 403 or the sign-in page", what, code)
				}
			}
		}
	}
}

// get GETs u (or, with a form, POSTs it) and returns the status and the
// body, or for a redirect where it goes.
func get(t *testing.T, c *http.Client, u, form string) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if form != "" {
		resp, err = c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form))
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

// newDisposal returns a request for bag waiting for a decision, made by
// someone none of the test's users is; one left open by an earlier probe
// is rejected first (a bag is in one open request at a time).
func newDisposal(t *testing.T, l *library, bag string) int64 {
	t.Helper()
	ctx := context.Background()
	if open, _ := l.cat.OpenDisposal(ctx, bag); open != 0 {
		l.cat.DecideDisposal(ctx, open, false, "cleanup", "probe done", time.Now())
	}
	d := &catalog.Disposal{Bags: []string{bag}, Action: "destroy", Reason: "FIN-7 ended", RequestedBy: "records office", Created: time.Now()}
	if err := l.cat.RequestDisposal(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// disposedBag stores a bag id and disposes of it through the catalog,
// leaving its tombstone; it returns id.
func disposedBag(t *testing.T, l *library, id string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.cat.CreateItem(ctx, &catalog.Item{ID: "item-" + id, Name: id, Source: "/hot/" + id, Kind: catalog.KindFile, Stage: catalog.StageDone, BagID: id}))
	must(l.cat.PutBag(ctx, catalog.Bag{ID: id, ItemID: "item-" + id, Bytes: 1, StoredAt: now}))
	d := &catalog.Disposal{Bags: []string{id}, Action: "destroy", Reason: "FIN-7 ended", RequestedBy: "records office", Created: now}
	must(l.cat.RequestDisposal(ctx, d))
	_, err := l.cat.DecideDisposal(ctx, d.ID, true, "director", "", now)
	must(err)
	_, err = l.cat.BeginDisposal(ctx, d.ID, now)
	must(err)
	must(l.cat.DisposeBag(ctx, d.ID, catalog.Tombstone{BagID: id, ItemID: "item-" + id, Title: "Ledger " + id, Request: d.ID, Disposed: now}))
	must(l.cat.EndDisposal(ctx, d.ID, catalog.DisposalDone, "1 bag disposed of", now))
	return id
}
