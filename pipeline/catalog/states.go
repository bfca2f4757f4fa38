package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// The states and vocabularies the catalog records. Each is a type with its
// constants, so that a state is never a loose string in Go or SQL (queries
// bind these constants); their values are what the API, metrics, reason
// files and scripts see, and do not change.

// Stage is where an item is in the pipeline (the order of stages is
// pipeline's stage table). Done and Failed are final.
type Stage string

const (
	StageFixity    Stage = "fixity"    // originals read once: digests, copied into the work area
	StageIdentify  Stage = "identify"  // formats identified, the format policy applied
	StageValidate  Stage = "validate"  // images decoded, PDFs parsed and checked
	StageNormalise Stage = "normalise" // the access copy made (OCR, PDF/A, text, ALTO)
	StagePackage   Stage = "package"   // the bag finished and validated
	StageStore     Stage = "store"     // the bag uploaded and read back
	StageIndex     Stage = "index"     // its pages' words added to the search index
	StageRelease   Stage = "release"   // originals checked again and moved to done (or removed)
	StageFail      Stage = "fail"      // originals moving to failed, with a reason
	StageDone      Stage = "done"
	StageFailed    Stage = "failed"
)

// Stages lists every stage, for checks and metrics.
var Stages = []Stage{StageFixity, StageIdentify, StageValidate, StageNormalise, StagePackage, StageStore, StageIndex, StageRelease, StageFail, StageDone, StageFailed}

// Valid reports whether s is a stage.
func (s Stage) Valid() bool { return slices.Contains(Stages, s) }

// Terminal reports whether an item in stage s needs no more work.
func (s Stage) Terminal() bool { return s == StageDone || s == StageFailed }

// Kind is what an item is.
type Kind string

const (
	KindFile    Kind = "file"
	KindBatch   Kind = "batch"   // a folder of files: one book, one box
	KindSymlink Kind = "symlink" // refused, never followed
	KindSpecial Kind = "special" // a fifo, socket or device: refused
	// KindReprocess is a stored bag's originals read back from the store
	// to make a new version of the bag (a new access copy); its Source is
	// ReprocessSource(bag).
	KindReprocess Kind = "reprocess"
)

// Valid reports whether k is a kind.
func (k Kind) Valid() bool {
	return slices.Contains([]Kind{KindFile, KindBatch, KindSymlink, KindSpecial, KindReprocess}, k)
}

// ReprocessSource is the Source of an item that reprocesses bag: where its
// originals come from. One bag has one reprocess item at a time.
func ReprocessSource(bag string) string { return "store:" + bag }

// ReprocessedBag returns the bag a reprocess item reads, from its Source.
func ReprocessedBag(it *Item) string { return strings.TrimPrefix(it.Source, "store:") }

// Release is what happens to an item's originals once its bag is stored.
type Release string

const (
	ReleaseMove   Release = "move"   // to done_dir
	ReleaseDelete Release = "delete" // removed (remove_originals, pushed batches)
	ReleaseKeep   Release = "keep"   // left where they are (the ingest command)
)

// Valid reports whether r is a release mode.
func (r Release) Valid() bool {
	return slices.Contains([]Release{ReleaseMove, ReleaseDelete, ReleaseKeep}, r)
}

// EventType is a PREMIS event type (the Library of Congress vocabulary,
// id.loc.gov/vocabulary/preservation/eventType).
type EventType string

const (
	EvIngestion      EventType = "ingestion"
	EvDigest         EventType = "message digest calculation"
	EvIdentification EventType = "format identification"
	EvValidation     EventType = "validation"
	EvNormalization  EventType = "normalization"
	EvReplication    EventType = "replication"
	EvFixityCheck    EventType = "fixity check"
	// EvPolicyAssignment records the retention schedule a bag was put
	// under and when it is due (PREMIS: policy assignment).
	EvPolicyAssignment EventType = "policy assignment"
	// EvDeletion records a bag disposed of: by whose request and approval,
	// under which schedule (PREMIS: deletion).
	EvDeletion EventType = "deletion"
)

// Outcome is an event's outcome.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeWarning Outcome = "warning"
	OutcomeError   Outcome = "error" // the check could not be made (a store that did not answer)
)

// AlertState is where an alert is in triage: open → acknowledged →
// resolved (or open → resolved); a resolved alert reopens when its problem
// comes back.
type AlertState string

const (
	AlertOpen         AlertState = "open"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// Valid reports whether a is an alert state.
func (a AlertState) Valid() bool {
	return slices.Contains([]AlertState{AlertOpen, AlertAcknowledged, AlertResolved}, a)
}

// AlertFilter turns a filter as people write it into alert states: "all"
// (or "") for every state, "active" for open and acknowledged, or states
// separated by commas.
func AlertFilter(f string) ([]AlertState, error) {
	switch f {
	case "", "all":
		return nil, nil
	case "active":
		return []AlertState{AlertOpen, AlertAcknowledged}, nil
	}
	var out []AlertState
	for _, s := range strings.Split(f, ",") {
		if a := AlertState(s); a.Valid() {
			out = append(out, a)
		} else {
			return nil, fmt.Errorf("alert state %q: want open, acknowledged, resolved, active or all", s)
		}
	}
	return out, nil
}

// Problem is what an alert is about: the audit's findings, and what the
// pipeline raises itself.
type Problem string

const (
	ProblemMissing         Problem = "missing"          // a recorded object is gone
	ProblemAltered         Problem = "altered"          // its bytes differ, or something else is in its place
	ProblemTruncated       Problem = "truncated"        // it is shorter than recorded
	ProblemUnexpected      Problem = "unexpected"       // in the store, but in no bag's record
	ProblemTagAltered      Problem = "tag-altered"      // a manifest, tag manifest or tag file differs
	ProblemStoreChecksum   Problem = "store-checksum"   // the store's own checksum disagrees with the record
	ProblemOriginalChanged Problem = "original-changed" // an original changed after intake; not released
	ProblemEnvironment     Problem = "environment"      // the store or a folder unusable for long
	ProblemNoAccessCopy    Problem = "no-access-copy"   // stored with its originals, but no access copy could be made
	ProblemUnidentified    Problem = "unidentified"     // a file Siegfried could not identify, stored as it is
	ProblemCacheAltered    Problem = "cache-altered"    // the local retrieval cache's copy differed from the record; evicted
	ProblemDuplicate       Problem = "duplicate"        // an original whose bytes another bag holds already
	ProblemQuality         Problem = "quality"          // the pages fell short of the data-quality thresholds (quality.fail)
	ProblemItemFailed      Problem = "item-failed"      // an item failed a stage every attempt (the dead-letter path)
)

// ObjectIntact is the outcome of an audit's check of an object that found
// it as recorded; any other outcome is the Problem found.
const ObjectIntact = "intact"

// BatchState is where a pushed batch is; after Closed, its item's stage
// says how it goes on.
type BatchState string

const (
	BatchReceiving BatchState = "receiving"
	BatchClosed    BatchState = "closed" // handed to the pipeline as an item
	BatchExpired   BatchState = "expired"
	BatchAborted   BatchState = "aborted" // given up by its station
)

// DisposalState is where a disposal request is: requested → approved or
// rejected; approved → executing → done or failed; failed → executing
// again (a retry finishes the job).
type DisposalState string

const (
	DisposalRequested DisposalState = "requested"
	DisposalApproved  DisposalState = "approved"
	DisposalRejected  DisposalState = "rejected"
	DisposalExecuting DisposalState = "executing"
	DisposalDone      DisposalState = "done"
	DisposalFailed    DisposalState = "failed"
)

// Valid reports whether d is a disposal state.
func (d DisposalState) Valid() bool {
	return slices.Contains([]DisposalState{DisposalRequested, DisposalApproved, DisposalRejected, DisposalExecuting, DisposalDone, DisposalFailed}, d)
}

// Open reports whether a request in state d still holds its bags: it may
// yet dispose of them.
func (d DisposalState) Open() bool { return d != DisposalRejected && d != DisposalDone }

// CanChange reports whether an alert in state a may move to next: open →
// acknowledged → resolved, and open → resolved.
func (a AlertState) CanChange(next AlertState) bool {
	return next == AlertAcknowledged && a == AlertOpen || next == AlertResolved && a != AlertResolved
}
