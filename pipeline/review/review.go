// Package review is the HTTP side of strongroom for preservation staff: a
// JSON API for alerts, bags, items, events and audit status, a server-side
// web page (templates and styles embedded in the binary) to triage alerts
// and read each bag's history, health checks and Prometheus metrics.
//
// Every API call needs a bearer token; the page needs a login with one and
// then uses a session cookie, with a CSRF token in every form. Tokens are
// configured as SHA-256 hashes, with a role (rights.go says what each may
// do): "reader" finds and reads what its access level allows, "reviewer"
// is preservation staff (every bag, alerts, history, packages), "admin"
// also corrects descriptions. With http.public, people without a token
// are "anonymous" and see open items only. Everything else is denied, and
// every refusal is logged.
package review

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
)

// Roles.
const (
	RoleAnonymous = "anonymous" // no token, on a public server
	RoleReader    = "reader"
	RoleReviewer  = "reviewer"
	RoleAdmin     = "admin"
	// RoleRead is the name "reader" had before there were readers; it is
	// read as RoleReader.
	RoleRead = "read"
	// RoleMetrics may scrape /metrics and nothing else.
	RoleMetrics = "metrics"
)

// roles are the roles a token may have.
var roles = []string{RoleReader, RoleReviewer, RoleAdmin, RoleRead, RoleMetrics}

// Token is one API credential: the hex SHA-256 of the token, never the
// token itself.
type Token struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	Role        string `yaml:"role"`
}

// Config configures the HTTP server.
type Config struct {
	// Listen is the address of the API and the page (and the push API);
	// empty: no HTTP server.
	Listen     string        `yaml:"listen"`
	TLSCert    string        `yaml:"tls_cert"`
	TLSKey     string        `yaml:"tls_key"`
	Tokens     []Token       `yaml:"tokens"`
	SessionTTL time.Duration `yaml:"session_ttl"`
	// Public lets people without a token search and read open items
	// (role anonymous); off, everything needs a token.
	Public bool `yaml:"public"`
	// MetricsListen, when set, serves /metrics on this address of its own,
	// without a token (bind it to loopback or a monitoring network); on
	// Listen, /metrics needs the token of a reviewer, an admin, or a
	// token of role metrics (a scraper's, good for nothing else).
	MetricsListen string `yaml:"metrics_listen"`
	// ImageCache bounds the IIIF images kept (pages drawn at full size,
	// tiles and sizes answered), in bytes; the least recently used go
	// first. 0: no bound.
	ImageCache int64 `yaml:"image_cache_bytes"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("http.tls_cert and http.tls_key go together"))
	}
	if c.SessionTTL <= 0 {
		errs = append(errs, fmt.Errorf("http.session_ttl %s: must be positive", c.SessionTTL))
	}
	seen := map[string]bool{}
	for i, t := range c.Tokens {
		if b, err := hex.DecodeString(t.TokenSHA256); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("http.tokens[%d] (%s): token_sha256 must be 64 hex digits (sha256sum of the token)", i, t.Name))
		}
		if !slices.Contains(roles, t.Role) {
			errs = append(errs, fmt.Errorf("http.tokens[%d] (%s): role %q, want reader, reviewer, admin or metrics", i, t.Name, t.Role))
		}
		if t.Name == "" || seen[t.Name] {
			errs = append(errs, fmt.Errorf("http.tokens[%d]: name %q must be set and unique", i, t.Name))
		}
		seen[t.Name] = true
	}
	return errors.Join(errs...)
}

// Gauges are live numbers from the rest of the daemon, for /metrics.
type Gauges struct {
	BytesAudited func() int64
	AuditFailed  func() int64
	PagesOCRed   func() int64
	// EnvironmentErrors counts steps that waited for the environment.
	EnvironmentErrors func() int64
	// Store returns nil once the store is open, else why not.
	Store func() error
}

// Server serves the API and the page.
type Server struct {
	Cfg        Config
	Catalog    catalog.Catalog
	AuditCycle time.Duration
	Gauges     Gauges
	Log        *slog.Logger
	Now        func() time.Time
	// Library is what finding and retrieving needs (the search index,
	// the store); nil serves triage only.
	Library *Library
	// Institution holds the archive (bag.source_organization): the IIIF
	// manifests' required statement.
	Institution string

	imagesOnce sync.Once
	images     *imageCache
	decoded    decodedPages
	// Progress says how far an item in flight is through a long step
	// (the engine of this process); nil: not known here.
	Progress func(itemID string) (catalog.Progress, bool)
	// Dispose executes an approved disposal request; nil: requests are
	// listed but neither asked for nor decided here.
	Dispose func(ctx context.Context, id int64) (*catalog.Disposal, error)
	// Schedules are the retention schedules configured; Assign puts a bag
	// under one of them (the engine's), nil: not here.
	Schedules []retention.Schedule
	Assign    func(ctx context.Context, bag, code, who, reason string) (*catalog.Retention, error)

	// failures counts the requests that ended in 500 because of the
	// server itself, by kind: a handler that panicked, a page whose
	// template failed (strongroom_http_failures_total).
	failures struct{ panics, renders atomic.Int64 }
	patterns []string // the routes Handler made
}

type user struct {
	Name string
	Role string
}

func (u *user) canReview() bool { return u.staff() }

// session is a signed-in user of the page, kept in the catalog (so that a
// restart signs no one out) under the SHA-256 of the cookie's value.
type session struct {
	user user
	csrf string
	hash string
}

// authenticate returns the user whose token this is, comparing hashes in
// constant time.
func (s *Server) authenticate(token string) *user {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	var found *user
	for _, t := range s.Cfg.Tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(t.TokenSHA256))) == 1 {
			found = &user{Name: t.Name, Role: roleOf(t.Role)}
		}
	}
	return found
}

func roleOf(r string) string {
	if r == RoleRead {
		return RoleReader
	}
	return r
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const sessionCookie = "strongroom_session"

func hashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// newSession records a session for u and returns the cookie's value.
func (s *Server) newSession(ctx context.Context, u user) (string, error) {
	id := randomToken()
	err := s.Catalog.PutSession(ctx, catalog.Session{Hash: hashToken(id), User: u.Name, Role: u.Role, CSRF: randomToken(),
		Expires: s.Now().Add(s.Cfg.SessionTTL)})
	return id, err
}

// session returns the request's session, or nil. A user whose token was
// taken out of the configuration has no session any more.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	cs, err := s.Catalog.Session(r.Context(), hashToken(c.Value), s.Now())
	if err != nil {
		return nil
	}
	for _, t := range s.Cfg.Tokens {
		if t.Name == cs.User && roleOf(t.Role) == cs.Role {
			return &session{user: user{Name: cs.User, Role: cs.Role}, csrf: cs.CSRF, hash: cs.Hash}
		}
	}
	return nil
}

// Handler returns the server's routes: health, metrics, the API and the
// page. Forms are refused when a browser says they come from another site
// (http.CrossOriginProtection), besides the session's CSRF token.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	mux := &routes{ServeMux: http.NewServeMux()}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	metrics := s.MetricsHandler()

	// api serves a route to callers with a token (or anyone, on a public
	// server, for routes open to anonymous) whose role is at least need.
	api := func(pattern, need string, h func(w http.ResponseWriter, r *http.Request, u *user)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			u := s.authenticate(tok)
			if u == nil && tok == "" && s.Cfg.Public {
				u = anonymous
			}
			switch {
			case u == nil:
				w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom"`)
				writeJSON(w, http.StatusUnauthorized, apiError{"a valid bearer token is needed"})
			case !u.atLeast(need):
				s.refused(r, u, "role "+need+" needed")
				if u == anonymous {
					w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom"`)
					writeJSON(w, http.StatusUnauthorized, apiError{"a valid bearer token is needed"})
					return
				}
				writeJSON(w, http.StatusForbidden, apiError{"the " + need + " role is needed"})
			default:
				h(w, r, u)
			}
		})
	}
	// /metrics says what the archive holds and how it fares: not for
	// anyone who asks.
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		u := s.authenticate(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if u == nil || !(u.Role == RoleMetrics || u.staff()) {
			s.refused(r, u, "metrics need a metrics, reviewer or admin token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom"`)
			writeJSON(w, http.StatusUnauthorized, apiError{"a metrics, reviewer or admin token is needed (or http.metrics_listen)"})
			return
		}
		metrics.ServeHTTP(w, r)
	})
	api("GET /api/v1/alerts", RoleReviewer, s.apiAlerts)
	api("GET /api/v1/alerts/{id}", RoleReviewer, s.apiAlert)
	api("POST /api/v1/alerts/{id}/{action}", RoleReviewer, s.apiChangeAlert)
	api("GET /api/v1/items", RoleReviewer, s.apiItems)
	api("GET /api/v1/items/{id}", RoleReviewer, s.apiItem)
	api("GET /api/v1/events", RoleReviewer, s.apiEvents)
	api("GET /api/v1/audit", RoleReviewer, s.apiAudit)
	api("GET /api/v1/retention/due", RoleReviewer, s.apiRetentionDue)
	api("GET /api/v1/holds", RoleReviewer, s.apiHolds)
	api("GET /api/v1/bags", RoleAnonymous, s.apiBags)
	api("GET /api/v1/bags/{id}", RoleAnonymous, s.apiBag)
	api("GET /api/v1/bags/{id}/retention", RoleReviewer, s.apiRetention)
	api("GET /api/v1/bags/{id}/tombstone", RoleReviewer, s.apiTombstone)
	api("GET /api/v1/retention/schedules", RoleReviewer, s.apiSchedules)
	if s.Assign != nil {
		api("POST /api/v1/bags/{id}/retention", RoleAdmin, s.apiAssign)
	}
	api("GET /api/v1/disposals", RoleReviewer, s.apiDisposals)
	api("GET /api/v1/disposals/{id}", RoleReviewer, s.apiDisposal)
	if s.Dispose != nil {
		api("POST /api/v1/disposals", RoleReviewer, s.apiRequestDisposal)
		api("POST /api/v1/bags/{id}/review", RoleReviewer, s.apiReview)
		api("POST /api/v1/disposals/{id}/{action}", RoleAdmin, s.apiDecideDisposal)
	}
	if s.Library != nil {
		// IIIF: a bearer token, a session, or nothing on a public server;
		// any origin may ask (viewers elsewhere), rights as everywhere.
		iiifRoute := func(pattern string, h func(w http.ResponseWriter, r *http.Request, u *user)) {
			mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Access-Control-Allow-Origin", "*")
				var u *user
				if tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); tok != "" {
					u = s.authenticate(tok)
				} else if sess := s.session(r); sess != nil {
					u = &sess.user
				} else if s.Cfg.Public {
					u = anonymous
				}
				if u == nil {
					w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom"`)
					writeJSON(w, http.StatusUnauthorized, apiError{"a valid bearer token or session is needed"})
					return
				}
				h(w, r, u)
			})
		}
		// /iiif/3/BAG/manifest, /iiif/3/image/ID, /iiif/3/search/BAG and
		// /iiif/3/autocomplete/BAG share a shape (no bag has those names).
		iiifRoute("GET /iiif/3/{a}/{b}", func(w http.ResponseWriter, r *http.Request, u *user) {
			switch a, b := r.PathValue("a"), r.PathValue("b"); {
			case a == "collection":
				s.iiifCollection(w, r, u, b)
			case a == "image":
				http.Redirect(w, r, "/iiif/3/image/"+b+"/info.json", http.StatusSeeOther)
			case a == "search", a == "search1":
				s.iiifSearch(w, r, u, b, a == "search1")
			case a == "autocomplete":
				s.iiifAutocomplete(w, r, u, b)
			case b == "manifest":
				s.iiifManifest(w, r, u, a)
			default:
				http.NotFound(w, r)
			}
		})
		iiifRoute("GET /iiif/3/collection", func(w http.ResponseWriter, r *http.Request, u *user) { s.iiifCollection(w, r, u, "") })
		iiifRoute("GET /iiif/3/image/{id}/info.json", s.iiifInfo)
		iiifRoute("GET /iiif/3/image/{id}/{region}/{size}/{rotation}/{quality}", s.iiifImage)
		api("GET /api/v1/search", RoleAnonymous, s.apiSearch)
		api("PUT /api/v1/bags/{id}/metadata", RoleAdmin, s.apiSetMetadata)
		api("GET /api/v1/bags/{id}/download", RoleReviewer, s.apiDownload)
		api("GET /api/v1/bags/{id}/files/{path...}", RoleAnonymous, s.apiFile)
		api("GET /api/v1/bags/{id}/image", RoleAnonymous, s.apiImage)
	}

	// page serves a page to signed-in users, and to anonymous ones on a
	// public server where the page allows them.
	page := func(pattern, need string, h func(w http.ResponseWriter, r *http.Request, sess *session)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			sess := s.session(r)
			if sess == nil && s.Cfg.Public && r.Method == http.MethodGet {
				sess = &session{user: *anonymous}
			}
			if sess == nil {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			if !sess.user.atLeast(need) {
				s.refused(r, &sess.user, "role "+need+" needed")
				if sess.user.Role == RoleAnonymous {
					http.Redirect(w, r, "/login", http.StatusSeeOther)
					return
				}
				http.Error(w, "the "+need+" role is needed", http.StatusForbidden)
				return
			}
			if r.Method == http.MethodPost && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
				http.Error(w, "invalid or missing CSRF token: reload the page and try again", http.StatusForbidden)
				return
			}
			h(w, r, sess)
		})
	}
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /static/style.css", s.style)
	mux.HandleFunc("GET /static/viewer/{file}", s.viewerAsset)
	page("POST /logout", RoleReader, s.logout)
	page("GET /{$}", RoleAnonymous, s.overviewPage)
	page("GET /alerts", RoleReviewer, s.alertsPage)
	page("GET /alerts/{id}", RoleReviewer, s.alertPage)
	page("POST /alerts/{id}/{action}", RoleReviewer, s.changeAlertForm)
	page("GET /failed", RoleReviewer, s.failedPage)
	page("GET /retention", RoleReviewer, s.retentionPage)
	if s.Dispose != nil {
		page("POST /disposals", RoleReviewer, s.requestDisposalForm)
		page("POST /bags/{id}/review", RoleReviewer, s.reviewForm)
		page("POST /disposals/{id}/{action}", RoleAdmin, s.decideDisposalForm)
	}
	page("GET /bags", RoleAnonymous, s.bagsPage)
	page("GET /bags/{id}", RoleAnonymous, s.bagPage)
	if s.Library != nil {
		page("GET /search", RoleAnonymous, s.searchPage)
		page("GET /bags/{id}/view", RoleAnonymous, s.viewPage)
		page("GET /bags/{id}/viewer", RoleAnonymous, s.bookViewer)
		page("GET /bags/{id}/image", RoleAnonymous, s.imagePage)
		page("GET /bags/{id}/files/{path...}", RoleAnonymous, s.filePage)
		page("GET /bags/{id}/download", RoleReviewer, s.downloadPage)
		page("POST /bags/{id}/metadata", RoleAdmin, s.metadataForm)
	}
	s.patterns = mux.patterns
	return s.recoverPanics(securityHeaders(http.NewCrossOriginProtection().Handler(mux)))
}

// routes is a ServeMux that remembers its patterns, so that a test can
// hold every route to the README's table of rights.
type routes struct {
	*http.ServeMux
	patterns []string
}

func (m *routes) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// recoverPanics turns a panic in a handler into a 500 and a log line with
// the stack, instead of net/http's dropped connection. A handler that
// already sent its header can only be cut off: the client then sees a
// broken answer, never a short one that looks whole. http.ErrAbortHandler
// is that cut made on purpose (a download that failed its check), not a
// fault, and passes through.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.failures.panics.Add(1)
			s.Log.Error("review: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if sw.wrote {
				panic(http.ErrAbortHandler)
			}
			http.Error(w, internalError, http.StatusInternalServerError)
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter notes whether the header went out.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) { w.wrote = true; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection beneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom keeps the connection's own ReadFrom (sendfile) for the files
// http.ServeContent streams: without it, every download through the
// wrapper would be copied through a buffer.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	return io.Copy(w.ResponseWriter, r)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// ListenAndServe serves until ctx ends, with TLS when configured.
func ListenAndServe(ctx context.Context, cfg Config, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Addr: cfg.Listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		var err error
		if cfg.TLSCert != "" {
			err = srv.ListenAndServeTLS(cfg.TLSCert, cfg.TLSKey)
		} else {
			err = srv.ListenAndServe()
		}
		errc <- err
	}()
	log.Info("http listening", "addr", cfg.Listen, "tls", cfg.TLSCert != "")
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
