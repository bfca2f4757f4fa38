package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// TestLargeValidPDFs: valid PDFs that are only large were failed as
// "corrupt" and never reached a bag, and the PDF engine was left broken
// for every PDF after them. A blank page whose content stream is 255 MiB
// of spaces (under max_decoded_bytes; qpdf, Ghostscript and pdftotext take
// it) made PDFium trap; it is now stored as it is, with the reason. A file
// of two 150 MiB streams, each under the limit, is over it in all, and is
// stored as it is without being decoded. An ordinary scanner PDF after
// them, in the same engine, is stored with its access copy.
func TestLargeValidPDFs(t *testing.T) {
	te := accessEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		pdf  []byte
		says string
	}{
		{"blank-255mib.pdf", testenv.BlankPDF(255<<20, 1), "PDFium failed on it here"},
		{"two-150mib-streams.pdf", testenv.BlankPDF(150<<20, 2), "in all"},
	} {
		it := te.ingest(t, put(t, filepath.Join(te.hot, c.name), c.pdf))
		if it.Stage != catalog.StageDone {
			t.Fatalf("%s: %s: %s", c.name, it.Stage, it.LastError)
		}
		evs, _ := te.cat.Events(ctx, it.ID)
		var said string
		for _, e := range evs {
			if e.Type == catalog.EvValidation || e.Type == catalog.EvNormalization {
				said += e.Detail + "\n"
			}
		}
		if !strings.Contains(said, c.says) || strings.Contains(said, "corrupt") {
			t.Errorf("%s: events say\n%s\nwant %q and not corrupt", c.name, said, c.says)
		}
	}
	copyInput(t, filepath.Join(testenv.Shared(t, "testdata/scanner-pdfs"), "jbig2.pdf"), filepath.Join(te.hot, "scan.pdf"))
	scan := te.ingest(t, filepath.Join(te.hot, "scan.pdf"))
	if scan.Stage != catalog.StageDone {
		t.Fatalf("an ordinary scanner PDF after them: %s: %s", scan.Stage, scan.LastError)
	}
	if !exists(filepath.Join(te.storeDir, scan.BagID, "data", "access", "scan.pdf")) {
		t.Error("an ordinary scanner PDF after them got no access copy")
	}
}
