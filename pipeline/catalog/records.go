package catalog

import "time"

// Item is one unit of intake: a file or a batch folder.
type Item struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`       // file or folder name as received
	Source    string  `json:"source"`     // absolute path where it was found
	HotFolder string  `json:"hot_folder"` // the hot folder it came from ("" for the ingest command)
	Kind      Kind    `json:"kind"`
	Release   Release `json:"release"` // what to do with originals once stored
	Stage     Stage   `json:"stage"`
	Attempts  int     `json:"attempts"`   // failed attempts at the current stage
	LastError string  `json:"last_error"` // the last error, or the reason it failed
	FailStage Stage   `json:"fail_stage"` // the stage that failed, for the reason file
	// ReadyAt is when the item's stage may run again: a retry waits out
	// its pause. Zero: now.
	ReadyAt time.Time   `json:"ready_at,omitzero"`
	BagID   string      `json:"bag_id"`
	Info    []InfoField `json:"info"` // extra bag-info.txt fields, in order
	// OCR holds the item's own OCR settings (its hot folder's), if any.
	OCR *OCRSettings `json:"ocr"`
	// Held is where originals that changed after intake were left (in the
	// hot folder) instead of being released: a new item takes them.
	Held string `json:"held"`
	// Follows is the item whose changed original this item is.
	Follows string `json:"follows"`
	// Meta describes the item: defaults from its hot folder or station
	// when it is taken, completed by the package stage, corrected later.
	Meta    Metadata  `json:"meta"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// InfoField is a bag-info.txt field an item brings with it.
type InfoField struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// OCRSettings override the OCR languages and page segmentation mode for
// one item.
type OCRSettings struct {
	Languages []string `json:"languages,omitempty"`
	PSM       *int     `json:"psm,omitempty"`
}

// File is one original file of an item.
type File struct {
	Path   string `json:"path"`   // payload path below data/, e.g. original/page.tif
	Source string `json:"source"` // absolute path at intake
	Size   int64  `json:"size"`
	// ModTime and Inode are what the file was when its fixity was taken;
	// release checks them (and the digest) before it lets the file go.
	ModTime       time.Time `json:"mod_time"`
	Inode         string    `json:"-"` // device:inode, meaningful on this machine only
	SHA256        string    `json:"sha256"`
	SHA512        string    `json:"sha512"`
	PUID          string    `json:"puid"`
	MIME          string    `json:"mime"`
	Format        string    `json:"format"`
	FormatVersion string    `json:"format_version"`
	Basis         string    `json:"basis"`
	Warning       string    `json:"warning"`
	Action        string    `json:"action"` // what the format policy decided: normalise, preserve, reject
}

// Event is a PREMIS event.
type Event struct {
	ID      int64     `json:"id"`
	ItemID  string    `json:"item_id"`
	BagID   string    `json:"bag_id"`
	File    string    `json:"file"` // payload path, or "" for the item
	Type    EventType `json:"type"`
	Outcome Outcome   `json:"outcome"`
	Detail  string    `json:"detail"`
	Agent   string    `json:"agent"`
	At      time.Time `json:"at"`
	// Stage is the stage that recorded it ("" for events from outside the
	// pipeline's stages: audits, operators).
	Stage Stage `json:"stage,omitempty"`
}

// Bag is a stored bag.
type Bag struct {
	ID       string    `json:"id"`
	ItemID   string    `json:"item_id"`
	Store    string    `json:"store,omitempty"` // store URL (staff only, on the API)
	Oxum     string    `json:"oxum"`
	Bytes    int64     `json:"bytes"`
	StoredAt time.Time `json:"stored_at"`
	// Disposed is when the bag was disposed of (its tombstone says more);
	// zero while it is kept.
	Disposed time.Time `json:"disposed,omitzero"`
}

// BagQuery selects stored bags for a catalogue page. Empty fields do not
// filter.
type BagQuery struct {
	Collection string
	Year       int
	Station    string
	Format     string // a MIME type among the bag's originals
	// HasAlerts keeps bags with (true) or without (false) open or
	// acknowledged alerts.
	HasAlerts *bool
	// Disposed keeps the bags disposed of too (their tombstones: staff's).
	Disposed bool
	// Access keeps bags whose items have one of these levels: what the
	// asking user may see.
	Access []AccessLevel
	Sort   BagSort
	Offset int
	Limit  int
}

// BagSort orders a bag listing.
type BagSort string

const (
	SortStored BagSort = "stored" // newest first (the default)
	SortTitle  BagSort = "title"
	SortDate   BagSort = "date" // the items' dates, oldest first
)

// BagRow is a bag with what a catalogue lists of it.
type BagRow struct {
	Bag
	Name   string   `json:"name"` // the item's name as received
	Meta   Metadata `json:"meta"`
	Alerts int      `json:"alerts,omitempty"` // open and acknowledged (staff only, on the API)
}

// Object is one stored object of a bag with the digests recorded when it
// was stored: what every audit compares the store's bytes against.
type Object struct {
	BagID       string    `json:"bag_id"`
	Key         string    `json:"key"` // relative to the bag, e.g. data/original/page.tif
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	SHA512      string    `json:"sha512"`
	LastChecked time.Time `json:"last_checked"` // zero: never audited
	LastOutcome string    `json:"last_outcome"` // "intact", or the problem found
}

// AuditStatus summarises the audit coverage.
type AuditStatus struct {
	Objects        int64     `json:"objects"`
	Bytes          int64     `json:"bytes"`
	CheckedSince   int64     `json:"checked_since"` // objects checked since the cutoff (within the cycle)
	NeverChecked   int64     `json:"never_checked"`
	LastFailed     int64     `json:"last_failed"` // objects whose last check failed
	Bags           int64     `json:"bags"`
	LastRunStarted time.Time `json:"last_run_started"`
	LastRunDone    time.Time `json:"last_run_done"`
}

// AuditRun is one audit run.
type AuditRun struct {
	ID       int64     `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Scope    string    `json:"scope"`
	Bags     int64     `json:"bags"`
	Objects  int64     `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Problems int64     `json:"problems"`
	Errors   int64     `json:"errors"`
}

// Alert is one problem with one bag (and file), deduplicated across audits.
type Alert struct {
	ID        int64         `json:"id"`
	BagID     string        `json:"bag_id"`
	Problem   Problem       `json:"problem"`
	Key       string        `json:"key"`
	State     AlertState    `json:"state"`
	Detail    string        `json:"detail"`
	FirstSeen time.Time     `json:"first_seen"`
	LastSeen  time.Time     `json:"last_seen"`
	Seen      int           `json:"seen"`
	Changes   []AlertChange `json:"changes"`
}

// AlertChange is one state change of an alert: who, when, and why.
type AlertChange struct {
	State AlertState `json:"state"`
	Who   string     `json:"who"`
	Note  string     `json:"note"`
	At    time.Time  `json:"at"`
}

// Retention is a stored bag's place in its retention schedule.
type Retention struct {
	BagID    string `json:"bag_id"`
	Schedule string `json:"schedule"`
	Action   string `json:"action"` // at the end: retain, review, transfer, destroy
	// Due is the day the action is due; zero while it cannot be known
	// (a schedule that runs from a closed date not yet given), and
	// Unknown then says why.
	Due      time.Time `json:"due"`
	Unknown  string    `json:"unknown,omitempty"`
	Assigned time.Time `json:"assigned"`
	// Held says a legal hold in force holds the bag: whatever is due,
	// nothing happens to it.
	Held bool `json:"held"`
}

// Hold is a legal hold: bags that must not be disposed of while it is in
// force (a litigation, an inquiry, an access request), with who ordered it
// and why, and who ended it.
type Hold struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	Reason        string    `json:"reason"`
	Authority     string    `json:"authority"` // who or what ordered it
	CreatedBy     string    `json:"created_by"`
	Created       time.Time `json:"created"`
	Released      time.Time `json:"released"` // zero while in force
	ReleasedBy    string    `json:"released_by,omitempty"`
	ReleaseReason string    `json:"release_reason,omitempty"`
	Bags          []string  `json:"bags,omitempty"`
}

// Progress is how far an item in flight is through a long step (the pages
// of its access copy), as the process doing it knows: held in memory, not
// in the catalog.
type Progress struct {
	Stage   Stage     `json:"stage"`
	Done    int       `json:"done"`
	Total   int       `json:"total"`
	Started time.Time `json:"started"`
	// Left is the time the rest should take at the pace so far.
	Left time.Duration `json:"left_ns"`
}

// BatchFile is one file a station announced.
type BatchFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Batch is a push from a scanner station.
type Batch struct {
	ID       string      `json:"id"`
	Station  string      `json:"station"`
	State    BatchState  `json:"state"`
	Files    []BatchFile `json:"files"`
	Metadata []InfoField `json:"metadata"`
	ItemID   string      `json:"item_id"`
	Reason   string      `json:"reason"`
	Created  time.Time   `json:"created"`
	Updated  time.Time   `json:"updated"`
}

// Counts are the numbers the overview and the metrics show.
type Counts struct {
	ItemsByStage map[Stage]int64
	BagsStored   int64
	BytesStored  int64
	OpenAlerts   int64
	AckedAlerts  int64
}

// Session is a signed-in user of the review page. Hash is the SHA-256 of
// the cookie's value: the value itself is never stored.
type Session struct {
	Hash    string
	User    string
	Role    string
	CSRF    string
	Expires time.Time
}

// Disposal is a request to dispose of stored bags at the end of their
// retention: who asked and why, who decided, and how the execution went.
type Disposal struct {
	ID          int64         `json:"id"`
	Bags        []string      `json:"bags"`
	Action      string        `json:"action"` // destroy
	Reason      string        `json:"reason"`
	RequestedBy string        `json:"requested_by"`
	Created     time.Time     `json:"created"`
	State       DisposalState `json:"state"`
	DecidedBy   string        `json:"decided_by,omitempty"`
	Decided     time.Time     `json:"decided"`
	Note        string        `json:"note,omitempty"` // the decider's
	Ended       time.Time     `json:"ended"`
	// Detail says what the last execution did, or why it failed.
	Detail string `json:"detail,omitempty"`
	// Disposed are the bags of the request gone already.
	Disposed []string `json:"disposed"`
}

// Tombstone is what the catalog keeps of a disposed bag: enough to say
// what it was, that it existed, and by whose authority it went. It is the
// disposal certificate's content.
type Tombstone struct {
	BagID             string    `json:"bag_id"`
	ItemID            string    `json:"item_id"`
	Title             string    `json:"title,omitempty"`
	Identifier        string    `json:"identifier,omitempty"`
	Collection        string    `json:"collection,omitempty"`
	Bytes             int64     `json:"bytes"`
	Files             int       `json:"files"`
	Oxum              string    `json:"oxum"`
	TagManifestSHA512 string    `json:"tagmanifest_sha512"` // of tagmanifest-sha512.txt, which fixes every other digest
	StoredAt          time.Time `json:"stored_at"`
	Schedule          string    `json:"schedule"`
	Mandate           string    `json:"mandate,omitempty"`
	Due               time.Time `json:"due"`
	Request           int64     `json:"request"`
	Reason            string    `json:"reason"`
	RequestedBy       string    `json:"requested_by"`
	ApprovedBy        string    `json:"approved_by"`
	Approved          time.Time `json:"approved"`
	Disposed          time.Time `json:"disposed"`
	Store             string    `json:"store"`
	// TransferredTo is where a bag under a transfer schedule was copied,
	// and verified, before it was deleted here.
	TransferredTo string `json:"transferred_to,omitempty"`
	// Deleted are the objects deleted: keys, with a version id after a
	// space where the store keeps versions.
	Deleted []string `json:"deleted"`
	// Certificate is where the disposal certificate is stored (JSON), and
	// CertificatePDF its human-readable PDF/A.
	Certificate    string `json:"certificate"`
	CertificatePDF string `json:"certificate_pdf"`
}
