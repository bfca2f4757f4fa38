package ocr

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/otiai10/gosseract/v2"
	"golang.org/x/image/draw"
	"golang.org/x/sys/unix"
)

// The worker side. Tesseract and Leptonica are C++ and C: a crash inside
// them (a segfault on a page Tesseract cannot handle, an abort when memory
// runs out) cannot be recovered in Go. So pages are OCRed in worker
// processes, each a copy of this very binary started with workerEnv set,
// talking gob over stdin and stdout. A worker that dies costs its page; the
// daemon starts another.

const (
	workerEnv    = "STRONGROOM_OCR_WORKER"
	workerMemEnv = "STRONGROOM_OCR_WORKER_MEMORY"
)

// request is one page for a worker.
type request struct {
	Image     []byte
	Languages []string
	PSM       int
	MaxPixels int64 // a larger page is scaled down to fit (0: only Tesseract's limit)
}

// response is a worker's answer. Err is set for failures of the page or the
// settings (a language that is not installed); a worker that crashed sends
// nothing.
type response struct {
	Words []Word // in the page's own pixels
	Scale float64
	Note  string
	Err   string
}

// WorkerMain serves OCR requests and exits if this process was started as
// an OCR worker; otherwise it returns at once. Every binary (and test
// binary) that OCRs calls it first thing in main or TestMain.
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
	if s := os.Getenv(workerMemEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", workerMemEnv, s, err)
		}
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: n, Max: n}); err != nil {
			return fmt.Errorf("memory limit %d: %w", n, err)
		}
	}
	dec := gob.NewDecoder(bufio.NewReaderSize(in, 1<<20))
	bw := bufio.NewWriter(proto)
	enc := gob.NewEncoder(bw)
	clients := map[string]*gosseract.Client{}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the daemon closed our stdin: done
			}
			return fmt.Errorf("read request: %w", err)
		}
		resp, err := recognize(clients, req)
		if err != nil {
			resp = &response{Err: err.Error()}
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("write response: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write response: %w", err)
		}
	}
}

// blank is a 1×1 PNG that initialises a client before its first real page.
var blank = func() []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	return b.Bytes()
}()

// client returns the Tesseract client for the request's settings, started
// on first use and kept for the worker's life.
func client(clients map[string]*gosseract.Client, req request) (*gosseract.Client, error) {
	key := fmt.Sprint(req.Languages, req.PSM)
	if c := clients[key]; c != nil {
		return c, nil
	}
	c := gosseract.NewClient()
	err := c.SetLanguage(req.Languages...)
	if err == nil {
		err = c.SetPageSegMode(gosseract.PageSegMode(req.PSM))
	}
	if err == nil {
		if err = c.SetImageFromBytes(blank); err == nil {
			_, err = c.Text()
		}
	}
	if err != nil {
		c.Close()
		lang := "<lang>"
		if len(req.Languages) > 0 {
			lang = req.Languages[0]
		}
		return nil, fmt.Errorf("start Tesseract with languages %s and psm %d (is tesseract-ocr-%s installed?): %w", strings.Join(req.Languages, "+"), req.PSM, lang, err)
	}
	clients[key] = c
	return c, nil
}

func recognize(clients map[string]*gosseract.Client, req request) (*response, error) {
	c, err := client(clients, req)
	if err != nil {
		return nil, err
	}
	img, scale, note, err := fit(req.Image, req.MaxPixels)
	if err != nil {
		return nil, err
	}
	if err := c.SetImageFromBytes(img); err != nil {
		return nil, err
	}
	boxes, err := c.GetBoundingBoxesVerbose()
	if err != nil {
		return nil, err
	}
	words := make([]Word, 0, len(boxes))
	for _, b := range boxes {
		t := strings.TrimSpace(b.Word)
		if t == "" || speckle(t, b.Confidence) {
			continue
		}
		box := b.Box
		if scale != 1 { // back to the page's own pixels
			box = image.Rect(int(float64(box.Min.X)/scale), int(float64(box.Min.Y)/scale),
				int(math.Ceil(float64(box.Max.X)/scale)), int(math.Ceil(float64(box.Max.Y)/scale)))
		}
		words = append(words, Word{Text: t, Box: box, Confidence: b.Confidence, Block: b.BlockNum, Paragraph: b.ParNum, Line: b.LineNum})
	}
	return &response{Words: words, Scale: scale, Note: note}, nil
}

// fit returns the page as Tesseract should get it: as it is, or scaled
// down to a grey PGM within maxSide and MaxPixels.
func fit(page []byte, maxPixels int64) ([]byte, float64, string, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(page))
	if err != nil {
		// Its size cannot be checked, so Tesseract does not get it.
		return nil, 0, "", fmt.Errorf("not a page image that can be checked before OCR: %w", err)
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	scale := 1.0
	var why string
	if maxPixels > 0 && w*h > maxPixels {
		scale = math.Sqrt(float64(maxPixels) / float64(w*h))
		why = fmt.Sprintf("over access.ocr.max_pixels (%d)", maxPixels)
	}
	if side := max(w, h); float64(side)*scale > maxSide {
		scale = maxSide / float64(side)
		why = fmt.Sprintf("wider or taller than Tesseract's %d pixels", maxSide)
	}
	if scale == 1 {
		return page, 1, "", nil
	}
	src, _, err := image.Decode(bytes.NewReader(page))
	if err != nil {
		return nil, 0, "", fmt.Errorf("ocr: decode to scale down: %w", err)
	}
	dw, dh := max(int(float64(w)*scale), 1), max(int(float64(h)*scale), 1)
	// Scale straight into the PGM's pixel bytes: one copy of the page's
	// pixels at the smaller size, not two.
	header := fmt.Sprintf("P5\n%d %d\n255\n", dw, dh)
	pgm := make([]byte, len(header)+dw*dh)
	copy(pgm, header)
	dst := &image.Gray{Pix: pgm[len(header):], Stride: dw, Rect: image.Rect(0, 0, dw, dh)}
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	scale = float64(dw) / float64(w)
	note := fmt.Sprintf("%d×%d pixels, %s: OCRed from a grey copy scaled to %d×%d", w, h, why, dw, dh)
	return pgm, scale, note, nil
}
