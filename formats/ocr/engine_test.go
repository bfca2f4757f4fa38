package ocr

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
)

// widePNG is the reproduction: an 8-bit grey PNG w×h of white rows,
// written by hand as a python3 one-liner would (Go's encoder is not needed
// to make Tesseract crash).
func widePNG(w, h int) []byte {
	var raw bytes.Buffer
	zw := zlib.NewWriter(&raw)
	row := bytes.Repeat([]byte{0xff}, w+1)
	row[0] = 0 // filter: none
	for range h {
		zw.Write(row)
	}
	zw.Close()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 8 // bit depth; colour type 0 (grey)
	chunk("IHDR", ihdr)
	chunk("IDAT", raw.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// TestTooWideForTesseract: a page of 32,768 pixels crashed the daemon
// (Tesseract prints "Image too large" and its result iterator segfaults).
// Now it is OCRed from a copy scaled to fit, and the words' boxes come
// back in the page's own pixels.
func TestTooWideForTesseract(t *testing.T) {
	// A line of known text at the left of a 32,768-pixel-wide strip.
	line := testpage.Render(testpage.Text[:1], testpage.Options{DPI: 300, PointSize: 14, Seed: 3})
	// The text starts an inch and a line down the rendered page.
	lb := image.Rect(0, 0, line.Bounds().Dx(), 300)
	strip := image.NewGray(image.Rect(0, 0, 32768, 300))
	for i := range strip.Pix {
		strip.Pix[i] = 0xff
	}
	draw.Draw(strip, lb, line, image.Pt(0, 250), draw.Src)
	e := engine(t)
	p, err := e.MakePage(context.Background(), pageFile(t, strip), 0, Settings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "32767") || p.Width != 32768 {
		t.Errorf("notes %q, width %d", p.Notes, p.Width)
	}
	if len(p.Words) == 0 {
		t.Fatal("no words")
	}
	for _, w := range p.Words {
		if !w.Box.In(strip.Bounds()) || w.Box.Min.X > lb.Dx() {
			t.Errorf("word %q at %v: not where the text is (%v)", w.Text, w.Box, lb)
		}
	}
	// The hand-made PNG of the report, all white: no words, no crash.
	if p, err := e.MakePage(context.Background(), dataFile(t, "wide.png", widePNG(32768, 100)), 0, Settings{}, false); err != nil || len(p.Words) != 0 {
		t.Errorf("white strip: %+v %v", p, err)
	}
}

// TestWorkerKilledMidPage: a worker killed from outside (the kernel's OOM
// killer, an operator) while on a page: the page is done on a new worker.
func TestWorkerKilledMidPage(t *testing.T) {
	e := engine(t)
	page := testpage.Render(append(append([]string{}, testpage.Text...), testpage.Text...), testpage.Options{DPI: 300, PointSize: 11, Seed: 2})
	img := pageFile(t, page)
	if _, err := e.MakePage(context.Background(), img, 0, Settings{}, false); err != nil { // start the worker
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		p, err := e.MakePage(context.Background(), img, 0, Settings{}, false)
		if err == nil && len(p.Words) == 0 {
			err = errors.New("no words")
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	killed := 0
	for _, pid := range children(t) {
		syscall.Kill(pid, syscall.SIGKILL)
		killed++
	}
	if killed == 0 {
		t.Fatal("no worker process found")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// children lists the pids of this process's children.
func children(t *testing.T) []int {
	t.Helper()
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestWorkerMemoryCap: a worker may not grow past worker_memory. A page
// that needs more makes Leptonica's allocation fail and the worker crash
// inside C code: that costs the page (tried twice, then given up with the
// reason), and the next page is OCRed by a new worker.
func TestWorkerMemoryCap(t *testing.T) {
	cfg := testConfig()
	cfg.WorkerMemory = 300 << 20
	cfg.MaxPixels = 200_000_000 // let the big page through to Tesseract unscaled
	e := engineWith(t, cfg)
	big := image.NewGray(image.Rect(0, 0, 12000, 12000))
	for i := range big.Pix {
		big.Pix[i] = uint8(i * 31 % 251) // noise: nothing compresses away
	}
	_, err := e.MakePage(context.Background(), pageFile(t, big), 0, Settings{}, false)
	var crash *CrashError
	if !errors.As(err, &crash) && (err == nil || !strings.Contains(err.Error(), "memory")) {
		t.Fatalf("got %v, want the page refused for memory", err)
	}
	t.Logf("refused: %v", err)
	small := testpage.Render(testpage.Text[:1], testpage.Options{DPI: 300, PointSize: 12, Seed: 1})
	if p, err := e.MakePage(context.Background(), pageFile(t, small), 0, Settings{}, false); err != nil || len(p.Words) == 0 {
		t.Fatalf("a normal page under the cap: %+v %v", p, err)
	}
}

// TestPageTimeout: a page that takes longer than page_timeout stops its
// worker and is given up.
func TestPageTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.PageTimeout = 50 * time.Millisecond
	e := engineWith(t, cfg)
	page := testpage.Render(testpage.Text, testpage.Options{DPI: 300, PointSize: 11, Seed: 2})
	_, err := e.MakePage(context.Background(), pageFile(t, page), 0, Settings{}, false)
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Reason, "page_timeout") {
		t.Fatalf("got %v", err)
	}
}

// TestMissingLanguage: a language that is not installed is an error of the
// page's settings, not a crash, and names the package to install.
func TestMissingLanguage(t *testing.T) {
	e := engine(t)
	_, err := e.MakePage(context.Background(), pageFile(t, image.NewGray(image.Rect(0, 0, 20, 20))), 0, Settings{Languages: []string{"xyz"}}, false)
	var crash *CrashError
	if !errors.Is(err, ErrSettings) || errors.As(err, &crash) || !strings.Contains(err.Error(), "tesseract-ocr-xyz") {
		t.Fatalf("got %v", err)
	}
}

// TestIdleStop: with IdleStop, a worker with nothing to do ends, and the
// next page starts one again; without, workers stay.
func TestIdleStop(t *testing.T) {
	path := pageFile(t, testpage.Render(testpage.Text[:1], testpage.Options{DPI: 300, PointSize: 12, Seed: 2}))
	live := func(e *Engine) int {
		n := 0
		var ws []*process
		for range cap(e.slots) {
			w := <-e.slots
			ws = append(ws, w)
			if w != nil {
				n++
			}
		}
		for _, w := range ws {
			e.slots <- w
		}
		return n
	}
	for _, stop := range []time.Duration{300 * time.Millisecond, 0} {
		cfg := testConfig()
		cfg.IdleStop = stop
		e := engineWith(t, cfg)
		if err := e.Check(context.Background(), path, 0); err != nil {
			t.Fatal(err)
		}
		if n := live(e); n != 1 {
			t.Fatalf("idle stop %s: %d workers after a page, want 1", stop, n)
		}
		time.Sleep(time.Second)
		want := 1
		if stop > 0 {
			want = 0
		}
		if n := live(e); n != want {
			t.Errorf("idle stop %s: %d workers a second later, want %d", stop, n, want)
		}
		if err := e.Check(context.Background(), path, 0); err != nil {
			t.Errorf("idle stop %s: the next page: %v", stop, err)
		}
	}
}
