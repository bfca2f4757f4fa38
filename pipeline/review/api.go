package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/quality"
)

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// errStatus maps a catalog error to its HTTP status: 400 for a parameter
// out of range, 404 for what is not there, 409 for a state change that
// can't be made, 500 otherwise (logged, never echoed to the client).
func (s *Server) errStatus(err error) int {
	var bad *badParam
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, catalog.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, catalog.ErrBadTransition):
		return http.StatusConflict
	}
	s.Log.Error("review: request failed", "err", err)
	return http.StatusInternalServerError
}

const internalError = "internal error; see the daemon's log"

// fail answers an API call that met a catalog error.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code, msg := s.errStatus(err), err.Error()
	if code == http.StatusInternalServerError {
		msg = internalError
	}
	writeJSON(w, code, apiError{msg})
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request, _ *user) {
	states, err := catalog.AlertFilter(r.URL.Query().Get("state"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	alerts, err := s.Catalog.Alerts(r.Context(), r.URL.Query().Get("bag"), states...)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(alerts))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func alertID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: alert %q", catalog.ErrNotFound, r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) apiAlert(w http.ResponseWriter, r *http.Request, _ *user) {
	id, err := alertID(r)
	if err == nil {
		var a *catalog.Alert
		if a, err = s.Catalog.Alert(r.Context(), id); err == nil {
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	s.fail(w, err)
}

var actions = map[string]catalog.AlertState{"ack": catalog.AlertAcknowledged, "acknowledge": catalog.AlertAcknowledged, "resolve": catalog.AlertResolved}

func (s *Server) apiChangeAlert(w http.ResponseWriter, r *http.Request, u *user) {
	state, ok := actions[r.PathValue("action")]
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{"unknown action; want ack or resolve"})
		return
	}
	var body struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{"body must be JSON {\"note\": \"...\"}: " + err.Error()})
			return
		}
	}
	id, err := alertID(r)
	if err == nil {
		var a *catalog.Alert
		if a, err = s.Catalog.ChangeAlert(r.Context(), id, state, u.Name, body.Note, s.Now()); err == nil {
			s.Log.Info("alert changed", "alert", id, "state", state, "by", u.Name)
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	s.fail(w, err)
}

// limit is a listing's ?limit=, 1 to most, def when absent.
func limit(r *http.Request, def, most int) (int, error) {
	return intParam(r.URL.Query(), "limit", def, 1, most)
}

func (s *Server) apiBags(w http.ResponseWriter, r *http.Request, u *user) {
	q, err := bagQuery(r, u, 200, 500)
	if err != nil {
		s.fail(w, err)
		return
	}
	rows, total, err := s.Catalog.FindBags(r.Context(), q)
	if err != nil {
		s.fail(w, err)
		return
	}
	if !u.staff() {
		for i := range rows {
			rows[i].Store, rows[i].Alerts = "", 0 // where the bytes live, and alerts, are staff's
		}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, nonNil(rows))
}

// BagView is a bag with its description and, for staff, its files,
// history and alerts; for others, the files they may read.
type BagView struct {
	Bag     *catalog.Bag     `json:"bag"`
	Name    string           `json:"name"`
	Meta    catalog.Metadata `json:"meta"`
	Objects []catalog.Object `json:"objects,omitempty"`
	Events  []catalog.Event  `json:"events,omitempty"`
	Alerts  []*catalog.Alert `json:"alerts,omitempty"`
	// Files are the files u may read (the access copy, text, ALTO, PDFs
	// kept as they are); empty under an embargo.
	Files []string `json:"files"`
	// Embargoed says the content is under embargo for u.
	Embargoed bool `json:"embargoed"`
	// NewerVersions are the bags reprocessed from this one, newest first
	// (staff only): search finds the newest that has text.
	NewerVersions []string `json:"newer_versions,omitempty"`
	// Tombstone is what is kept of a bag disposed of (staff only).
	Tombstone *catalog.Tombstone `json:"tombstone,omitempty"`
	// Quality is the bag's data-quality report (staff only), if it has
	// one.
	Quality *quality.Report `json:"quality,omitempty"`
}

func (s *Server) bagView(r *http.Request, u *user, id string) (*BagView, error) {
	ctx := r.Context()
	b, it, err := s.describedBag(r, u, id)
	if err != nil {
		return nil, err
	}
	v := &BagView{Bag: b, Name: it.Name, Meta: it.Meta}
	objs, err := s.Catalog.Objects(ctx, id)
	if err != nil {
		return nil, err
	}
	v.Embargoed = !u.mayRead(it.Meta, s.Now())
	for _, o := range objs {
		if strings.HasPrefix(o.Key, "data/") && (u.staff() || !v.Embargoed && contentFile(o.Key, objs)) {
			v.Files = append(v.Files, o.Key)
		}
	}
	if !u.staff() {
		pub := *b
		pub.Store = "" // where the bytes live is staff's
		v.Bag = &pub
		return v, nil
	}
	v.Objects = objs
	if !b.Disposed.IsZero() {
		if v.Tombstone, err = s.Catalog.Tombstone(ctx, id); err != nil {
			return nil, err
		}
	}
	switch q, err := s.Catalog.Quality(ctx, id); {
	case err == nil:
		v.Quality = new(quality.Report)
		if err := json.Unmarshal(q, v.Quality); err != nil {
			return nil, fmt.Errorf("bag %s: quality report: %w", id, err)
		}
	case !errors.Is(err, catalog.ErrNotFound):
		return nil, err
	}
	if v.Events, err = s.Catalog.BagEvents(ctx, id); err != nil {
		return nil, err
	}
	if v.NewerVersions, err = s.Catalog.NewerVersions(ctx, id); err != nil {
		return nil, err
	}
	v.Alerts, err = s.Catalog.Alerts(ctx, id)
	return v, err
}

func (s *Server) apiBag(w http.ResponseWriter, r *http.Request, u *user) {
	v, err := s.bagView(r, u, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiItems(w http.ResponseWriter, r *http.Request, _ *user) {
	n, err := limit(r, 200, 10000)
	if err != nil {
		s.fail(w, err)
		return
	}
	items, err := s.Catalog.Items(r.Context(), n)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(items))
}

func (s *Server) apiItem(w http.ResponseWriter, r *http.Request, _ *user) {
	ctx := r.Context()
	it, err := s.Catalog.Item(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	files, err := s.Catalog.Files(ctx, it.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	evs, err := s.Catalog.Events(ctx, it.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	v := struct {
		Item     *catalog.Item     `json:"item"`
		Progress *catalog.Progress `json:"progress,omitempty"`
		Files    []catalog.File    `json:"files"`
		Events   []catalog.Event   `json:"events"`
	}{Item: it, Files: files, Events: evs}
	if s.Progress != nil {
		if p, ok := s.Progress(it.ID); ok {
			v.Progress = &p
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request, _ *user) {
	var evs []catalog.Event
	var err error
	switch q := r.URL.Query(); {
	case q.Get("bag") != "":
		evs, err = s.Catalog.BagEvents(r.Context(), q.Get("bag"))
	case q.Get("item") != "":
		evs, err = s.Catalog.Events(r.Context(), q.Get("item"))
	default:
		writeJSON(w, http.StatusBadRequest, apiError{"give ?bag=ID or ?item=ID"})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(evs))
}

// AuditView is the audit status in the API and on the overview.
type AuditView struct {
	catalog.AuditStatus
	Cycle            string  `json:"cycle"`
	AuditedInCycle   float64 `json:"audited_in_cycle"` // share of objects re-read within the cycle, 0..1
	OpenAlerts       int64   `json:"open_alerts"`
	AcknowledgedOpen int64   `json:"acknowledged_open"`
}

func (s *Server) auditView(ctx context.Context) (AuditView, catalog.Counts, error) {
	st, err := s.Catalog.AuditStatus(ctx, s.Now().Add(-s.AuditCycle))
	if err != nil {
		return AuditView{}, catalog.Counts{}, err
	}
	c, err := s.Catalog.Counts(ctx)
	if err != nil {
		return AuditView{}, c, err
	}
	cycle := s.AuditCycle.String()
	if s.AuditCycle%(24*time.Hour) == 0 {
		cycle = fmt.Sprintf("%d-day", s.AuditCycle/(24*time.Hour))
	}
	v := AuditView{AuditStatus: st, Cycle: cycle, OpenAlerts: c.OpenAlerts, AcknowledgedOpen: c.AckedAlerts}
	if st.Objects > 0 {
		v.AuditedInCycle = float64(st.CheckedSince) / float64(st.Objects)
	}
	return v, c, nil
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, _ *user) {
	v, _, err := s.auditView(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// apiRetentionDue lists the bags due for their schedule's action by
// ?before= (default today), then those not datable yet (staff's).
func (s *Server) apiRetentionDue(w http.ResponseWriter, r *http.Request, _ *user) {
	before := s.Now()
	if v := r.URL.Query().Get("before"); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{fmt.Sprintf("before=%q: want YYYY-MM-DD", v)})
			return
		}
		before = d
	}
	n, err := limit(r, 1000, 10000)
	if err != nil {
		s.fail(w, err)
		return
	}
	due, err := s.Catalog.RetentionDue(r.Context(), before, n)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(due))
}

// apiRetention is one bag's retention and the holds in force on it.
func (s *Server) apiRetention(w http.ResponseWriter, r *http.Request, _ *user) {
	id := r.PathValue("id")
	ret, err := s.Catalog.Retention(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	holds, err := s.Catalog.HoldsOn(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*catalog.Retention
		Holds []catalog.Hold `json:"holds"`
	}{ret, nonNil(holds)})
}

// apiHolds lists the legal holds in force (?all=yes: released too).
func (s *Server) apiHolds(w http.ResponseWriter, r *http.Request, _ *user) {
	holds, err := s.Catalog.ListHolds(r.Context(), r.URL.Query().Get("all") == "yes")
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(holds))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Catalog.Counts(r.Context()); err != nil {
		s.Log.Error("readyz: catalog", "err", err)
		http.Error(w, "catalog unavailable", http.StatusServiceUnavailable)
		return
	}
	if s.Gauges.Store != nil {
		if err := s.Gauges.Store(); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}
