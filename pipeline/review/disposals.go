package review

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
)

// disposalStatus is the answer to a disposal rule the catalog enforced:
// 403 for a decision by the requester (the same person cannot, whatever
// their role), 409 for a bag held, disposed of, in another request or not
// due.
func disposalStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, catalog.ErrSelfApproval):
		return http.StatusForbidden, true
	case errors.Is(err, catalog.ErrHeld), errors.Is(err, catalog.ErrDisposed), errors.Is(err, disposal.ErrNotDue):
		return http.StatusConflict, true
	}
	return 0, false
}

func (s *Server) disposalFail(w http.ResponseWriter, err error) {
	if code, ok := disposalStatus(err); ok {
		writeJSON(w, code, apiError{err.Error()})
		return
	}
	s.fail(w, err)
}

// apiDisposals lists disposal requests (?state=requested,... or open).
func (s *Server) apiDisposals(w http.ResponseWriter, r *http.Request, _ *user) {
	var states []catalog.DisposalState
	for _, v := range strings.Split(r.URL.Query().Get("state"), ",") {
		switch st := catalog.DisposalState(v); {
		case v == "":
		case v == "open":
			states = append(states, catalog.DisposalRequested, catalog.DisposalApproved, catalog.DisposalExecuting, catalog.DisposalFailed)
		case st.Valid():
			states = append(states, st)
		default:
			writeJSON(w, http.StatusBadRequest, apiError{"state " + strconv.Quote(v) + ": want requested, approved, rejected, executing, done, failed or open"})
			return
		}
	}
	list, err := s.Catalog.ListDisposals(r.Context(), states...)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}

func (s *Server) apiDisposal(w http.ResponseWriter, r *http.Request, _ *user) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusNotFound, apiError{"no such disposal request"})
		return
	}
	d, err := s.Catalog.Disposal(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// apiTombstone is what is kept of a disposed bag.
func (s *Server) apiTombstone(w http.ResponseWriter, r *http.Request, _ *user) {
	t, err := s.Catalog.Tombstone(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// apiRequestDisposal asks for the disposal of bags due under a destroy
// schedule: {"bags": [...], "reason": "..."}; the requester is the token's
// user.
func (s *Server) apiRequestDisposal(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Bags   []string `json:"bags"`
		Reason string   `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || len(body.Bags) == 0 || strings.TrimSpace(body.Reason) == "" {
		writeJSON(w, http.StatusBadRequest, apiError{`body must be JSON {"bags": ["BAG", ...], "reason": "why"}`})
		return
	}
	if err := catalog.CheckValue(body.Reason); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"reason: " + err.Error()})
		return
	}
	d, err := s.requestDisposal(r.Context(), u.Name, body.Bags, body.Reason)
	if err != nil {
		s.disposalFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// requestDisposal asks, as who, for the disposal of bags due under a
// destroy or transfer schedule.
func (s *Server) requestDisposal(ctx context.Context, who string, bags []string, reason string) (*catalog.Disposal, error) {
	now := s.Now()
	action, err := disposal.Due(ctx, s.Catalog, bags, now)
	if err != nil {
		return nil, err
	}
	d := &catalog.Disposal{Bags: bags, Action: action, Reason: reason, RequestedBy: who, Created: now}
	if err := s.Catalog.RequestDisposal(ctx, d); err != nil {
		return nil, err
	}
	s.Log.Info("disposal requested", "request", d.ID, "bags", len(d.Bags), "by", who)
	return d, nil
}

// disposalActions are what can be done to a request once asked.
var disposalActions = map[string]bool{"approve": true, "reject": true, "execute": true}

// decideDisposal records who approved or rejected request id (nothing
// for execute, which runs an approved request again).
func (s *Server) decideDisposal(ctx context.Context, id int64, action, who, note string) error {
	if action == "execute" {
		return nil
	}
	if _, err := s.Catalog.DecideDisposal(ctx, id, action == "approve", who, note, s.Now()); err != nil {
		return err
	}
	s.Log.Info("disposal decided", "request", id, "action", action, "by", who)
	return nil
}

// afterDecision runs an approved request (approve, execute) and returns it
// as it ended; a rejected one is returned as it is.
func (s *Server) afterDecision(ctx context.Context, id int64, action string) (*catalog.Disposal, error) {
	if action == "reject" {
		return s.Catalog.Disposal(ctx, id)
	}
	return s.Dispose(ctx, id)
}

// apiDecideDisposal approves (and runs), rejects, or runs again a
// request: POST .../approve|reject|execute with {"note": "..."}. The
// decider is the token's user, never the requester.
func (s *Server) apiDecideDisposal(w http.ResponseWriter, r *http.Request, u *user) {
	action := r.PathValue("action")
	if !disposalActions[action] {
		writeJSON(w, http.StatusNotFound, apiError{"unknown action; want approve, reject or execute"})
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusNotFound, apiError{"no such disposal request"})
		return
	}
	var body struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{`body must be JSON {"note": "..."}: ` + err.Error()})
			return
		}
	}
	if action == "reject" && strings.TrimSpace(body.Note) == "" {
		writeJSON(w, http.StatusBadRequest, apiError{"a rejection says why: {\"note\": \"...\"}"})
		return
	}
	if err := s.decideDisposal(r.Context(), id, action, u.Name, body.Note); err != nil {
		s.disposalFail(w, err)
		return
	}
	d, err := s.afterDecision(r.Context(), id, action)
	if err != nil && d != nil {
		// Executed and failed (a hold came, the store went away): the
		// request says how far it got.
		s.Log.Error("disposal failed", "request", id, "err", err)
		writeJSON(w, http.StatusOK, d)
		return
	}
	if err != nil {
		s.disposalFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// retentionData is the retention page: the requests waiting for a person,
// those that did not finish, the bags due, the holds, what went.
type retentionData struct {
	Schedules            []retention.Schedule
	Waiting, Stuck, Done []catalog.Disposal
	Due                  []catalog.Retention
	Holds                []catalog.Hold
}

func (s *Server) retentionPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	d := retentionData{Schedules: s.Schedules}
	var err error
	lists := []struct {
		into   *[]catalog.Disposal
		states []catalog.DisposalState
	}{
		{&d.Waiting, []catalog.DisposalState{catalog.DisposalRequested}},
		{&d.Stuck, []catalog.DisposalState{catalog.DisposalApproved, catalog.DisposalExecuting, catalog.DisposalFailed}},
		{&d.Done, []catalog.DisposalState{catalog.DisposalDone}},
	}
	for _, l := range lists {
		if err == nil {
			*l.into, err = s.Catalog.ListDisposals(ctx, l.states...)
		}
	}
	if err == nil {
		d.Due, err = s.Catalog.RetentionDue(ctx, s.Now(), 500)
	}
	if err == nil {
		d.Holds, err = s.Catalog.ListHolds(ctx, false)
	}
	if err != nil {
		s.pageError(w, err)
		return
	}
	if len(d.Done) > 50 {
		d.Done = d.Done[:50]
	}
	s.render(w, "retention.html", sess, "retention", "Retention and disposal", d)
}

// requestDisposalForm asks for the disposal of the bags ticked.
func (s *Server) requestDisposalForm(w http.ResponseWriter, r *http.Request, sess *session) {
	r.ParseForm()
	bags, reason := r.PostForm["bags"], strings.TrimSpace(r.PostFormValue("reason"))
	if len(bags) == 0 || reason == "" || catalog.CheckValue(reason) != nil {
		http.Error(w, "tick the bags and say why", http.StatusBadRequest)
		return
	}
	d, err := s.requestDisposal(r.Context(), sess.user.Name, bags, reason)
	if err != nil {
		s.disposalPageError(w, err)
		return
	}
	http.Redirect(w, r, "/retention#disposal-"+itoa(d.ID), http.StatusSeeOther)
}

// decideDisposalForm approves (and runs), rejects or runs again a request.
func (s *Server) decideDisposalForm(w http.ResponseWriter, r *http.Request, sess *session) {
	action := r.PathValue("action")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || !disposalActions[action] {
		http.NotFound(w, r)
		return
	}
	note := r.PostFormValue("note")
	if action == "reject" && strings.TrimSpace(note) == "" {
		http.Error(w, "a rejection says why", http.StatusBadRequest)
		return
	}
	if err := s.decideDisposal(r.Context(), id, action, sess.user.Name, note); err != nil {
		s.disposalPageError(w, err)
		return
	}
	if _, err := s.afterDecision(r.Context(), id, action); err != nil {
		s.Log.Error("disposal failed", "request", id, "err", err) // the page shows how far it got
	}
	http.Redirect(w, r, "/retention#disposal-"+itoa(id), http.StatusSeeOther)
}

func (s *Server) disposalPageError(w http.ResponseWriter, err error) {
	if code, ok := disposalStatus(err); ok {
		http.Error(w, err.Error(), code)
		return
	}
	s.pageError(w, err)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// review records a decision on a bag due under a review schedule, by u:
// keep (until a day) or dispose (a destroy request of u's).
func (s *Server) review(r *http.Request, u *user, bag, keepUntil string, dispose bool, reason string) (*catalog.Disposal, error) {
	if _, _, err := s.describedBag(r, u, bag); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" || catalog.CheckValue(reason) != nil {
		return nil, &badParam{"reason", reason, "a reason"}
	}
	var until time.Time
	if keepUntil != "" {
		var err error
		if until, err = time.Parse(time.DateOnly, keepUntil); err != nil {
			return nil, &badParam{"keep_until", keepUntil, "YYYY-MM-DD"}
		}
	}
	if dispose == !until.IsZero() {
		return nil, &badParam{"keep_until", keepUntil, "a day to keep the bag until, or dispose: one of them"}
	}
	d, err := disposal.Review(r.Context(), s.Catalog, bag, until, dispose, reason, u.Name, s.Now())
	if err == nil {
		s.Log.Info("retention review", "bag", bag, "dispose", dispose, "keep_until", keepUntil, "by", u.Name)
	}
	return d, err
}

// apiReview: POST /api/v1/bags/ID/review with {"keep_until": "YYYY-MM-DD"}
// or {"dispose": true}, and "reason".
func (s *Server) apiReview(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		KeepUntil string `json:"keep_until"`
		Dispose   bool   `json:"dispose"`
		Reason    string `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{`body must be JSON {"keep_until": "YYYY-MM-DD"} or {"dispose": true}, with "reason"`})
		return
	}
	id := r.PathValue("id")
	d, err := s.review(r, u, id, body.KeepUntil, body.Dispose, body.Reason)
	if err != nil {
		s.disposalFail(w, err)
		return
	}
	if d != nil {
		writeJSON(w, http.StatusOK, d)
		return
	}
	ret, err := s.Catalog.Retention(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ret)
}

// reviewForm is the retention page's review of one bag.
func (s *Server) reviewForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.review(r, &sess.user, r.PathValue("id"), r.PostFormValue("keep_until"), r.PostFormValue("decision") == "dispose", r.PostFormValue("reason")); err != nil {
		s.disposalPageError(w, err)
		return
	}
	http.Redirect(w, r, "/retention", http.StatusSeeOther)
}

// apiSchedules lists the retention schedules configured.
func (s *Server) apiSchedules(w http.ResponseWriter, r *http.Request, _ *user) {
	writeJSON(w, http.StatusOK, nonNil(s.Schedules))
}

// apiAssign puts a bag under another schedule: {"schedule": "CODE",
// "reason": "..."}; the decider is the token's user.
func (s *Server) apiAssign(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Schedule string `json:"schedule"`
		Reason   string `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil || body.Schedule == "" || strings.TrimSpace(body.Reason) == "" {
		writeJSON(w, http.StatusBadRequest, apiError{`body must be JSON {"schedule": "CODE", "reason": "why"}`})
		return
	}
	if err := catalog.CheckValue(body.Reason); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"reason: " + err.Error()})
		return
	}
	ret, err := s.Assign(r.Context(), r.PathValue("id"), body.Schedule, u.Name, body.Reason)
	if errors.Is(err, pipeline.ErrNoSchedule) {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{err.Error()})
		return
	}
	if err != nil {
		s.disposalFail(w, err)
		return
	}
	s.Log.Info("retention schedule assigned", "bag", r.PathValue("id"), "schedule", body.Schedule, "by", u.Name)
	writeJSON(w, http.StatusOK, ret)
}
