package review

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

//go:embed templates/*.html templates/style.css
var assets embed.FS

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": retention.DueText,
	"pct": func(f float64) string {
		return template.HTMLEscapeString(strings.TrimRight(strings.TrimRight(fmtFloat(f*100), "0"), ".")) + "%"
	},
	"short": func(s string) string { return shorten(s, 16) },
	"bytes": func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
	"field": func(m catalog.Metadata, f catalog.Field) string { return *f.Ptr(&m) },
	// with returns the listing's URL with one parameter changed (and
	// paging reset): sort links, filter links.
	"param": func(v url.Values, path, k, val string) string {
		c := url.Values{}
		for key, vs := range v {
			c[key] = vs
		}
		c.Set(k, val)
		c.Del("offset")
		return path + "?" + c.Encode()
	},
	"esc":  url.PathEscape,
	"list": func(v ...string) []string { return v },
	"add":  func(a, b int) int { return a + b },
	"ms":   func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "templates/*.html"))

// view is what every page template gets.
type view struct {
	Title string
	User  *user
	CSRF  string
	Nav   string
	Data  any
	Flash string
}

func (s *Server) render(w http.ResponseWriter, name string, sess *session, nav, title string, data any) {
	v := view{Title: title, Nav: nav, Data: data}
	if sess != nil {
		v.User, v.CSRF = &sess.user, sess.csrf
	}
	// Rendered whole before anything is sent: a template that fails half
	// way is a 500, never half a page with 200.
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, v); err != nil {
		s.failures.renders.Add(1)
		s.Log.Error("review: render", "page", name, "err", err)
		http.Error(w, internalError, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

func (s *Server) style(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("templates/style.css")
	w.Header().Set("Content-Type", "text/css")
	w.Write(b)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, "login.html", nil, "", "Sign in", nil)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	u := s.authenticate(strings.TrimSpace(r.PostFormValue("token")))
	if u == nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, "login.html", nil, "", "Sign in", "That token is not valid.")
		s.Log.Warn("review: failed sign-in", "remote", r.RemoteAddr)
		return
	}
	id, err := s.newSession(r.Context(), *u)
	if err != nil {
		s.pageError(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.Cfg.TLSCert != "",
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.Cfg.SessionTTL.Seconds())})
	s.Log.Info("review: signed in", "user", u.Name, "role", u.Role)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.Catalog.DeleteSession(r.Context(), sess.hash); err != nil {
		s.pageError(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type overview struct {
	Audit    AuditView
	Counts   catalog.Counts
	Alerts   []*catalog.Alert
	InFlight []inFlight
}

// inFlight is an item on its way, with how far it is through a long step
// (the engine's record: pages made of the total, time left), if it is in
// one.
type inFlight struct {
	Item     *catalog.Item
	Progress *catalog.Progress
}

// inFlightShown is how many items in flight the overview lists.
const inFlightShown = 20

// itemsInFlight lists up to inFlightShown items not done or failed, the
// earliest stages last (the nearest to stored first).
func (s *Server) itemsInFlight(ctx context.Context) ([]inFlight, error) {
	var out []inFlight
	for i := len(catalog.Stages) - 1; i >= 0 && len(out) < inFlightShown; i-- {
		st := catalog.Stages[i]
		if st.Terminal() {
			continue
		}
		items, err := s.Catalog.ItemsAt(ctx, st, inFlightShown-len(out))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			f := inFlight{Item: it}
			if s.Progress != nil {
				if p, ok := s.Progress(it.ID); ok {
					f.Progress = &p
				}
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// Items is how many items are at stage (the template's map index cannot
// take a typed key from a string).
func (o overview) Items(stage catalog.Stage) int64 { return o.Counts.ItemsByStage[stage] }

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.user.staff() { // readers come to find things
		target := "/bags"
		if s.Library != nil {
			target = "/search"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	v, c, err := s.auditView(r.Context())
	if err != nil {
		s.pageError(w, err)
		return
	}
	alerts, err := s.Catalog.Alerts(r.Context(), "", catalog.AlertOpen)
	if err != nil {
		s.pageError(w, err)
		return
	}
	if len(alerts) > 5 {
		alerts = alerts[:5]
	}
	flying, err := s.itemsInFlight(r.Context())
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, "overview.html", sess, "overview", "Overview", overview{v, c, alerts, flying})
}

type alertsData struct {
	State  string // the filter: a state, "active" or "all"
	Alerts []*catalog.Alert
}

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "active"
	}
	states, err := catalog.AlertFilter(state)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	alerts, err := s.Catalog.Alerts(r.Context(), "", states...)
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, "alerts.html", sess, "alerts", "Alerts", alertsData{State: state, Alerts: alerts})
}

func (s *Server) alertPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := alertID(r)
	if err == nil {
		var a *catalog.Alert
		if a, err = s.Catalog.Alert(r.Context(), id); err == nil {
			s.render(w, "alert.html", sess, "alerts", "Alert "+r.PathValue("id"), a)
			return
		}
	}
	s.pageError(w, err)
}

func (s *Server) changeAlertForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.user.canReview() {
		http.Error(w, "the reviewer role is needed to change alerts", http.StatusForbidden)
		return
	}
	state, ok := actions[r.PathValue("action")]
	id, err := alertID(r)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	if _, err := s.Catalog.ChangeAlert(r.Context(), id, state, sess.user.Name, r.PostFormValue("note"), s.Now()); err != nil {
		s.pageError(w, err)
		return
	}
	s.Log.Info("alert changed", "alert", id, "state", state, "by", sess.user.Name)
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/alerts"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) bagsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q, err := bagQuery(r, &sess.user, 50, 100)
	if err != nil {
		s.pageError(w, err)
		return
	}
	rows, total, err := s.Catalog.FindBags(r.Context(), q)
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, "bags.html", sess, "bags", "Bags", bagsData{Rows: rows, Pager: pager(r, q.Offset, q.Limit, total, false),
		Filters: r.URL.Query(), Sort: string(q.Sort)})
}

type bagsData struct {
	Rows    []catalog.BagRow
	Pager   pagerData
	Filters url.Values
	Sort    string
}

func (s *Server) bagPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v, err := s.bagView(r, &sess.user, r.PathValue("id"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	title := v.Meta.Title
	if title == "" {
		title = "Bag " + v.Bag.ID
	}
	viewer := hasPageImages(v.Files)
	s.render(w, "bag.html", sess, "bags", title, bagData{BagView: v, Fields: catalog.Fields, Library: s.Library != nil, Viewer: viewer})
}

type bagData struct {
	*BagView
	Fields  []catalog.Field
	Library bool
	// Viewer: the bag has page images (an access copy with its ALTO, or
	// a PDF kept as it is) to open in the book viewer and publish by IIIF.
	Viewer bool
}

func (s *Server) failedPage(w http.ResponseWriter, r *http.Request, sess *session) {
	n, err := limit(r, 200, 10000)
	if err != nil {
		s.pageError(w, err)
		return
	}
	items, err := s.Catalog.ItemsAt(r.Context(), catalog.StageFailed, n)
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, "failed.html", sess, "failed", "Failed items", items)
}

// pagerData links to the pages of a listing around this one.
type pagerData struct {
	From, To, Total int
	Capped          bool
	Prev, Next      string
}

func pager(r *http.Request, offset, limit, total int, capped bool) pagerData {
	p := pagerData{From: offset + 1, To: min(offset+limit, total), Total: total, Capped: capped}
	at := func(off int) string {
		v := r.URL.Query()
		v.Set("offset", strconv.Itoa(off))
		return r.URL.Path + "?" + v.Encode()
	}
	if offset > 0 {
		p.Prev = at(max(offset-limit, 0))
	}
	if offset+limit < total {
		p.Next = at(offset + limit)
	}
	return p
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, sess *session) {
	d := searchData{Filters: r.URL.Query(), Staff: sess.user.staff()}
	if strings.TrimSpace(r.URL.Query().Get("q")) != "" {
		q, err := s.searchQuery(r, &sess.user)
		if err != nil {
			s.pageError(w, err)
			return
		}
		// People look for a document first, then for the page in it:
		// the page groups hits by document unless asked for pages.
		q.ByDocument = r.URL.Query().Get("group") != "page"
		res, err := s.Library.Index.Search(r.Context(), q)
		switch {
		case errors.Is(err, search.ErrQuery):
			d.Error = err.Error()
		case err != nil:
			s.pageError(w, err)
			return
		default:
			d.Result = res
			if q.ByDocument {
				d.Pager = pager(r, q.Offset, q.Limit, res.DocTotal, false)
			} else {
				d.Pager = pager(r, q.Offset, q.Limit, res.Total, res.TotalCapped)
			}
		}
	}
	if d.Staff && d.Error == "" {
		// A disposed bag's pages left the index; its description is still
		// found, as a tombstone, by staff.
		var words []string
		for _, w := range strings.Fields(r.URL.Query().Get("q")) {
			if w = strings.Trim(w, `"*`); w != "" && !strings.HasPrefix(w, "-") {
				words = append(words, w)
			}
		}
		if len(words) > 0 {
			var err error
			if d.Tombstones, err = s.Catalog.FindTombstones(r.Context(), words, 20); err != nil {
				s.pageError(w, err)
				return
			}
		}
	}
	s.render(w, "search.html", sess, "search", "Search", d)
}

type searchData struct {
	Filters    url.Values
	Staff      bool
	Result     *search.Result
	Pager      pagerData
	Error      string
	Tombstones []catalog.Tombstone
}

// viewPage shows one page of a bag's PDF with the words of a search
// highlighted on it, and opens the PDF at that page.
func (s *Server) viewPage(w http.ResponseWriter, r *http.Request, sess *session) {
	u := &sess.user
	v := r.URL.Query()
	key, q := v.Get("file"), v.Get("q")
	n, err := intParam(v, "page", 0, 1, maxPage)
	if err != nil || n == 0 {
		http.Error(w, "want ?file=data/….pdf&page=N", http.StatusBadRequest)
		return
	}
	it, _, err := s.readable(r, u, r.PathValue("id"), key)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	d := viewData{Bag: r.PathValue("id"), File: key, Page: n, Query: q, Meta: it.Meta, Viewer: strings.HasPrefix(key, "data/access/") || strings.HasPrefix(key, "data/original/")}
	if q != "" {
		res, err := s.Library.Index.Search(r.Context(), search.Query{Text: q, Only: []string{d.Bag}, Limit: 200})
		if err == nil {
			for _, h := range res.Hits {
				if h.File == key && h.Page == n {
					d.Hit = &h
				}
			}
		}
	}
	s.render(w, "view.html", sess, "search", fmt.Sprintf("%s, page %d", it.Meta.Title, n), d)
}

type viewData struct {
	Bag, File string
	Page      int
	Query     string
	Meta      catalog.Metadata
	Hit       *search.Hit
	Viewer    bool // a page of an access copy: the book viewer opens it
}

func (s *Server) metadataForm(w http.ResponseWriter, r *http.Request, sess *session) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	for _, f := range catalog.Fields {
		if vs, ok := r.PostForm[f.Name]; ok {
			fields[f.Name] = vs[0]
		}
	}
	id := r.PathValue("id")
	if _, err := s.setMetadata(r.Context(), id, fields, &sess.user); err != nil {
		var bad badFields
		if errors.As(err, &bad) {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		s.pageError(w, err)
		return
	}
	http.Redirect(w, r, "/bags/"+url.PathEscape(id), http.StatusSeeOther)
}

// pageError answers a page request that met a catalog error.
func (s *Server) pageError(w http.ResponseWriter, err error) {
	switch code := s.errStatus(err); code {
	case http.StatusNotFound:
		http.Error(w, "not found", code)
	case http.StatusConflict, http.StatusBadRequest:
		http.Error(w, err.Error(), code)
	default:
		http.Error(w, internalError, code)
	}
}
