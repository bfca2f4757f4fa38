// Package audit proves that stored bags are intact: it re-reads every byte
// of every object on a cycle, throttled so ingest is not starved, compares
// what it reads with the digests recorded when the bag was stored (which
// came from the bag's manifests and tag manifests) and with the store's own
// checksum claim, records a PREMIS fixity-check event for every object, and
// raises one alert per bag and problem.
package audit

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Config configures audits.
type Config struct {
	// Cycle is the time within which every stored object is re-read.
	Cycle time.Duration `yaml:"cycle"`
	// Interval is how often the daemon audits its next slice of the cycle.
	Interval time.Duration `yaml:"interval"`
	// MaxBytesPerSecond throttles reading (0: unthrottled).
	MaxBytesPerSecond int64 `yaml:"max_bytes_per_second"`
	Concurrency       int   `yaml:"concurrency"`
	// Algorithms are the digests each re-read computes and compares: sha256
	// (the default: the manifests, the catalog and the store's checksum all
	// have it, and it runs on CPU instructions) and/or sha512.
	Algorithms []bagit.Algorithm `yaml:"algorithms"`
	Webhook    Webhook           `yaml:"webhook"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Cycle <= 0 {
		errs = append(errs, fmt.Errorf("audit.cycle %s: must be positive", c.Cycle))
	}
	if c.Interval <= 0 || c.Interval > c.Cycle {
		errs = append(errs, fmt.Errorf("audit.interval %s: must be positive and within audit.cycle", c.Interval))
	}
	if c.MaxBytesPerSecond < 0 {
		errs = append(errs, errors.New("audit.max_bytes_per_second: must not be negative"))
	}
	for _, a := range c.Algorithms {
		if a != bagit.SHA256 && a != bagit.SHA512 {
			errs = append(errs, fmt.Errorf("audit.algorithms: %q, want sha256 and/or sha512", a))
		}
	}
	if len(c.Algorithms) == 0 {
		errs = append(errs, errors.New("audit.algorithms: at least one of sha256, sha512"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("audit.concurrency %d: must be at least 1", c.Concurrency))
	}
	if c.Webhook.URL != "" && !strings.HasPrefix(c.Webhook.URL, "http://") && !strings.HasPrefix(c.Webhook.URL, "https://") {
		errs = append(errs, fmt.Errorf("audit.webhook.url %q: want http(s)://", c.Webhook.URL))
	}
	return errors.Join(errs...)
}

// ErrDisposed is returned for an audit of a bag disposed of.
var ErrDisposed = errors.New("audit: disposed of")

// Problem classes an audit tells apart.
const (
	Missing       = catalog.ProblemMissing       // a recorded object is gone
	Altered       = catalog.ProblemAltered       // its bytes differ, or something else is in its place
	Truncated     = catalog.ProblemTruncated     // it is shorter than recorded
	Unexpected    = catalog.ProblemUnexpected    // an object that no bag lists
	TagAltered    = catalog.ProblemTagAltered    // a manifest, tag manifest or tag file differs
	StoreChecksum = catalog.ProblemStoreChecksum // the store's own checksum claim disagrees with the record
)

// Problem is one finding about one object.
type Problem struct {
	Class  catalog.Problem `json:"class"`
	Key    string          `json:"key"`
	Detail string          `json:"detail"`
}

// Status is how an audit found a bag.
type Status string

const (
	Intact  Status = catalog.ObjectIntact
	Damaged Status = "damaged"
	Error   Status = "error" // the audit could not finish: store unreachable or refusing
)

// BagResult is the outcome for one bag: one JSON line of `strongroom audit`.
type BagResult struct {
	Bag      string    `json:"bag"`
	Status   Status    `json:"status"`
	Objects  int       `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems,omitempty"`
	Errors   []string  `json:"errors,omitempty"`
}

// Auditor runs audits.
type Auditor struct {
	Cfg     Config
	Catalog catalog.Catalog
	Store   storage.Store
	Agent   string
	Log     *slog.Logger
	Now     func() time.Time
	// Notify sends the new alerts of a run (the webhook); may be nil.
	Notify func(ctx context.Context, run int64, alerts []*catalog.Alert) error

	limiterOnce sync.Once
	limiter     *rate.Limiter
	lastSweep   time.Time // of the store for foreign objects, by Loop
	// BytesRead counts every byte audits read (for metrics).
	BytesRead atomic.Int64
	// Failures counts objects found damaged (for metrics).
	Failures atomic.Int64
	// OnProgress, if set, hears how a run goes every second (a terminal's
	// progress line). The log hears it every logProgressEvery.
	OnProgress func(Progress)
}

// Progress is how far a run has gone: bags and bytes read of those the
// run selected, the rate so far and the time left at that rate.
type Progress struct {
	Bags, BagsTotal   int
	Bytes, BytesTotal int64
	Rate              float64 // bytes per second
	Left              time.Duration
}

// logProgressEvery is how often a long run says how it goes in the log.
var logProgressEvery = 30 * time.Second

// watch reports the progress of a run over bags until the func it returns
// is called, which reports the end. Bytes are counted as they are read, so
// that a long bag moves the line too.
func (a *Auditor) watch(ctx context.Context, bags []string, done *atomic.Int64) func() {
	total := int64(0) // what the run will read: every object recorded
	for _, b := range bags {
		objs, _ := a.Catalog.Objects(ctx, b)
		for _, o := range objs {
			total += o.Size
		}
	}
	start, base := time.Now(), a.BytesRead.Load()
	report := func(logged bool) {
		p := Progress{Bags: int(done.Load()), BagsTotal: len(bags), Bytes: a.BytesRead.Load() - base, BytesTotal: total}
		p.Rate = float64(p.Bytes) / max(time.Since(start).Seconds(), 0.001)
		if p.Rate > 0 && total > p.Bytes {
			p.Left = time.Duration(float64(total-p.Bytes) / p.Rate * float64(time.Second)).Round(time.Second)
		}
		if a.OnProgress != nil {
			a.OnProgress(p)
		}
		if logged {
			a.Log.Info("audit progress", "bags", p.Bags, "of", p.BagsTotal, "bytes", p.Bytes, "of_bytes", p.BytesTotal,
				"bytes_per_second", int64(p.Rate), "left", p.Left)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		logged := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				long := time.Since(logged) >= logProgressEvery
				if long {
					logged = time.Now()
				}
				report(long)
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		if a.OnProgress != nil {
			report(false)
		}
	}
}

// throttleBurst bounds how far reading may run ahead of the rate.
const throttleBurst = 256 << 10

func (a *Auditor) throttle() *rate.Limiter {
	a.limiterOnce.Do(func() {
		if a.Cfg.MaxBytesPerSecond > 0 {
			a.limiter = rate.NewLimiter(rate.Limit(a.Cfg.MaxBytesPerSecond), throttleBurst)
		}
	})
	return a.limiter
}

// Selection is which bags a run audits.
type Selection struct {
	Bag         string // one bag
	All         bool   // every bag
	Due         bool   // bags with an object not checked within the cycle
	SubsetN     int    // with SubsetT: the n-th of t parts (1-based)
	SubsetT     int
	sliceLength int  // the scheduler's slice: this many least recently checked objects
	sweep       bool // also look for objects outside every bag
}

func (s Selection) scope() string {
	switch {
	case s.Bag != "":
		return "bag " + s.Bag
	case s.All:
		return "all"
	case s.Due:
		return "due"
	}
	return fmt.Sprintf("slice of %d objects", s.sliceLength)
}

// Summary totals a run.
type Summary struct {
	Run      int64
	Bags     int
	Objects  int
	Bytes    int64
	Damaged  int // bags
	Problems int // findings in them
	Errors   int
	NewAlert int
	// Foreign counts folders and files in the store that belong to no bag
	// (with --all and, daily, in the daemon's loop).
	Foreign int
	// SweepErr is why the store could not be listed for foreign objects.
	SweepErr error
}

// Run audits the selected bags, calling emit with each bag's result.
func (a *Auditor) Run(ctx context.Context, sel Selection, emit func(BagResult)) (Summary, error) {
	bags, err := a.selected(ctx, sel)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{}
	sum.Run, err = a.Catalog.StartRun(ctx, sel.scope(), a.Now())
	if err != nil {
		return sum, err
	}
	var fresh []*catalog.Alert
	var checked atomic.Int64
	end := a.watch(ctx, bags, &checked)
	defer end() // on every return; the summary's log line comes after it
	for _, bag := range bags {
		if ctx.Err() != nil {
			break
		}
		res := a.CheckBag(ctx, bag)
		checked.Add(1)
		sum.Bags++
		sum.Objects += res.Objects
		sum.Bytes += res.Bytes
		switch res.Status {
		case Damaged:
			sum.Damaged++
			sum.Problems += len(res.Problems)
		case Error:
			sum.Errors++
		}
		for _, p := range res.Problems {
			al, isNew, err := a.Catalog.RaiseAlert(ctx, bag, p.Class, p.Key, p.Detail, a.Now())
			if err != nil {
				return sum, err
			}
			if isNew {
				fresh = append(fresh, al)
			}
		}
		if emit != nil {
			emit(res)
		}
	}
	if sel.All || sel.sweep {
		res, err := a.sweep(ctx)
		if err != nil {
			sum.SweepErr = err
			a.Log.Error("audit: could not list the store for objects outside every bag", "err", err)
		}
		for _, p := range res.Problems {
			al, isNew, err := a.Catalog.RaiseAlert(ctx, "", p.Class, p.Key, p.Detail, a.Now())
			if err != nil {
				return sum, err
			}
			if isNew {
				fresh = append(fresh, al)
			}
		}
		if sum.Foreign = len(res.Problems); sum.Foreign > 0 && emit != nil {
			emit(res)
		}
	}
	sum.NewAlert = len(fresh)
	err = a.Catalog.FinishRun(ctx, catalog.AuditRun{ID: sum.Run, Finished: a.Now(), Bags: int64(sum.Bags), Objects: int64(sum.Objects),
		Bytes: sum.Bytes, Problems: int64(sum.Problems + sum.Foreign), Errors: int64(sum.Errors)})
	if len(fresh) > 0 && a.Notify != nil {
		if nerr := a.Notify(ctx, sum.Run, fresh); nerr != nil {
			a.Log.Error("audit: webhook", "run", sum.Run, "err", nerr)
		}
	}
	a.Log.Info("audit run done", "run", sum.Run, "bags", sum.Bags, "objects", sum.Objects, "bytes", sum.Bytes,
		"damaged", sum.Damaged, "errors", sum.Errors, "new_alerts", sum.NewAlert)
	return sum, err
}

// selected returns the bags a run audits.
func (a *Auditor) selected(ctx context.Context, sel Selection) ([]string, error) {
	var bags []string
	var err error
	switch {
	case sel.Bag != "":
		var b *catalog.Bag
		if b, err = a.Catalog.Bag(ctx, sel.Bag); err == nil && !b.Disposed.IsZero() {
			// Nothing of it is left to read: the tombstone says what it was.
			return nil, fmt.Errorf("%w: bag %s was disposed of on %s; nothing of it is left to audit (strongroom disposal tombstone %s)",
				ErrDisposed, sel.Bag, b.Disposed.UTC().Format(time.DateOnly), sel.Bag)
		} else if err == nil {
			bags = []string{sel.Bag}
		}
	case sel.All:
		bags, err = a.Catalog.BagIDs(ctx)
	case sel.Due:
		bags, err = a.Catalog.OverdueBags(ctx, a.Now().Add(-a.Cfg.Cycle))
	default:
		bags, err = a.Catalog.DueBags(ctx, sel.sliceLength)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: select bags: %w", err)
	}
	if sel.SubsetT > 0 {
		bags = subset(bags, sel.SubsetN, sel.SubsetT)
	}
	return bags, nil
}

func subset(bags []string, n, t int) []string {
	var out []string
	for _, b := range bags {
		h := fnv.New32a()
		h.Write([]byte(b))
		if int(h.Sum32()%uint32(t)) == n-1 {
			out = append(out, b)
		}
	}
	return out
}

// CheckBag re-reads every object of a bag.
func (a *Auditor) CheckBag(ctx context.Context, bag string) BagResult {
	res := BagResult{Bag: bag, Status: Intact}
	objs, err := a.Catalog.Objects(ctx, bag)
	if err != nil || len(objs) == 0 {
		res.Status = Error
		res.Errors = append(res.Errors, fmt.Sprintf("no objects recorded for bag %s: %v", bag, err))
		return res
	}
	listed := map[string]storage.ObjectInfo{}
	for oi, err := range a.Store.List(ctx, bag+"/") {
		if err != nil {
			res.Status = Error
			res.Errors = append(res.Errors, fmt.Sprintf("list: %v", err))
			return res
		}
		listed[strings.TrimPrefix(oi.Key, bag+"/")] = oi
	}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(a.Cfg.Concurrency)
	recorded := map[string]bool{}
	for _, o := range objs {
		recorded[o.Key] = true
		g.Go(func() error {
			oi, ok := listed[o.Key]
			probs, n, errMsg := a.checkObject(ctx, o, oi, ok)
			mu.Lock()
			defer mu.Unlock()
			res.Objects++
			res.Bytes += n
			res.Problems = append(res.Problems, probs...)
			if errMsg != "" {
				res.Errors = append(res.Errors, errMsg)
			}
			return nil
		})
	}
	g.Wait()
	for key, oi := range listed {
		if !recorded[key] {
			res.Problems = append(res.Problems, Problem{Unexpected, key, fmt.Sprintf("object of %d bytes in the bag's prefix that the bag does not list", oi.Size)})
			a.event(ctx, bag, key, catalog.OutcomeFailure, string(Unexpected)+": not listed by the bag")
		}
	}
	if len(listed) == 0 && len(res.Problems) == len(objs) && allMissing(res.Problems) {
		// The whole bag is gone: one finding for the bag, not one per object.
		var bytes int64
		for _, o := range objs {
			bytes += o.Size
		}
		res.Problems = []Problem{{Missing, "", fmt.Sprintf("the whole bag is missing from the store: none of its %d objects (%d bytes) is there", len(objs), bytes)}}
	}
	if len(listed) == 0 && len(res.Problems) == len(objs) && sameCause(res.Problems) {
		// The bag's folder itself was replaced (a symlink): one finding.
		p := res.Problems[0]
		res.Problems = []Problem{{Altered, "", fmt.Sprintf("the bag's folder is not a folder of objects: none of its %d objects can be read (%s)", len(objs), p.Detail)}}
	}
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].Key < res.Problems[j].Key })
	switch {
	case len(res.Problems) > 0:
		res.Status = Damaged
		a.Failures.Add(int64(len(res.Problems)))
	case len(res.Errors) > 0:
		res.Status = Error
	}
	return res
}

// notAnObject begins the detail of an object the store holds something
// else in place of (a symlink, a folder).
const notAnObject = "the store holds something else where the object should be"

// sameCause: every problem is something else where an object should be.
// With nothing listed under the bag (the listing shows symlinks and
// special files too), the cause is a folder on the way to all of them.
func sameCause(ps []Problem) bool {
	for _, p := range ps {
		if !strings.HasPrefix(p.Detail, notAnObject) {
			return false
		}
	}
	return true
}

func allMissing(ps []Problem) bool {
	for _, p := range ps {
		if p.Class != Missing {
			return false
		}
	}
	return true
}

// checkObject reads one object and compares it. A mismatch is read again
// before it is declared: a transient read error is not corruption.
func (a *Auditor) checkObject(ctx context.Context, o catalog.Object, oi storage.ObjectInfo, listed bool) ([]Problem, int64, string) {
	var read int64
	var n int64
	var d bagit.Digests
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		n, d, err = a.read(ctx, o.BagID+"/"+o.Key)
		read += n
		if err != nil || n == o.Size && a.matches(d, o) {
			break
		}
		if attempt == 1 {
			a.Log.Warn("audit: mismatch; reading again before declaring it", "bag", o.BagID, "key", o.Key)
		}
	}
	now := a.Now()
	var probs []Problem
	switch {
	case errors.Is(err, storage.ErrNotFound) || err == nil && !listed && n == 0:
		probs = append(probs, Problem{Missing, o.Key, fmt.Sprintf("recorded %d bytes, sha256 %s; the store has no such object", o.Size, o.SHA256)})
	case errors.Is(err, storage.ErrNotRegular):
		class := Altered
		if !strings.HasPrefix(o.Key, "data/") {
			class = TagAltered
		}
		probs = append(probs, Problem{class, o.Key, notAnObject + ": " + err.Error()})
	case err != nil:
		msg := fmt.Sprintf("%s: %v", o.Key, err)
		a.event(ctx, o.BagID, o.Key, catalog.OutcomeError, "audit could not read the object: "+err.Error())
		return nil, read, msg // not corruption: the store did not answer
	case n < o.Size:
		probs = append(probs, Problem{Truncated, o.Key, fmt.Sprintf("%d bytes, recorded %d", n, o.Size)})
	case n != o.Size || !a.matches(d, o):
		class := Altered
		if !strings.HasPrefix(o.Key, "data/") {
			class = TagAltered
		}
		probs = append(probs, Problem{class, o.Key, fmt.Sprintf("read %d bytes, sha256 %s; recorded %d bytes, sha256 %s", n, d[bagit.SHA256], o.Size, o.SHA256)})
	}
	if len(probs) == 0 && oi.SHA256 != "" && oi.SHA256 != o.SHA256 {
		probs = append(probs, Problem{StoreChecksum, o.Key, fmt.Sprintf("the store's checksum is sha256 %s, recorded %s (the bytes match the record)", oi.SHA256, o.SHA256)})
	}
	outcome, detail := catalog.ObjectIntact, fmt.Sprintf("%s (%d bytes) match the record", digestList(d), n)
	if oi.SHA256 != "" && len(probs) == 0 {
		detail += " and the store's checksum"
	}
	if len(probs) > 0 {
		outcome, detail = string(probs[0].Class), string(probs[0].Class)+": "+probs[0].Detail
	}
	if err := a.Catalog.MarkChecked(ctx, o.BagID, o.Key, outcome, now); err != nil {
		return probs, read, err.Error()
	}
	evOutcome := catalog.OutcomeSuccess
	if len(probs) > 0 {
		evOutcome = catalog.OutcomeFailure
	}
	a.event(ctx, o.BagID, o.Key, evOutcome, detail)
	return probs, read, ""
}

// emptyFolders is a store that can have folders without objects (a
// directory; an object store cannot).
type emptyFolders interface {
	EmptyFolders(ctx context.Context) ([]string, error)
}

// sweep lists the whole store and reports what belongs to no bag: one
// problem per top-level folder (however many objects it holds) and per
// file outside any folder. Folders of items still in progress are theirs.
func (a *Auditor) sweep(ctx context.Context) (BagResult, error) {
	res := BagResult{Bag: "", Status: Intact}
	type top struct {
		objects int
		bytes   int64
		folder  bool
	}
	tops := map[string]*top{}
	for oi, err := range a.Store.List(ctx, "") {
		if err != nil {
			res.Status = Error
			res.Errors = append(res.Errors, err.Error())
			return res, err
		}
		name, _, folder := strings.Cut(oi.Key, "/")
		t := tops[name]
		if t == nil {
			t = &top{folder: folder}
			tops[name] = t
		}
		t.objects++
		t.bytes += oi.Size
	}
	if ef, ok := a.Store.(emptyFolders); ok {
		names, err := ef.EmptyFolders(ctx)
		if err != nil {
			res.Status = Error
			res.Errors = append(res.Errors, err.Error())
			return res, err
		}
		for _, name := range names {
			if tops[name] == nil {
				tops[name] = &top{folder: true}
			}
		}
	}
	// Items in progress first, then bags: an item that finishes between
	// the two queries is among the bags.
	busy := map[string]bool{}
	active, err := a.Catalog.Active(ctx)
	if err != nil {
		return res, err
	}
	for _, it := range active {
		busy[it.ID] = true
	}
	bags, err := a.Catalog.BagIDs(ctx)
	if err != nil {
		return res, err
	}
	known := map[string]bool{}
	for _, b := range bags {
		known[b] = true
	}
	known[disposal.CertificateFolder] = true // kept for good, outside every bag
	for name, t := range tops {
		if known[name] || busy[name] {
			continue // a bag's name that is not a folder is the bag's own finding
		}
		if !t.folder {
			res.Problems = append(res.Problems, Problem{Unexpected, name, fmt.Sprintf("a file of %d bytes in the store outside every bag", t.bytes)})
			continue
		}
		detail := fmt.Sprintf("a folder of %d objects (%d bytes) in the store that belongs to no bag", t.objects, t.bytes)
		if t.objects == 0 {
			detail = "an empty folder in the store that belongs to no bag"
		}
		if it, err := a.Catalog.Item(ctx, name); err == nil {
			detail += fmt.Sprintf("; left by item %s (%s), which ended %s without a stored bag", it.ID, it.Name, it.Stage)
		}
		res.Problems = append(res.Problems, Problem{Unexpected, name + "/", detail})
	}
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].Key < res.Problems[j].Key })
	if len(res.Problems) > 0 {
		res.Status = Damaged
		a.Failures.Add(int64(len(res.Problems)))
	}
	return res, nil
}

func (a *Auditor) event(ctx context.Context, bag, key string, outcome catalog.Outcome, detail string) {
	if err := a.Catalog.AddEvents(ctx, catalog.Event{BagID: bag, File: key, Type: catalog.EvFixityCheck, Outcome: outcome,
		Detail: detail, Agent: a.Agent + " audit", At: a.Now()}); err != nil {
		a.Log.Error("audit: record event", "bag", bag, "key", key, "err", err)
	}
}

func (a *Auditor) algorithms() []bagit.Algorithm {
	if len(a.Cfg.Algorithms) == 0 {
		return []bagit.Algorithm{bagit.SHA256}
	}
	return a.Cfg.Algorithms
}

// matches compares the digests computed with the recorded ones.
func (a *Auditor) matches(d bagit.Digests, o catalog.Object) bool {
	want := map[bagit.Algorithm]string{bagit.SHA256: o.SHA256, bagit.SHA512: o.SHA512}
	for _, alg := range a.algorithms() {
		if d[alg] != want[alg] {
			return false
		}
	}
	return true
}

func digestList(d bagit.Digests) string {
	var parts []string
	for _, alg := range []bagit.Algorithm{bagit.SHA256, bagit.SHA512} {
		if d[alg] != "" {
			parts = append(parts, string(alg)+":"+d[alg])
		}
	}
	return strings.Join(parts, " ")
}

// read streams an object through the throttle and the digests.
func (a *Auditor) read(ctx context.Context, key string) (int64, bagit.Digests, error) {
	rc, err := a.Store.Get(ctx, key)
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	var r io.Reader = rc
	if l := a.throttle(); l != nil {
		r = &throttled{ctx: ctx, r: rc, l: l}
	}
	r = countingReader{r: r, c: &a.BytesRead}
	d, n, err := bagit.Copy(ctx, nil, r, a.algorithms())
	return n, d, err
}

type throttled struct {
	ctx context.Context
	r   io.Reader
	l   *rate.Limiter
}

func (t *throttled) Read(p []byte) (int, error) {
	if len(p) > throttleBurst {
		p = p[:throttleBurst]
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if werr := t.l.WaitN(t.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	c *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.c.Add(int64(n))
	return n, err
}

// notReady returns why the store cannot be used yet (a store that opens
// in the background), or nil.
func (a *Auditor) notReady() error {
	if r, ok := a.Store.(interface{ Ready() error }); ok {
		return r.Ready()
	}
	return nil
}

// Loop audits a slice of the cycle every Interval until ctx ends: the
// least recently checked objects, enough that every object is re-read within
// Cycle. Progress is per object in the catalog, so a restart resumes.
func (a *Auditor) Loop(ctx context.Context) error {
	t := time.NewTicker(a.Cfg.Interval)
	defer t.Stop()
	for {
		st, err := a.Catalog.AuditStatus(ctx, a.Now().Add(-a.Cfg.Cycle))
		switch {
		case a.notReady() != nil:
			a.Log.Warn("audit: the store is not open yet; this slice waits", "err", a.notReady())
		case err == nil && st.Objects > 0:
			slice := int((st.Objects*int64(a.Cfg.Interval) + int64(a.Cfg.Cycle) - 1) / int64(a.Cfg.Cycle))
			// Catch up on overdue objects too, never less than the even slice.
			slice = max(slice, int(st.Objects-st.CheckedSince))
			// Once a day the whole store is listed for what belongs to no bag.
			sweep := a.Now().Sub(a.lastSweep) >= 24*time.Hour
			if _, err := a.Run(ctx, Selection{sliceLength: max(slice, 1), sweep: sweep}, nil); err != nil && ctx.Err() == nil {
				a.Log.Error("audit: scheduled run", "err", err)
			} else if sweep {
				a.lastSweep = a.Now()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
