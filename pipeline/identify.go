package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// identify names every original's format with Siegfried (PRONOM) and
// applies the format policy: normalise, preserve, or reject. A rejected
// file fails the item at once; what was found is kept either way. A file
// Siegfried cannot identify is preserved with a warning (store raises an
// alert for it) unless the policy rejects unknown formats.
func (e *Engine) identify(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	agent := e.Identify.Signature()
	// Siegfried reads each file's head and tail: a batch of many files is
	// identified on every core at once (it is safe for concurrent use).
	results := make([]identify.Result, len(files))
	errs := atOnce(len(files), func(i int) (err error) {
		results[i], err = e.Identify.File(ctx, e.workFile(it, files[i].Path))
		return err
	})
	var events []catalog.Event
	var rejected error
	for i := range files {
		f := &files[i]
		res, err := results[i], errs[i]
		if err != nil {
			return events, fmt.Errorf("%s: %w", f.Path, err)
		}
		f.PUID, f.MIME, f.Format, f.FormatVersion, f.Basis, f.Warning = res.PUID, res.MIME, res.Format, res.Version, res.Basis, res.Warning
		action, rule := e.Policy.Decide(res)
		f.Action = string(action)
		ev := catalog.Event{File: f.Path, Type: catalog.EvIdentification, Outcome: catalog.OutcomeSuccess, Agent: agent, At: e.Now(),
			Detail: fmt.Sprintf("%s (%s, %s) basis: %s; policy: %s by %s", res.PUID, res.Format, res.MIME, res.Basis, action, rule)}
		unknown := rule == identify.RuleUnknown || rule == identify.RuleExtensionOnly
		switch {
		case action == identify.Reject:
		case rule == identify.RuleExtensionOnly && res.Known() && isText(e.workFile(it, f.Path)):
			// A text sidecar (metadata.json, a CSV) has no signature to
			// match: recorded, but not alerted on in every book.
			ev.Outcome = catalog.OutcomeWarning
			ev.Detail = fmt.Sprintf("%s (%s, %s) by its extension only: a text format has no signature to confirm it; kept as it is: policy %s by %s", res.PUID, res.Format, res.MIME, action, rule)
		case unknown:
			ev.Outcome = catalog.OutcomeWarning
			ev.Detail = fmt.Sprintf("%s (%s); kept as it is: policy %s by %s", notIdentified, strings.TrimSpace(res.Warning+" "+res.Basis), action, rule)
		}
		if action == identify.Reject && rejected == nil {
			ev.Outcome = catalog.OutcomeFailure
			rejected = permanent("%s: format %s (%s, %s) is rejected by the format policy (%s)", f.Path, res.PUID, res.Format, res.MIME, rule)
			if unknown {
				rejected = permanent("%s: %s (%s) and the format policy rejects unknown formats", f.Path, notIdentified, strings.TrimSpace(res.Warning+" "+res.Basis))
			}
		}
		events = append(events, ev)
		if rejected != nil {
			return events, rejected
		}
	}
	dups, in, err := e.duplicates(ctx, it, files)
	if err != nil {
		return events, err
	}
	log.Info("formats identified", "files", len(files), "duplicates", len(dups))
	if err := e.Catalog.PutFiles(ctx, it.ID, files); err != nil {
		return events, err
	}
	if e.Cfg.Duplicates != DuplicatesSkip || len(dups) == 0 {
		for i := range dups {
			dups[i].Detail += "; stored again"
		}
		return append(events, dups...), nil
	}
	dups, err = e.skipDuplicate(ctx, it, files, dups, in, log)
	return append(events, dups...), err
}

// skipDuplicate applies pipeline.duplicates: skip. An item whose every
// original is stored already in one earlier bag is not stored again: its
// originals are released (to done_dir, with a receipt naming that bag)
// without a bag of their own, and an alert says so. An item only part of
// which is stored already is stored whole, with the warnings: a book is
// not cut into the pages nobody had yet.
func (e *Engine) skipDuplicate(ctx context.Context, it *catalog.Item, files []catalog.File, dups []catalog.Event, in []string, log *slog.Logger) ([]catalog.Event, error) {
	bag := in[0]
	for _, b := range in {
		if b != bag {
			bag = ""
		}
	}
	if len(dups) < len(files) || bag == "" {
		for i := range dups {
			dups[i].Detail += "; stored again: not all the item's originals are in one earlier bag, and a part is not skipped"
		}
		return dups, nil
	}
	detail := fmt.Sprintf("not stored: all %d originals of %s are stored already in bag %s (pipeline.duplicates: skip); released with a receipt naming that bag", len(files), it.Name, bag)
	if _, _, err := e.Catalog.RaiseAlert(ctx, bag, catalog.ProblemDuplicate, "", "item "+it.ID+": "+detail, e.Now()); err != nil {
		return dups, err
	}
	log.Warn("duplicate skipped", "bag", bag, "files", len(files))
	it.BagID = bag
	return append(dups, catalog.Event{Type: catalog.EvDigest, Outcome: catalog.OutcomeWarning, Agent: e.Agent, At: e.Now(), Detail: detail}),
		&skipTo{stage: catalog.StageRelease, why: "duplicate of bag " + bag}
}

// alreadyStored starts the warning event of an original whose bytes are
// stored already: store raises an alert for each.
const alreadyStored = "the same bytes are stored already"

// duplicates finds the originals whose bytes are stored already as the
// original of another bag (the same SHA-256), under the duplicates policy:
// a book dropped twice is stored twice, but not without a word. A version
// made by reprocess holds its old bag's originals by design.
// It returns the events and, for each, the earlier bag.
func (e *Engine) duplicates(ctx context.Context, it *catalog.Item, files []catalog.File) ([]catalog.Event, []string, error) {
	if e.Cfg.Duplicates == DuplicatesAllow || it.Kind == catalog.KindReprocess {
		return nil, nil, nil
	}
	var evs []catalog.Event
	var bags []string
	for _, f := range files {
		objs, err := e.Catalog.ObjectsBySHA256(ctx, f.SHA256)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range objs {
			if o.BagID == it.ID || !strings.HasPrefix(o.Key, "data/original/") {
				continue
			}
			evs = append(evs, catalog.Event{File: f.Path, Type: catalog.EvDigest, Outcome: catalog.OutcomeWarning, Agent: e.Agent, At: e.Now(),
				Detail: fmt.Sprintf("%s: sha256 %s is %s in bag %s (pipeline.duplicates: %s)", alreadyStored, f.SHA256, o.Key, o.BagID, e.Cfg.Duplicates)})
			bags = append(bags, o.BagID)
			break // one earlier copy named is enough
		}
	}
	return evs, bags, nil
}

// notIdentified starts the warning of a file no signature identifies:
// store raises an alert for each.
const notIdentified = "format not identified"

// isText reports whether a file's first 8 KiB are UTF-8 text: no NUL, no
// control characters but tab, newline, carriage return and form feed.
func isText(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 8192)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && len(b) >= utf8.UTFMax { // invalid, not a rune cut at the end
			return false
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' {
			return false
		}
		b = b[size:]
	}
	return true
}
