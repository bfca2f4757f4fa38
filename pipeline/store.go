package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/quality"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// store uploads the bag, then reads every object back and validates the
// stored bag against its manifests and the intake digests. Only then is the
// item stored. A bag missing from the work area (lost with a disk) sends the
// item back to its first stage: its originals are still in place.
func (e *Engine) store(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	dir := e.bagDir(it)
	if _, err := os.Stat(filepath.Join(dir, "bagit.txt")); err != nil {
		return nil, &restart{why: "the bag is not in the work area any more (" + err.Error() + ")"}
	}
	ret, retEv, retained := e.retention(ctx, it, e.Now())
	var opts storage.BagOptions
	if retained && ret.Action == string(retention.Destroy) && !ret.Due.IsZero() {
		opts.RetainUntil = ret.Due // a locking store keeps it until then, not later
	}
	n, err := storage.PutBag(ctx, e.Store, it.BagID, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("bag %s: upload: %w", it.BagID, err)
	}
	fsys, err := storage.BagFS(ctx, e.Store, it.BagID)
	if err != nil {
		return nil, fmt.Errorf("bag %s: read back: %w", it.BagID, err)
	}
	r, err := bagit.Validate(ctx, fsys, bagit.ValidateOptions{})
	if err != nil {
		return nil, fmt.Errorf("bag %s: read back: %w", it.BagID, err)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("bag %s: stored copy is not valid: %w", it.BagID, err)
	}
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		key := "data/" + f.Path
		if r.Manifests[bagit.SHA256][key] != f.SHA256 && r.Manifests[bagit.SHA512][key] != f.SHA512 {
			return nil, fmt.Errorf("bag %s: stored manifest for %s does not match the intake digests", it.BagID, f.Path)
		}
	}
	objs, err := objectRecords(ctx, dir, it.BagID)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	if err := e.Catalog.PutObjects(ctx, it.BagID, objs, now); err != nil {
		return nil, err
	}
	if err := e.Catalog.PutBag(ctx, catalog.Bag{ID: it.BagID, ItemID: it.ID, Store: e.StoreURL, Oxum: r.Info.Get("Payload-Oxum"), Bytes: n, StoredAt: now}); err != nil {
		return nil, err
	}
	log.Info("bag stored and read back", "bag", it.BagID, "bytes", n, "files_checked", r.Checked)
	if q, err := os.ReadFile(filepath.Join(dir, "quality.json")); err == nil {
		var rep quality.Report
		if err := json.Unmarshal(q, &rep); err != nil {
			return nil, fmt.Errorf("bag %s: quality.json: %w", it.BagID, err)
		}
		if err := e.Catalog.SetQuality(ctx, it.BagID, string(rep.Verdict), q); err != nil {
			return nil, err
		}
	}
	if err := e.raiseAlerts(ctx, it); err != nil {
		return nil, err
	}
	evs := []catalog.Event{
		{Type: catalog.EvReplication, Outcome: catalog.OutcomeSuccess, Detail: fmt.Sprintf("%d bytes to %s/%s", n, e.StoreURL, it.BagID), Agent: e.Agent, At: now},
		{Type: catalog.EvFixityCheck, Outcome: catalog.OutcomeSuccess, Detail: fmt.Sprintf("read back %d files; all digests match the manifests and intake", r.Checked), Agent: e.Agent, At: now},
	}
	if retained {
		if err := e.Catalog.SetRetention(ctx, ret); err != nil {
			return nil, err
		}
		evs = append(evs, retEv)
	}
	return evs, nil
}

// raiseAlerts raises what a stored bag's events call for people to see:
// no access copy could be made; a file was not identified (a text sidecar
// known by its extension only has its warning event, not an alert). A new
// version of a bag that holds an access copy resolves the old bag's
// no-access-copy alert.
func (e *Engine) raiseAlerts(ctx context.Context, it *catalog.Item) error {
	evs, err := e.Catalog.Events(ctx, it.ID)
	if err != nil {
		return err
	}
	madeCopy := false
	var raises []catalog.Raise
	for _, ev := range evs {
		switch {
		case ev.Type == catalog.EvNormalization && ev.Outcome == catalog.OutcomeFailure:
			raises = append(raises, catalog.Raise{BagID: it.BagID, Problem: catalog.ProblemNoAccessCopy, Detail: ev.Detail +
				"; the originals are stored. Once the cause is mended, make a new version of the bag with one: strongroom reprocess " + it.BagID})
		case ev.Type == catalog.EvIdentification && ev.Outcome == catalog.OutcomeWarning && strings.HasPrefix(ev.Detail, notIdentified):
			raises = append(raises, catalog.Raise{BagID: it.BagID, Problem: catalog.ProblemUnidentified, Key: "data/" + ev.File, Detail: ev.Detail})
		case ev.Type == catalog.EvDigest && ev.Outcome == catalog.OutcomeWarning && strings.HasPrefix(ev.Detail, alreadyStored):
			raises = append(raises, catalog.Raise{BagID: it.BagID, Problem: catalog.ProblemDuplicate, Key: "data/" + ev.File, Detail: ev.Detail})
		case ev.Type == catalog.EvValidation && strings.HasPrefix(ev.Detail, qualityPrefix+string(quality.Fail)):
			raises = append(raises, catalog.Raise{BagID: it.BagID, Problem: catalog.ProblemQuality, Key: "quality.json", Detail: ev.Detail + "; the pages are stored: look at them, and rescan where needed"})
		case ev.Type == catalog.EvNormalization && ev.Outcome == catalog.OutcomeSuccess:
			madeCopy = true
		}
	}
	// One transaction for them all: a batch of 2,000 files of a format no
	// one knows raises 2,000 alerts.
	if err := e.Catalog.RaiseAlerts(ctx, raises, e.Now()); err != nil {
		return err
	}
	if it.Kind != catalog.KindReprocess || !madeCopy {
		return nil
	}
	prev := catalog.ReprocessedBag(it)
	open, err := e.Catalog.Alerts(ctx, prev, catalog.AlertOpen, catalog.AlertAcknowledged)
	if err != nil {
		return err
	}
	for _, a := range open {
		if a.Problem == catalog.ProblemNoAccessCopy {
			if _, err := e.Catalog.ChangeAlert(ctx, a.ID, catalog.AlertResolved, e.Agent, "bag "+it.BagID+", a new version of this bag, holds an access copy", e.Now()); err != nil {
				return err
			}
		}
	}
	return nil
}

// objectRecords lists every file of the bag in dir with its size and both
// digests, for audits to compare the stored objects against: taken from the
// manifests and tag manifests where they have them, computed otherwise (the
// tag manifests themselves).
func objectRecords(ctx context.Context, dir, bagID string) ([]catalog.Object, error) {
	known := map[string]bagit.Digests{}
	for _, m := range []string{"manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, m))
		if err != nil {
			continue
		}
		a := bagit.Algorithm(strings.TrimSuffix(m[strings.LastIndex(m, "-")+1:], ".txt"))
		entries, _ := bagit.ParseManifest(m, b, true)
		for _, en := range entries {
			if known[en.Path] == nil {
				known[en.Path] = bagit.Digests{}
			}
			known[en.Path][a] = strings.ToLower(en.Digest)
		}
	}
	var out []catalog.Object
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		key := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		dg := known[key]
		if dg[bagit.SHA256] == "" || dg[bagit.SHA512] == "" {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			dg, _, err = bagit.Copy(ctx, nil, f, []bagit.Algorithm{bagit.SHA256, bagit.SHA512})
			f.Close()
			if err != nil {
				return err
			}
		}
		out = append(out, catalog.Object{BagID: bagID, Key: key, Size: info.Size(), SHA256: dg[bagit.SHA256], SHA512: dg[bagit.SHA512]})
		return nil
	})
	return out, err
}
