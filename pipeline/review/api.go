package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
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

// errStatus maps a catalog error to its HTTP status: 404 for what is not
// there, 409 for a state change that can't be made, 500 otherwise (logged,
// never echoed to the client).
func (s *Server) errStatus(err error) int {
	switch {
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

// states turns a ?state= filter into alert states (nil: all).
func states(st string) []string {
	switch st {
	case "", "all":
		return nil
	case "active":
		return []string{catalog.AlertOpen, catalog.AlertAcknowledged}
	default:
		return strings.Split(st, ",")
	}
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request, _ *user) {
	alerts, err := s.Catalog.Alerts(r.Context(), r.URL.Query().Get("bag"), states(r.URL.Query().Get("state"))...)
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

var actions = map[string]string{"ack": catalog.AlertAcknowledged, "acknowledge": catalog.AlertAcknowledged, "resolve": catalog.AlertResolved}

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

func limit(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 || n > 10000 {
		return 200
	}
	return n
}

func (s *Server) apiBags(w http.ResponseWriter, r *http.Request, _ *user) {
	bags, err := s.Catalog.Bags(r.Context(), limit(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(bags))
}

// BagView is a bag with its files, history and alerts.
type BagView struct {
	Bag     *catalog.Bag
	Objects []catalog.Object
	Events  []catalog.Event
	Alerts  []*catalog.Alert
}

func (s *Server) bagView(ctx context.Context, id string) (*BagView, error) {
	b, err := s.Catalog.Bag(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &BagView{Bag: b}
	if v.Objects, err = s.Catalog.Objects(ctx, id); err != nil {
		return nil, err
	}
	if v.Events, err = s.Catalog.BagEvents(ctx, id); err != nil {
		return nil, err
	}
	v.Alerts, err = s.Catalog.Alerts(ctx, id)
	return v, err
}

func (s *Server) apiBag(w http.ResponseWriter, r *http.Request, _ *user) {
	v, err := s.bagView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiItems(w http.ResponseWriter, r *http.Request, _ *user) {
	items, err := s.Catalog.Items(r.Context(), limit(r))
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
	writeJSON(w, http.StatusOK, struct {
		Item   *catalog.Item
		Files  []catalog.File
		Events []catalog.Event
	}{it, files, evs})
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
	Cycle            string
	AuditedInCycle   float64 // share of objects re-read within the cycle, 0..1
	OpenAlerts       int64
	AcknowledgedOpen int64
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

// metrics writes the Prometheus text exposition format.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, c, err := s.auditView(ctx)
	if err != nil {
		http.Error(w, "catalog unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	metric := func(name, typ, help string, samples ...string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, s := range samples {
			fmt.Fprintln(w, s)
		}
	}
	stages := make([]string, 0, len(c.ItemsByStage))
	for st := range c.ItemsByStage {
		stages = append(stages, st)
	}
	sort.Strings(stages)
	var items []string
	for _, st := range stages {
		items = append(items, fmt.Sprintf("strongroom_items{stage=%q} %d", st, c.ItemsByStage[st]))
	}
	metric("strongroom_items", "gauge", "Items by pipeline stage (done = stored and released).", items...)
	metric("strongroom_bags_stored", "gauge", "Bags stored and verified.", fmt.Sprintf("strongroom_bags_stored %d", c.BagsStored))
	metric("strongroom_bytes_stored", "gauge", "Bytes in stored bags.", fmt.Sprintf("strongroom_bytes_stored %d", c.BytesStored))
	metric("strongroom_objects", "gauge", "Stored objects under audit.", fmt.Sprintf("strongroom_objects %d", v.Objects))
	metric("strongroom_audit_coverage_ratio", "gauge", "Share of objects re-read within the audit cycle.", fmt.Sprintf("strongroom_audit_coverage_ratio %g", v.AuditedInCycle))
	metric("strongroom_open_alerts", "gauge", "Alerts by state.", fmt.Sprintf("strongroom_open_alerts{state=\"open\"} %d", c.OpenAlerts), fmt.Sprintf("strongroom_open_alerts{state=\"acknowledged\"} %d", c.AckedAlerts))
	g := s.Gauges
	if g.BytesAudited != nil {
		metric("strongroom_bytes_audited_total", "counter", "Bytes re-read by audits since start.", fmt.Sprintf("strongroom_bytes_audited_total %d", g.BytesAudited()))
	}
	if g.AuditFailed != nil {
		metric("strongroom_audit_failures_total", "counter", "Problems found by audits since start.", fmt.Sprintf("strongroom_audit_failures_total %d", g.AuditFailed()))
	}
	if g.PagesOCRed != nil {
		metric("strongroom_pages_ocred_total", "counter", "Pages OCRed since start.", fmt.Sprintf("strongroom_pages_ocred_total %d", g.PagesOCRed()))
	}
	if g.EnvironmentErrors != nil {
		metric("strongroom_environment_errors_total", "counter", "Steps that waited because the store or a folder was unusable (down, read-only, full, no permission).",
			fmt.Sprintf("strongroom_environment_errors_total %d", g.EnvironmentErrors()))
	}
	if g.Store != nil {
		up := 1
		if g.Store() != nil {
			up = 0
		}
		metric("strongroom_store_up", "gauge", "1 once the store is open, 0 while it cannot be opened.", fmt.Sprintf("strongroom_store_up %d", up))
	}
	if g.QueueDepth != nil {
		if d, err := g.QueueDepth(ctx); err == nil {
			metric("strongroom_queue_depth", "gauge", "Messages waiting or in flight between stages.", fmt.Sprintf("strongroom_queue_depth %d", d))
		}
	}
}
