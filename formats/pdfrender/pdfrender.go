// Package pdfrender renders PDF pages with PDFium (BSD-3-Clause), compiled
// to WebAssembly and run by wazero through go-pdfium: no cgo and no system
// library, and a PDF that trips a bug in PDFium cannot reach past the
// WebAssembly sandbox's memory. Like package raster it runs only inside OCR
// worker processes, whose memory cap and page timeout bound it too.
package pdfrender

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"strings"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/strongroom-archive/strongroom/formats/raster"
)

// Renderer holds one PDFium instance and the document last opened.
type Renderer struct {
	pool   pdfium.Pool
	inst   pdfium.Pdfium
	file   *os.File
	path   string
	doc    references.FPDF_DOCUMENT
	open   bool
	memory int64 // PDFium's WebAssembly memory, in bytes (0: wazero's default)
}

// Trapped reports whether err is PDFium failing as an engine rather than
// answering about the file: a WebAssembly trap (an abort, "unreachable",
// an access out of bounds: what PDFium does when an allocation fails) or
// running out of its memory. Such a failure says nothing of the file, and
// the instance may be left in a bad state: it is discarded. wazero's trap
// errors are not exported as types, so their text is what there is.
func Trapped(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "wasm error") || strings.Contains(msg, "out of memory") || strings.Contains(msg, "memory limit")
}

// New starts PDFium. cacheDir keeps wazero's compiled code between
// processes (3–4 s to compile, 0.2 s to load; "" compiles every time);
// memory bounds PDFium's WebAssembly memory.
func New(cacheDir string, memory int64) (*Renderer, error) {
	rc := wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling)
	if pages := memory / 65536; pages > 0 {
		rc = rc.WithMemoryLimitPages(uint32(min(pages, 65536)))
	}
	if cacheDir != "" {
		if cache, err := wazero.NewCompilationCacheWithDir(cacheDir); err == nil {
			rc = rc.WithCompilationCache(cache)
		}
	}
	ctx := experimental.WithMemoryAllocator(context.Background(), experimental.MemoryAllocatorFunc(allocate))
	pool, err := webassembly.Init(webassembly.Config{Context: ctx, MinIdle: 1, MaxIdle: 1, MaxTotal: 1, RuntimeConfig: rc})
	if err != nil {
		return nil, fmt.Errorf("pdfrender: start PDFium: %w", err)
	}
	inst, err := pool.GetInstance(time.Minute)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("pdfrender: start PDFium: %w", err)
	}
	return &Renderer{pool: pool, inst: inst, memory: memory}, nil
}

// Close closes the document and stops PDFium.
func (r *Renderer) Close() {
	r.closeDoc()
	r.inst.Close()
	r.pool.Close()
}

func (r *Renderer) closeDoc() {
	if r.open {
		r.inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: r.doc})
		r.file.Close()
		r.open = false
	}
}

// ErrEncrypted is returned for a PDF that needs a password to open.
var ErrEncrypted = errors.New("the PDF needs a password to open")

// Open opens the PDF at path (reading it as PDFium asks, not all at once)
// and returns its number of pages. The document stays open for the pages
// that follow; another path closes it.
func (r *Renderer) Open(path string) (int, error) {
	if !r.open || r.path != path {
		r.closeDoc()
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, err
		}
		doc, err := r.inst.OpenDocument(&requests.OpenDocument{FileReader: f, FileReaderSize: fi.Size()})
		if err != nil {
			f.Close()
			if errors.Is(err, pdfiumerrors.ErrPassword) || errors.Is(err, pdfiumerrors.ErrSecurity) {
				return 0, ErrEncrypted
			}
			return 0, fmt.Errorf("PDFium cannot open it: %w", err)
		}
		r.file, r.path, r.doc, r.open = f, path, doc.Document, true
	}
	n, err := r.inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: r.doc})
	if err != nil {
		return 0, err
	}
	return n.PageCount, nil
}

// Page is what PDFium sees on a page.
type Page struct {
	// Width and Height are the page's size as shown (its crop box, turned
	// by its /Rotate), in points.
	Width, Height float64
	Rotate        int // the page's /Rotate, clockwise degrees
	Objects       int // page objects: paths, images, text, forms' contents
	Text          int // text objects
	Images        int
	// ImageDPI is the highest resolution of the page's images as they are
	// drawn (0 without images): pages render at it, so that OCR sees the
	// scan's own pixels.
	ImageDPI float64
	// Broken lists images PDFium cannot decode (a JBIG2 image with broken
	// globals, a JPEG 2000 image with a bad codestream), when Inspect was
	// asked to decode them.
	Broken []string
	// TooLarge lists images not decoded because their bitmap would not fit
	// in PDFium's memory here: that says nothing of the image.
	TooLarge []string
}

// Inspect describes page n (from 0) of the open document; with decode, it
// decodes every image on it too.
func (r *Renderer) Inspect(n int, decode bool) (*Page, error) {
	pg, err := r.inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: r.doc, Index: n})
	if err != nil {
		return nil, fmt.Errorf("page %d: PDFium cannot load it: %w", n+1, err)
	}
	defer r.inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: pg.Page})
	ref := requests.Page{ByReference: &pg.Page}
	p := &Page{}
	w, err := r.inst.FPDF_GetPageWidthF(&requests.FPDF_GetPageWidthF{Page: ref})
	if err != nil {
		return nil, err
	}
	h, err := r.inst.FPDF_GetPageHeightF(&requests.FPDF_GetPageHeightF{Page: ref})
	if err != nil {
		return nil, err
	}
	p.Width, p.Height = float64(w.PageWidth), float64(h.PageHeight)
	if rot, err := r.inst.FPDFPage_GetRotation(&requests.FPDFPage_GetRotation{Page: ref}); err == nil {
		p.Rotate = int(rot.PageRotation) * 90
	}
	cnt, err := r.inst.FPDFPage_CountObjects(&requests.FPDFPage_CountObjects{Page: ref})
	if err != nil {
		return nil, err
	}
	p.Objects = cnt.Count
	for k := 0; k < cnt.Count; k++ {
		o, err := r.inst.FPDFPage_GetObject(&requests.FPDFPage_GetObject{Page: ref, Index: k})
		if err != nil {
			continue
		}
		typ, err := r.inst.FPDFPageObj_GetType(&requests.FPDFPageObj_GetType{PageObject: o.PageObject})
		if err != nil {
			continue
		}
		switch typ.Type {
		case enums.FPDF_PAGEOBJ_TEXT:
			p.Text++
		case enums.FPDF_PAGEOBJ_IMAGE:
			p.Images++
			r.inspectImage(p, k, o.PageObject, decode)
		}
	}
	return p, nil
}

func (r *Renderer) inspectImage(p *Page, k int, obj references.FPDF_PAGEOBJECT, decode bool) {
	size, err := r.inst.FPDFImageObj_GetImagePixelSize(&requests.FPDFImageObj_GetImagePixelSize{ImageObject: obj})
	if err != nil {
		return
	}
	if b, err := r.inst.FPDFPageObj_GetBounds(&requests.FPDFPageObj_GetBounds{PageObject: obj}); err == nil {
		drawn := math.Max(float64(b.Right-b.Left), float64(b.Top-b.Bottom))
		if px := float64(max(size.Width, size.Height)); drawn > 1 {
			p.ImageDPI = math.Max(p.ImageDPI, px*72/drawn)
		}
	}
	if !decode {
		return
	}
	// A bitmap is 4 bytes a pixel, and PDFium holds the decoder's buffers
	// beside it: an image over a quarter of its memory is not tried (it
	// would fail for want of memory, which is not the image's fault).
	if bytes := int64(size.Width) * int64(size.Height) * 4; r.memory > 0 && bytes > r.memory/4 {
		p.TooLarge = append(p.TooLarge, fmt.Sprintf("image %d (%d×%d pixels) needs %d MiB to decode, more than PDFium has here (%d MiB)",
			k+1, size.Width, size.Height, bytes>>20, r.memory>>20))
		return
	}
	bm, err := r.inst.FPDFImageObj_GetBitmap(&requests.FPDFImageObj_GetBitmap{ImageObject: obj})
	if err != nil {
		var filters []string
		if n, err := r.inst.FPDFImageObj_GetImageFilterCount(&requests.FPDFImageObj_GetImageFilterCount{ImageObject: obj}); err == nil {
			for i := 0; i < n.Count; i++ {
				if f, err := r.inst.FPDFImageObj_GetImageFilter(&requests.FPDFImageObj_GetImageFilter{ImageObject: obj, Index: i}); err == nil {
					filters = append(filters, f.ImageFilter)
				}
			}
		}
		p.Broken = append(p.Broken, fmt.Sprintf("image %d (%d×%d pixels, %s) does not decode", k+1, size.Width, size.Height, strings.Join(filters, "+")))
		return
	}
	r.inst.FPDFBitmap_Destroy(&requests.FPDFBitmap_Destroy{Bitmap: bm.Bitmap})
}

// Render draws page n at dpi, in colour or grey, with its /Rotate applied:
// the page as a reader shows it.
func (r *Renderer) Render(n int, dpi float64, colour bool) (*raster.Pix, error) {
	req := &requests.RenderPageInDPI{Page: requests.Page{ByIndex: &requests.PageByIndex{Document: r.doc, Index: n}}, DPI: int(math.Round(dpi))}
	if !colour {
		req.ImageFormat = requests.RenderImageFormatGrayscale
	}
	res, err := r.inst.RenderPageInDPI(req)
	if err != nil {
		return nil, fmt.Errorf("page %d: PDFium cannot render it: %w", n+1, err)
	}
	defer res.Cleanup()
	switch img := res.Result.RenderedImage.(type) {
	case *image.Gray:
		return raster.FromPixels(img.Pix, img.Rect.Dx(), img.Rect.Dy(), 1, img.Stride)
	case *image.RGBA:
		// PDFium renders onto white: alpha is opaque.
		return raster.FromPixels(img.Pix, img.Rect.Dx(), img.Rect.Dy(), 4, img.Stride)
	}
	return nil, fmt.Errorf("page %d: PDFium rendered an image of type %T", n+1, res.Result.RenderedImage)
}

// Word is a word of a page's text with its box in points, from the top
// left of the page.
type Word struct {
	Text           string
	X0, Y0, X1, Y1 float64
}

// Words returns the text of page n (from 0) as words with boxes: PDFium's
// runs of text (one line, one font), split at spaces, each word given its
// share of the run's width by its number of characters.
func (r *Renderer) Words(n int) ([]Word, error) {
	page := requests.Page{ByIndex: &requests.PageByIndex{Document: r.doc, Index: n}}
	size, err := r.inst.GetPageSize(&requests.GetPageSize{Page: page})
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", n+1, err)
	}
	res, err := r.inst.GetPageTextStructured(&requests.GetPageTextStructured{Page: page, Mode: requests.GetPageTextStructuredModeRects})
	if err != nil {
		return nil, fmt.Errorf("page %d: PDFium cannot read its text: %w", n+1, err)
	}
	var out []Word
	for _, rect := range res.Rects {
		p := rect.PointPosition
		// PDF space has y upwards; whichever way the library reports
		// top and bottom, the box is between them.
		top, bottom := size.Height-math.Max(p.Top, p.Bottom), size.Height-math.Min(p.Top, p.Bottom)
		runes := []rune(rect.Text)
		if len(runes) == 0 {
			continue
		}
		per := (p.Right - p.Left) / float64(len(runes))
		pos := 0
		for _, f := range strings.Split(rect.Text, " ") {
			k := len([]rune(f))
			if w := strings.TrimSpace(f); w != "" {
				out = append(out, Word{Text: w, X0: p.Left + per*float64(pos), Y0: top, X1: p.Left + per*float64(pos+k), Y1: bottom})
			}
			pos += k + 1
		}
	}
	return out, nil
}
