// Package disposal executes approved disposal requests: it deletes every
// object of each bag from the store (every version, where the store keeps
// versions), its search index rows, its cached copies and work-area
// remains, stores a disposal certificate (JSON, and a PDF/A a person
// reads), and leaves a tombstone and a PREMIS deletion event in the
// catalog. The catalog enforces who may
// decide and that no hold holds a bag; this package only acts on what it
// allowed, and can be run again after any failure or crash.
package disposal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// CertificateFolder is the store's top-level folder of disposal
// certificates: kept for good, outside every bag.
const CertificateFolder = "disposal-certificates"

// Purger is a store that keeps versions of an object: Purge deletes every
// version of key and returns their ids. A store without versions deletes
// with Delete.
type Purger interface {
	Purge(ctx context.Context, key string) ([]string, error)
}

// Locker is a store that may hold objects back from deletion (S3 Object
// Lock): a disposal checks every object before it deletes any.
type Locker interface {
	Lock(ctx context.Context, key string) (storage.Lock, error)
}

// LegalHolder is a store that can put its own legal hold on objects; Locks
// says whether this one can (the bucket has Object Lock on).
type LegalHolder interface {
	Locks(ctx context.Context) bool
	SetLegalHold(ctx context.Context, key string, on bool) error
}

// SyncLegalHold makes the store's legal hold on every object of bag what
// the catalog says: on while a hold in force holds the bag, off when none
// does. It reports whether the store can hold objects at all.
func SyncLegalHold(ctx context.Context, cat catalog.Catalog, st storage.Store, bag string) (bool, error) {
	st, err := storage.Unwrap(st)
	if err != nil {
		return false, err
	}
	lh, ok := st.(LegalHolder)
	if !ok || !lh.Locks(ctx) {
		return false, nil
	}
	holds, err := cat.HoldsOn(ctx, bag)
	if err != nil {
		return true, err
	}
	objs, err := cat.Objects(ctx, bag)
	if err != nil {
		return true, err
	}
	for _, o := range objs {
		if err := lh.SetLegalHold(ctx, bag+"/"+o.Key, len(holds) > 0); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Index is the search index a disposed bag leaves.
type Index interface {
	DeleteBag(ctx context.Context, bag string) error
}

// Executor carries out approved requests.
type Executor struct {
	Catalog   catalog.Catalog
	Store     storage.Store
	StoreURL  string
	Index     Index // may be nil: no search index
	Retention retention.Config
	// Transfer opens the store bags under a transfer schedule go to
	// (retention.transfer), with its URL; nil when none is configured.
	Transfer func(ctx context.Context) (storage.Store, string, error)
	// CacheDir holds the retrieval cache (files named by SHA-256) and
	// WorkDir the items' work areas; either may be "".
	CacheDir, WorkDir string
	Agent             string
	Log               *slog.Logger
	Now               func() time.Time
}

// Execute runs (or resumes) request id: every bag not disposed of yet is
// deleted and tombstoned. It returns the request as it ended; a store
// that fails halfway ends it failed, with what was and was not deleted,
// and running it again finishes the job.
func (x *Executor) Execute(ctx context.Context, id int64) (*catalog.Disposal, error) {
	// What only some stores do (versions, locks) is asked of the store
	// itself, not of the daemon's wrapper that opens it in the background.
	st, err := storage.Unwrap(x.Store)
	if err != nil {
		return nil, fmt.Errorf("disposal request %d: nothing done: %w", id, err)
	}
	x2 := *x
	x2.Store = st
	x = &x2
	d, err := x.Catalog.BeginDisposal(ctx, id, x.Now())
	if err != nil {
		if errors.Is(err, catalog.ErrHeld) {
			d, _ = x.Catalog.Disposal(ctx, id)
		}
		return d, err
	}
	done := map[string]bool{}
	for _, b := range d.Disposed {
		done[b] = true
	}
	for _, bag := range d.Bags {
		if done[bag] {
			continue
		}
		if err := x.dispose(ctx, d, bag); err != nil {
			detail := fmt.Sprintf("bag %s: %v; %d of %d bags disposed of before it; run the request again to finish", bag, err, len(done), len(d.Bags))
			x.Log.Error("disposal failed", "request", id, "bag", bag, "err", err)
			if eerr := x.Catalog.EndDisposal(context.WithoutCancel(ctx), id, catalog.DisposalFailed, detail, x.Now()); eerr != nil {
				return d, errors.Join(err, eerr)
			}
			d, _ = x.Catalog.Disposal(ctx, id)
			return d, fmt.Errorf("disposal request %d: %s", id, detail)
		}
		done[bag] = true
	}
	if err := x.Catalog.EndDisposal(ctx, id, catalog.DisposalDone, fmt.Sprintf("%d bags disposed of", len(d.Bags)), x.Now()); err != nil {
		return d, err
	}
	return x.Catalog.Disposal(ctx, id)
}

// Due checks that bags may be asked to be disposed of on day now: each
// one's retention schedule ends in destroy or transfer, the same for all,
// and its due date has come. It returns that action. A hold is the
// catalog's to check (it may come later).
func Due(ctx context.Context, cat catalog.Retentions, bags []string, now time.Time) (string, error) {
	action := ""
	for _, bag := range bags {
		r, err := cat.Retention(ctx, bag)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			return "", fmt.Errorf("%w: bag %s has no retention schedule", ErrNotDue, bag)
		case err != nil:
			return "", err
		case r.Action != string(retention.Destroy) && r.Action != string(retention.Transfer):
			return "", fmt.Errorf("%w: bag %s: schedule %s ends in %s, not destroy or transfer", ErrNotDue, bag, r.Schedule, r.Action)
		case r.Due.IsZero():
			return "", fmt.Errorf("%w: bag %s: schedule %s: due date not known (%s)", ErrNotDue, bag, r.Schedule, r.Unknown)
		case r.Due.After(now):
			return "", fmt.Errorf("%w: bag %s: schedule %s is due on %s", ErrNotDue, bag, r.Schedule, retention.DueText(r.Due))
		case action != "" && r.Action != action:
			return "", fmt.Errorf("%w: bag %s is due for %s, the others for %s: one request per action", ErrNotDue, bag, r.Action, action)
		}
		action = r.Action
	}
	return action, nil
}

// ErrNotDue is returned by Due.
var ErrNotDue = errors.New("not due for disposal")

// dispose deletes one bag and records it. Every step can be run again:
// a crash anywhere leaves the bag "being disposed of" and the next run
// repeats what it must. The tombstone is written last, when nothing of
// the bag is left in the store.
func (x *Executor) dispose(ctx context.Context, d *catalog.Disposal, bag string) error {
	t, objs, err := x.tombstone(ctx, d, bag)
	if err != nil {
		return err
	}
	// The certificate must be possible before anything goes.
	glyphless, err := pdfa.GlyphlessFont()
	if err != nil {
		return fmt.Errorf("nothing deleted: the certificate cannot be made: %w", err)
	}
	// What the catalog recorded of the bag, and anything else the store
	// holds under its name (a stray file is not left behind); listed again
	// on a resumed run, when some are gone already.
	var keys []string
	recorded := map[string]bool{}
	for _, o := range objs {
		k := bag + "/" + o.Key
		recorded[k] = true
		keys = append(keys, k)
		t.Deleted = append(t.Deleted, k)
	}
	for oi, err := range x.Store.List(ctx, bag+"/") {
		if err != nil {
			return fmt.Errorf("list the store: %w", err)
		}
		if !recorded[oi.Key] {
			keys = append(keys, oi.Key)
			t.Deleted = append(t.Deleted, oi.Key+" (not recorded in the catalog)")
		}
	}
	if err := x.unlocked(ctx, keys); err != nil {
		return err
	}
	if d.Action == string(retention.Transfer) {
		if t.TransferredTo, err = x.transfer(ctx, bag, objs); err != nil {
			return fmt.Errorf("nothing deleted: transfer: %w", err)
		}
	}
	deleted := 0
	purger, versioned := x.Store.(Purger)
	for _, k := range keys {
		if versioned {
			versions, err := purger.Purge(ctx, k)
			if err != nil {
				return fmt.Errorf("deleted %d of %d objects; %s: %w", deleted, len(keys), k, err)
			}
			for _, v := range versions {
				t.Deleted = append(t.Deleted, k+" version "+v)
			}
		} else if err := x.Store.Delete(ctx, k); err != nil {
			return fmt.Errorf("deleted %d of %d objects; %s: %w", deleted, len(keys), k, err)
		}
		deleted++
	}
	for oi, err := range x.Store.List(ctx, bag+"/") {
		if err != nil {
			return fmt.Errorf("list the store after deleting: %w", err)
		}
		return fmt.Errorf("%s is still in the store after it was deleted", oi.Key)
	}
	if x.Index != nil {
		if err := x.Index.DeleteBag(ctx, bag); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
	}
	if x.CacheDir != "" {
		for _, o := range objs {
			if o.SHA256 != "" {
				if err := os.Remove(filepath.Join(x.CacheDir, o.SHA256)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("retrieval cache: %w", err)
				}
			}
		}
	}
	if x.WorkDir != "" && t.ItemID != "" {
		if err := os.RemoveAll(filepath.Join(x.WorkDir, t.ItemID)); err != nil {
			return fmt.Errorf("work area: %w", err)
		}
	}
	t.Certificate = fmt.Sprintf("%s/%d/%s.json", CertificateFolder, d.ID, bag)
	t.CertificatePDF = strings.TrimSuffix(t.Certificate, ".json") + ".pdf"
	cert, _ := json.MarshalIndent(t, "", "  ")
	cert = append(cert, '\n')
	if err := x.putChecked(ctx, t.Certificate, cert); err != nil {
		return fmt.Errorf("disposal certificate: %w", err)
	}
	pdf, err := CertificatePDF(t, glyphless)
	if err != nil {
		return fmt.Errorf("disposal certificate (PDF): %w", err)
	}
	if err := x.putChecked(ctx, t.CertificatePDF, pdf); err != nil {
		return fmt.Errorf("disposal certificate (PDF): %w", err)
	}
	if err := x.Catalog.DisposeBag(ctx, d.ID, *t); err != nil {
		return err
	}
	x.Log.Info("bag disposed of", "request", d.ID, "bag", bag, "objects", deleted, "certificate", t.Certificate)
	return x.Catalog.AddEvents(ctx, catalog.Event{ItemID: t.ItemID, BagID: bag, Type: catalog.EvDeletion, Outcome: catalog.OutcomeSuccess,
		Agent: x.Agent, At: t.Disposed, Detail: fmt.Sprintf("disposed of (%s) under schedule %s%s by request %d of %s (%s), approved by %s;%s %d objects deleted; certificate %s",
			d.Action, t.Schedule, mandate(t.Mandate), d.ID, d.RequestedBy, d.Reason, d.DecidedBy, transferred(t.TransferredTo), deleted, t.Certificate)})
}

// transfer copies a bag's recorded objects to the transfer store, under
// the same keys, each checked against its SHA-256 as it is written, then
// reads the copy back and validates it as a bag whose manifests are the
// ones recorded here. It returns where the bag went.
func (x *Executor) transfer(ctx context.Context, bag string, objs []catalog.Object) (string, error) {
	if x.Transfer == nil {
		return "", errors.New("retention.transfer.url is not set")
	}
	dest, url, err := x.Transfer(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if err := x.copyObject(ctx, dest, bag+"/"+o.Key, o); err != nil {
			return "", err
		}
	}
	fsys, err := storage.BagFS(ctx, dest, bag)
	if err != nil {
		return "", err
	}
	r, err := bagit.Validate(ctx, fsys, bagit.ValidateOptions{})
	if err == nil {
		err = r.Err()
	}
	if err != nil {
		return "", fmt.Errorf("the copy at %s is not a valid bag: %w", url, err)
	}
	for _, o := range objs {
		if got, ok := r.Manifests[bagit.SHA256][o.Key]; ok && got != o.SHA256 {
			return "", fmt.Errorf("the copy's manifest gives %s sha256 %s, recorded %s", o.Key, got, o.SHA256)
		}
	}
	x.Log.Info("bag transferred and verified", "bag", bag, "to", url, "objects", len(objs))
	return url, nil
}

func (x *Executor) copyObject(ctx context.Context, dest storage.Store, key string, o catalog.Object) error {
	rc, err := x.Store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := dest.Put(ctx, key, rc, o.Size, storage.PutOptions{SHA256: o.SHA256, Metadata: map[string]string{"bag": o.BagID}}); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// unlocked checks, before anything is deleted, that the store holds none
// of keys back: a compliance lock that has not run out (the disposal must
// wait for it: nobody can shorten it), or a legal hold of the store's own
// (storage.s3.lock.legal_hold, or one left behind). A governance lock is
// no obstacle: the approval is the authority it asks for.
func (x *Executor) unlocked(ctx context.Context, keys []string) error {
	lk, ok := x.Store.(Locker)
	if !ok {
		return nil
	}
	now := x.Now()
	for _, k := range keys {
		l, err := lk.Lock(ctx, k)
		switch {
		case err != nil:
			return fmt.Errorf("nothing deleted: lock of %s: %w", k, err)
		case l.LegalHold:
			return fmt.Errorf("nothing deleted: %s is under an S3 legal hold (storage.s3.lock.legal_hold, or set by hand); lift it first", k)
		case l.Mode == "compliance" && l.Until.After(now):
			return fmt.Errorf("nothing deleted: %s is locked in compliance mode until %s; the disposal must wait until then", k, l.Until.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

func transferred(to string) string {
	if to == "" {
		return ""
	}
	return " transferred to " + to + " and verified there;"
}

func mandate(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

// tombstone gathers what is kept of a bag: from the catalog's records of
// its item, bag, objects and retention.
func (x *Executor) tombstone(ctx context.Context, d *catalog.Disposal, bag string) (*catalog.Tombstone, []catalog.Object, error) {
	b, err := x.Catalog.Bag(ctx, bag)
	if err != nil {
		return nil, nil, err
	}
	objs, err := x.Catalog.Objects(ctx, bag)
	if err != nil {
		return nil, nil, err
	}
	t := &catalog.Tombstone{BagID: bag, ItemID: b.ItemID, Bytes: b.Bytes, Oxum: b.Oxum, StoredAt: b.StoredAt, Request: d.ID, Reason: d.Reason,
		RequestedBy: d.RequestedBy, ApprovedBy: d.DecidedBy, Approved: d.Decided, Disposed: x.Now().UTC(), Store: x.StoreURL}
	if it, err := x.Catalog.Item(ctx, b.ItemID); err == nil {
		t.Title, t.Identifier, t.Collection = it.Meta.Title, it.Meta.Identifier, it.Meta.Collection
		if t.Title == "" {
			t.Title = it.Name
		}
	}
	for _, o := range objs {
		if strings.HasPrefix(o.Key, "data/") {
			t.Files++
		}
		if o.Key == "tagmanifest-sha512.txt" {
			t.TagManifestSHA512 = o.SHA512
		}
	}
	if r, err := x.Catalog.Retention(ctx, bag); err == nil {
		t.Schedule, t.Due = r.Schedule, r.Due
		if s, ok := x.Retention.Find(r.Schedule); ok {
			t.Mandate = s.Mandate
		}
	}
	return t, objs, nil
}

// putChecked stores b at key and reads it back.
func (x *Executor) putChecked(ctx context.Context, key string, b []byte) error {
	sum := sha256.Sum256(b)
	if err := x.Store.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{SHA256: hex.EncodeToString(sum[:])}); err != nil {
		return err
	}
	r, err := x.Store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha512.New()
	got := sha512.Sum512(b)
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), got[:]) {
		return fmt.Errorf("%s: read back differs from what was written", key)
	}
	return nil
}
