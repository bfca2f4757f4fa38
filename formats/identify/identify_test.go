package identify

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestIdentifyAndPolicy(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"page.png":    pngFile(t),
		"notes.txt":   []byte("plain text\n"),
		"renamed.tif": []byte("this is not a tiff at all"),
		"mystery.bin": {0x00, 0x13, 0x37},
	}
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	p := Policy{MIME: map[string]Action{"image/png": Normalise}, Default: Preserve, Unknown: Reject}
	id := New()
	for _, c := range []struct {
		file   string
		puid   string
		action Action
	}{
		{"page.png", "fmt/11", Normalise},
		{"notes.txt", "x-fmt/111", Preserve},
		{"renamed.tif", "", Reject},
		{"mystery.bin", "", Reject},
	} {
		r, err := id.File(context.Background(), filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if c.puid != "" && r.PUID != c.puid {
			t.Errorf("%s: puid %s, want %s (%+v)", c.file, r.PUID, c.puid, r)
		}
		if a, rule := p.Decide(r); a != c.action {
			t.Errorf("%s: action %s by %q, want %s (%+v)", c.file, a, rule, c.action, r)
		}
	}
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	if _, err := id.File(context.Background(), filepath.Join(dir, "empty")); err == nil {
		t.Error("empty file identified")
	}
}

func pngFile(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPolicyValidate(t *testing.T) {
	bad := Policy{PUID: map[string]Action{"fmt/1": "shred"}, Default: Preserve, Unknown: "maybe"}
	if err := bad.Validate(); err == nil {
		t.Error("bad actions accepted")
	}
}
