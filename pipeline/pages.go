package pipeline

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Pages spread across machines: a book of at least Cfg.SpreadPages pages
// has its pages recorded in the catalog (catalog.Pages) when its normalise
// stage begins, and every process running stages claims them one by one
// and makes them (decode, turn upright, OCR, encode the image), each
// result a file in the item's work area. The normalise stage writes the
// access copy from them in page order as they come. A page a worker died
// on is claimed again after its lease lapses, counting an attempt; after
// max_attempts it is given up, and the access copy with it (the item is
// stored without one, as for any page that cannot be made).

// pagesBell is the bell rung when pages are waiting to be claimed.
const pagesBell catalog.Stage = "pages"

// pageFarm hands an item's pages to the cluster (access.Farm).
type pageFarm struct {
	e    *Engine
	item string
	ring func(context.Context)

	mu    sync.Mutex
	at    time.Time
	pages []catalog.PageTask
}

// Plan implements access.Farm: a book of fewer pages than the threshold
// is made here, as on one machine.
func (f *pageFarm) Plan(ctx context.Context, specs []access.PageSpec) (bool, error) {
	if len(specs) < f.e.Cfg.SpreadPages {
		return false, nil
	}
	raw := make([][]byte, len(specs))
	for i, s := range specs {
		b, err := json.Marshal(s)
		if err != nil {
			return false, err
		}
		raw[i] = b
	}
	if err := f.e.Catalog.AddPages(ctx, f.item, raw); err != nil {
		return false, err
	}
	f.ring(ctx)
	return true, nil
}

// Page implements access.Farm: it waits for page i to be made, by any
// worker, and reads it from the work area.
func (f *pageFarm) Page(ctx context.Context, i int) (*ocr.Page, error) {
	for {
		t, err := f.task(ctx, i)
		if err != nil {
			return nil, err
		}
		switch t.State {
		case catalog.PageDone:
			return readPage(pageFile(f.e.workDirOf(f.item), t.Nr))
		case catalog.PageFailed:
			return nil, fmt.Errorf("%w: %s", access.ErrInput, t.Failure)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// task returns page i as last read; the item's pages are read again at
// most every 200 ms, whoever asks.
func (f *pageFarm) task(ctx context.Context, i int) (catalog.PageTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.at) > 200*time.Millisecond || i >= len(f.pages) {
		pages, err := f.e.Catalog.PagesOf(ctx, f.item)
		if err != nil {
			return catalog.PageTask{}, err
		}
		f.pages, f.at = pages, time.Now()
	}
	if i >= len(f.pages) {
		return catalog.PageTask{}, fmt.Errorf("pipeline: item %s: page %d of %d is not in the catalog", f.item, i+1, len(f.pages))
	}
	return f.pages[i], nil
}

func pageFile(work string, nr int) string {
	return filepath.Join(work, "pages", fmt.Sprintf("%05d.gob", nr))
}

func readPage(p string) (*ocr.Page, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var page ocr.Page
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&page); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &page, nil
}

// pageWork makes pages of any item's access copy, as many at once as the
// OCR engine has workers, until ctx ends. Pages are claimed also while an
// item runs alone here (run): it may be a book whose pages this process
// must make for it to end.
func (d *Daemon) pageWork(ctx context.Context) {
	e := d.Engine
	d.claimLoop(ctx, max(e.Access.Cfg.OCR.Workers, 1), pagesBell, func() (func(), error) {
		now := e.Now()
		t, err := e.Catalog.ClaimPage(ctx, e.Holder, now, now.Add(e.Cfg.Lease))
		if t == nil {
			return nil, err
		}
		return func() { d.makePage(ctx, t) }, nil
	})
}

// makePage makes one claimed page under its lease and records the result.
func (d *Daemon) makePage(ctx context.Context, t *catalog.PageTask) {
	e := d.Engine
	log := e.Log.With("item", t.ItemID, "page", t.Nr)
	finish := func(failure string) {
		if ok, err := e.Catalog.FinishPage(context.WithoutCancel(ctx), t.ItemID, t.Nr, e.Holder, failure); err != nil || !ok {
			log.Warn("could not record the page; it will be made again", "err", err, "still ours", ok)
		}
	}
	if t.Attempts >= e.Cfg.MaxAttempts {
		log.Error("workers stopped on this page too often; giving it up", "attempts", t.Attempts)
		finish(fmt.Sprintf("page %d: the workers making it stopped %d times (killed, perhaps for memory, or crashed): given up", t.Nr, t.Attempts))
		return
	}
	var spec access.PageSpec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		finish(fmt.Sprintf("page %d: its task cannot be read: %v", t.Nr, err))
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.keep(pctx, e.Cfg.Lease, "page", log, func(ctx context.Context, _, until time.Time) (bool, string, error) {
		ok, err := e.Catalog.LeasePage(ctx, t.ItemID, t.Nr, e.Holder, until)
		return ok, "", err
	}, cancel)
	start := time.Now()
	p, err := e.Access.MakePage(pctx, spec)
	switch {
	case ctx.Err() != nil:
		return // shutting down: the lease lapses, another worker makes it
	case errors.Is(err, access.ErrInput):
		finish(err.Error())
		return
	case err != nil:
		// The machine's (a worker that would not start): let another
		// worker try, after a pause; the claim counts an attempt.
		log.Warn("could not make the page; leaving it to another worker", "err", err)
		e.Catalog.LeasePage(context.WithoutCancel(ctx), t.ItemID, t.Nr, e.Holder, e.Now().Add(e.Cfg.RetryBackoff))
		return
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(p); err != nil {
		finish(fmt.Sprintf("page %d: %v", t.Nr, err))
		return
	}
	out := pageFile(e.workDirOf(t.ItemID), t.Nr)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
		err = writeAtomic(out, &b)
	}
	if err != nil {
		log.Warn("could not write the page; leaving it to another worker", "err", err)
		e.Catalog.LeasePage(context.WithoutCancel(ctx), t.ItemID, t.Nr, e.Holder, e.Now().Add(e.Cfg.RetryBackoff))
		return
	}
	finish("")
	log.Info("page made", "words", len(p.Words), "took", time.Since(start).Round(time.Millisecond))
}
