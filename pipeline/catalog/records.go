package catalog

import "time"

// Item is one unit of intake: a file or a batch folder.
type Item struct {
	ID        string
	Name      string // file or folder name as received
	Source    string // absolute path where it was found
	HotFolder string // the hot folder it came from ("" for the ingest command)
	Kind      Kind
	Release   Release // what to do with originals once stored
	Stage     Stage
	Attempts  int    // failed attempts at the current stage
	LastError string // the last error, or the reason it failed
	FailStage Stage  // the stage that failed, for the reason file
	BagID     string
	Info      []InfoField // extra bag-info.txt fields, in order
	// OCR holds the item's own OCR settings (its hot folder's), if any.
	OCR *OCRSettings
	// Held is where originals that changed after intake were left (in the
	// hot folder) instead of being released: a new item takes them.
	Held string
	// Follows is the item whose changed original this item is.
	Follows string
	// Meta describes the item: defaults from its hot folder or station
	// when it is taken, completed by the package stage, corrected later.
	Meta    Metadata
	Created time.Time
	Updated time.Time
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
	Path   string // payload path below data/, e.g. original/page.tif
	Source string // absolute path at intake
	Size   int64
	// ModTime and Inode are what the file was when its fixity was taken;
	// release checks them (and the digest) before it lets the file go.
	ModTime       time.Time
	Inode         string `json:"-"` // device:inode, meaningful on this machine only
	SHA256        string
	SHA512        string
	PUID          string
	MIME          string
	Format        string
	FormatVersion string
	Basis         string
	Warning       string
	Action        string // what the format policy decided: normalise, preserve, reject
}

// Event is a PREMIS event.
type Event struct {
	ID      int64
	ItemID  string
	BagID   string
	File    string // payload path, or "" for the item
	Type    EventType
	Outcome Outcome
	Detail  string
	Agent   string
	At      time.Time
	// Stage is the stage that recorded it ("" for events from outside the
	// pipeline's stages: audits, operators).
	Stage Stage `json:",omitempty"`
}

// Bag is a stored bag.
type Bag struct {
	ID       string
	ItemID   string
	Store    string `json:",omitempty"` // store URL (staff only, on the API)
	Oxum     string
	Bytes    int64
	StoredAt time.Time
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
	Name   string // the item's name as received
	Meta   Metadata
	Alerts int `json:",omitempty"` // open and acknowledged (staff only, on the API)
}

// Object is one stored object of a bag with the digests recorded when it
// was stored: what every audit compares the store's bytes against.
type Object struct {
	BagID       string
	Key         string // relative to the bag, e.g. data/original/page.tif
	Size        int64
	SHA256      string
	SHA512      string
	LastChecked time.Time // zero: never audited
	LastOutcome string    // "intact", or the problem found
}

// AuditStatus summarises the audit coverage.
type AuditStatus struct {
	Objects        int64
	Bytes          int64
	CheckedSince   int64 // objects checked since the cutoff (within the cycle)
	NeverChecked   int64
	LastFailed     int64 // objects whose last check failed
	Bags           int64
	LastRunStarted time.Time
	LastRunDone    time.Time
}

// AuditRun is one audit run.
type AuditRun struct {
	ID                                     int64
	Started, Finished                      time.Time
	Scope                                  string
	Bags, Objects, Bytes, Problems, Errors int64
}

// Alert is one problem with one bag (and file), deduplicated across audits.
type Alert struct {
	ID        int64
	BagID     string
	Problem   Problem
	Key       string
	State     AlertState
	Detail    string
	FirstSeen time.Time
	LastSeen  time.Time
	Seen      int
	Changes   []AlertChange
}

// AlertChange is one state change of an alert: who, when, and why.
type AlertChange struct {
	State AlertState
	Who   string
	Note  string
	At    time.Time
}

// BatchFile is one file a station announced.
type BatchFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Batch is a push from a scanner station.
type Batch struct {
	ID       string
	Station  string
	State    BatchState
	Files    []BatchFile
	Metadata []InfoField
	ItemID   string
	Reason   string
	Created  time.Time
	Updated  time.Time
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
