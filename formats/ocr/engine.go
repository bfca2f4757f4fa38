package ocr

import (
	"bufio"
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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
	cfg   Config
	exe   string
	slots chan *worker // Workers entries; nil is a worker not (or no longer) running
}

// NewEngine returns an engine; no process starts until the first page.
func NewEngine(cfg Config) (*Engine, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("ocr: find this program to start OCR workers: %w", err)
	}
	e := &Engine{cfg: cfg, exe: exe, slots: make(chan *worker, max(cfg.Workers, 1))}
	for range cap(e.slots) {
		e.slots <- nil
	}
	return e, nil
}

// Start starts every worker and has each load Tesseract with s, so that
// the first pages wait for neither (and a missing language shows now).
func (e *Engine) Start(ctx context.Context, s Settings) error {
	req := request{Image: blank, Languages: e.cfg.Languages, PSM: e.cfg.PSM}
	if len(s.Languages) > 0 {
		req.Languages = s.Languages
	}
	if s.PSM != nil {
		req.PSM = *s.PSM
	}
	var ws []*worker
	defer func() {
		for _, w := range ws {
			e.slots <- w
		}
	}()
	for range cap(e.slots) {
		var w *worker
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

// Page is what Recognize found on one page.
type Page struct {
	Words []Word
	// Scale is 1, or the factor by which the page was scaled down for
	// Tesseract (the words' boxes are in the page's own pixels either way).
	Scale float64
	// Note says why the page was scaled down, for the PREMIS record.
	Note string
}

// Recognize OCRs one encoded page image. A blank page gives no words, not
// an error. A page over Tesseract's size limit or Config.MaxPixels is OCRed
// from a grey copy scaled down to fit, made in the worker (so the decoded
// page costs the worker's memory, not the daemon's).
func (e *Engine) Recognize(ctx context.Context, page []byte, s Settings) (*Page, error) {
	req := request{Image: page, Languages: e.cfg.Languages, PSM: e.cfg.PSM, MaxPixels: e.cfg.MaxPixels}
	if len(s.Languages) > 0 {
		req.Languages = s.Languages
	}
	if s.PSM != nil {
		req.PSM = *s.PSM
	}
	resp, err := e.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Page{Words: resp.Words, Scale: resp.Scale, Note: resp.Note}, nil
}

// do runs req on a worker, on a fresh one after a crash, up to crashTries.
func (e *Engine) do(ctx context.Context, req request) (*response, error) {
	var last error
	for try := 1; try <= crashTries; try++ {
		var w *worker
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
		if err == nil {
			e.slots <- w
			if resp.Err != "" {
				return nil, fmt.Errorf("ocr: %s", resp.Err)
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

// worker is one OCR process.
type worker struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	enc    *gob.Encoder
	bw     *bufio.Writer
	dec    *gob.Decoder
	stderr *tail
	exited chan struct{} // closed once the process has been waited for
}

func (e *Engine) start() (*worker, error) {
	cmd := exec.Command(e.exe)
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	if e.cfg.WorkerMemory > 0 {
		cmd.Env = append(cmd.Env, workerMemEnv+"="+strconv.FormatInt(e.cfg.WorkerMemory, 10))
	}
	if os.Getenv("OMP_THREAD_LIMIT") == "" {
		cmd.Env = append(cmd.Env, "OMP_THREAD_LIMIT=1") // one page, one thread: pages run in parallel
	}
	// A worker must not outlive the daemon, killed or not.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	w := &worker{cmd: cmd, stderr: &tail{max: 16 << 10}, exited: make(chan struct{})}
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
func (w *worker) do(ctx context.Context, req request, timeout time.Duration) (*response, error) {
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

func (w *worker) kill() {
	w.cmd.Process.Kill()
	<-w.exited
}

// ended describes how the worker's process ended, with the last line it
// printed (Tesseract's "Image too large", Go's "out of memory").
func (w *worker) ended() string {
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
func (w *worker) stop() {
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
