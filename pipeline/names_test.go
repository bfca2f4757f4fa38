package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// TestLongNames: a file whose name is as long as a name may be (255 bytes,
// here of two-byte characters) reaches a final state both ways: stored,
// with derived files (access copy, text, ALTO) under a shortened name that
// the PREMIS record explains; or failed, with a reason file beside it.
// Such names used to make the derived files and the reason file fail for
// ever (ENAMETOOLONG), and the fail stage retried without end.
func TestLongNames(t *testing.T) {
	if _, err := pdfa.GlyphlessFont(); err != nil {
		testenv.Missing(t, "%v", err)
	}
	te := newTestEnv(t)
	te.Access = &access.Maker{Cfg: access.Config{PDFA: "2b", OCR: ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: 1, DefaultDPI: 300,
		MaxPixels: 50_000_000, PageTimeout: 0}}, Creator: "strongroom/test", MaxPixel: 1e8}
	t.Cleanup(te.Access.Close)
	long := strings.Repeat("ü", 125) + "-1.png" // 256 bytes: one too many for …
	long = long[:len(long)-5] + ".png"          // … so 255 exactly
	if len(long) != 255 {
		t.Fatalf("name of %d bytes", len(long))
	}
	good := te.ingest(t, put(t, filepath.Join(te.hot, long), pngBytes(t, 200, 100)))
	if good.Stage != catalog.StageDone {
		t.Fatalf("long name: %s: %s", good.Stage, good.LastError)
	}
	derived, _ := filepath.Glob(filepath.Join(te.storeDir, good.BagID, "data", "alto", "*.alto.xml"))
	if len(derived) != 1 || len(filepath.Base(derived[0])) > 255 || !utf8.ValidString(filepath.Base(derived[0])) {
		t.Fatalf("ALTO files %q", derived)
	}
	evs, _ := te.cat.Events(context.Background(), good.ID)
	if !hasEvent(evs, catalog.EvNormalization, "shortened from") {
		t.Error("the record does not say the derived names were shortened")
	}
	if !exists(filepath.Join(te.done, long)) {
		t.Error("original not released under its own name")
	}

	bad := strings.Repeat("ö", 125) + ".png" // 254 bytes, a zero-byte file
	it := te.ingest(t, put(t, filepath.Join(te.hot, bad), nil))
	if it.Stage != catalog.StageFailed || it.Attempts != 1 {
		t.Fatalf("bad long name: %s after %d attempts: %s", it.Stage, it.Attempts, it.LastError)
	}
	if !exists(filepath.Join(te.failed, bad)) {
		t.Fatal("original not in failed/")
	}
	reasons, _ := filepath.Glob(filepath.Join(te.failed, "*.reason.json"))
	if len(reasons) != 1 {
		t.Fatalf("reason files %q", reasons)
	}
	if fi, _ := os.Stat(reasons[0]); fi.Mode().Perm()&0o040 == 0 {
		t.Errorf("reason file mode %v: the service group cannot read it", fi.Mode().Perm())
	}
	var r Reason
	b, _ := os.ReadFile(reasons[0])
	if err := json.Unmarshal(b, &r); err != nil || r.Name != bad || !strings.Contains(r.Error, "zero-byte") {
		t.Errorf("reason %s: %+v %v", reasons[0], r, err)
	}
}

func TestFitName(t *testing.T) {
	for _, c := range []struct {
		name, suffix string
	}{
		{"page.tif", ".reason.json"},
		{strings.Repeat("a", 255), ".reason.json"},
		{strings.Repeat("ü", 127), ".alto.xml"},
		{strings.Repeat("日", 85), ""},
	} {
		got := fitName(c.name, c.suffix)
		if len(got) > 255 || !utf8.ValidString(got) || !strings.HasSuffix(got, c.suffix) {
			t.Errorf("fitName(%d bytes, %q) = %q (%d bytes)", len(c.name), c.suffix, got, len(got))
		}
		if len(c.name)+len(c.suffix) <= 255 && got != c.name+c.suffix {
			t.Errorf("fitName changed a name that fits: %q", got)
		}
	}
	// Long names that differ only at the end stay different.
	a, b := fitName(strings.Repeat("x", 300)+"a", ""), fitName(strings.Repeat("x", 300)+"b", "")
	if a == b {
		t.Error("two long names shortened to one")
	}
	if got := withSuffix("page.tif", ".20260101T000000Z-abc"); got != "page.20260101T000000Z-abc.tif" {
		t.Errorf("withSuffix: %q", got)
	}
}
