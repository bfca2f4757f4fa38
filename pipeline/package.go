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

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// pack finishes the bag the earlier stages built in the work area:
// manifests (the originals' digests are those fixity took; what normalise
// made is hashed here), bag-info.txt, identification.json and premis.xml
// with the events so far, the tag manifests; then it validates the bag as
// any other tool would, reading every byte, before it leaves.
func (e *Engine) pack(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	meta, evs := e.describe(it, files)
	if err := e.Catalog.SetMetadata(ctx, it.ID, meta); err != nil {
		return nil, err
	}
	it.Meta = meta
	dir := e.bagDir(it)
	w := bagit.NewWriter(bagit.NewDirDest(dir), bagit.Options{Algorithms: e.Bag.Algorithms, Agent: e.Agent, Now: e.Now})
	e.bagInfo(it, &w.Info)
	if group, err := e.group(ctx, it); err != nil {
		return nil, err
	} else if group != "" {
		w.Info.Add("Bag-Group-Identifier", group)
	}
	for _, f := range files {
		d := bagit.Digests{bagit.SHA256: f.SHA256, bagit.SHA512: f.SHA512}
		if err := e.completeDigests(ctx, e.workFile(it, f.Path), d); err != nil {
			return nil, err
		}
		if err := w.AddPayloadAt(f.Path, f.Size, d); err != nil {
			return nil, err
		}
	}
	made, err := e.addDerived(ctx, it, w)
	if err != nil {
		return nil, err
	}
	report, err := json.MarshalIndent(newIdentificationReport(it, e.Identify.Signature(), files, len(made) > 0), "", "  ")
	if err != nil {
		return nil, err
	}
	if err := w.AddTagFile(ctx, "identification.json", bytes.NewReader(append(report, '\n'))); err != nil {
		return nil, err
	}
	if q, err := os.ReadFile(filepath.Join(e.workDir(it), "quality.json")); err == nil {
		if err := w.AddTagFile(ctx, "quality.json", bytes.NewReader(q)); err != nil {
			return nil, err
		}
	}
	events, err := e.Catalog.Events(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	premis, err := premisXML(it, files, made, events)
	if err != nil {
		return nil, err
	}
	if err := w.AddTagFile(ctx, "premis.xml", bytes.NewReader(premis)); err != nil {
		return nil, err
	}
	res, err := w.Close(ctx)
	if err != nil {
		return nil, err
	}
	// Complete, well formed, its Payload-Oxum right: the payload's
	// digests are the intake's, and the store stage reads every byte of
	// the stored bag back against them, so hashing it here too would only
	// read it once more.
	r, err := bagit.ValidateDir(ctx, dir, bagit.ValidateOptions{Fast: true})
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("bag %s failed validation before upload: %w", it.ID, err)
	}
	it.BagID = it.ID
	log.Info("bag built", "bag", it.BagID, "files", len(res.Payload), "oxum", res.Oxum)
	return append(evs, catalog.Event{Type: catalog.EvValidation, Outcome: catalog.OutcomeSuccess, Agent: e.Agent + " bagit", At: e.Now(),
		Detail: "bag " + it.ID + " valid (BagIt 1.0, Payload-Oxum " + res.Oxum + ")"}), nil
}

// bagInfo fills bag-info.txt: the organisation, the configured fields,
// the item's description (Title, External-Identifier, Rights-Statement,
// Access-Restriction...), where it came from, and the other fields it
// brought (a station's).
// group names the bags an item belongs with: one that follows another (its
// originals changed, or pages came, after the first took them) is in the
// group of the first bag of that line, named by that bag's id. "" for an
// item that follows none.
func (e *Engine) group(ctx context.Context, it *catalog.Item) (string, error) {
	first := ""
	for id, n := it.Follows, 0; id != "" && n < 1000; n++ {
		prev, err := e.Catalog.Item(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			break
		}
		if err != nil {
			return "", err
		}
		if prev.BagID != "" {
			first = prev.BagID
		}
		id = prev.Follows
	}
	return first, nil
}

func (e *Engine) bagInfo(it *catalog.Item, info *bagit.Info) {
	info.Add("Source-Organization", e.Bag.SourceOrganization)
	keys := make([]string, 0, len(e.Bag.Info))
	for k := range e.Bag.Info {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		info.Add(k, e.Bag.Info[k])
	}
	for _, f := range catalog.Fields {
		if v := *f.Ptr(&it.Meta); v != "" {
			info.Add(f.Label, v)
		}
	}
	if it.Kind == catalog.KindReprocess {
		info.Add("Is-Version-Of", catalog.ReprocessedBag(it))
	}
	sender := it.Source
	if it.HotFolder != "" {
		if rel, err := filepath.Rel(it.HotFolder, it.Source); err == nil {
			sender = filepath.ToSlash(rel)
		}
	}
	info.Add("Internal-Sender-Identifier", sender)
	info.Add("Internal-Sender-Description", "strongroom item "+it.ID)
	for _, f := range it.Info {
		if _, described := catalog.FieldNamed(f.Label); !described {
			info.Add(f.Label, f.Value)
		}
	}
}

// completeDigests adds to d the digests of the bag's algorithms it lacks
// (md5 or sha1, if configured), reading the file at p.
func (e *Engine) completeDigests(ctx context.Context, p string, d bagit.Digests) error {
	var missing []bagit.Algorithm
	for _, a := range e.Bag.Algorithms {
		if d[a] == "" {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	got, err := digests(ctx, p, missing)
	for a, v := range got {
		d[a] = v
	}
	return err
}

// addDerived adds what normalise made (data/access, data/text, data/alto)
// to the bag, hashing it here.
func (e *Engine) addDerived(ctx context.Context, it *catalog.Item, w *bagit.Writer) ([]derivedFile, error) {
	data := filepath.Join(e.bagDir(it), "data")
	var made []derivedFile
	for _, d := range derived {
		err := filepath.WalkDir(filepath.Join(data, d.dir), func(p string, de fs.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return fs.SkipDir
			}
			if err != nil || de.IsDir() {
				return err
			}
			dg, err := digests(ctx, p, e.Bag.Algorithms)
			if err != nil {
				return err
			}
			info, err := de.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(data, p)
			made = append(made, derivedFile{Path: filepath.ToSlash(rel), Size: info.Size(), Digests: dg})
			return w.AddPayloadAt(filepath.ToSlash(rel), info.Size(), dg)
		})
		if err != nil {
			return nil, err
		}
	}
	return made, nil
}

// digests reads the file at p once for the algorithms.
func digests(ctx context.Context, p string, algs []bagit.Algorithm) (bagit.Digests, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, _, err := bagit.Copy(ctx, nil, f, algs)
	return d, err
}

// identificationReport is identification.json: what Siegfried said of
// each original and what the format policy did with it. Its keys are
// documented by pipeline/schemas/identification.schema.json.
type identificationReport struct {
	Tool  string               `json:"tool"`
	Files []identificationFile `json:"files"`
}

type identificationFile struct {
	Path          string `json:"path"`          // payload path below data/
	OriginalName  string `json:"original_name"` // as received, relative to the hot folder or batch
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	SHA512        string `json:"sha512"`
	PUID          string `json:"puid"`
	MIME          string `json:"mime"`
	Format        string `json:"format"`
	FormatVersion string `json:"format_version"`
	Basis         string `json:"basis"`
	Warning       string `json:"warning"`
	// Action is what was done: normalise (an access copy was made from
	// it), preserve (kept as it is) or reject.
	Action string `json:"action"`
}

// newIdentificationReport says, for each original, the action as taken:
// an original the policy would normalise from which no access copy was
// made (a born-digital PDF with its own text) was preserved.
func newIdentificationReport(it *catalog.Item, tool string, files []catalog.File, madeCopy bool) identificationReport {
	r := identificationReport{Tool: tool, Files: []identificationFile{}}
	for _, f := range files {
		action := f.Action
		if action == "normalise" && !madeCopy {
			action = "preserve"
		}
		r.Files = append(r.Files, identificationFile{Path: f.Path, OriginalName: originalName(it, f), Size: f.Size, SHA256: f.SHA256, SHA512: f.SHA512,
			PUID: f.PUID, MIME: f.MIME, Format: f.Format, FormatVersion: f.FormatVersion, Basis: f.Basis, Warning: f.Warning, Action: action})
	}
	return r
}
