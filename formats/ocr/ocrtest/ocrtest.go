// Package ocrtest gives tests OCR engines set up as the daemon sets them
// up. A test binary that uses one calls ocr.WorkerMain in its TestMain:
// the engine's workers are copies of it.
package ocrtest

import (
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// Config is the embedded defaults' OCR settings (English, orientation
// detection on) with workers and a decoding pixel limit.
func Config(workers int, maxDecode int64) ocr.Config {
	return ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: workers, DefaultDPI: 300, MaxPixels: 50_000_000, WorkerMemory: 1 << 30,
		PageTimeout: 5 * time.Minute, RotatePages: true, RotateConfidence: 14, MaxDecode: maxDecode, CacheDir: testenv.PDFiumCache()}
}

// Decoder is the pipeline's validating decoder: one worker, images up to
// maxDecode pixels. It is closed when the test ends.
func Decoder(t testing.TB, maxDecode int64) *ocr.Engine {
	t.Helper()
	d, err := ocr.NewEngine(Config(1, maxDecode))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}
