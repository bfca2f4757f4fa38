package ocr

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/strongroom-archive/strongroom/formats/pagehash"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfrender"
	"github.com/strongroom-archive/strongroom/formats/raster"
)

// The worker side. The decoders (libtiff, OpenJPEG, Leptonica and the
// libraries under it), PDFium and Tesseract read untrusted files, and a
// crash inside C code (a segfault, an abort when memory runs out) cannot
// be recovered in Go. So pages are decoded, rendered and OCRed in worker
// processes, each a copy of this very binary started with workerEnv set,
// talking gob over stdin and stdout, under a memory cap; a worker that
// dies costs its page, and the daemon starts another.

const (
	workerEnv      = "STRONGROOM_OCR_WORKER"
	workerMemEnv   = "STRONGROOM_OCR_WORKER_MEMORY"
	workerCacheEnv = "STRONGROOM_OCR_CACHE"
)

// op is what a request asks of a worker.
type op uint8

const (
	opStart   op = iota + 1 // load Tesseract with the request's settings
	opInspect               // describe a file: format and pages
	opCheck                 // decode one page completely (validation)
	opPage                  // make one page of the access copy
	opText                  // a PDF's text, as words with boxes, page by page
	opRender                // one PDF page as a JPEG image, for a page view
)

// request is one task for a worker.
type request struct {
	Op        op
	Path      string
	Page      int // from 0
	Languages []string
	PSM       int
	// Rotate turns pages scanned sideways or upside down upright
	// (Tesseract's orientation detection), when it is at least Confidence
	// sure.
	Rotate     bool
	Confidence float64
	Deskew     bool
	// MaxPixels bounds the page Tesseract gets (a larger one is scaled
	// down); MaxDecode the page decoded at all; MaxRender a rendered PDF
	// page (from the worker's memory cap).
	MaxPixels  int64
	MaxDecode  int64
	MaxRender  int64
	DefaultDPI float64
	// Embed asks for the page's image for the access copy.
	Embed bool
	// JPEGQuality encodes a continuous-tone page from a lossless source as
	// JPEG where that is smaller; Lossless keeps it lossless.
	JPEGQuality int
	Lossless    bool
	// Width is the width of the image opRender makes, in pixels.
	Width int
}

// errKind says what kind of failure a response reports.
type errKind uint8

const (
	kindOther errKind = iota
	kindCorrupt
	kindUnsupported
	kindTooLarge
	kindSettings
	kindNoMemory // an allocation failed: a fresh worker may succeed
)

// response is a worker's answer. Err is set for failures of the file or
// the settings (a language that is not installed); a worker that crashed
// sends nothing.
type response struct {
	Err  string
	Kind errKind
	// opInspect
	Format   string
	Pages    []raster.Page    // image files
	PDFPages []pdfrender.Page // PDFs
	// opPage
	Page
	// opText
	Text []PDFText
	// opRender
	JPEG []byte
}

// WorkerMain serves requests and exits if this process was started as a
// worker; otherwise it returns at once. Every binary (and test binary) that
// OCRs calls it first thing in main or TestMain.
func WorkerMain() {
	if os.Getenv(workerEnv) != "1" {
		return
	}
	if err := serveWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "strongroom ocr worker:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func serveWorker(in, out *os.File) error {
	// The protocol gets its own descriptor; fd 1 then points at stderr, so
	// that nothing a C library prints can corrupt the stream.
	fd, err := unix.Dup(int(out.Fd()))
	if err != nil {
		return fmt.Errorf("dup stdout: %w", err)
	}
	if err := unix.Dup3(2, 1, 0); err != nil {
		return fmt.Errorf("stdout to stderr: %w", err)
	}
	proto := os.NewFile(uintptr(fd), "ocr-protocol")
	w := &worker{tess: map[string]*tesseract{}, cacheDir: os.Getenv(workerCacheEnv)}
	if s := os.Getenv(workerMemEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", workerMemEnv, s, err)
		}
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: n, Max: n}); err != nil {
			return fmt.Errorf("memory limit %d: %w", n, err)
		}
		w.memory = int64(n)
	}
	defer w.close()
	dec := gob.NewDecoder(bufio.NewReaderSize(in, 1<<20))
	bw := bufio.NewWriter(proto)
	enc := gob.NewEncoder(bw)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the daemon closed our stdin: done
			}
			return fmt.Errorf("read request: %w", err)
		}
		resp, err := w.serve(req)
		if err != nil {
			resp = &response{Err: err.Error(), Kind: kindOf(err)}
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("write response: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write response: %w", err)
		}
	}
}

// settingsError is a failure of the settings (a language not installed).
type settingsError struct{ error }

func kindOf(err error) errKind {
	var se settingsError
	switch {
	case errors.As(err, &se):
		return kindSettings
	case errors.Is(err, raster.ErrCorrupt):
		return kindCorrupt
	case errors.Is(err, raster.ErrUnsupported), errors.Is(err, pdfrender.ErrEncrypted):
		return kindUnsupported
	case errors.Is(err, raster.ErrNoMemory):
		return kindNoMemory
	case errors.Is(err, raster.ErrTooLarge):
		return kindTooLarge
	}
	return kindOther
}

// worker is a worker process's state: engines loaded on first use, and
// the file last read (a book's pages come one by one).
type worker struct {
	tess     map[string]*tesseract // by languages and page segmentation mode
	osd      *tesseract
	pdf      *pdfrender.Renderer
	cacheDir string
	memory   int64
	file     string
	info     *raster.Info
}

func (w *worker) close() {
	for _, t := range w.tess {
		t.close()
	}
	if w.osd != nil {
		w.osd.close()
	}
	if w.pdf != nil {
		w.pdf.Close()
	}
}

func (w *worker) serve(req request) (*response, error) {
	switch req.Op {
	case opStart:
		if _, err := w.tesseract(req); err != nil {
			return nil, err
		}
		if req.Rotate {
			if _, err := w.orientation(); err != nil {
				return nil, err
			}
		}
		return &response{}, nil
	case opInspect:
		return w.inspect(req)
	case opCheck:
		return w.check(req)
	case opPage:
		if raster.SniffFile(req.Path) == raster.PDF {
			return w.pdfPage(req)
		}
		return w.imagePage(req)
	case opText:
		return w.text(req)
	case opRender:
		return w.render(req)
	}
	return nil, fmt.Errorf("unknown request %d", req.Op)
}

// tesseract returns the engine for the request's settings, started on
// first use and kept for the worker's life.
func (w *worker) tesseract(req request) (*tesseract, error) {
	lang := strings.Join(req.Languages, "+")
	key := fmt.Sprint(lang, req.PSM)
	if t := w.tess[key]; t != nil {
		return t, nil
	}
	t, err := newTesseract(lang, req.PSM)
	if err != nil {
		first := "<lang>"
		if len(req.Languages) > 0 {
			first = req.Languages[0]
		}
		return nil, settingsError{fmt.Errorf("start Tesseract with languages %s and psm %d (is tesseract-ocr-%s installed?): %w", lang, req.PSM, first, err)}
	}
	w.tess[key] = t
	return t, nil
}

func (w *worker) orientation() (*tesseract, error) {
	if w.osd == nil {
		t, err := newTesseract("osd", 0)
		if err != nil {
			return nil, settingsError{fmt.Errorf("orientation detection needs Tesseract's osd data (tesseract-ocr-osd): %w", err)}
		}
		w.osd = t
	}
	return w.osd, nil
}

// openPDF opens the PDF at path in the worker's renderer (started on
// first use) and returns it with the PDF's page count.
func (w *worker) openPDF(path string) (*pdfrender.Renderer, int, error) {
	if w.pdf == nil {
		// PDFium gets half the worker's memory; the rendered page, its
		// copies and Tesseract the rest.
		r, err := pdfrender.New(w.cacheDir, w.memory/2)
		if err != nil {
			return nil, 0, err
		}
		w.pdf = r
	}
	n, err := w.pdf.Open(path)
	if err != nil {
		return nil, 0, w.pdfFailed(err)
	}
	return w.pdf, n, nil
}

// pdfInspect inspects page n of the open PDF. A page PDFium cannot load is
// corrupt as PDFium sees it (validate asks pdfcpu for a second opinion);
// PDFium failing as an engine is not.
func (w *worker) pdfInspect(r *pdfrender.Renderer, n int, decode bool) (*pdfrender.Page, error) {
	p, err := r.Inspect(n, decode)
	if err == nil {
		return p, nil
	}
	if pdfrender.Trapped(err) {
		return nil, w.pdfFailed(err)
	}
	w.pdfFailed(err)
	return nil, fmt.Errorf("%w: %v", raster.ErrCorrupt, err)
}

// pdfFailed discards the PDFium instance after a failure, so that the next
// page or file starts on a fresh one: a failure inside PDFium (memory
// exhausted, a trap) can leave its state broken, and every PDF after it
// would then fail too. A failure of the engine rather than of the file is
// "not supported here", never "corrupt".
func (w *worker) pdfFailed(err error) error {
	if w.pdf != nil {
		w.pdf.Close()
		w.pdf = nil
	}
	if pdfrender.Trapped(err) {
		msg, _, _ := strings.Cut(err.Error(), "\n") // not the WebAssembly stack
		return fmt.Errorf("%w: PDFium failed on it here, for want of memory or in its own code (%s)", raster.ErrUnsupported, msg)
	}
	return err
}

// raster inspects an image file, or returns what it learned last time.
func (w *worker) raster(path string) (*raster.Info, error) {
	if w.file == path && w.info != nil {
		return w.info, nil
	}
	info, err := raster.Inspect(path, MaxPages)
	if err != nil {
		return nil, err
	}
	w.file, w.info = path, info
	return info, nil
}

func (w *worker) inspect(req request) (*response, error) {
	if raster.SniffFile(req.Path) == raster.PDF {
		r, n, err := w.openPDF(req.Path)
		if err != nil {
			return nil, err
		}
		if n > MaxPages {
			return nil, fmt.Errorf("%w: %d pages, more than the %d one file may have", raster.ErrTooLarge, n, MaxPages)
		}
		resp := &response{Format: string(raster.PDF)}
		for i := range n {
			p, err := w.pdfInspect(r, i, false)
			if err != nil {
				return nil, err
			}
			resp.PDFPages = append(resp.PDFPages, *p)
		}
		return resp, nil
	}
	info, err := w.raster(req.Path)
	if err != nil {
		return nil, err
	}
	return &response{Format: string(info.Format), Pages: info.Pages}, nil
}

// check decodes a page completely: an image page's pixels, or every image
// on a PDF page.
func (w *worker) check(req request) (*response, error) {
	if raster.SniffFile(req.Path) == raster.PDF {
		// An image that does not decode is tried once more on a fresh
		// PDFium: only a second failure says the image is damaged, not
		// the engine's state after the files before it.
		var p *pdfrender.Page
		for try := 0; try < 2; try++ {
			r, _, err := w.openPDF(req.Path)
			if err != nil {
				return nil, err
			}
			if p, err = w.pdfInspect(r, req.Page, true); err != nil {
				return nil, err
			}
			if len(p.Broken) == 0 {
				break
			}
			w.pdfFailed(nil)
		}
		switch {
		case len(p.Broken) > 0:
			return nil, fmt.Errorf("%w: page %d: %s", raster.ErrCorrupt, req.Page+1, strings.Join(p.Broken, "; "))
		case len(p.TooLarge) > 0:
			return nil, fmt.Errorf("%w: page %d: %s", raster.ErrTooLarge, req.Page+1, strings.Join(p.TooLarge, "; "))
		}
		return &response{}, nil
	}
	pix, _, err := w.decode(req, 0)
	if err != nil {
		return nil, err
	}
	pix.Close()
	return &response{}, nil
}

// decode decodes page req.Page of an image file, unless it is over
// MaxDecode pixels; a JPEG 2000 image at 1/2^reduce of its size.
func (w *worker) decode(req request, reduce int) (*raster.Pix, raster.Page, error) {
	info, err := w.raster(req.Path)
	if err != nil {
		return nil, raster.Page{}, err
	}
	if req.Page < 0 || req.Page >= len(info.Pages) {
		return nil, raster.Page{}, fmt.Errorf("page %d: the file has %d", req.Page+1, len(info.Pages))
	}
	pg := info.Pages[req.Page]
	if px := pg.Pixels(); req.MaxDecode > 0 && px > req.MaxDecode {
		return nil, pg, fmt.Errorf("%w: page %d is %d×%d = %d pixels, over pipeline.max_pixels (%d): not decoded", raster.ErrTooLarge, req.Page+1, pg.Width, pg.Height, px, req.MaxDecode)
	}
	pix, err := raster.Decode(req.Path, info, req.Page, reduce)
	return pix, pg, err
}

// imagePage makes a page of an image file: decoded, turned upright,
// straightened if asked, OCRed, and (with Embed) its image for the access
// copy: the file's own bytes where PDF/A-2 takes them as they are (JPEG,
// PNG, JPEG 2000), else the pixels encoded without loss (G4 for black and
// white, Flate for grey and colour) or, for a lossy original, as JPEG.
func (w *worker) imagePage(req request) (*response, error) {
	info, err := w.raster(req.Path)
	if err != nil {
		return nil, err
	}
	reduce := 0
	if req.Page < len(info.Pages) && (info.Format == raster.JP2 || info.Format == raster.J2K) {
		// JPEG 2000 decodes at half, quarter … size for nothing: a master
		// too large for OCR is read at the size OCR takes.
		for px := info.Pages[req.Page].Pixels(); req.MaxPixels > 0 && px>>(2*reduce) > req.MaxPixels && reduce < 5; reduce++ {
		}
	}
	pix, pg, err := w.decode(req, reduce)
	if err != nil {
		return nil, err
	}
	defer pix.Close()
	resp := &response{Page: Page{DPI: pg.DPIX}}
	if pg.DPIX <= 0 || pg.DPIY <= 0 {
		resp.DPI, resp.DPIAssumed = req.DefaultDPI, true
	}
	if reduce > 0 {
		resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: JPEG 2000 decoded at 1/%d size for OCR (%d×%d pixels)", req.Page+1, 1<<reduce, pg.Width, pg.Height))
	}
	turn := map[int]int{3: 2, 5: 1, 6: 1, 7: 1, 8: 3}[pg.Orientation]
	mirrored := pg.Orientation == 2 || pg.Orientation == 4 || pg.Orientation == 5 || pg.Orientation == 7
	if pg.Orientation != 1 {
		if err := pix.Orient(pg.Orientation); err != nil {
			return nil, err
		}
		resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: turned upright by its %s orientation tag (%d)", req.Page+1, info.Format, pg.Orientation))
	}
	dpi := resp.DPI / float64(int(1)<<reduce)
	q, deskewed, err := w.read(pix, dpi, req, resp, req.Deskew)
	if err != nil {
		return nil, err
	}
	turn += q
	scaleWords(resp, float64(int(1)<<reduce))
	resp.Turn = turn % 4
	if req.Embed {
		if deskewed == 0 && !mirrored {
			if resp.Image = passThrough(req.Path, info, pg); resp.Image != nil {
				resp.ImageTurn = resp.Turn // the file as stored, turned by the page's /Rotate
			}
		}
		if resp.Image == nil { // the pixels, upright
			im, err := encode(pix, pg.Lossy)
			if err != nil {
				return nil, err
			}
			resp.Image = im
			if reduce > 0 {
				resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: the access copy holds the image at 1/%d size", req.Page+1, 1<<reduce))
			}
		}
		// A continuous-tone page from a lossless source (the original, in
		// the bag, stays lossless): a scan's noise makes lossless large, so
		// the access copy takes JPEG where it is smaller; a clean page, or
		// one JPEG would not shrink, stays as it is.
		if !pg.Lossy && !req.Lossless && req.JPEGQuality > 0 && pix.Depth() > 1 {
			if enc, err := pix.JPEG(req.JPEGQuality); err == nil && len(enc.Data) < len(resp.Image.Data) {
				resp.Image, resp.ImageTurn = asImage(enc), 0 // the pixels, upright
			}
		}
	}
	return resp, nil
}

// scaleWords takes words and page size from a page decoded at 1/f size to
// the page's own pixels.
func scaleWords(resp *response, f float64) {
	if f == 1 {
		return
	}
	for i, wd := range resp.Words {
		b := wd.Box
		resp.Words[i].Box = image.Rect(int(float64(b.Min.X)*f), int(float64(b.Min.Y)*f), int(math.Ceil(float64(b.Max.X)*f)), int(math.Ceil(float64(b.Max.Y)*f)))
	}
	resp.Width, resp.Height = int(float64(resp.Width)*f), int(float64(resp.Height)*f)
}

// passThrough returns the file itself as a PDF image where PDF/A-2 takes
// it as it is, or nil.
func passThrough(path string, info *raster.Info, pg raster.Page) *pdfa.Image {
	if len(info.Pages) != 1 {
		return nil
	}
	switch info.Format {
	case raster.JPEG, raster.PNG, raster.JP2, raster.J2K:
	default:
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	switch info.Format {
	case raster.JPEG:
		if im, err := pdfa.FromJPEG(data); err == nil {
			return &im
		}
	case raster.PNG:
		if im, ok := pdfa.FromPNG(data); ok {
			return &im
		}
	case raster.JP2, raster.J2K:
		if im, err := pdfa.FromJPX(data, pg.Width, pg.Height, pg.Samples); err == nil {
			return &im
		}
	}
	return nil
}

// encode encodes decoded pixels for the access copy.
func encode(pix *raster.Pix, lossy bool) (*pdfa.Image, error) {
	var enc *raster.Encoded
	var err error
	switch {
	case pix.Depth() == 1:
		enc, err = pix.G4()
	case lossy:
		enc, err = pix.JPEG(jpegQuality)
	default:
		enc, err = pix.Flate()
	}
	if err != nil {
		return nil, err
	}
	return asImage(enc), nil
}

// asImage is an encoded image as the PDF writer takes it.
func asImage(enc *raster.Encoded) *pdfa.Image {
	im := &pdfa.Image{Filter: enc.Filter, Data: enc.Data, Width: enc.Width, Height: enc.Height, BitsPerComponent: enc.Bits, ColorSpace: "DeviceGray"}
	if enc.Colors == 3 {
		im.ColorSpace = "DeviceRGB"
	}
	if enc.Filter == "CCITTFaxDecode" {
		im.DecodeParms = fmt.Sprintf("<< /K -1 /Columns %d /Rows %d%s >>", enc.Width, enc.Height, map[bool]string{true: " /BlackIs1 true"}[enc.BlackIs1])
	}
	return im
}

// jpegQuality is used for pages whose original is lossy already (JPEG in
// TIFF) and for re-imaged PDF pages.
const jpegQuality = 90

// read straightens the page (with deskew), OCRs it into resp and turns it
// upright where it was scanned turned; it returns the clockwise quarter
// turns applied and the angle straightened by. The page is read as it is
// first: most pages are upright, and a page that reads as upright text
// needs no orientation detection (which cost a tenth of a page's OCR
// time on every page). Only a page that does not (see readsUpright) is
// given to it, and read again if it turns out turned.
func (w *worker) read(pix *raster.Pix, dpi float64, req request, resp *response, deskew bool) (turn int, deskewed float64, err error) {
	straighten := func() error {
		a, err := pix.Deskew()
		if a != 0 {
			resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: straightened by %.2f°", req.Page+1, a))
		}
		deskewed += a
		return err
	}
	if deskew {
		if err := straighten(); err != nil {
			return 0, 0, err
		}
	}
	if err := w.recognize(pix, dpi, req, resp); err != nil {
		return 0, 0, err
	}
	defer func() {
		// The page as scanned: the straightening applied, and what
		// Tesseract still found; its hash once it is upright.
		resp.Skew += deskewed
		if err == nil {
			resp.Hash = pageHash(pix)
		}
	}()
	if !req.Rotate || readsUpright(resp.Words) {
		return 0, deskewed, nil
	}
	if turn, err = w.upright(pix, dpi, req, resp); err != nil || turn == 0 {
		return 0, deskewed, err
	}
	// Text on its side shows no skew of its lines until it is upright.
	if deskew && turn%2 == 1 {
		if err := straighten(); err != nil {
			return 0, 0, err
		}
	}
	return turn, deskewed, w.recognize(pix, dpi, req, resp)
}

// pageHash is the page's perceptual hash (formats/pagehash), from the
// pixels already decoded for OCR; 0, no hash, where Leptonica cannot make
// the thumbnail (a strip thousands of times longer than wide): the page
// itself is not at fault.
func pageHash(pix *raster.Pix) uint64 {
	thumb, err := pix.Thumbnail(pagehash.Size, pagehash.Size)
	if err != nil {
		return 0
	}
	return pagehash.Hash(thumb)
}

// readsUpright tells whether Tesseract read words as upright text: enough
// words of some length, read with confidence, their boxes wider than tall.
// Tesseract reads text on its side by turning it itself (the boxes are
// then tall), and text upside down as low-confidence nonsense; a page
// with little text cannot tell, and orientation detection decides.
func readsUpright(words []Word) bool {
	var long, wide int
	var conf float64
	for _, w := range words {
		conf += w.Confidence
		if utf8.RuneCountInString(w.Text) >= 4 {
			long++
			if w.Box.Dx() > w.Box.Dy() {
				wide++
			}
		}
	}
	return long >= 10 && wide*10 >= long*9 && conf >= 75*float64(len(words))
}

// upright detects a page scanned sideways or upside down and turns it;
// it returns the clockwise quarter turns applied.
func (w *worker) upright(pix *raster.Pix, dpi float64, req request, resp *response) (int, error) {
	if !req.Rotate {
		return 0, nil
	}
	osd, err := w.orientation()
	if err != nil {
		return 0, err
	}
	// OSD needs no more than 300 dpi; a smaller copy is faster.
	src, sdpi := pix, dpi
	if f := math.Min(300/dpi, math.Sqrt(float64(min(req.MaxPixels, 25_000_000))/float64(pix.Width()*pix.Height()))); f < 0.9 {
		if src, err = pix.Scaled(f); err != nil {
			return 0, err
		}
		defer src.Close()
		sdpi = dpi * f
	}
	q, conf, ok := osd.orientation(src, sdpi)
	if !ok || q == 0 {
		return 0, nil
	}
	if conf < req.Confidence {
		resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: looks turned by %d° (confidence %.1f, below %.1f): left as it is", req.Page+1, 90*q, conf, req.Confidence))
		return 0, nil
	}
	if err := pix.Rotate(q); err != nil {
		return 0, err
	}
	resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: scanned turned; shown turned by %d° clockwise (Tesseract OSD, confidence %.1f)", req.Page+1, 90*q, conf))
	return q, nil
}

// recognize OCRs the page, from a copy scaled to Tesseract's limits if it
// is larger, and sets the response's words (in pix's pixels) and size.
func (w *worker) recognize(pix *raster.Pix, dpi float64, req request, resp *response) error {
	t, err := w.tesseract(req)
	if err != nil {
		return err
	}
	pw, ph := int64(pix.Width()), int64(pix.Height())
	resp.Width, resp.Height = int(pw), int(ph)
	scale := 1.0
	var why string
	if req.MaxPixels > 0 && pw*ph > req.MaxPixels {
		scale = math.Sqrt(float64(req.MaxPixels) / float64(pw*ph))
		why = fmt.Sprintf("over access.ocr.max_pixels (%d)", req.MaxPixels)
	}
	if side := max(pw, ph); float64(side)*scale > maxSide {
		scale = maxSide / float64(side)
		why = fmt.Sprintf("wider or taller than Tesseract's %d pixels", maxSide)
	}
	src := pix
	if scale < 1 {
		if src, err = pix.Scaled(scale); err != nil {
			return err
		}
		defer src.Close()
		resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: %d×%d pixels, %s: OCRed from a copy scaled to %d×%d", req.Page+1, pw, ph, why, src.Width(), src.Height()))
		scale = float64(src.Width()) / float64(pw)
	}
	words, skew, err := t.recognize(src, dpi*scale)
	if err != nil {
		return err
	}
	resp.Skew = -skew // Tesseract says how to level them; Skew, how they lie
	for i, wd := range words {
		if scale != 1 { // back to the page's own pixels
			b := wd.Box
			words[i].Box = image.Rect(int(float64(b.Min.X)/scale), int(float64(b.Min.Y)/scale),
				int(math.Ceil(float64(b.Max.X)/scale)), int(math.Ceil(float64(b.Max.Y)/scale)))
		}
	}
	resp.Words = words
	return nil
}

// pdfPage makes a page of a PDF: rendered by PDFium at the resolution of
// its images (300 dpi without), turned upright, OCRed, and (with Embed,
// for a page the access copy cannot copy) its rendering as the page image.
func (w *worker) pdfPage(req request) (*response, error) {
	r, n, err := w.openPDF(req.Path)
	if err != nil {
		return nil, err
	}
	if req.Page >= n {
		return nil, fmt.Errorf("page %d: the PDF has %d", req.Page+1, n)
	}
	// The page's images were decoded when the original was validated.
	p, err := w.pdfInspect(r, req.Page, false)
	if err != nil {
		return nil, err
	}
	resp := &response{Page: Page{DPI: 300}}
	if p.ImageDPI > 0 {
		resp.DPI = math.Min(math.Max(p.ImageDPI, 300), 600)
	}
	win, hin := p.Width/72, p.Height/72
	limit := req.MaxPixels
	for _, l := range []int64{req.MaxDecode, req.MaxRender} {
		if l > 0 && (limit <= 0 || l < limit) {
			limit = l
		}
	}
	if d := math.Sqrt(float64(limit) / (win * hin)); limit > 0 && d < resp.DPI {
		resp.DPI = math.Floor(d)
		resp.Notes = append(resp.Notes, fmt.Sprintf("page %d: %.0f×%.0f inches, rendered at %.0f dpi to stay within %d pixels", req.Page+1, win, hin, resp.DPI, limit))
	}
	if d := maxSide / math.Max(win, hin); d < resp.DPI {
		resp.DPI = math.Floor(d)
	}
	if resp.DPI < 1 {
		return nil, fmt.Errorf("%w: page %d is %.0f×%.0f inches: too large to render", raster.ErrTooLarge, req.Page+1, win, hin)
	}
	resp.Width, resp.Height = int(win*resp.DPI+0.5), int(hin*resp.DPI+0.5)
	if p.Objects == 0 && !req.Embed {
		return resp, nil // nothing drawn: no text to find
	}
	pix, err := r.Render(req.Page, resp.DPI, req.Embed)
	if err != nil {
		return nil, w.pdfFailed(err)
	}
	defer pix.Close()
	if resp.Turn, _, err = w.read(pix, resp.DPI, req, resp, req.Embed && req.Deskew); err != nil {
		return nil, err
	}
	if req.Embed {
		if resp.Image, err = encode(pix, true); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// PDFText is the text of one PDF page: its words, with boxes in points
// from the top left of a page Width × Height points.
type PDFText struct {
	Width, Height float64
	Words         []pdfrender.Word
}

func (w *worker) text(req request) (*response, error) {
	r, n, err := w.openPDF(req.Path)
	if err != nil {
		return nil, err
	}
	if n > MaxPages {
		return nil, fmt.Errorf("%w: %d pages, more than the %d one file may have", raster.ErrTooLarge, n, MaxPages)
	}
	resp := &response{}
	for i := range n {
		p, err := w.pdfInspect(r, i, false)
		if err != nil {
			return nil, err
		}
		words, err := r.Words(i)
		if err != nil {
			return nil, w.pdfFailed(err)
		}
		resp.Text = append(resp.Text, PDFText{Width: p.Width, Height: p.Height, Words: words})
	}
	return resp, nil
}

func (w *worker) render(req request) (*response, error) {
	r, n, err := w.openPDF(req.Path)
	if err != nil {
		return nil, err
	}
	if req.Page < 0 || req.Page >= n {
		return nil, fmt.Errorf("page %d: the PDF has %d pages", req.Page+1, n)
	}
	p, err := w.pdfInspect(r, req.Page, false)
	if err != nil {
		return nil, err
	}
	dpi := 72 * float64(max(req.Width, 16)) / max(p.Width, 1)
	pix, err := r.Render(req.Page, min(dpi, 600), true)
	if err != nil {
		return nil, w.pdfFailed(err)
	}
	defer pix.Close()
	enc, err := pix.JPEG(80)
	if err != nil {
		return nil, err
	}
	return &response{JPEG: enc.Data}, nil
}
