package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retrieve"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/storage"
)

// Library is what finding and retrieving needs.
type Library struct {
	Index search.Index
	Store storage.Store
	// Cache keeps verified copies of the files served (access copies),
	// for Range requests, and the page images made from them.
	Cache *retrieve.Cache
	// Render draws page n (from 0) of the PDF at path as a JPEG width
	// pixels wide.
	Render func(ctx context.Context, path string, n, width int) ([]byte, error)
	// PageSizes gives the pages of the PDF at path, width and height in
	// points (for IIIF, a PDF kept as it is, without ALTO); nil: not known.
	PageSizes func(ctx context.Context, path string) ([][2]float64, error)
}

// describedBag returns a bag and its item if u may see its description;
// ErrNotFound otherwise (what u may not see is not there, for u), with the
// refusal logged.
func (s *Server) describedBag(r *http.Request, u *user, id string) (*catalog.Bag, *catalog.Item, error) {
	b, err := s.Catalog.Bag(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	it, err := s.Catalog.Item(r.Context(), b.ItemID)
	if err != nil {
		return nil, nil, err
	}
	if !u.mayDescribe(it.Meta) {
		s.refused(r, u, fmt.Sprintf("bag %s is %q", id, it.Meta.Access))
		return nil, nil, fmt.Errorf("%w: bag %s", catalog.ErrNotFound, id)
	}
	if !b.Disposed.IsZero() && !u.staff() {
		return nil, nil, fmt.Errorf("%w: bag %s", catalog.ErrNotFound, id) // its tombstone is staff's
	}
	return b, it, nil
}

// readable returns the bag's item and the stored object at key if u may
// read it: a derived file (access copy, text, ALTO) of an item u may read,
// or the original PDF of a bag that has no access copy (born digital, kept
// as it is: it is its own access copy); any file for staff. Whatever u may
// not read is "not found" for u, the refusal logged.
func (s *Server) readable(r *http.Request, u *user, id, key string) (*catalog.Item, catalog.Object, error) {
	_, it, err := s.describedBag(r, u, id)
	if err != nil {
		return nil, catalog.Object{}, err
	}
	objs, err := s.Catalog.Objects(r.Context(), id)
	if err != nil {
		return nil, catalog.Object{}, err
	}
	o, err := s.readableIn(r, u, id, it, objs, key)
	if err != nil {
		return nil, catalog.Object{}, err
	}
	return it, o, nil
}

// readableIn is readable for a bag whose item (described to u) and
// objects are read already.
func (s *Server) readableIn(r *http.Request, u *user, id string, it *catalog.Item, objs []catalog.Object, key string) (catalog.Object, error) {
	i := slices.IndexFunc(objs, func(o catalog.Object) bool { return o.Key == key })
	if i < 0 {
		return catalog.Object{}, fmt.Errorf("%w: %s in bag %s", catalog.ErrNotFound, key, id)
	}
	switch {
	case u.staff():
	case !contentFile(key, objs):
		s.refused(r, u, "a package file: staff only")
		return catalog.Object{}, fmt.Errorf("%w: %s in bag %s", errRefused, key, id)
	case !u.mayRead(it.Meta, s.Now()):
		s.refused(r, u, fmt.Sprintf("bag %s is under embargo until %s", id, it.Meta.EmbargoUntil))
		return catalog.Object{}, fmt.Errorf("%w: %s in bag %s", errRefused, key, id)
	}
	return objs[i], nil
}

// errRefused is what a user may not see: answered as not found, so that a
// refusal tells nothing a "not found" would not.
var errRefused = fmt.Errorf("%w (refused)", catalog.ErrNotFound)

// contentFile reports whether a bag's file is content a reader may have:
// the access copy, its text and ALTO; an original PDF only where the bag
// has no access copy (born digital, kept as it is). Originals, tag files
// and the rest of a package are staff's.
func contentFile(key string, objs []catalog.Object) bool {
	if strings.HasPrefix(key, "data/access/") || strings.HasPrefix(key, "data/text/") || strings.HasPrefix(key, "data/alto/") {
		return true
	}
	return strings.HasPrefix(key, "data/original/") && strings.EqualFold(path.Ext(key), ".pdf") &&
		!slices.ContainsFunc(objs, func(o catalog.Object) bool { return strings.HasPrefix(o.Key, "data/access/") })
}

// CacheAltered raises the alert for a copy in the retrieval cache that no
// longer matched its record (retrieve.Cache.Altered): it was evicted and
// fetched again, but a disk that changes bytes is the staff's to know.
func (s *Server) CacheAltered(ctx context.Context, o catalog.Object, detail string) {
	s.Log.Error("a cached copy differed from its record", "bag", o.BagID, "key", o.Key, "detail", detail)
	if _, _, err := s.Catalog.RaiseAlert(ctx, o.BagID, catalog.ProblemCacheAltered, o.Key, detail, s.Now()); err != nil {
		s.Log.Error("raise alert", "bag", o.BagID, "err", err)
	}
}

// mismatch raises the alert for an object that failed its check on the
// way out.
func (s *Server) mismatch(ctx context.Context, m *retrieve.Mismatch) {
	s.Log.Error("a stored file failed its check on the way out", "bag", m.Bag, "key", m.Key, "problem", m.Problem, "detail", m.Detail)
	if err := m.Raise(ctx, s.Catalog, s.Now()); err != nil {
		s.Log.Error("raise alert", "bag", m.Bag, "err", err)
	}
}

// serveFile answers with one stored file, verified into the cache first,
// with Range requests (a PDF viewer asks for pages as it needs them).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, u *user) {
	id, key := r.PathValue("id"), r.PathValue("path")
	_, o, err := s.readable(r, u, id, key)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	p, err := s.Library.Cache.Path(r.Context(), o)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("ETag", `"`+o.SHA256+`"`)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": path.Base(key)}))
	if ct := contentTypes[strings.ToLower(path.Ext(key))]; ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	http.ServeContent(w, r, "", time.Time{}, f)
}

var contentTypes = map[string]string{".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8", ".xml": "application/xml"}

// libraryError answers a retrieval that failed.
func (s *Server) libraryError(w http.ResponseWriter, r *http.Request, err error) {
	var m *retrieve.Mismatch
	switch {
	case errors.As(err, &m):
		s.mismatch(r.Context(), m)
		http.Error(w, "the stored copy failed its check; an alert was raised", http.StatusBadGateway)
	case errors.Is(err, catalog.ErrNotFound):
		http.Error(w, "not found", http.StatusNotFound)
	default:
		s.Log.Error("review: retrieval failed", "path", r.URL.Path, "err", err)
		http.Error(w, internalError, http.StatusInternalServerError)
	}
}

// serveImage answers with a page of a stored PDF as a JPEG (a page view,
// a thumbnail), made once per file, page and width and kept.
func (s *Server) serveImage(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	key := q.Get("file")
	var n, width int
	err := intParams(q, param{"page", &n, 0, 1, maxPage}, param{"w", &width, 0, 1, maxWidth})
	if err != nil || n == 0 || !strings.EqualFold(path.Ext(key), ".pdf") {
		http.Error(w, "want ?file=data/….pdf&page=N[&w=WIDTH]", http.StatusBadRequest)
		return
	}
	width = min(max(width, 120), 2000) / 40 * 40 // a few sizes, so that the cache holds few
	_, o, err := s.readable(r, u, r.PathValue("id"), key)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	cached := filepath.Join(s.Library.Cache.Dir, "pages", fmt.Sprintf("%s-%d-%d.jpg", o.SHA256, n, width))
	b, err := os.ReadFile(cached)
	if err != nil {
		p, err := s.Library.Cache.Path(r.Context(), o)
		if err != nil {
			s.libraryError(w, r, err)
			return
		}
		if b, err = s.Library.Render(r.Context(), p, n-1, width); err != nil {
			s.Log.Warn("review: page image", "bag", o.BagID, "file", key, "page", n, "err", err)
			http.Error(w, "the page cannot be drawn", http.StatusUnprocessableEntity)
			return
		}
		if os.MkdirAll(filepath.Dir(cached), 0o755) == nil {
			tmp := cached + ".tmp" + strconv.Itoa(os.Getpid())
			if os.WriteFile(tmp, b, 0o644) == nil {
				os.Rename(tmp, cached)
			}
		}
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(b)
}

// download streams a whole bag (originals, derivatives, tag files) as tar
// or zip, every byte checked on the way. A mismatch cuts the stream short
// (the archive then has no end, so no tool takes it as whole) and raises
// an alert.
func (s *Server) download(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = string(retrieve.Tar)
	}
	f, err := retrieve.ParseFormat(format)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	objs, err := s.Catalog.Objects(r.Context(), id)
	if err == nil && len(objs) == 0 {
		err = fmt.Errorf("%w: bag %s", catalog.ErrNotFound, id)
	}
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	ct := map[retrieve.Format]string{retrieve.Tar: "application/x-tar", retrieve.Zip: "application/zip"}[f]
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": id + "." + string(f)}))
	s.Log.Info("bag download", "bag", id, "format", f, "user", u.Name)
	if err := retrieve.Archive(r.Context(), s.Library.Store, id, objs, w, f); err != nil {
		var m *retrieve.Mismatch
		if errors.As(err, &m) {
			s.mismatch(r.Context(), m)
		} else {
			s.Log.Error("bag download failed", "bag", id, "err", err)
		}
		panic(http.ErrAbortHandler) // the client sees a broken download, never a short one that looks whole
	}
}

// searchQuery reads a search from a request's parameters, within what u
// may read.
func (s *Server) searchQuery(r *http.Request, u *user) (search.Query, error) {
	v := r.URL.Query()
	q := search.Query{Text: v.Get("q"), Collection: v.Get("collection"), Station: v.Get("station"), Format: v.Get("format"),
		Access: u.levels(), EmbargoAt: u.embargoDay(s.Now()), Bag: v.Get("bag")}
	switch g := v.Get("group"); g {
	case "bag":
		q.ByDocument = true
	case "", "page":
	default:
		return q, &badParam{name: "group", value: g, want: "bag or page"}
	}
	if err := intParams(v, param{"year", &q.Year, 0, 0, maxYear}, param{"offset", &q.Offset, 0, 0, search.MaxTotal},
		param{"limit", &q.Limit, 20, 1, 100}); err != nil {
		return q, err
	}
	if a := v.Get("alerts"); u.staff() && (a == "yes" || a == "no") { // alerts are staff's
		alerted, err := s.alertedBags(r.Context())
		if err != nil {
			return q, err
		}
		if a == "yes" {
			q.Only = append([]string{}, alerted...)
		} else {
			q.Except = alerted
		}
	}
	return q, nil
}

// alertedBags are the bags with open or acknowledged alerts.
func (s *Server) alertedBags(ctx context.Context) ([]string, error) {
	alerts, err := s.Catalog.Alerts(ctx, "", catalog.AlertOpen, catalog.AlertAcknowledged)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range alerts {
		if a.BagID != "" && !slices.Contains(out, a.BagID) {
			out = append(out, a.BagID)
		}
	}
	return out, nil
}

func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request, u *user) {
	q, err := s.searchQuery(r, u)
	if err != nil {
		s.fail(w, err)
		return
	}
	res, err := s.Library.Index.Search(r.Context(), q)
	if errors.Is(err, search.ErrQuery) {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	// A list, as every list of the API, with where it stands in headers:
	// X-Total-Count is what the list pages through (documents with
	// group=bag, else pages), X-Matching-Pages the pages that match.
	w.Header().Set("X-Matching-Pages", strconv.Itoa(res.Total))
	if res.TotalCapped {
		w.Header().Set("X-Total-Capped", "true") // more match than were counted
	}
	w.Header().Set("X-Took-Ms", strconv.FormatFloat(float64(res.Took.Microseconds())/1000, 'f', 1, 64))
	if q.ByDocument {
		w.Header().Set("X-Total-Count", strconv.Itoa(res.DocTotal))
		writeJSON(w, http.StatusOK, nonNil(res.Docs))
		return
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(res.Total))
	writeJSON(w, http.StatusOK, nonNil(res.Hits))
}

// bagQuery reads a bag listing from a request's parameters, within what
// u may see.
func bagQuery(r *http.Request, u *user, limit, most int) (catalog.BagQuery, error) {
	v := r.URL.Query()
	q := catalog.BagQuery{Collection: v.Get("collection"), Station: v.Get("station"), Format: v.Get("format"),
		Sort: catalog.BagSort(v.Get("sort")), Access: u.levels(), Disposed: u.staff()}
	if err := intParams(v, param{"year", &q.Year, 0, 0, maxYear}, param{"offset", &q.Offset, 0, 0, maxOffset},
		param{"limit", &q.Limit, limit, 1, most}); err != nil {
		return q, err
	}
	if !u.staff() {
		return q, nil // alerts are staff's, and so is a filter by them
	}
	switch v.Get("alerts") {
	case "yes":
		q.HasAlerts = new(bool)
		*q.HasAlerts = true
	case "no":
		q.HasAlerts = new(bool)
	}
	return q, nil
}

func (s *Server) apiSetMetadata(w http.ResponseWriter, r *http.Request, u *user) {
	var fields map[string]string
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&fields); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{`body must be JSON {"title": "...", "access": "open", ...}: ` + err.Error()})
		return
	}
	m, err := s.setMetadata(r.Context(), r.PathValue("id"), fields, u)
	if err != nil {
		var bad badFields
		if errors.As(err, &bad) {
			writeJSON(w, http.StatusUnprocessableEntity, apiError{err.Error()})
			return
		}
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

type badFields struct{ error }

// setMetadata corrects a bag's description: the fields given are set
// ("" clears one), the change is recorded as a PREMIS metadata
// modification event naming who made it, and the search index follows.
// The stored bag is not changed: a corrected bag-info.txt goes with the
// bag's next version (strongroom reprocess).
func (s *Server) setMetadata(ctx context.Context, id string, fields map[string]string, u *user) (*catalog.Metadata, error) {
	b, err := s.Catalog.Bag(ctx, id)
	if err != nil {
		return nil, err
	}
	it, err := s.Catalog.Item(ctx, b.ItemID)
	if err != nil {
		return nil, err
	}
	m := it.Meta
	if errs := m.SetAll(fields, true); len(errs) > 0 {
		return nil, badFields{errors.Join(errs...)}
	}
	changes := m.Changes(it.Meta)
	if len(changes) == 0 {
		return &m, nil
	}
	if err := s.Catalog.SetMetadata(ctx, it.ID, m); err != nil {
		return nil, err
	}
	ev := catalog.Event{ItemID: it.ID, BagID: id, Type: catalog.EvMetadataModification, Outcome: catalog.OutcomeSuccess, At: s.Now(),
		Agent: "user " + u.Name, Detail: "description corrected (the stored bag-info.txt is not; the next version carries it): " + strings.Join(changes, "; ")}
	if err := s.Catalog.AddEvents(ctx, ev); err != nil {
		return nil, err
	}
	s.Log.Info("metadata corrected", "bag", id, "by", u.Name, "changes", len(changes))
	if s.Library != nil {
		it.Meta = m
		files, err := s.Catalog.Files(ctx, it.ID)
		if err == nil {
			err = s.Library.Index.SetDoc(ctx, search.DocOf(b, it, files))
		}
		if err != nil {
			s.Log.Error("the search index did not take the correction; `strongroom index rebuild` will", "bag", id, "err", err)
		}
	}
	return &m, nil
}

func (s *Server) apiDownload(w http.ResponseWriter, r *http.Request, u *user) { s.download(w, r, u) }
func (s *Server) apiFile(w http.ResponseWriter, r *http.Request, u *user)     { s.serveFile(w, r, u) }
func (s *Server) apiImage(w http.ResponseWriter, r *http.Request, u *user)    { s.serveImage(w, r, u) }

func (s *Server) filePage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.serveFile(w, r, &sess.user)
}
func (s *Server) imagePage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.serveImage(w, r, &sess.user)
}
func (s *Server) downloadPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.download(w, r, &sess.user)
}
