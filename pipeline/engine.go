// Package pipeline runs items through the stages of the stage table
// (stages.go): fixity → identify → validate → normalise → package → store
// → index → release (originals to done), or → fail (originals to failed with a
// reason). Each stage is a file of this package.
//
// Each stage is a step that can run in-process (the ingest command) or from
// the queue (the daemon): Engine.Step does one stage of one item and records
// the outcome in the catalog, which is the source of truth. Steps are
// idempotent, so a stage re-run after a crash produces the same result.
package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/quality"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Config configures the engine.
type Config struct {
	Workers      int           `yaml:"workers"`
	MaxAttempts  int           `yaml:"max_attempts"`
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// MaxPixels refuses images above this many pixels (decompression bombs).
	MaxPixels int64 `yaml:"max_pixels"`
	// MaxDecodedBytes refuses PDFs with a stream that inflates beyond it.
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
	// Lease is how long a worker's claim on an item lasts unless renewed
	// (it is renewed every third of it while the worker works).
	Lease time.Duration `yaml:"lease"`
	// SpreadPages: under serve, a book of at least this many pages has its
	// pages made by every process running stages, claimed one by one (0:
	// never; the process that runs its normalise stage makes them all).
	SpreadPages int `yaml:"spread_pages"`
	// Poll is how often an idle worker looks at the work list for what no
	// bell announced (another process on a SQLite catalog; a notification
	// lost while PostgreSQL restarted).
	Poll time.Duration `yaml:"poll"`
	// EnvironmentAlertAfter raises an alert when the store or a folder has
	// been unusable (read-only, no permission, full) for this long.
	EnvironmentAlertAfter time.Duration `yaml:"environment_alert_after"`
	// MemoryLimit is the daemon's soft memory limit (Go's GOMEMLIMIT,
	// which overrides it): garbage is collected harder as the heap nears
	// it. 0: none. OCR workers have their own (access.ocr.worker_memory).
	MemoryLimit int64 `yaml:"memory_limit"`
	// Clutter names the files and folders left out of bags, and recorded:
	// what operating systems leave in scan folders (Thumbs.db, .DS_Store,
	// __MACOSX). Shell patterns, matched against names, any case.
	Clutter []string `yaml:"clutter"`
	// Duplicates says what an original whose bytes are already stored
	// (the same SHA-256 in another bag) makes happen: warn (stored, with
	// an event and an alert naming the earlier bag), skip (an item whose
	// every original one earlier bag holds is not stored again: released
	// with a receipt naming that bag, an event and an alert; otherwise as
	// warn) or allow (stored, said nowhere).
	Duplicates Duplicates `yaml:"duplicates"`
}

// Duplicates is the duplicates policy.
type Duplicates string

const (
	DuplicatesWarn  Duplicates = "warn"
	DuplicatesSkip  Duplicates = "skip"
	DuplicatesAllow Duplicates = "allow"
)

// clutter reports whether a file or folder name is clutter.
func (c Config) clutter(name string) bool {
	lower := strings.ToLower(name)
	for _, p := range c.Clutter {
		if ok, _ := filepath.Match(strings.ToLower(p), lower); ok {
			return true
		}
	}
	return false
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("pipeline.workers %d: must be at least 1", c.Workers))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("pipeline.max_attempts %d: must be at least 1", c.MaxAttempts))
	}
	if c.RetryBackoff <= 0 {
		errs = append(errs, fmt.Errorf("pipeline.retry_backoff %s: must be positive", c.RetryBackoff))
	}
	if c.MaxPixels < 1 {
		errs = append(errs, fmt.Errorf("pipeline.max_pixels %d: must be positive", c.MaxPixels))
	}
	if c.MaxDecodedBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("pipeline.max_decoded_bytes %d: at least 1048576", c.MaxDecodedBytes))
	}
	if c.Lease < 3*time.Second {
		errs = append(errs, fmt.Errorf("pipeline.lease %s: at least 3s", c.Lease))
	}
	if c.SpreadPages < 0 {
		errs = append(errs, fmt.Errorf("pipeline.spread_pages %d: 0 (never) or more", c.SpreadPages))
	}
	if c.Poll < 10*time.Millisecond || c.Poll > time.Minute {
		errs = append(errs, fmt.Errorf("pipeline.poll %s: between 10ms and 1m", c.Poll))
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < 64<<20 {
		errs = append(errs, fmt.Errorf("pipeline.memory_limit %d: 0 (none) or at least 67108864 (64 MiB)", c.MemoryLimit))
	}
	switch c.Duplicates {
	case DuplicatesWarn, DuplicatesSkip, DuplicatesAllow:
	default:
		errs = append(errs, fmt.Errorf("pipeline.duplicates %q: want warn, skip or allow", c.Duplicates))
	}
	if c.EnvironmentAlertAfter <= 0 {
		errs = append(errs, fmt.Errorf("pipeline.environment_alert_after %s: must be positive", c.EnvironmentAlertAfter))
	}
	for _, p := range c.Clutter {
		if _, err := filepath.Match(p, ""); err != nil || p == "" || strings.ContainsRune(p, '/') {
			errs = append(errs, fmt.Errorf("pipeline.clutter %q: want a file name pattern", p))
		}
	}
	return errors.Join(errs...)
}

// BagConfig is what goes into every bag.
type BagConfig struct {
	SourceOrganization string            `yaml:"source_organization"`
	Algorithms         []bagit.Algorithm `yaml:"algorithms"`
	// Info adds fixed bag-info.txt fields (Contact-Name, Organization-Address...).
	Info map[string]string `yaml:"info"`
	// Metadata is every item's default description: rights, access level,
	// collection (hot folders and stations have their own on top).
	Metadata map[string]string `yaml:"metadata"`
}

// Validate checks the configuration.
func (c BagConfig) Validate() error {
	var errs []error
	if c.SourceOrganization == "" {
		errs = append(errs, errors.New("bag.source_organization: must be set"))
	}
	for _, a := range c.Algorithms {
		if a.HexLen() == 0 {
			errs = append(errs, fmt.Errorf("bag.algorithms: unsupported %q (have md5, sha1, sha256, sha512)", a))
		}
	}
	if len(c.Algorithms) == 0 {
		errs = append(errs, errors.New("bag.algorithms: at least one is needed"))
	}
	if _, merrs := catalog.MetadataFrom(c.Metadata, true); len(merrs) > 0 {
		errs = append(errs, fmt.Errorf("bag.metadata: %w", errors.Join(merrs...)))
	}
	return errors.Join(errs...)
}

// Engine runs the stages of items. Its stages are in the stage table
// (stages.go); Step runs one stage of one item, Run all of them.
type Engine struct {
	Cfg     Config
	Bag     BagConfig
	DataDir string // this machine's own: temporary files
	// farm, set by the daemon that runs page workers, hands an item's
	// pages to the cluster (pages.go); nil: each process makes its own.
	farm func(itemID string) access.Farm
	// WorkDir holds the items' work areas, one folder each, reached by
	// every worker at the same path (DataDir/work if empty).
	WorkDir   string
	DoneDir   string
	FailedDir string
	Catalog   catalog.Catalog
	Store     storage.Store
	StoreURL  string // for the catalog and PREMIS; never holds secrets
	Identify  *identify.Identifier
	Policy    identify.Policy
	Agent     string // "strongroom/<version>"
	// Access makes the OCRed PDF/A access copy of normalise items; nil
	// keeps such items as they are.
	Access *access.Maker
	// Decoder decodes originals to validate them, in worker processes of
	// its own (apart from the access copy's, so that validating one item
	// does not wait for another's OCR).
	Decoder *ocr.Engine
	// Index is the search index the index stage fills; nil: none.
	Index search.Index
	// Retention holds the schedules a stored bag's due date is computed by.
	Retention retention.Config
	// Quality holds the thresholds of the data-quality report.
	Quality quality.Config
	Log     *slog.Logger
	Now     func() time.Time
	// Holder names this worker in item leases (see Holder).
	Holder string

	// OnProgress, if set, is told how an item's long step goes (the
	// ingest command draws it on a terminal).
	OnProgress func(itemID string, p catalog.Progress)

	env      envWatch
	progress sync.Map // item id → catalog.Progress, while a long step runs
}

// Progress says how far the item is through a long step this engine is
// running, if it is in one.
func (e *Engine) Progress(itemID string) (catalog.Progress, bool) {
	p, ok := e.progress.Load(itemID)
	if !ok {
		return catalog.Progress{}, false
	}
	return p.(catalog.Progress), true
}

// tracker returns the progress callback of a long step of it, which keeps
// the engine's record, tells OnProgress, and logs at most every
// progressEvery; and the func that ends the record.
func (e *Engine) tracker(it *catalog.Item, stage catalog.Stage, log *slog.Logger) (func(done, total int), func()) {
	p := catalog.Progress{Stage: stage, Started: time.Now()}
	logged := p.Started
	return func(done, total int) {
			p.Done, p.Total = done, total
			elapsed := time.Since(p.Started)
			p.Left = time.Duration(float64(elapsed) / float64(done) * float64(total-done)).Round(time.Second)
			e.progress.Store(it.ID, p)
			if e.OnProgress != nil {
				e.OnProgress(it.ID, p)
			}
			if time.Since(logged) >= progressEvery && done < total {
				logged = time.Now()
				log.Info("pages made", "done", done, "of", total, "left", p.Left)
			}
		}, func() {
			e.progress.Delete(it.ID)
		}
}

// progressEvery is how often a long step says how it goes in the log: a
// 500-page book is never silent for minutes. (A variable for the test.)
var progressEvery = 5 * time.Second
