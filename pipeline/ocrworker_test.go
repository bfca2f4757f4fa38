package pipeline

import (
	"os"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/ocr"
)

// TestMain lets this test binary serve as its own OCR worker.
func TestMain(m *testing.M) {
	ocr.WorkerMain()
	os.Exit(m.Run())
}
