package review

import (
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
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
	"pct": func(f float64) string {
		return template.HTMLEscapeString(strings.TrimRight(strings.TrimRight(fmtFloat(f*100), "0"), ".")) + "%"
	},
	"short": func(s string) string { return shorten(s, 16) },
	"bytes": func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		s.Log.Error("review: render", "page", name, "err", err)
	}
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
	Audit  AuditView
	Counts catalog.Counts
	Alerts []*catalog.Alert
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, sess *session) {
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
	s.render(w, "overview.html", sess, "overview", "Overview", overview{v, c, alerts})
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
	bags, err := s.Catalog.Bags(r.Context(), limit(r))
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, "bags.html", sess, "bags", "Bags", bags)
}

func (s *Server) bagPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v, err := s.bagView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, "bag.html", sess, "bags", "Bag "+v.Bag.ID, v)
}

// pageError answers a page request that met a catalog error.
func (s *Server) pageError(w http.ResponseWriter, err error) {
	switch code := s.errStatus(err); code {
	case http.StatusNotFound:
		http.Error(w, "not found", code)
	case http.StatusConflict:
		http.Error(w, err.Error(), code)
	default:
		http.Error(w, internalError, code)
	}
}
