package ocr

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/pdfrender"
	"github.com/strongroom-archive/strongroom/formats/raster"
)

// maxSide is the widest and tallest image Tesseract accepts; on a larger
// one Tesseract 5.3 prints "Image too large" and its result iterator then
// crashes the process.
const maxSide = 32767

// crashTries is how often a page is tried on a fresh worker before the
// page is given up: a second crash on the same page is the page's doing.
const crashTries = 2

// Engine OCRs pages in Config.Workers worker processes (see WorkerMain),
// started on first use and again after one dies.
type Engine struct {
	cfg     Config
	exe     string
	slots   chan *process // Workers entries; nil is a process not (or no longer) running
	closing chan struct{} // closed by Close: the idle watch ends
	once    sync.Once
}

// NewEngine returns an engine; no process starts until the first page.
func NewEngine(cfg Config) (*Engine, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("ocr: find this program to start OCR workers: %w", err)
	}
	e := &Engine{cfg: cfg, exe: exe, slots: make(chan *process, max(cfg.Workers, 1)), closing: make(chan struct{})}
	for range cap(e.slots) {
		e.slots <- nil
	}
	if cfg.IdleStop > 0 {
		go e.stopIdle()
	}
	return e, nil
}

// stopIdle ends, every half IdleStop, the workers idle for IdleStop: the
// slots free at that moment are taken, looked at and given back at once.
func (e *Engine) stopIdle() {
	t := time.NewTicker(max(e.cfg.IdleStop/2, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-e.closing:
			return
		case <-t.C:
		}
		var free, idle []*process
	take:
		for range cap(e.slots) {
			select {
			case w := <-e.slots:
				free = append(free, w)
			default:
				break take
			}
		}
		for _, w := range free {
			if w != nil && time.Since(w.idleSince) >= e.cfg.IdleStop {
				idle, w = append(idle, w), nil
			}
			e.slots <- w
		}
		for _, w := range idle {
			w.stop()
		}
	}
}

// request returns a request of op with the engine's settings, s
// overriding the languages and page segmentation mode.
func (e *Engine) request(o op, s Settings) request {
	req := request{Op: o, Languages: e.cfg.Languages, PSM: e.cfg.PSM, Rotate: e.cfg.RotatePages, Confidence: e.cfg.RotateConfidence,
		Deskew: e.cfg.Deskew, MaxPixels: e.cfg.MaxPixels, MaxDecode: e.cfg.MaxDecode, DefaultDPI: e.cfg.DefaultDPI,
		JPEGQuality: e.cfg.JPEGQuality, Lossless: e.cfg.Lossless}
	if e.cfg.WorkerMemory > 0 {
		// A rendered page is held three times at 4 bytes a pixel (in
		// PDFium, in Go, in Leptonica) beside Tesseract's working copies:
		// measured, a 7000×7000 page needs 1 GiB, a 6200×6200 one fits.
		req.MaxRender = e.cfg.WorkerMemory / 32
	}
	if len(s.Languages) > 0 {
		req.Languages = s.Languages
	}
	if s.PSM != nil {
		req.PSM = *s.PSM
	}
	return req
}

// Start starts every worker and has each load Tesseract with s, so that
// the first pages wait for neither (and a missing language shows now).
func (e *Engine) Start(ctx context.Context, s Settings) error {
	req := e.request(opStart, s)
	var ws []*process
	defer func() {
		for _, w := range ws {
			w.idleSince = time.Now()
			e.slots <- w
		}
	}()
	for range cap(e.slots) {
		var w *process
		select {
		case w = <-e.slots:
		case <-ctx.Done():
			return ctx.Err()
		}
		if w == nil {
			var err error
			if w, err = e.start(); err != nil {
				e.slots <- nil
				return err
			}
		}
		resp, err := w.do(ctx, req, e.cfg.PageTimeout)
		if err != nil {
			e.slots <- nil
			return fmt.Errorf("ocr: start worker: %w", err)
		}
		ws = append(ws, w)
		if resp.Err != "" {
			return fmt.Errorf("ocr: %s", resp.Err)
		}
	}
	return nil
}

// Close stops the workers, waiting for pages in progress.
func (e *Engine) Close() {
	e.once.Do(func() { close(e.closing) })
	for range cap(e.slots) {
		if w := <-e.slots; w != nil {
			w.stop()
		}
	}
}

// CrashError reports a page on which the OCR worker died every time it was
// tried: the page is given up, the daemon goes on.
type CrashError struct {
	Tries  int
	Reason string // how the last worker ended, with what it last printed
}

func (c *CrashError) Error() string {
	return fmt.Sprintf("the OCR worker died on this page %d times (%s)", c.Tries, c.Reason)
}

// The errors a file's pages end with, besides CrashError: the page is
// damaged; it is valid but no decoder here reads it; it is over a limit;
// the settings cannot work (a language that is not installed).
var (
	ErrCorrupt     = raster.ErrCorrupt
	ErrUnsupported = raster.ErrUnsupported
	ErrTooLarge    = raster.ErrTooLarge
	ErrSettings    = errors.New("OCR settings")
)

// File describes a file: an image file's pages (from its headers), or a
// PDF's (as PDFium sees them).
type File struct {
	Format   string
	Pages    []raster.Page
	PDFPages []pdfrender.Page
}

// NumPages is how many pages the file has.
func (f *File) NumPages() int { return len(f.Pages) + len(f.PDFPages) }

// Inspect describes the file at path without decoding any page.
func (e *Engine) Inspect(ctx context.Context, path string) (*File, error) {
	req := e.request(opInspect, Settings{})
	req.Path = path
	resp, err := e.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &File{Format: resp.Format, Pages: resp.Pages, PDFPages: resp.PDFPages}, nil
}

// Check decodes page n (from 0) of the file at path completely: every
// pixel of an image page, every image of a PDF page.
func (e *Engine) Check(ctx context.Context, path string, n int) error {
	req := e.request(opCheck, Settings{})
	req.Path, req.Page = path, n
	_, err := e.do(ctx, req)
	return err
}

// Text returns the text of every page of the PDF at path, as words with
// their boxes (a born-digital PDF kept as it is, for the search index).
func (e *Engine) Text(ctx context.Context, path string) ([]PDFText, error) {
	req := e.request(opText, Settings{})
	req.Path = path
	resp, err := e.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Text, nil
}

// RenderJPEG renders page n (from 0) of the PDF at path as a JPEG image
// width pixels wide (a page view, a thumbnail).
func (e *Engine) RenderJPEG(ctx context.Context, path string, n, width int) ([]byte, error) {
	req := e.request(opRender, Settings{})
	req.Path, req.Page, req.Width = path, n, width
	resp, err := e.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.JPEG, nil
}

// Page is one page made for the access copy.
type Page struct {
	// Words are in pixels of the page as shown upright: Width × Height of
	// them cover it, at DPI (assumed, for a file that records none).
	Words         []Word
	Width, Height int
	DPI           float64
	DPIAssumed    bool
	// Turn is the clockwise quarter turns that set the page upright: from
	// the image file as stored, or from the PDF page as shown.
	Turn int
	// Image is the page image for the access copy (when asked for), shown
	// upright after ImageTurn clockwise quarter turns.
	Image     *pdfa.Image
	ImageTurn int
	// Notes say what was done to the page (scaled, turned, straightened),
	// for the PREMIS record.
	Notes []string
	// Skew is how far the scanned lines of text lie off level, in degrees
	// (positive: turned anticlockwise), as Tesseract's layout analysis
	// found them, with any straightening applied added back; 0 for a page
	// without text.
	Skew float64
	// Hash is the upright page's perceptual hash (formats/pagehash), for
	// finding pages scanned twice; 0 for a page with nothing drawn.
	Hash uint64
}

// MakePage decodes (or, for a PDF, renders) page n of the file at path,
// turns it upright, OCRs it and, with embed, encodes its image for the
// access copy. A blank page gives no words, not an error. A page over
// Tesseract's size limit or Config.MaxPixels is OCRed from a copy scaled
// down to fit, made in the worker (so the decoded page costs the worker's
// memory, not the daemon's).
func (e *Engine) MakePage(ctx context.Context, path string, n int, s Settings, embed bool) (*Page, error) {
	req := e.request(opPage, s)
	req.Path, req.Page, req.Embed = path, n, embed
	r, err := e.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &r.Page, nil
}

// do runs req on a worker, on a fresh one after a crash, up to crashTries.
func (e *Engine) do(ctx context.Context, req request) (*response, error) {
	var last error
	for try := 1; try <= crashTries; try++ {
		var w *process
		select {
		case w = <-e.slots:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if w == nil {
			var err error
			if w, err = e.start(); err != nil {
				e.slots <- nil
				return nil, err
			}
		}
		resp, err := w.do(ctx, req, e.cfg.PageTimeout)
		if err == nil && resp.Kind == kindNoMemory && w.served > 1 && try < crashTries {
			// Memory an earlier page grew (PDFium's never shrinks) may be
			// what is missing: try once more in a fresh worker.
			w.stop()
			e.slots <- nil
			continue
		}
		if err == nil {
			w.idleSince = time.Now()
			e.slots <- w
			if resp.Err != "" {
				return nil, resp.error()
			}
			return resp, nil
		}
		// The worker is gone (crashed, or stopped for a timeout or a
		// cancelled context); its slot starts a new one on next use.
		e.slots <- nil
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		last = err
	}
	return nil, &CrashError{Tries: crashTries, Reason: last.Error()}
}

func (r *response) error() error {
	switch r.Kind {
	case kindSettings:
		return fmt.Errorf("%w: %s", ErrSettings, r.Err)
	case kindCorrupt, kindUnsupported, kindTooLarge, kindNoMemory:
		// The worker's message starts with the kind's own words.
		base := map[errKind]error{kindCorrupt: ErrCorrupt, kindUnsupported: ErrUnsupported, kindTooLarge: ErrTooLarge, kindNoMemory: ErrTooLarge}[r.Kind]
		return fmt.Errorf("%w%s", base, strings.TrimPrefix(r.Err, base.Error()))
	}
	return fmt.Errorf("ocr: %s", r.Err)
}

// process is one worker process.
type process struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	enc    *gob.Encoder
	bw     *bufio.Writer
	dec    *gob.Decoder
	stderr *tail
	exited chan struct{} // closed once the process has been waited for
	served int           // requests answered
	// idleSince is when it last answered (set before its slot is given
	// back, read by whoever takes the slot).
	idleSince time.Time
}

func (e *Engine) start() (*process, error) {
	cmd := exec.Command(e.exe)
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	if e.cfg.WorkerMemory > 0 {
		cmd.Env = append(cmd.Env, workerMemEnv+"="+strconv.FormatInt(e.cfg.WorkerMemory, 10))
	}
	if e.cfg.CacheDir != "" {
		cmd.Env = append(cmd.Env, workerCacheEnv+"="+e.cfg.CacheDir)
	}
	if os.Getenv("OMP_THREAD_LIMIT") == "" {
		cmd.Env = append(cmd.Env, "OMP_THREAD_LIMIT=1") // one page, one thread: pages run in parallel
	}
	// A worker must not outlive the daemon, killed or not.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	w := &process{cmd: cmd, stderr: &tail{max: 16 << 10}, exited: make(chan struct{})}
	cmd.Stderr = w.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("ocr: start worker: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ocr: start worker: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ocr: start worker %s: %w", e.exe, err)
	}
	w.in = in
	w.bw = bufio.NewWriterSize(in, 1<<20)
	w.enc = gob.NewEncoder(w.bw)
	w.dec = gob.NewDecoder(bufio.NewReader(out))
	go func() {
		cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// do sends one request and waits for the answer. Any error means the
// worker is gone: it died, or it was killed for taking longer than timeout
// or because ctx ended.
func (w *process) do(ctx context.Context, req request, timeout time.Duration) (*response, error) {
	type result struct {
		resp *response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r response
		err := w.enc.Encode(&req)
		if err == nil {
			err = w.bw.Flush()
		}
		if err == nil {
			err = w.dec.Decode(&r)
		}
		done <- result{&r, err}
	}()
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	select {
	case r := <-done:
		if r.err == nil {
			w.served++
			return r.resp, nil
		}
		w.kill()
		return nil, fmt.Errorf("worker %s", w.ended())
	case <-timer:
		w.kill()
		<-done
		return nil, fmt.Errorf("worker stopped after %s on one page (access.ocr.page_timeout)", timeout)
	case <-ctx.Done():
		w.kill()
		<-done
		return nil, ctx.Err()
	}
}

func (w *process) kill() {
	w.cmd.Process.Kill()
	<-w.exited
}

// ended describes how the worker's process ended, with the last line it
// printed (Tesseract's "Image too large", Go's "out of memory").
func (w *process) ended() string {
	<-w.exited
	st := w.cmd.ProcessState
	how := st.String()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		how = "killed by " + ws.Signal().String()
	}
	if said := w.stderr.summary(); said != "" {
		how += `; it printed "` + said + `"`
	}
	return how
}

// stop ends a worker that is idle: closing its stdin ends it cleanly.
func (w *process) stop() {
	w.in.Close()
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		w.kill()
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

// summary picks what explains a crash from what the worker printed: Go's
// "fatal error:", "panic:" or "SIGSEGV:" line and Tesseract's or
// Leptonica's errors; else the last line.
func (t *tail) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var picked []string
	var last string
	for _, l := range strings.Split(string(t.b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		last = l
		lower := strings.ToLower(l)
		if len(picked) < 3 && (strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "SIG") ||
			strings.Contains(lower, "error") || strings.Contains(lower, "too large")) {
			picked = append(picked, l)
		}
	}
	if len(picked) == 0 && last != "" {
		picked = append(picked, last)
	}
	return strings.Join(picked, "; ")
}
