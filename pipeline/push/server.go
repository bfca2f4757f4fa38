// Package push receives batches from scanner stations over HTTP: a station
// announces a batch with every file's path, size and SHA-256, uploads the
// files (resumably: an upload that broke off continues where it stopped),
// and closes the batch. Only a batch whose every file arrived and matched
// goes to the pipeline, as one item, exactly like a batch folder that
// settled in a hot folder. All or nothing: nothing half-received is stored.
package push

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Station is a scanner station allowed to push: its token is configured
// only as a SHA-256 hash; the token itself lives on the station.
type Station struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	// Metadata is the default description of the station's batches
	// (collection, rights, access); what a push sends goes over it.
	Metadata map[string]string `yaml:"metadata"`
}

// Config limits what stations may push.
type Config struct {
	MaxFileSize    int64         `yaml:"max_file_size"`
	MaxFiles       int           `yaml:"max_files"`
	MaxBatchBytes  int64         `yaml:"max_batch_bytes"`
	MaxOpenBatches int           `yaml:"max_open_batches"` // per station
	ExpireAfter    time.Duration `yaml:"expire_after"`     // a batch idle this long is dropped
}

// Validate checks the configuration and the stations.
func Validate(c Config, stations []Station) error {
	var errs []error
	if c.MaxFileSize <= 0 || c.MaxFiles <= 0 || c.MaxBatchBytes <= 0 || c.MaxOpenBatches <= 0 || c.ExpireAfter <= 0 {
		errs = append(errs, errors.New("push: max_file_size, max_files, max_batch_bytes, max_open_batches and expire_after must be positive"))
	}
	seen := map[string]bool{}
	for i, st := range stations {
		if b, err := hex.DecodeString(st.TokenSHA256); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("stations[%d] (%s): token_sha256 must be 64 hex digits (sha256sum of the token)", i, st.Name))
		}
		if !labelValue.MatchString(st.Name) || seen[st.Name] {
			errs = append(errs, fmt.Errorf("stations[%d]: name %q must be set, unique, one line", i, st.Name))
		}
		seen[st.Name] = true
		if _, merrs := catalog.MetadataFrom(st.Metadata, true); len(merrs) > 0 {
			errs = append(errs, fmt.Errorf("stations[%d] (%s).metadata: %w", i, st.Name, errors.Join(merrs...)))
		}
	}
	return errors.Join(errs...)
}

var labelValue = regexp.MustCompile(`^[^\x00-\x1f\x7f]{1,200}$`)

// Server is the push API.
type Server struct {
	Cfg      Config
	Stations []Station
	Catalog  catalog.Catalog
	// Staging holds batches while they arrive (under data_dir).
	Staging string
	// Submit hands a complete batch, the folder dir, to the pipeline as
	// one item with the station's bag-info fields.
	Submit func(ctx context.Context, dir, station string, info []catalog.InfoField) (*catalog.Item, error)
	Log    *slog.Logger
	Now    func() time.Time

	locks fileLocks // one writer per file of a batch
}

// fileLocks are mutexes by name that are dropped once no one holds or
// waits for them.
type fileLocks struct {
	mu sync.Mutex
	m  map[string]*fileLock
}

type fileLock struct {
	sync.Mutex
	users int
}

// lock locks name and returns its unlock.
func (l *fileLocks) lock(name string) func() {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*fileLock{}
	}
	fl := l.m[name]
	if fl == nil {
		fl = &fileLock{}
		l.m[name] = fl
	}
	fl.users++
	l.mu.Unlock()
	fl.Lock()
	return func() {
		fl.Unlock()
		l.mu.Lock()
		if fl.users--; fl.users == 0 {
			delete(l.m, name)
		}
		l.mu.Unlock()
	}
}

// held counts the names locked or waited for (for tests).
func (l *fileLocks) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

type apiError struct {
	Error   string   `json:"error"`
	Missing []string `json:"missing,omitempty"`
	Offset  *int64   `json:"offset,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...)})
}

// refuse answers a station's request with a refusal and logs it with the
// station and the reason: an operator sees why a station was turned away.
func (s *Server) refuse(w http.ResponseWriter, station string, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.Log.Warn("push: refused", "station", station, "status", status, "reason", msg)
	writeJSON(w, status, apiError{Error: msg})
}

// Mount adds the push routes.
func (s *Server) Mount(mux *http.ServeMux) {
	if s.Now == nil {
		s.Now = time.Now
	}
	h := func(pattern string, f func(http.ResponseWriter, *http.Request, string)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			station := s.station(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			if station == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom push"`)
				s.refuse(w, "", http.StatusUnauthorized, "a valid station token is needed (from %s)", r.RemoteAddr)
				return
			}
			f(w, r, station)
		})
	}
	h("POST /push/v1/batches", s.open)
	h("GET /push/v1/batches", s.list)
	h("GET /push/v1/batches/{id}", s.status)
	h("DELETE /push/v1/batches/{id}", s.abort)
	h("HEAD /push/v1/batches/{id}/files/{path...}", s.offset)
	h("PUT /push/v1/batches/{id}/files/{path...}", s.upload)
	h("POST /push/v1/batches/{id}/close", s.close)
}

func (s *Server) station(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	name := ""
	for _, st := range s.Stations {
		if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(st.TokenSHA256))) == 1 {
			name = st.Name
		}
	}
	return name
}

// OpenRequest announces a batch.
type OpenRequest struct {
	// Name is the folder's name on the station (book-17): the item's
	// name, its originals' folder in the bag and its access copy's name,
	// when it is a safe file name.
	Name     string              `json:"name,omitempty"`
	Files    []catalog.BatchFile `json:"files"`
	Metadata map[string]string   `json:"metadata"`
}

// BatchStatus is where a pushed batch is, as stations see it.
type BatchStatus string

const (
	StatusReceiving  BatchStatus = BatchStatus(catalog.BatchReceiving)
	StatusQueued     BatchStatus = "queued"     // closed; its item waits for its first stage
	StatusProcessing BatchStatus = "processing" // its item is in the pipeline
	StatusStored     BatchStatus = "stored"     // its bag is stored and verified
	StatusFailed     BatchStatus = "failed"
	StatusExpired    BatchStatus = BatchStatus(catalog.BatchExpired)
	StatusAborted    BatchStatus = BatchStatus(catalog.BatchAborted)
)

// Status is what the status call (and open and close) answer.
type Status struct {
	ID     string      `json:"id"`
	Name   string      `json:"name,omitempty"`
	Status BatchStatus `json:"status"`
	// Resumed says that open found this batch already receiving, from an
	// earlier push of the same files: only what is missing is sent.
	Resumed  bool   `json:"resumed,omitempty"`
	Files    int    `json:"files"`
	Received int    `json:"received,omitempty"`
	Item     string `json:"item,omitempty"`
	Bag      string `json:"bag,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// metadataLabels maps the metadata a station sends to bag-info.txt labels;
// other keys become labels as written, if they are valid labels.
var metadataLabels = map[string]string{"title": "Title", "identifier": "External-Identifier", "operator": "Operator"}

var labelRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)

// reservedLabels are set by strongroom itself.
var reservedLabels = map[string]bool{"payload-oxum": true, "bagging-date": true, "bag-software-agent": true, "scanner-station": true, "scanner-folder": true,
	"source-organization": true, "internal-sender-identifier": true, "internal-sender-description": true, "bag-size": true}

func (s *Server) open(w http.ResponseWriter, r *http.Request, station string) {
	var req OpenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&req); err != nil {
		s.refuse(w, station, http.StatusBadRequest, "the batch manifest is not valid JSON: %v", err)
		return
	}
	total, code, err := s.checkFiles(req.Files)
	if err != nil {
		s.refuse(w, station, code, "%v", err)
		return
	}
	info, err := bagInfo(station, req.Metadata)
	if err != nil {
		s.refuse(w, station, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	if req.Name != "" {
		if !safeName(req.Name) {
			s.refuse(w, station, http.StatusUnprocessableEntity, "name %q: want a folder name (no /, not hidden or temporary)", req.Name)
			return
		}
		info = append(info, catalog.InfoField{Label: nameLabel, Value: req.Name})
	}
	open, err := s.Catalog.ReceivingBatches(r.Context(), station)
	if err != nil {
		s.internal(w, err)
		return
	}
	// The same files and description pushed again (a push cut by Ctrl-C,
	// a station restarted) resume the batch already receiving them: it is
	// not opened twice, nor counted twice against the limit.
	for _, b := range open {
		if sameBatch(b, req.Files, info) {
			if err := s.Catalog.UpdateBatch(r.Context(), b); err != nil { // touch: not expired under a resume
				s.internal(w, err)
				return
			}
			s.Log.Info("push: batch resumed", "batch", b.ID, "station", station, "files", len(b.Files), "bytes", total)
			st := s.statusOf(b)
			st.Resumed = true
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	if len(open) >= s.Cfg.MaxOpenBatches {
		ids := make([]string, len(open))
		for i, b := range open {
			ids[i] = b.ID
		}
		s.refuse(w, station, http.StatusTooManyRequests, "station %s has %d batches open (%s): the limit is %d; finish one (push it again), "+
			"or abort one (strongroom push abort ID)", station, len(open), strings.Join(ids, ", "), s.Cfg.MaxOpenBatches)
		return
	}
	b := &catalog.Batch{ID: catalog.NewID(s.Now()), Station: station, State: catalog.BatchReceiving, Files: req.Files, Metadata: info}
	if err := os.MkdirAll(filepath.Join(s.Staging, b.ID, ".partial"), 0o755); err != nil {
		s.internal(w, err)
		return
	}
	if err := s.Catalog.CreateBatch(r.Context(), b); err != nil {
		s.internal(w, err)
		return
	}
	s.Log.Info("push: batch opened", "batch", b.ID, "station", station, "files", len(b.Files), "bytes", total)
	writeJSON(w, http.StatusCreated, Status{ID: b.ID, Name: itemName(b), Status: StatusReceiving, Files: len(b.Files)})
}

// nameLabel is the station's folder name in bag-info.txt, beside
// Scanner-Station: where the book came from.
const nameLabel = "Scanner-Folder"

// sameBatch reports whether b was opened for exactly these files (paths,
// sizes, digests, in order) and this description.
func sameBatch(b *catalog.Batch, files []catalog.BatchFile, info []catalog.InfoField) bool {
	return slices.Equal(b.Files, files) && slices.Equal(b.Metadata, info)
}

// safeName reports whether a station's folder name can name an item.
func safeName(n string) bool {
	return bagit.CheckPath(n) == nil && !strings.Contains(n, "/") && !intake.Ignored(n) && labelValue.MatchString(n)
}

// list answers with the station's batches still receiving.
func (s *Server) list(w http.ResponseWriter, r *http.Request, station string) {
	open, err := s.Catalog.ReceivingBatches(r.Context(), station)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := []Status{}
	for _, b := range open {
		out = append(out, s.statusOf(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// abort gives up a batch still receiving: its space is freed and it no
// longer counts against the station's limit.
func (s *Server) abort(w http.ResponseWriter, r *http.Request, station string) {
	b := s.batch(w, r, station)
	if b == nil {
		return
	}
	if b.State != catalog.BatchReceiving {
		s.refuse(w, station, http.StatusConflict, "batch %s is %s: only a batch still receiving can be aborted", b.ID, b.State)
		return
	}
	b.State, b.Reason = catalog.BatchAborted, "aborted by the station"
	if err := s.Catalog.UpdateBatch(r.Context(), b); err != nil {
		s.internal(w, err)
		return
	}
	os.RemoveAll(filepath.Join(s.Staging, b.ID))
	s.Log.Info("push: batch aborted", "batch", b.ID, "station", station)
	writeJSON(w, http.StatusOK, s.statusOf(b))
}

// checkFiles checks a batch's manifest against the path rules and the
// limits; it returns the batch's bytes, or the status and reason to refuse.
func (s *Server) checkFiles(files []catalog.BatchFile) (int64, int, error) {
	if len(files) == 0 {
		return 0, http.StatusUnprocessableEntity, errors.New("the batch has no files")
	}
	if len(files) > s.Cfg.MaxFiles {
		return 0, http.StatusRequestEntityTooLarge, fmt.Errorf("%d files: the limit is %d per batch", len(files), s.Cfg.MaxFiles)
	}
	var total int64
	seen := map[string]string{}
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return 0, http.StatusUnprocessableEntity, err
		}
		fold := strings.ToLower(f.Path)
		if prev, dup := seen[fold]; dup {
			return 0, http.StatusUnprocessableEntity, fmt.Errorf("%q and %q name the same file on some systems", prev, f.Path)
		}
		seen[fold] = f.Path
		switch b, err := hex.DecodeString(f.SHA256); {
		case err != nil || len(b) != sha256.Size:
			return 0, http.StatusUnprocessableEntity, fmt.Errorf("%q: sha256 must be 64 hex digits", f.Path)
		case f.Size <= 0:
			return 0, http.StatusUnprocessableEntity, fmt.Errorf("%q: a zero-byte file is not a scan", f.Path)
		case f.Size > s.Cfg.MaxFileSize:
			return 0, http.StatusRequestEntityTooLarge, fmt.Errorf("%q: %d bytes, the limit is %d per file", f.Path, f.Size, s.Cfg.MaxFileSize)
		}
		total += f.Size
	}
	if total > s.Cfg.MaxBatchBytes {
		return 0, http.StatusRequestEntityTooLarge, fmt.Errorf("%d bytes in all: the limit is %d per batch", total, s.Cfg.MaxBatchBytes)
	}
	return total, 0, nil
}

// bagInfo turns a station's metadata into bag-info.txt fields, after the
// station's name.
func bagInfo(station string, meta map[string]string) ([]catalog.InfoField, error) {
	info := []catalog.InfoField{{Label: "Scanner-Station", Value: station}}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		label := metadataLabels[strings.ToLower(k)]
		if label == "" {
			label = k
		}
		v := meta[k]
		if !labelRe.MatchString(label) || reservedLabels[strings.ToLower(label)] || !labelValue.MatchString(v) {
			return nil, fmt.Errorf("metadata %q: want a label of letters, digits and '-' (not one strongroom sets) and a one-line value", k)
		}
		info = append(info, catalog.InfoField{Label: label, Value: v})
	}
	return info, nil
}

// checkPath applies the BagIt path rules, and refuses control characters
// and names intake never takes (temporary and hidden files).
func checkPath(p string) error {
	if err := bagit.CheckPath(p); err != nil {
		return err
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("path %q has a control character", p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if intake.Ignored(seg) {
			return fmt.Errorf("path %q: %q is a temporary or hidden name, which intake never takes", p, seg)
		}
	}
	return nil
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.Log.Error("push: request failed", "err", err)
	refuse(w, http.StatusInternalServerError, "internal error; see the daemon's log")
}

// batch loads a station's own batch; another station's is "not found".
func (s *Server) batch(w http.ResponseWriter, r *http.Request, station string) *catalog.Batch {
	b, err := s.Catalog.Batch(r.Context(), r.PathValue("id"))
	if errors.Is(err, catalog.ErrNotFound) || err == nil && b.Station != station {
		s.refuse(w, station, http.StatusNotFound, "no batch %q for station %s", r.PathValue("id"), station)
		return nil
	}
	if err != nil {
		s.internal(w, err)
		return nil
	}
	return b
}

func (s *Server) file(b *catalog.Batch, path string) (catalog.BatchFile, bool) {
	for _, f := range b.Files {
		if f.Path == path {
			return f, true
		}
	}
	return catalog.BatchFile{}, false
}

// itemName is the batch folder's name: the station's own folder name, else
// the identifier, when it is a safe name, else the batch id.
func itemName(b *catalog.Batch) string {
	for _, label := range []string{nameLabel, "External-Identifier"} {
		for _, f := range b.Metadata {
			if f.Label == label && safeName(f.Value) {
				return f.Value
			}
		}
	}
	return "batch-" + b.ID
}

func (s *Server) finalPath(b *catalog.Batch, p string) string {
	return filepath.Join(s.Staging, b.ID, itemName(b), filepath.FromSlash(p))
}

func (s *Server) partPath(b *catalog.Batch, p string) string {
	sum := sha256.Sum256([]byte(p))
	return filepath.Join(s.Staging, b.ID, ".partial", hex.EncodeToString(sum[:16]))
}

// received reports how many bytes of a file arrived, and whether it is
// complete (verified and in place).
func (s *Server) received(b *catalog.Batch, f catalog.BatchFile) (int64, bool) {
	if fi, err := os.Stat(s.finalPath(b, f.Path)); err == nil && fi.Size() == f.Size {
		return f.Size, true
	}
	if fi, err := os.Stat(s.partPath(b, f.Path)); err == nil {
		return fi.Size(), false
	}
	return 0, false
}

func (s *Server) offset(w http.ResponseWriter, r *http.Request, station string) {
	b := s.batch(w, r, station)
	if b == nil {
		return
	}
	f, ok := s.file(b, r.PathValue("path"))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	n, done := s.received(b, f)
	w.Header().Set("Upload-Offset", strconv.FormatInt(n, 10))
	w.Header().Set("Upload-Complete", strconv.FormatBool(done))
	w.WriteHeader(http.StatusOK)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, station string) {
	b := s.batch(w, r, station)
	if b == nil {
		return
	}
	if b.State != catalog.BatchReceiving {
		s.refuse(w, station, http.StatusConflict, "batch %s is %s, not receiving", b.ID, b.State)
		return
	}
	f, ok := s.file(b, r.PathValue("path"))
	if !ok {
		s.refuse(w, station, http.StatusNotFound, "%q is not in batch %s's manifest", r.PathValue("path"), b.ID)
		return
	}
	defer s.locks.lock(b.ID + "\x00" + f.Path)()
	have, done := s.received(b, f)
	if done {
		writeJSON(w, http.StatusOK, map[string]any{"path": f.Path, "complete": true})
		return
	}
	from := int64(0)
	if h := r.Header.Get("Upload-Offset"); h != "" {
		var err error
		if from, err = strconv.ParseInt(h, 10, 64); err != nil || from < 0 {
			s.refuse(w, station, http.StatusBadRequest, "Upload-Offset %q is not a byte offset", h)
			return
		}
	}
	if from != have {
		writeJSON(w, http.StatusConflict, apiError{Error: fmt.Sprintf("%q: %d bytes received so far; resume from there", f.Path, have), Offset: &have})
		return
	}
	got, sum, err := s.receive(b, f, from, r.Body)
	switch {
	case err != nil:
		s.internal(w, err)
		return
	case got > f.Size:
		s.refuse(w, station, http.StatusUnprocessableEntity, "%q: more than the %d bytes announced; send it again", f.Path, f.Size)
		return
	case got < f.Size:
		// Broken off: what arrived stays for a resumed upload.
		writeJSON(w, http.StatusAccepted, map[string]any{"path": f.Path, "offset": got, "complete": false})
		return
	case !strings.EqualFold(sum, f.SHA256):
		s.Log.Warn("push: file refused, digest mismatch", "batch", b.ID, "station", station, "path", f.Path)
		s.refuse(w, station, http.StatusUnprocessableEntity, "%q: sha256 of the bytes received is %s, the manifest says %s; send it again", f.Path, sum, f.SHA256)
		return
	}
	s.Catalog.UpdateBatch(r.Context(), b) // touch: an active batch does not expire
	writeJSON(w, http.StatusCreated, map[string]any{"path": f.Path, "complete": true})
}

// receive appends body to the file's partial upload from offset from. It
// returns the bytes there now and, once the file is whole, their SHA-256
// (over the bytes kept from before, too). A whole file whose digest matches
// the manifest is moved into place; one that is too long or does not match
// is discarded. A broken-off body leaves what arrived for a resume.
func (s *Server) receive(b *catalog.Batch, f catalog.BatchFile, from int64, body io.Reader) (int64, string, error) {
	part := s.partPath(b, f.Path)
	pf, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer pf.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(pf, from)); err != nil {
		return 0, "", err
	}
	n, copyErr := io.Copy(io.MultiWriter(pf, h), io.LimitReader(body, f.Size-from+1))
	pf.Sync()
	got := from + n
	if got > f.Size {
		os.Remove(part)
		return got, "", nil
	}
	if copyErr != nil || got < f.Size {
		return got, "", nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(sum, f.SHA256) {
		os.Remove(part)
		return got, sum, nil
	}
	final := s.finalPath(b, f.Path)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return got, sum, err
	}
	if err := os.Rename(part, final); err != nil {
		return got, sum, err
	}
	return got, sum, bagit.SyncDir(filepath.Dir(final))
}

func (s *Server) close(w http.ResponseWriter, r *http.Request, station string) {
	b := s.batch(w, r, station)
	if b == nil {
		return
	}
	if b.State != catalog.BatchReceiving {
		s.writeStatus(w, r, b, http.StatusOK)
		return
	}
	var missing []string
	for _, f := range b.Files {
		if _, done := s.received(b, f); !done {
			missing = append(missing, f.Path)
		}
	}
	if len(missing) > 0 {
		writeJSON(w, http.StatusConflict, apiError{Error: fmt.Sprintf("batch %s is not complete: %d of %d files missing", b.ID, len(missing), len(b.Files)), Missing: missing})
		return
	}
	os.RemoveAll(filepath.Join(s.Staging, b.ID, ".partial"))
	src := filepath.Join(s.Staging, b.ID, itemName(b))
	// A close retried after a crash between submitting and recording it
	// finds the item already made.
	it, err := s.Catalog.ActiveBySource(r.Context(), src)
	if err == nil && it == nil {
		it, err = s.Submit(r.Context(), src, b.Station, b.Metadata)
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	b.State, b.ItemID = catalog.BatchClosed, it.ID
	if err := s.Catalog.UpdateBatch(r.Context(), b); err != nil {
		s.internal(w, err)
		return
	}
	s.Log.Info("push: batch closed and queued", "batch", b.ID, "station", station, "item", it.ID)
	s.writeStatus(w, r, b, http.StatusAccepted)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, station string) {
	if b := s.batch(w, r, station); b != nil {
		s.writeStatus(w, r, b, http.StatusOK)
	}
}

// statusOf is a batch's status as far as the batch itself tells.
func (s *Server) statusOf(b *catalog.Batch) Status {
	st := Status{ID: b.ID, Name: itemName(b), Status: BatchStatus(b.State), Files: len(b.Files), Item: b.ItemID, Reason: b.Reason}
	if b.State == catalog.BatchReceiving {
		for _, f := range b.Files {
			if _, done := s.received(b, f); done {
				st.Received++
			}
		}
	}
	return st
}

func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, b *catalog.Batch, code int) {
	st := s.statusOf(b)
	switch b.State {
	case catalog.BatchClosed:
		it, err := s.Catalog.Item(r.Context(), b.ItemID)
		if err != nil {
			s.internal(w, err)
			return
		}
		switch {
		case it.Stage == catalog.StageDone:
			st.Status, st.Bag = StatusStored, it.BagID
		case it.Stage == catalog.StageFailed || it.Stage == catalog.StageFail:
			st.Status, st.Reason = StatusFailed, it.LastError
		case it.Updated.Equal(it.Created): // not yet through any stage
			st.Status = StatusQueued
		default:
			st.Status = StatusProcessing
		}
	}
	writeJSON(w, code, st)
}

// Janitor expires batches left receiving for longer than ExpireAfter and
// frees their staging space, until ctx ends.
func (s *Server) Janitor(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		stale, err := s.Catalog.StaleBatches(ctx, s.Now().Add(-s.Cfg.ExpireAfter))
		if err != nil && ctx.Err() == nil {
			s.Log.Error("push: expire batches", "err", err)
		}
		for _, b := range stale {
			os.RemoveAll(filepath.Join(s.Staging, b.ID))
			b.State, b.Reason = catalog.BatchExpired, fmt.Sprintf("no upload for %s", s.Cfg.ExpireAfter)
			if err := s.Catalog.UpdateBatch(ctx, b); err == nil {
				s.Log.Info("push: batch expired", "batch", b.ID, "station", b.Station)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
