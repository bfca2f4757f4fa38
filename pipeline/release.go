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

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
)

// aside is where release puts an item's originals while it checks them:
// beside them, under a dot-name intake ignores, so that nothing finds them
// by their name any more (a writer that reopens the name makes a new file,
// which becomes a new item). The name says whose they are, for anyone who
// finds them there after a crash; the next run of the stage moves them on.
func aside(it *catalog.Item) string {
	return filepath.Join(filepath.Dir(it.Source), fitName(".strongroom-release-"+it.ID+"-"+it.Name, ""))
}

// release lets the originals go now that their bag is stored and read
// back, but only if they are still exactly what was bagged: every file is
// read again and must have the digest, size, mtime and inode fixity
// recorded, and a batch must hold no file it did not hold then. Originals
// that changed are not released: they go back into the hot folder, where
// intake takes them as a new item, linked to this one; this item is stored
// with the bytes it was taken with.
func (e *Engine) release(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	if it.Release == catalog.ReleaseKeep {
		return nil, os.RemoveAll(e.workDir(it))
	}
	tmp := aside(it)
	if _, err := os.Lstat(tmp); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(it.Source); errors.Is(err, fs.ErrNotExist) {
			// Released before a crash, or removed by someone else: either
			// way the stored bag holds what was taken.
			log.Info("originals no longer in the hot folder; nothing to release")
			return nil, os.RemoveAll(e.workDir(it))
		}
		if err := renameNoReplace(it.Source, tmp); err != nil {
			return nil, fmt.Errorf("%s: set aside for release: %w", it.Source, err)
		}
	}
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	diff, err := compareOriginals(ctx, it, tmp, files, e.Cfg.clutter)
	if err != nil {
		return nil, err
	}
	if diff.changed() {
		return e.keepChanged(ctx, it, tmp, diff, log)
	}
	var events []catalog.Event
	if len(diff.missing) > 0 {
		events = append(events, catalog.Event{Type: catalog.EvFixityCheck, Outcome: catalog.OutcomeWarning, Agent: e.Agent, At: e.Now(),
			Detail: "removed from the hot folder before release (the bag holds them as taken): " + strings.Join(diff.missing, ", ")})
	}
	switch it.Release {
	case catalog.ReleaseMove:
		dest, err := moveInto(tmp, e.DoneDir, it)
		if err != nil {
			return events, err
		}
		rp, err := e.writeReceipt(it, dest, files)
		if err != nil {
			return events, err
		}
		log.Info("originals released", "to", dest, "receipt", rp)
	case catalog.ReleaseDelete:
		if err := os.RemoveAll(tmp); err != nil {
			return events, fmt.Errorf("%s: remove original: %w", it.Source, err)
		}
		log.Info("originals removed")
	}
	return events, os.RemoveAll(e.workDir(it))
}

// Receipt is <name>.strongroom.json beside an original released to
// done_dir: what became of it, so that whoever finds the file there can
// tell which bag holds it and check it against the digests.
type Receipt struct {
	Item   string         `json:"item"`
	Name   string         `json:"name"`
	Source string         `json:"source"`
	Bag    string         `json:"bag"`
	Store  string         `json:"store"`
	Time   time.Time      `json:"released"`
	Files  []ReceiptEntry `json:"files"`
}

// ReceiptEntry is one original of a receipt, its path as in the bag.
type ReceiptEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

// writeReceipt writes the receipt beside dest (named by the item id when
// the name does not fit), and returns its path.
func (e *Engine) writeReceipt(it *catalog.Item, dest string, files []catalog.File) (string, error) {
	r := Receipt{Item: it.ID, Name: it.Name, Source: it.Source, Bag: it.BagID, Store: e.StoreURL, Time: e.Now().UTC()}
	for _, f := range files {
		r.Files = append(r.Files, ReceiptEntry{Path: "data/" + f.Path, Size: f.Size, SHA256: f.SHA256, SHA512: f.SHA512})
	}
	return writeBeside(dest, ".strongroom.json", it.ID, r)
}

// writeBeside writes v as JSON to dest's name with suffix, atomically,
// beside dest; a name that cannot take the suffix (too long, odd bytes)
// gives way to the item id, which always fits. It returns the path.
func writeBeside(dest, suffix, id string, v any) (string, error) {
	b, _ := json.MarshalIndent(v, "", "  ")
	b = append(b, '\n')
	p := filepath.Join(filepath.Dir(dest), fitName(filepath.Base(dest), suffix))
	if err := writeAtomic(p, bytes.NewReader(b)); err != nil {
		if classify(err) == waitEnvironment {
			return "", err
		}
		p = filepath.Join(filepath.Dir(dest), id+suffix)
		if err := writeAtomic(p, bytes.NewReader(b)); err != nil {
			return "", err
		}
	}
	return p, nil
}

// difference is how an item's originals differ from what fixity recorded.
type difference struct {
	altered []string // payload paths whose bytes or stat differ, with why
	added   []string // files that were not there at intake
	missing []string // files that are gone
}

func (d difference) changed() bool { return len(d.altered) > 0 || len(d.added) > 0 }

func (d difference) String() string {
	var parts []string
	for _, p := range []struct {
		what  string
		paths []string
	}{{"changed", d.altered}, {"added", d.added}, {"removed", d.missing}} {
		if len(p.paths) > 0 {
			parts = append(parts, p.what+": "+strings.Join(p.paths, "; "))
		}
	}
	return strings.Join(parts, "; ")
}

// compareOriginals reads the originals now at root (it.Source set aside)
// and compares them with the files recorded at intake; clutter, left out
// of the bag, is left out here too.
func compareOriginals(ctx context.Context, it *catalog.Item, root string, files []catalog.File, clutter func(string) bool) (difference, error) {
	var d difference
	want := map[string]catalog.File{} // by path below it.Source ("" for a single file)
	for _, f := range files {
		rel, err := filepath.Rel(it.Source, f.Source)
		if err != nil || rel == "." {
			rel = ""
		}
		want[rel] = f
	}
	seen := map[string]bool{}
	check := func(rel, p string) error {
		f, ok := want[rel]
		if !ok {
			d.added = append(d.added, filepath.ToSlash(filepath.Join(it.Name, rel)))
			return nil
		}
		seen[rel] = true
		st, err := readFixity(ctx, p, nil)
		if err != nil {
			return err
		}
		if why := st.differs(f); why != "" {
			d.altered = append(d.altered, f.Path+" ("+why+")")
		}
		return nil
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return d, err
	}
	if !fi.IsDir() {
		if err := check("", root); err != nil {
			return d, err
		}
	} else {
		err = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			if intake.Ignored(de.Name()) || clutter(de.Name()) {
				if de.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if de.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			return check(rel, p)
		})
		if err != nil {
			return d, err
		}
	}
	for rel, f := range want {
		if !seen[rel] {
			d.missing = append(d.missing, f.Path)
		}
	}
	sort.Strings(d.missing)
	return d, nil
}

// keepChanged puts originals that changed after intake back into the hot
// folder for a new item, records why (an event and an alert), and lets
// this item finish: its bag holds the originals as they were taken.
func (e *Engine) keepChanged(ctx context.Context, it *catalog.Item, tmp string, d difference, log *slog.Logger) ([]catalog.Event, error) {
	back := it.Source
	err := renameNoReplace(tmp, back)
	if errors.Is(err, fs.ErrExist) {
		// Something new has the name already: keep both.
		back = filepath.Join(filepath.Dir(it.Source), withSuffix(it.Name, ".changed-"+it.ID))
		err = renameNoReplace(tmp, back)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: put back for a new item: %w", back, err)
	}
	it.Held = back
	detail := fmt.Sprintf("the originals changed after intake, so they were not released (%s); they are back in the hot folder as %s, to be taken as a new item; this bag holds them as they were taken", d, back)
	events := []catalog.Event{{Type: catalog.EvFixityCheck, Outcome: catalog.OutcomeFailure, Detail: detail, Agent: e.Agent, At: e.Now()}}
	if _, _, err := e.Catalog.RaiseAlert(ctx, it.BagID, catalog.ProblemOriginalChanged, "", detail, e.Now()); err != nil {
		return events, err
	}
	log.Warn("originals changed after intake: not released; left for a new item", "left_as", back, "changes", d.String())
	return events, os.RemoveAll(e.workDir(it))
}
