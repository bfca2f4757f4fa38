package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/strongroom-archive/strongroom/formats/alto"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pdfread"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/search"
)

// index adds the stored bag's pages to the search index: the OCR words
// of its access copy (from ALTO, with their boxes) and the text of the
// PDFs it keeps as they are. Search is secondary: an index that cannot be
// written is logged and the item goes on (`strongroom index rebuild`
// makes the index again from the store); it never holds an original back.
func (e *Engine) index(ctx context.Context, it *catalog.Item, log *slog.Logger) ([]catalog.Event, error) {
	if e.Index == nil {
		return nil, nil
	}
	files, err := e.Catalog.Files(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	bag, err := e.Catalog.Bag(ctx, it.BagID)
	if err != nil {
		return nil, err
	}
	pages, err := e.Pages(ctx, filepath.Join(e.bagDir(it), "data"), files)
	if err == nil {
		err = e.Index.PutBag(ctx, search.DocOf(bag, it, files), pages)
	}
	// The new version is found, not both; but a version without text
	// (its access copy could not be made) never takes findable words from
	// the version before it: that one stays in the index.
	if err == nil && it.Kind == catalog.KindReprocess && len(pages) > 0 {
		err = e.Index.DeleteBag(ctx, catalog.ReprocessedBag(it))
	} else if err == nil && it.Kind == catalog.KindReprocess {
		log.Warn("the new version has no text to index; the version before it stays in the search index", "bag", it.BagID, "previous", catalog.ReprocessedBag(it))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Error("not indexed for search; `strongroom index rebuild` adds it later", "bag", it.BagID, "err", err)
		return nil, nil
	}
	log.Info("indexed for search", "bag", it.BagID, "pages", len(pages))
	return nil, nil
}

// Pages reads a bag's pages for the index from its data folder (the work
// area, or a copy from the store): each access copy's ALTO with the page
// sizes of its PDF, and each original PDF that carries text of its own.
func (e *Engine) Pages(ctx context.Context, data string, files []catalog.File) ([]search.Page, error) {
	var out []search.Page
	altos, _ := filepath.Glob(filepath.Join(data, "alto", "*.alto.xml"))
	for _, a := range altos {
		name := strings.TrimSuffix(filepath.Base(a), ".alto.xml")
		pdf := filepath.Join(data, "access", name+".pdf")
		pages, err := e.altoPages(ctx, a, pdf, "data/access/"+name+".pdf")
		if err != nil {
			return nil, err
		}
		out = append(out, pages...)
	}
	for _, f := range files {
		if f.MIME != "application/pdf" || e.Decoder == nil {
			continue
		}
		p := filepath.Join(data, filepath.FromSlash(f.Path))
		if err := e.withinLimits(p); err != nil {
			e.Log.Warn("the text of a PDF is not indexed", "file", f.Path, "err", err)
			continue
		}
		text, err := e.Decoder.Text(ctx, p)
		if err != nil {
			e.Log.Warn("the text of a PDF is not indexed", "file", f.Path, "err", err)
			continue
		}
		// A PDF with pages without text of their own went into the access
		// copy (formats/access keeps as it is only a PDF whose every page
		// has text): its words are found there, once.
		if len(altos) > 0 && slices.ContainsFunc(text, func(t ocr.PDFText) bool { return len(t.Words) == 0 }) {
			continue
		}
		for i, t := range text {
			// Boxes in points become pixels at 144 dpi: the page image a
			// page view renders is that or a scale of it.
			p := search.Page{File: "data/" + f.Path, N: i + 1, WidthPt: t.Width, HeightPt: t.Height,
				Width: int(math.Round(t.Width * 2)), Height: int(math.Round(t.Height * 2))}
			for _, w := range t.Words {
				p.Words = append(p.Words, search.Word{Text: w.Text, Box: image.Rect(int(w.X0*2), int(w.Y0*2), int(math.Ceil(w.X1*2)), int(math.Ceil(w.Y1*2)))})
			}
			if len(p.Words) > 0 {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// withinLimits checks a PDF against the stream limits before PDFium reads
// its text: a decompression bomb kept as it is stays unread here too.
func (e *Engine) withinLimits(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = pdfread.Read(f, pdfread.Limits{MaxDecoded: e.Cfg.MaxDecodedBytes, MaxPixels: e.Cfg.MaxPixels})
	if errors.Is(err, pdfread.ErrTooLarge) {
		return err
	}
	return nil // pdfcpu may not read a damaged PDF that PDFium does
}

// altoPages reads one access copy's ALTO; the PDF gives each page's size
// in points (what boxes are converted to).
func (e *Engine) altoPages(ctx context.Context, altoPath, pdfPath, file string) ([]search.Page, error) {
	f, err := os.Open(altoPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	read, err := alto.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(altoPath), err)
	}
	var sizes [][2]float64
	if e.Decoder != nil {
		if info, err := e.Decoder.Inspect(ctx, pdfPath); err == nil {
			for _, p := range info.PDFPages {
				sizes = append(sizes, [2]float64{p.Width, p.Height})
			}
		} else {
			e.Log.Warn("access copy's page sizes unknown: boxes are given in pixels only", "file", file, "err", err)
		}
	}
	out := make([]search.Page, len(read))
	for i, r := range read {
		p := search.Page{File: file, N: i + 1, Width: r.Width, Height: r.Height}
		if i < len(sizes) {
			p.WidthPt, p.HeightPt = sizes[i][0], sizes[i][1]
		}
		for _, w := range r.Words {
			p.Words = append(p.Words, search.Word{Text: w.Text, Box: w.Box})
		}
		out[i] = p
	}
	return out, nil
}
