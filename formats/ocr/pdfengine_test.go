package ocr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// imagePDF is a one-page PDF of a w×h grey Flate image.
func imagePDF(t *testing.T, w, h int) string {
	t.Helper()
	data := testenv.Flate(0x80, w*h)
	return writeTemp(t, "image.pdf", testenv.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im 4 0 R >> >> /Contents 5 0 R >>",
		testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, h), data),
		testenv.Stream("", "q 612 0 0 792 0 0 cm /Im Do Q")))
}

func writeTemp(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPDFEngineFailuresAreNotCorrupt: valid PDFs that are merely large
// were failed as "corrupt" (an image PDFium had no memory to decode; a
// content stream that made PDFium trap), and after them the worker's
// PDFium was left broken: every later PDF failed as "image … does not
// decode" until the daemon restarted. Now what fails for want of memory,
// or inside PDFium, is "too large" or "not supported here", never
// "corrupt", and the next ordinary PDF checks fine in the same worker.
func TestPDFEngineFailuresAreNotCorrupt(t *testing.T) {
	cfg := testConfig()
	cfg.Workers, cfg.WorkerMemory = 1, 1<<30 // the default: PDFium gets 512 MiB
	e := engineWith(t, cfg)
	ctx := context.Background()
	ordinary := imagePDF(t, 600, 800)
	checkAll := func(p string) error {
		f, err := e.Inspect(ctx, p)
		if err != nil {
			return err
		}
		for i := range f.NumPages() {
			if err := e.Check(ctx, p, i); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range []struct {
		name string
		pdf  string
	}{
		{"a 12000×12000 image, 549 MiB as a bitmap", imagePDF(t, 12000, 12000)},
		{"a 255 MiB content stream of spaces", writeTemp(t, "content.pdf", testenv.BlankPDF(255<<20, 1))},
	} {
		err := checkAll(c.pdf)
		t.Logf("%s: %v", c.name, err)
		if errors.Is(err, ErrCorrupt) || strings.Contains(fmt.Sprint(err), "corrupt") {
			t.Errorf("%s: called corrupt: %v", c.name, err)
		}
		if err := checkAll(ordinary); err != nil {
			t.Errorf("an ordinary PDF after %s: %v", c.name, err)
		}
	}
}
