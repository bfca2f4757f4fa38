package imagecheck

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	enc := map[string]func() []byte{
		"ok.png": func() []byte { var b bytes.Buffer; png.Encode(&b, img); return b.Bytes() },
		"ok.jpg": func() []byte { var b bytes.Buffer; jpeg.Encode(&b, img, nil); return b.Bytes() },
		"ok.tif": func() []byte {
			var b bytes.Buffer
			tiff.Encode(&b, img, &tiff.Options{Compression: tiff.Deflate})
			return b.Bytes()
		},
	}
	for name, f := range enc {
		b := f()
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		os.WriteFile(filepath.Join(dir, "trunc-"+name), b[:len(b)*2/3], 0o644)
		info, err := Check(filepath.Join(dir, name), 0)
		if err != nil || info.Width != 64 || info.Height != 48 {
			t.Errorf("%s: %+v %v", name, info, err)
		}
		if _, err := Check(filepath.Join(dir, "trunc-"+name), 0); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated %s: %v", name, err)
		}
		if _, err := Check(filepath.Join(dir, name), 64*48-1); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s over the pixel limit: %v", name, err)
		}
	}
}
