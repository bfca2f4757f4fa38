package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/imagecheck"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// PREMIS event types (PREMIS event type vocabulary, id.loc.gov).
const (
	EvIngestion      = "ingestion"
	EvDigest         = "message digest calculation"
	EvIdentification = "format identification"
	EvValidation     = "validation"
	EvNormalization  = "normalization"
	EvReplication    = "replication"
	EvFixityCheck    = "fixity check"
)

func (e *Engine) workDir(it *catalog.Item) string { return filepath.Join(e.DataDir, "work", it.ID) }

// original is one file of an item as found at intake.
type original struct {
	source string // absolute path
	rel    string // payload path below data/
}

// originals lists an item's files. Symlinks and special files are refused
// with the file named: a symlink is never followed, inside a batch or not.
func originals(it *catalog.Item) ([]original, error) {
	fi, err := os.Lstat(it.Source)
	if err != nil {
		return nil, permanent("%s: %w", it.Source, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(it.Source)
		return nil, permanent("%s: is a symlink to %q; symlinks are refused, not followed", it.Name, target)
	case fi.Mode().IsRegular():
		return []original{{it.Source, "original/" + it.Name}}, nil
	case !fi.IsDir():
		return nil, permanent("%s: not a regular file or folder (%s)", it.Name, fi.Mode().Type())
	}
	var out []original
	err = filepath.WalkDir(it.Source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return permanent("%s: %w", p, err)
		}
		if p == it.Source {
			return nil
		}
		rel, _ := filepath.Rel(it.Source, p)
		if intake.Ignored(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // temporary files and the batch marker stay out of the bag
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			return permanent("%s/%s: is a symlink to %q; symlinks are refused, not followed", it.Name, filepath.ToSlash(rel), target)
		case d.IsDir():
			return nil
		case !t.IsRegular():
			return permanent("%s/%s: not a regular file (%s)", it.Name, filepath.ToSlash(rel), t)
		}
		out = append(out, original{p, "original/" + it.Name + "/" + filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, permanent("%s: batch folder has no files", it.Name)
	}
	return out, nil
}

// prepare computes fixity first, before anything else reads the bytes,
// then identifies and checks each file, and builds and validates the bag in
// the item's work area. Re-running it rebuilds everything from scratch.
func (e *Engine) prepare(ctx context.Context, it *catalog.Item, log *slog.Logger) error {
	if err := e.Catalog.DeleteEvents(ctx, it.ID, EvIngestion, EvDigest, EvIdentification, EvValidation, EvNormalization); err != nil {
		return err
	}
	origs, err := originals(it)
	if err != nil {
		return err
	}
	ev := func(file, typ, outcome, detail, agent string) catalog.Event {
		return catalog.Event{ItemID: it.ID, BagID: it.ID, File: file, Type: typ, Outcome: outcome, Detail: detail, Agent: agent, At: e.Now()}
	}
	taken := "taken from " + it.Source
	if it.Follows != "" {
		taken += "; follows item " + it.Follows + ", whose originals changed at this place after it took them"
	}
	events := []catalog.Event{ev("", EvIngestion, "success", taken, e.Agent)}
	events[0].At = it.Created
	files := make([]catalog.File, 0, len(origs))
	for _, o := range origs {
		st, err := statFixity(ctx, o.source)
		if err != nil {
			return fmt.Errorf("%s: reading for fixity: %w", o.rel, err)
		}
		if st.size == 0 {
			return permanent("%s: zero-byte file", o.rel)
		}
		files = append(files, catalog.File{Path: o.rel, Source: o.source, Size: st.size, ModTime: st.modTime, Inode: st.inode, SHA256: st.sha256, SHA512: st.sha512})
		events = append(events, ev(o.rel, EvDigest, "success", "sha256:"+st.sha256+" sha512:"+st.sha512, "strongroom "+e.Agent))
	}
	sfAgent := e.Identify.Signature()
	for i := range files {
		f := &files[i]
		res, err := e.Identify.File(ctx, f.Source)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		f.PUID, f.MIME, f.Format, f.FormatVersion, f.Basis, f.Warning = res.PUID, res.MIME, res.Format, res.Version, res.Basis, res.Warning
		action, rule := e.Policy.Decide(res)
		f.Action = string(action)
		detail := fmt.Sprintf("%s (%s, %s) basis: %s; policy: %s by %s", res.PUID, res.Format, res.MIME, res.Basis, action, rule)
		if action == identify.Reject {
			events = append(events, ev(f.Path, EvIdentification, "failure", detail, sfAgent))
			e.Catalog.AddEvents(ctx, events...)
			if rule == identify.RuleUnknown || rule == identify.RuleExtensionOnly {
				return permanent("%s: format not identified (%s) and the format policy rejects unknown formats", f.Path, strings.TrimSpace(res.Warning+" "+res.Basis))
			}
			return permanent("%s: format %s (%s, %s) is rejected by the format policy (%s)", f.Path, res.PUID, res.Format, res.MIME, rule)
		}
		events = append(events, ev(f.Path, EvIdentification, "success", detail, sfAgent))
		if res.MIME == "application/pdf" || strings.HasPrefix(res.PUID, "fmt/") && strings.Contains(res.Format, "PDF") {
			rep, err := pdfa.Check(f.Source, pdfa.CheckOptions{Limits: pdfread.Limits{MaxDecoded: e.Cfg.MaxDecodedBytes, MaxPixels: e.Cfg.MaxPixels}})
			if err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
			if bad := rep.Unreadable(); bad != "" {
				events = append(events, ev(f.Path, EvValidation, "failure", bad, e.Agent+" pdfa"))
				e.Catalog.AddEvents(ctx, events...)
				return permanent("%s: %s", f.Path, bad)
			}
			outcome, detail := "success", fmt.Sprintf("PDF/A-%d%s: the checked clauses pass", rep.Part, strings.ToLower(rep.Conformance))
			if !rep.Valid() {
				outcome, detail = "warning", "kept as it is; not valid PDF/A: "+rep.Err().Error()
			}
			events = append(events, ev(f.Path, EvValidation, outcome, detail, e.Agent+" pdfa"))
		}
		if imagecheck.Supported(res.MIME) {
			info, err := imagecheck.Check(f.Source, e.Cfg.MaxPixels)
			if err != nil {
				events = append(events, ev(f.Path, EvValidation, "failure", err.Error(), e.Agent+" imagecheck"))
				e.Catalog.AddEvents(ctx, events...)
				return permanent("%s: %w", f.Path, err)
			}
			events = append(events, ev(f.Path, EvValidation, "success", fmt.Sprintf("decoded %s %dx%d", info.Format, info.Width, info.Height), e.Agent+" imagecheck"))
		}
	}
	if err := e.Catalog.PutFiles(ctx, it.ID, files); err != nil {
		return err
	}

	work := e.workDir(it)
	bagDir := filepath.Join(work, "bag")
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	w := bagit.NewWriter(bagit.NewDirDest(bagDir), bagit.Options{Algorithms: e.Bag.Algorithms, Agent: e.Agent, Now: e.Now})
	w.Info.Add("Source-Organization", e.Bag.SourceOrganization)
	keys := make([]string, 0, len(e.Bag.Info))
	for k := range e.Bag.Info {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Info.Add(k, e.Bag.Info[k])
	}
	w.Info.Add("External-Identifier", it.Name)
	sender := it.Source
	if it.HotFolder != "" {
		if rel, err := filepath.Rel(it.HotFolder, it.Source); err == nil {
			sender = filepath.ToSlash(rel)
		}
	}
	w.Info.Add("Internal-Sender-Identifier", sender)
	w.Info.Add("Internal-Sender-Description", "strongroom item "+it.ID)
	for _, f := range it.Info {
		w.Info.Add(f.Label, f.Value)
	}
	for _, f := range files {
		d, _, err := w.AddPayloadFile(ctx, f.Path, f.Source)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		// The bag is made from a second read; both reads must agree, or the
		// original changed under us (still being written, or tampered with).
		for a, want := range map[bagit.Algorithm]string{bagit.SHA256: f.SHA256, bagit.SHA512: f.SHA512} {
			if got, ok := d[a]; ok && got != want {
				return fmt.Errorf("%s: changed since intake (%s was %s, now %s)", f.Path, a, want, got)
			}
		}
	}
	evs, err := e.accessCopy(ctx, it, files, work, bagDir, w)
	events = append(events, evs...)
	if err != nil {
		e.Catalog.AddEvents(ctx, events...)
		return err
	}
	report, err := json.MarshalIndent(identificationReport{Tool: sfAgent, Files: files}, "", "  ")
	if err != nil {
		return err
	}
	if err := w.AddTagFile(ctx, "identification.json", bytes.NewReader(append(report, '\n'))); err != nil {
		return err
	}
	premis, err := premisXML(it, files, events)
	if err != nil {
		return err
	}
	if err := w.AddTagFile(ctx, "premis.xml", bytes.NewReader(premis)); err != nil {
		return err
	}
	res, err := w.Close(ctx)
	if err != nil {
		return err
	}
	// Validate the finished bag as any other tool would before it leaves.
	if r, err := bagit.ValidateDir(ctx, bagDir, bagit.ValidateOptions{}); err != nil {
		return err
	} else if err := r.Err(); err != nil {
		return fmt.Errorf("bag %s failed validation before upload: %w", it.ID, err)
	}
	events = append(events, ev("", EvValidation, "success", "bag "+it.ID+" valid (BagIt 1.0, Payload-Oxum "+res.Oxum+")", e.Agent+" bagit"))
	it.BagID = it.ID
	log.Info("bag built", "bag", it.BagID, "files", len(files), "oxum", res.Oxum)
	return e.Catalog.AddEvents(ctx, events...)
}

type identificationReport struct {
	Tool  string         `json:"tool"`
	Files []catalog.File `json:"files"`
}

// store uploads the bag, then reads every object back and validates the
// stored bag against its manifests and the intake digests. Only then is the
// item stored.
func (e *Engine) store(ctx context.Context, it *catalog.Item, log *slog.Logger) error {
	if err := e.Catalog.DeleteEvents(ctx, it.ID, EvReplication, EvFixityCheck); err != nil {
		return err
	}
	bagDir := filepath.Join(e.workDir(it), "bag")
	if _, err := os.Stat(filepath.Join(bagDir, "bagit.txt")); err != nil {
		// The bag was built by another worker (a shared queue) or its work
		// area was lost: build it again here; prepare is idempotent and
		// checks the originals against the intake digests once more.
		log.Warn("bag not in this work area; building it again", "bag", it.BagID)
		if err := e.prepare(ctx, it, log); err != nil {
			return err
		}
	}
	n, err := storage.PutBag(ctx, e.Store, it.BagID, bagDir)
	if err != nil {
		return fmt.Errorf("bag %s: upload: %w", it.BagID, err)
	}
	fsys, err := storage.BagFS(ctx, e.Store, it.BagID)
	if err != nil {
		return fmt.Errorf("bag %s: read back: %w", it.BagID, err)
	}
	r, err := bagit.Validate(ctx, fsys, bagit.ValidateOptions{})
	if err != nil {
		return fmt.Errorf("bag %s: read back: %w", it.BagID, err)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("bag %s: stored copy is not valid: %w", it.BagID, err)
	}
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return err
	}
	for _, f := range files {
		key := "data/" + f.Path
		if r.Manifests[bagit.SHA256][key] != f.SHA256 && r.Manifests[bagit.SHA512][key] != f.SHA512 {
			return fmt.Errorf("bag %s: stored manifest for %s does not match the intake digests", it.BagID, f.Path)
		}
	}
	objs, err := objectRecords(ctx, bagDir, it.BagID)
	if err != nil {
		return err
	}
	now := e.Now()
	if err := e.Catalog.PutObjects(ctx, it.BagID, objs, now); err != nil {
		return err
	}
	if err := e.Catalog.PutBag(ctx, catalog.Bag{ID: it.BagID, ItemID: it.ID, Store: e.StoreURL, Oxum: r.Info.Get("Payload-Oxum"), Bytes: n, StoredAt: now}); err != nil {
		return err
	}
	log.Info("bag stored and read back", "bag", it.BagID, "bytes", n, "files_checked", r.Checked)
	return e.Catalog.AddEvents(ctx,
		catalog.Event{ItemID: it.ID, BagID: it.BagID, Type: EvReplication, Outcome: "success", Detail: fmt.Sprintf("%d bytes to %s/%s", n, e.StoreURL, it.BagID), Agent: e.Agent, At: now},
		catalog.Event{ItemID: it.ID, BagID: it.BagID, Type: EvFixityCheck, Outcome: "success", Detail: fmt.Sprintf("read back %d files; all digests match the manifests and intake", r.Checked), Agent: e.Agent, At: now})
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

// accessCopy OCRs the item's normalise files into data/access/<name>.pdf
// (PDF/A, checked), data/text/<name>.txt and data/alto/<name>.alto.xml,
// and returns the normalization and validation events.
//
// It reads the originals from the bag being written, not from the hot
// folder: the access copy is made of the very bytes that are preserved,
// even if the file in the hot folder is replaced meanwhile.
func (e *Engine) accessCopy(ctx context.Context, it *catalog.Item, files []catalog.File, work, bagDir string, w *bagit.Writer) ([]catalog.Event, error) {
	if e.Access == nil {
		return nil, nil
	}
	var sources []access.Source
	var evs []catalog.Event
	for _, f := range files {
		switch {
		case f.Action != string(identify.Normalise):
		case ocr.Decodable(f.MIME):
			sources = append(sources, access.Source{Path: filepath.Join(bagDir, "data", filepath.FromSlash(f.Path)), Name: f.Path})
		default:
			evs = append(evs, catalog.Event{ItemID: it.ID, BagID: it.ID, File: f.Path, Type: EvNormalization, Outcome: "warning",
				Detail: fmt.Sprintf("%s (%s) cannot be decoded on this system; kept as it is, without an access copy", f.Format, f.MIME), Agent: e.Agent, At: e.Now()})
		}
	}
	if len(sources) == 0 {
		return evs, nil
	}
	name := strings.TrimSuffix(it.Name, filepath.Ext(it.Name))
	if it.Kind == intake.KindBatch || name == "" {
		name = it.Name
	}
	// The longest derived name (NAME.alto.xml) must fit a file name.
	full := name
	name = strings.TrimSuffix(fitName(name, ".alto.xml"), ".alto.xml")
	ev := func(typ, outcome, detail, agent string) catalog.Event {
		return catalog.Event{ItemID: it.ID, BagID: it.ID, File: "access/" + name + ".pdf", Type: typ, Outcome: outcome, Detail: detail, Agent: agent, At: e.Now()}
	}
	res, err := e.Access.Make(ctx, sources, filepath.Join(work, "access"), name, e.OCRByFolder[it.HotFolder])
	if err != nil {
		evs = append(evs, ev(EvNormalization, "failure", err.Error(), e.Agent+" OCR"))
		if errors.Is(err, access.ErrBadInput) {
			return evs, &Permanent{Err: fmt.Errorf("access copy: %w", err)}
		}
		return evs, fmt.Errorf("access copy: %w", err)
	}
	for _, k := range res.Kept {
		evs = append(evs, ev(EvNormalization, "warning", "kept as it is, without an access copy: "+k, e.Agent))
	}
	if res.Pages == 0 {
		return evs, nil
	}
	detail := fmt.Sprintf("%d pages OCRed (%d words) with %s into PDF/A-%s, plain text and ALTO 4.4 in %s", res.Pages, res.Words, res.OCR, e.Access.Cfg.PDFA, res.Took.Round(time.Millisecond))
	if len(res.AssumedDPI) > 0 {
		detail += fmt.Sprintf("; no resolution recorded in %s: %g dpi assumed", strings.Join(res.AssumedDPI, ", "), e.Access.Cfg.OCR.DefaultDPI)
	}
	if len(res.Scaled) > 0 {
		detail += "; " + strings.Join(res.Scaled, "; ")
	}
	if name != full {
		detail += fmt.Sprintf("; the derived files are named %q, shortened from %q to fit a file name", name, full)
	}
	evs = append(evs, ev(EvNormalization, "success", detail, e.Agent+" "+res.OCR))
	if !res.Check.Valid() {
		evs = append(evs, ev(EvValidation, "failure", res.Check.Err().Error(), e.Agent+" pdfa"))
		return evs, &Permanent{Err: fmt.Errorf("access copy of %s failed the PDF/A check, so it is not stored as PDF/A: %w", it.Name, res.Check.Err())}
	}
	evs = append(evs, ev(EvValidation, "success", fmt.Sprintf("PDF/A-%d%s: clauses %s checked, pdfcpu strict validation passed", res.Check.Part,
		strings.ToLower(res.Check.Conformance), strings.Join(pdfa.Clauses, ", ")), e.Agent+" pdfa"))
	if res.VeraPDF != "" {
		evs = append(evs, ev(EvValidation, "success", res.VeraPDF, "veraPDF"))
	}
	for rel, src := range map[string]string{"access/" + name + ".pdf": res.PDF, "text/" + name + ".txt": res.Text, "alto/" + name + ".alto.xml": res.ALTO} {
		if _, _, err := w.AddPayloadFile(ctx, rel, src); err != nil {
			return evs, err
		}
	}
	return evs, nil
}
