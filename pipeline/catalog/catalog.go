// Package catalog is what strongroom knows and decides, behind one
// interface: items and where they are in the pipeline, their files, bags and
// PREMIS events, the objects audits re-read, alerts, pushed batches and
// review sessions. It is the source of truth: the queue only carries item
// ids and is rebuilt from here after a crash.
//
// Catalog is made of small interfaces, one per kind of record, so that a
// part of strongroom can ask for what it uses. Implementations: sqlite (the
// embedded default) and postgres (one catalog for many machines). Every
// implementation passes the suite in catalogtest.
package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Catalog is the whole catalog.
type Catalog interface {
	Items
	Events
	Bags
	Audits
	Alerts
	Batches
	Sessions
	Retentions
	Holds
	Disposals
	Qualities
	Roles
	Pages
	// Counts computes the numbers the overview and the metrics show.
	Counts(ctx context.Context) (Counts, error)
	Close() error
}

// Items are the units of intake and their state in the pipeline.
type Items interface {
	// CreateItem records a new item and sets its Created and Updated;
	// ErrActive if its source already has an unfinished item.
	CreateItem(ctx context.Context, it *Item) error
	// Item returns the item with id; ErrNotFound if there is none.
	Item(ctx context.Context, id string) (*Item, error)
	// ActiveBySource returns the unfinished item of source, or nil.
	ActiveBySource(ctx context.Context, source string) (*Item, error)
	// NewerVersions returns the bags reprocessed from bag and stored,
	// newest first.
	NewerVersions(ctx context.Context, bag string) ([]string, error)
	// Active returns every unfinished item, oldest first.
	Active(ctx context.Context) ([]*Item, error)
	// Items returns the most recent items, newest first.
	Items(ctx context.Context, limit int) ([]*Item, error)
	// ItemsAt returns the most recent items in stage, newest first.
	ItemsAt(ctx context.Context, stage Stage, limit int) ([]*Item, error)
	// SetMetadata replaces an item's description.
	SetMetadata(ctx context.Context, itemID string, m Metadata) error
	// UpdateItem saves the item's stage, attempts, error, fail stage, bag
	// and held path if it is still at stage from and leased to holder
	// (compare-and-set); ErrStale otherwise.
	UpdateItem(ctx context.Context, it *Item, from Stage, holder string) error
	// Lease acquires or renews holder's lease on item id until until. It
	// returns false and the current holder while another holder's lease
	// has not lapsed at now.
	Lease(ctx context.Context, id, holder string, now, until time.Time) (ok bool, current string, err error)
	// TakeLease moves the lease from a holder known to be gone to holder;
	// false if from no longer holds it.
	TakeLease(ctx context.Context, id, from, holder string, until time.Time) (bool, error)
	// Unlease gives up holder's lease (if it still has it).
	Unlease(ctx context.Context, id, holder string) error
	// Claim is the work list: it leases to holder, until until, the
	// oldest item at stage that is ready at now (ReadyAt passed) and that
	// no live worker has (its lease free, lapsed, or held by one of gone:
	// holders known to have died). It returns the item and the holder its
	// lease was taken from ("" if it was free), or nil if none is ready.
	// Two claims never return the same item.
	Claim(ctx context.Context, stage Stage, holder string, now, until time.Time, gone []string) (*Item, string, error)
	// LeaseHolders returns who holds leases on items, each once.
	LeaseHolders(ctx context.Context) ([]string, error)
	// HeldAt returns the item whose changed originals were left at path
	// for a new item, and which no item follows yet; or nil.
	HeldAt(ctx context.Context, path string) (*Item, error)
	// PutFiles replaces the files of an item.
	PutFiles(ctx context.Context, itemID string, files []File) error
	// Files returns the files of an item, by path.
	Files(ctx context.Context, itemID string) ([]File, error)
}

// Events are PREMIS events: what was done to an item and its bag.
type Events interface {
	// AddEvents records events.
	AddEvents(ctx context.Context, evs ...Event) error
	// SetStageEvents replaces the events stage recorded for an item with
	// evs, in one transaction: a stage run again records its events once.
	SetStageEvents(ctx context.Context, itemID string, stage Stage, evs []Event) error
	// Events returns the events of an item, oldest first.
	Events(ctx context.Context, itemID string) ([]Event, error)
	// BagEvents returns a bag's history, oldest first.
	BagEvents(ctx context.Context, bagID string) ([]Event, error)
}

// Bags are stored bags and their objects, with the digests audits compare.
type Bags interface {
	// PutBag records a stored bag (idempotent).
	PutBag(ctx context.Context, b Bag) error
	// Bag returns a stored bag; ErrNotFound if there is none.
	Bag(ctx context.Context, id string) (*Bag, error)
	// Bags returns the most recently stored bags, not those disposed of.
	Bags(ctx context.Context, limit int) ([]Bag, error)
	// FindBags returns one page of the stored bags that match q, with
	// their items' descriptions, and how many match in all.
	FindBags(ctx context.Context, q BagQuery) ([]BagRow, int, error)
	// PutObjects replaces the objects of a bag, as checked at checked.
	PutObjects(ctx context.Context, bagID string, objs []Object, checked time.Time) error
	// Objects returns a bag's objects, by key.
	Objects(ctx context.Context, bagID string) ([]Object, error)
	// ObjectsBySHA256 returns the stored objects whose SHA-256 is sha256,
	// of every bag.
	ObjectsBySHA256(ctx context.Context, sha256 string) ([]Object, error)
	// BagIDs returns every bag with objects.
	BagIDs(ctx context.Context) ([]string, error)
}

// Audits are the schedule and the record of fixity audits.
type Audits interface {
	// DueBags returns the bags holding the n least recently checked
	// objects (never-checked first).
	DueBags(ctx context.Context, n int) ([]string, error)
	// OverdueBags returns the bags with an object not checked since cutoff.
	OverdueBags(ctx context.Context, cutoff time.Time) ([]string, error)
	// MarkChecked records the outcome of an object's check.
	MarkChecked(ctx context.Context, bagID, key, outcome string, at time.Time) error
	// AuditStatus reports coverage relative to cutoff (now minus the cycle).
	AuditStatus(ctx context.Context, cutoff time.Time) (AuditStatus, error)
	// StartRun records the start of an audit run and returns its id.
	StartRun(ctx context.Context, scope string, at time.Time) (int64, error)
	// FinishRun records the totals of a run.
	FinishRun(ctx context.Context, r AuditRun) error
}

// Raise is one alert to raise (see RaiseAlerts).
type Raise struct {
	BagID       string
	Problem     Problem
	Key, Detail string
}

// Alerts are problems for people to triage.
type Alerts interface {
	// RaiseAlert records that a problem was seen, deduplicated by bag,
	// problem and key. It returns the alert and whether it is new or
	// reopened (a resolved alert whose problem came back).
	RaiseAlert(ctx context.Context, bagID string, problem Problem, key, detail string, at time.Time) (*Alert, bool, error)
	// RaiseAlerts raises several as RaiseAlert does, in one transaction,
	// without handing them back: a stored batch's alerts, one per file
	// not identified or stored already, are not a transaction each.
	RaiseAlerts(ctx context.Context, raises []Raise, at time.Time) error
	// ChangeAlert moves an alert to acknowledged or resolved, recording who
	// and why; ErrBadTransition for a change it cannot make.
	ChangeAlert(ctx context.Context, id int64, state AlertState, who, note string, at time.Time) (*Alert, error)
	// Alert returns an alert with its changes; ErrNotFound if none.
	Alert(ctx context.Context, id int64) (*Alert, error)
	// Alerts lists alerts in the given states (all when none), newest
	// first, of one bag or (bagID "") of all.
	Alerts(ctx context.Context, bagID string, states ...AlertState) ([]*Alert, error)
}

// Batches are pushes from scanner stations.
type Batches interface {
	CreateBatch(ctx context.Context, b *Batch) error
	// Batch returns a batch; ErrNotFound if there is none.
	Batch(ctx context.Context, id string) (*Batch, error)
	// UpdateBatch saves a batch's state, item and reason.
	UpdateBatch(ctx context.Context, b *Batch) error
	// ReceivingBatches returns a station's batches still receiving,
	// oldest first.
	ReceivingBatches(ctx context.Context, station string) ([]*Batch, error)
	// StaleBatches returns batches still receiving last touched before
	// cutoff.
	StaleBatches(ctx context.Context, cutoff time.Time) ([]*Batch, error)
}

// Sessions are the review page's signed-in users. They are kept here so
// that a restart signs no one out.
type Sessions interface {
	// PutSession records a session under the hash of its cookie value,
	// and removes sessions that have expired.
	PutSession(ctx context.Context, s Session) error
	// Session returns the session with this hash; ErrNotFound if there is
	// none or it has expired at now.
	Session(ctx context.Context, hash string, now time.Time) (*Session, error)
	// DeleteSession ends a session.
	DeleteSession(ctx context.Context, hash string) error
}

// Errors callers branch on; implementations wrap them.
var (
	// ErrNotFound is returned when a lookup finds nothing.
	ErrNotFound = errors.New("catalog: not found")
	// ErrActive is returned by CreateItem when the source already has an
	// unfinished item: the same file is never taken twice.
	ErrActive = errors.New("catalog: source already has an active item")
	// ErrStale is returned by UpdateItem when the item is no longer where
	// the update started from: another worker moved it on, or took its
	// lease.
	ErrStale = errors.New("catalog: item changed under a stale step")
	// ErrBadTransition is returned for a state change an alert or a
	// disposal request can't make.
	ErrBadTransition = errors.New("catalog: cannot change to that state")
	// ErrReleased is returned for a change to a legal hold released already.
	ErrReleased = errors.New("catalog: the legal hold is released")
	// ErrHeld is returned for a disposal of a bag a legal hold in force
	// holds.
	ErrHeld = errors.New("catalog: under a legal hold")
	// ErrSelfApproval is returned when the person who asked for a disposal
	// decides it: a second person must.
	ErrSelfApproval = errors.New("catalog: a disposal must be decided by someone other than its requester")
	// ErrDisposed is returned for a bag disposed of already, or being
	// disposed of (a hold cannot take it then), or in another open request.
	ErrDisposed = errors.New("catalog: disposed of, or in a disposal")
)

// NewID returns a sortable, unique item id: UTC time and 40 random bits.
func NewID(now time.Time) string {
	var b [5]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Retentions are the stored bags' retention: the schedule each falls under
// and when it is due for its schedule's action.
type Retentions interface {
	// SetRetention records (or replaces) a bag's retention.
	SetRetention(ctx context.Context, r Retention) error
	// Retention returns a bag's; ErrNotFound if none was recorded.
	Retention(ctx context.Context, bag string) (*Retention, error)
	// RetentionDue returns the bags due on or before the day before,
	// soonest first, then those whose due date is not known yet.
	RetentionDue(ctx context.Context, before time.Time, limit int) ([]Retention, error)
	// RetentionsUnder returns the retention of every bag under schedule
	// that is not disposed of.
	RetentionsUnder(ctx context.Context, schedule string) ([]Retention, error)
	// LastSchedule returns the last version of a schedule's definition
	// recorded (0 and "" when none).
	LastSchedule(ctx context.Context, code string) (version int, definition string, err error)
	// RecordSchedule records a schedule's definition as configured as its
	// next version, unless it is the last one recorded; it returns the
	// version in force.
	RecordSchedule(ctx context.Context, code, definition string, at time.Time) (version int, err error)
}

// Holds are legal holds: while one is in force, nothing it holds may be
// disposed of, whatever its retention says.
type Holds interface {
	// CreateHold records a new hold in force and sets its ID and Created.
	CreateHold(ctx context.Context, h *Hold) error
	// Hold returns a hold with its bags; ErrNotFound if there is none.
	Hold(ctx context.Context, id int64) (*Hold, error)
	// ListHolds returns the holds in force, or every hold with all, newest
	// first, without their bags.
	ListHolds(ctx context.Context, all bool) ([]Hold, error)
	// HoldBags adds bags to a hold in force (ErrNotFound for a bag not
	// stored, ErrReleased for a released hold) and removes others.
	HoldBags(ctx context.Context, id int64, add, remove []string, at time.Time) error
	// ReleaseHold ends a hold in force: who, why, when.
	ReleaseHold(ctx context.Context, id int64, who, reason string, at time.Time) error
	// HoldsOn returns the holds in force on a bag.
	HoldsOn(ctx context.Context, bag string) ([]Hold, error)
}

// Disposals are requests to dispose of stored bags whose retention has run
// out: asked for by one person, decided by another (four eyes), then
// executed; a disposed bag leaves a tombstone. The rules are kept here,
// not only in the screens that ask.
type Disposals interface {
	// RequestDisposal records a new request, state requested, and sets its
	// ID and Created: ErrNotFound for a bag not stored, ErrHeld for one a
	// hold in force holds, ErrDisposed for one disposed of or in another
	// open request.
	RequestDisposal(ctx context.Context, d *Disposal) error
	// Disposal returns a request with its bags; ErrNotFound if none.
	Disposal(ctx context.Context, id int64) (*Disposal, error)
	// ListDisposals returns the requests in the states given (every one
	// with none), newest first.
	ListDisposals(ctx context.Context, states ...DisposalState) ([]Disposal, error)
	// DecideDisposal approves or rejects a request that waits for it:
	// ErrSelfApproval when who asked for it, ErrHeld (approval) when a
	// bag joined a hold since, ErrBadTransition when it is not waiting.
	DecideDisposal(ctx context.Context, id int64, approve bool, who, note string, at time.Time) (*Disposal, error)
	// BeginDisposal starts (or, after a failure, resumes) an approved
	// request: in one transaction it checks that no hold in force holds a
	// bag not yet disposed (ErrHeld: the request fails with the reason)
	// and marks them being disposed, so that no hold can take them while
	// their objects are deleted.
	BeginDisposal(ctx context.Context, id int64, at time.Time) (*Disposal, error)
	// DisposeBag records that a bag of a request being executed is gone
	// from the store: its objects are forgotten (audits skip it), the bag
	// is marked disposed and the tombstone kept.
	DisposeBag(ctx context.Context, id int64, t Tombstone) error
	// EndDisposal ends a request being executed: done, or failed with
	// what was and was not done (a failed request can begin again).
	EndDisposal(ctx context.Context, id int64, state DisposalState, detail string, at time.Time) error
	// OpenDisposal returns the id of the open request (not rejected, not
	// done) that names bag, or 0.
	OpenDisposal(ctx context.Context, bag string) (int64, error)
	// FindTombstones returns the tombstones whose bag id, title,
	// identifier or collection holds every one of words (any case), newest
	// first.
	FindTombstones(ctx context.Context, words []string, limit int) ([]Tombstone, error)
	// Tombstone returns what is kept of a disposed bag; ErrNotFound if the
	// bag was not disposed of.
	Tombstone(ctx context.Context, bag string) (*Tombstone, error)
}

// Roles are duties one process of the cluster does at a time (the watcher
// of a hot folder, the audit scheduler), each held under a lease that its
// holder renews and that lapses when the holder dies.
type Roles interface {
	// HoldRole takes or renews holder's lease on role until until. It
	// returns false and the current holder while another holder's lease
	// has not lapsed at now.
	HoldRole(ctx context.Context, role, holder string, now, until time.Time) (ok bool, current string, err error)
	// DropRole gives up holder's lease on role, if it has it, so that
	// another takes it at once.
	DropRole(ctx context.Context, role, holder string) error
	// RoleLeases returns the leases not lapsed at now, by role.
	RoleLeases(ctx context.Context, now time.Time) ([]RoleLease, error)
}

// Pages are the pages of items' access copies as tasks any worker of the
// cluster may claim, so that the pages of one book are OCRed by every
// worker and not by the one that runs its normalise stage alone.
type Pages interface {
	// AddPages records pages 1..len(specs) of item, each with its spec
	// (what a worker needs to make it); pages already recorded are kept
	// as they are (done ones stay done).
	AddPages(ctx context.Context, itemID string, specs [][]byte) error
	// ClaimPage leases to holder, until until, the first page waiting to
	// be made (of the oldest item first) whose lease is free or lapsed at
	// now; a page whose lease lapsed counts an attempt. Nil if none.
	ClaimPage(ctx context.Context, holder string, now, until time.Time) (*PageTask, error)
	// LeasePage renews holder's lease on a page; false if it is no longer
	// holder's.
	LeasePage(ctx context.Context, itemID string, nr int, holder string, until time.Time) (bool, error)
	// FinishPage records that holder made the page (failure "") or gave it
	// up with a reason; false if the page is no longer holder's.
	FinishPage(ctx context.Context, itemID string, nr int, holder, failure string) (bool, error)
	// PagesOf returns an item's pages, in order.
	PagesOf(ctx context.Context, itemID string) ([]PageTask, error)
	// DropPages forgets an item's pages.
	DropPages(ctx context.Context, itemID string) error
}

// PageTask is one page of an item's access copy to be made.
type PageTask struct {
	ItemID   string
	Nr       int // from 1
	Spec     []byte
	State    PageState
	Failure  string // why it was given up
	Attempts int    // claims after a holder's lease lapsed (it died, or hung)
	Holder   string
}

// PageState is where a page task is.
type PageState string

const (
	PageWaiting PageState = "waiting" // to be made, or being made (Holder)
	PageDone    PageState = "done"
	PageFailed  PageState = "failed"
)

// RoleLease is who holds a role, since when and until when.
type RoleLease struct {
	Role   string    `json:"role"`
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// Qualities are the stored bags' data-quality reports (quality.json):
// kept as they were made, with their verdict.
type Qualities interface {
	// SetQuality records (or replaces) a bag's report.
	SetQuality(ctx context.Context, bag, verdict string, report []byte) error
	// Quality returns a bag's report; ErrNotFound if it has none (no
	// access copy was made).
	Quality(ctx context.Context, bag string) ([]byte, error)
}

// CheckDecider says why who may not decide disposal request d: no one
// named, or the person who asked for it (four eyes).
func CheckDecider(d *Disposal, who string) error {
	switch {
	case strings.TrimSpace(who) == "":
		return errors.New("catalog: a disposal decision names who made it")
	case strings.EqualFold(strings.TrimSpace(who), strings.TrimSpace(d.RequestedBy)):
		return fmt.Errorf("%w: %s asked for request %d", ErrSelfApproval, who, d.ID)
	}
	return nil
}

// HeldError is the error for a disposal of bag, which legal hold holds;
// nil for no bag.
func HeldError(bag string, hold int64) error {
	if bag == "" {
		return nil
	}
	return fmt.Errorf("%w: bag %s is held by legal hold %d", ErrHeld, bag, hold)
}

// ContainsPattern is a LIKE pattern (with ESCAPE '\') matching text that
// holds word in lower case.
func ContainsPattern(word string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(word)) + "%"
}
