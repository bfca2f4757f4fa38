package ocr

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve as its own OCR worker.
func TestMain(m *testing.M) {
	WorkerMain()
	os.Exit(m.Run())
}
