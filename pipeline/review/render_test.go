package review

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// TestEveryPageRenders signs in as every role and asks for every page,
// against a catalog with stored bags at every access level, one under
// embargo, a failed item and an open alert. A page is whole (200 and its
// closing tag), a redirect to sign-in, or a refusal; never a 500, never
// half a page: the overview once failed in its template and still said
// 200. The overview shows its counts (4 bags and a newer version of one
// done, one failed) and the items in flight with how far each is; a bag's
// page shows staff its newer versions.
func TestEveryPageRenders(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	l := newLibrary(t, true)
	ctx := context.Background()
	failed := &catalog.Item{ID: "item-bad", Name: "bad.tif", Source: "/hot/bad.tif", Kind: catalog.KindFile, Release: catalog.ReleaseMove, Stage: catalog.StageFailed}
	if err := l.cat.CreateItem(ctx, failed); err != nil {
		t.Fatal(err)
	}
	v2 := &catalog.Item{ID: "item-v2", Name: "b-open", Source: catalog.ReprocessSource("b-open"), Kind: catalog.KindReprocess, Release: catalog.ReleaseKeep, Stage: catalog.StageDone, BagID: "b-open-v2"}
	if err := l.cat.CreateItem(ctx, v2); err != nil {
		t.Fatal(err)
	}
	// Two items in flight, one of them OCRing page 7 of 40.
	for _, it := range []*catalog.Item{
		{ID: "item-ocr", Name: "minute-book", Source: "/hot/minute-book", Kind: catalog.KindBatch, Release: catalog.ReleaseMove, Stage: catalog.StageNormalise},
		{ID: "item-new", Name: "letters", Source: "/hot/letters", Kind: catalog.KindBatch, Release: catalog.ReleaseMove, Stage: catalog.StageFixity},
	} {
		if err := l.cat.CreateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	l.s.Progress = func(id string) (catalog.Progress, bool) {
		return catalog.Progress{Stage: catalog.StageNormalise, Done: 7, Total: 40, Left: 90 * time.Second}, id == "item-ocr"
	}
	if _, _, err := l.cat.RaiseAlert(ctx, "b-closed", catalog.ProblemAltered, "data/original/page.tif", "read 13 bytes, sha256 ff..", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The retention page with something in each part: a request waiting,
	// one that failed, one done, a hold, bags due.
	newDisposal(t, l, "b-open")
	failedReq := newDisposal(t, l, "b-restricted")
	l.cat.DecideDisposal(ctx, failedReq, true, "adam", "", time.Now())
	l.cat.BeginDisposal(ctx, failedReq, time.Now())
	l.cat.EndDisposal(ctx, failedReq, catalog.DisposalFailed, "b-restricted: store: connection refused", time.Now())
	disposedBag(t, l, "b-gone")
	h := &catalog.Hold{Name: "Smith v Harbour Board", Reason: "litigation", Authority: "counsel", CreatedBy: "rm"}
	l.cat.CreateHold(ctx, h)
	l.cat.HoldBags(ctx, h.ID, []string{"b-closed"}, nil, time.Now())
	for _, b := range []string{"b-closed", "b-embargo"} {
		l.cat.SetRetention(ctx, catalog.Retention{BagID: b, Schedule: "FIN-7", Action: "destroy", Due: time.Now().AddDate(0, 0, -3), Assigned: time.Now()})
	}
	// A data-quality report that failed, for the bag page.
	if err := l.cat.SetQuality(ctx, "b-open", "fail", []byte(`{"verdict": "fail", "summary": "fail: 1 of 1 pages with a problem (1 blank)", "pages_with_problems": 1,
		"pages": [{"source": "original/page.tif", "page": 1, "width": 100, "height": 80, "dpi": 300, "colour": "grey", "bits": 8, "blank": true, "problems": ["blank"]}],
		"thresholds": {"min_dpi": 300, "word_confidence": 60, "warn": 0.1, "fail": 0.5}}`)); err != nil {
		t.Fatal(err)
	}
	const view = "/bags/b-open/view?file=data/access/doc.pdf&page=1&q=herring"
	pages := []string{"/", "/alerts", "/alerts?state=all", "/alerts/1", "/failed", "/retention", "/bags", "/bags?sort=title&alerts=yes",
		"/bags/b-open", "/bags/b-restricted", "/bags/b-closed", "/bags/b-embargo", "/bags/b-gone", "/search", "/search?q=herring", "/search?q=ledger+b-gone", "/search?q=%22", "/search?q=herring&group=page", "/search?q=herring&bag=b-open&group=page",
		view, "/bags/b-open/image?file=data/access/doc.pdf&page=1&w=200", "/login"}
	for _, role := range []struct{ name, token string }{{"anonymous", ""}, {"reader", "reader-token"}, {"reviewer", "reviewer-token"}, {"admin", "admin-token"}} {
		t.Run(role.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			if role.token != "" {
				resp, err := c.PostForm(l.srv.URL+"/login", url.Values{"token": {role.token}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("sign-in: %d", resp.StatusCode)
				}
			}
			for _, p := range pages {
				resp, err := c.Get(l.srv.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body, ctype := string(b), resp.Header.Get("Content-Type")
				switch code := resp.StatusCode; {
				case code == 200 && strings.HasPrefix(ctype, "text/html"):
					if !strings.Contains(body, "</html>") {
						t.Errorf("GET %s: 200 but cut short:\n%s", p, body)
					}
				case code == 200 && ctype == "image/jpeg", code == http.StatusSeeOther, code == 403, code == 404:
				default:
					t.Errorf("GET %s: %d %s %q", p, code, ctype, firstLine(body))
				}
				if p == "/search?q=herring" && resp.StatusCode == 200 && !strings.Contains(body, `class="muted doc-pages">1 page matches`) {
					t.Errorf("the search page does not show documents first:\n%s", body)
				}
				staff := role.name == "reviewer" || role.name == "admin"
				if p == "/bags/b-open" && strings.Contains(body, `id="newer-version"`) != staff {
					t.Errorf("the bag page as %s: a newer version shown %v, want %v", role.name, !staff, staff)
				}
				if p == "/bags/b-gone" && ((resp.StatusCode == 200) != staff || staff && !strings.Contains(body, `id="tombstone"`)) {
					t.Errorf("a disposed bag's page as %s: %d, want its tombstone to staff only:\n%s", role.name, resp.StatusCode, body)
				}
				if p == "/search?q=ledger+b-gone" && resp.StatusCode == 200 && strings.Contains(body, `id="tombstones"`) != staff {
					t.Errorf("search as %s: tombstones shown %v, want them to staff only:\n%s", role.name, !staff, body)
				}
				if p == "/bags/b-open" && resp.StatusCode == 200 && strings.Contains(body, `id="quality"`) != staff {
					t.Errorf("the bag page as %s: quality report shown %v, want it to staff only", role.name, !staff)
				}
				if p == "/bags" && staff && resp.StatusCode == 200 && !strings.Contains(body, "disposed of ") {
					t.Errorf("the bag list shows staff no tombstone:\n%s", body)
				}
				if p == "/retention" && resp.StatusCode == 200 {
					// The requester (the records office) decides nothing; an
					// admin may approve, a reviewer may not; the failed
					// request can be run again by an admin.
					approve := strings.Contains(body, "Approve and dispose of")
					if approve != (role.name == "admin") || strings.Contains(body, "Run again") != (role.name == "admin") ||
						!strings.Contains(body, "connection refused") || !strings.Contains(body, "Smith v Harbour Board") || !strings.Contains(body, `value="b-embargo"`) ||
						strings.Contains(body, `value="b-closed"`) || !strings.Contains(body, "b-gone") {
						t.Errorf("the retention page as %s:\n%s", role.name, body)
					}
				}
				if p == "/" && resp.StatusCode == 200 {
					for _, want := range []string{`id="open-alerts">1<`, `id="items-done">6<`, `id="items-failed">1<`,
						"<td>minute-book</td><td>normalise</td><td>7 of 40 pages, about 1m30s left</td>", "<td>letters</td><td>fixity</td><td></td>"} {
						if !strings.Contains(body, want) {
							t.Errorf("overview lacks %s", want)
						}
					}
				}
			}
		})
	}
}
