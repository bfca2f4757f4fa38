package push

import (
	"os"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/ocr"
)

// TestMain lets this test binary serve as its own decoder worker.
func TestMain(m *testing.M) {
	ocr.WorkerMain()
	os.Exit(m.Run())
}
