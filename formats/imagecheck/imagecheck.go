// Package imagecheck decodes raster images end to end before they are
// packaged, so that a truncated or corrupt scan fails at intake with a
// reason rather than being preserved as if it were sound. A pixel limit
// refuses decompression bombs before any pixel is decoded.
package imagecheck

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registered decoders
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// ErrTooLarge is returned for an image above the configured pixel limit.
var ErrTooLarge = errors.New("image exceeds the pixel limit")

// ErrCorrupt is returned for an image that does not decode.
var ErrCorrupt = errors.New("image is corrupt")

// Supported reports whether Check can decode images of this MIME type.
func Supported(mime string) bool {
	switch mime {
	case "image/tiff", "image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp":
		return true
	}
	return false
}

// Info is what a check learned of an image.
type Info struct {
	Width, Height int
	Format        string
}

// Check decodes the image at path completely. maxPixels <= 0 means no limit.
// Only the first frame of a multi-page TIFF is decoded here; the OCR stage
// reads every page.
func Check(path string, maxPixels int64) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return Info{}, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	info := Info{Width: cfg.Width, Height: cfg.Height, Format: format}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return info, fmt.Errorf("%w: %dx%d pixels", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); maxPixels > 0 && px > maxPixels {
		return info, fmt.Errorf("%w: %dx%d = %d pixels, limit %d", ErrTooLarge, cfg.Width, cfg.Height, px, maxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return info, err
	}
	if _, _, err := image.Decode(f); err != nil {
		return info, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return info, nil
}
