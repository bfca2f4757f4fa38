// Package pdfread is the one place strongroom opens PDFs with pdfcpu: with
// pdfcpu's configuration directory turned off (it would otherwise write to
// $HOME, which a service account may not have), and with limits checked
// before anything is decompressed, so that a small hostile file cannot make
// the daemon allocate gigabytes.
package pdfread

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

func init() {
	// pdfcpu's default is to create ~/.config/pdfcpu on first use and to
	// panic when it can't. Nothing strongroom does needs that directory.
	api.DisableConfigDir()
}

// Limits bound what reading one PDF may cost.
type Limits struct {
	// MaxDecoded is the most bytes one stream may inflate to, and all the
	// streams of a file but its images together (content streams, fonts,
	// object streams: what reading the file decodes in memory at once).
	// Images are decoded one at a time, each within MaxDecoded and
	// MaxPixels.
	MaxDecoded int64
	// MaxPixels is the most pixels one image may have.
	MaxPixels int64
}

// Defaults are used where a caller gives no limits.
var Defaults = Limits{MaxDecoded: 256 << 20, MaxPixels: 250_000_000}

func (l Limits) orDefaults() Limits {
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = Defaults.MaxDecoded
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = Defaults.MaxPixels
	}
	return l
}

// ErrTooLarge marks a PDF refused by a limit: a decompression bomb, or an
// image larger than the pixel limit.
var ErrTooLarge = errors.New("PDF exceeds a limit")

// Config returns a pdfcpu configuration (relaxed validation) whose own
// resource limits match l.
func Config(l Limits) *model.Configuration {
	l = l.orDefaults()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Limits.MaxDecodeBytes = l.MaxDecoded
	conf.Limits.MaxImageBytes = l.MaxDecoded
	conf.Limits.MaxImagePixels = l.MaxPixels
	return conf
}

// CheckStreams looks at every stream of a PDF that pdfcpu has read (it
// reads streams without decoding them) and refuses the file, before any
// stream is decoded in memory, when an image is larger than l.MaxPixels or
// a Flate stream inflates to more than l.MaxDecoded. Inflating is counted,
// not kept, so the check itself runs in constant memory.
func CheckStreams(ctx *model.Context, l Limits) error {
	l = l.orDefaults()
	var total int64 // inflated bytes of the streams that are not images
	for nr, e := range ctx.XRefTable.Table {
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		sd, ok := e.Object.(types.StreamDict)
		if !ok {
			continue
		}
		image := false
		if st := sd.Subtype(); st != nil && *st == "Image" {
			image = true
			w, h := sd.IntEntry("Width"), sd.IntEntry("Height")
			if w != nil && h != nil && int64(*w)*int64(*h) > l.MaxPixels {
				return fmt.Errorf("%w: image object %d is %d×%d pixels, over the limit of %d", ErrTooLarge, nr, *w, *h, l.MaxPixels)
			}
		}
		if len(sd.FilterPipeline) == 0 || sd.FilterPipeline[0].Name != filter.Flate {
			if !image {
				total += int64(len(sd.Raw))
			}
			continue
		}
		limit := l.MaxDecoded
		if !image {
			limit = l.MaxDecoded - total // what is left of the file's budget
		}
		n, err := inflatedSize(sd.Raw, limit+1)
		if err == nil && n > limit {
			if limit < l.MaxDecoded {
				return fmt.Errorf("%w: its streams inflate to more than %d bytes in all (stream object %d alone to more than %d)", ErrTooLarge, l.MaxDecoded, nr, limit)
			}
			return fmt.Errorf("%w: stream object %d (%d bytes) inflates to more than %d bytes (a decompression bomb?)", ErrTooLarge, nr, len(sd.Raw), l.MaxDecoded)
		}
		if !image {
			total += n
		}
	}
	return nil
}

// inflatedSize counts the bytes raw inflates to, up to limit. Broken
// streams are left for pdfcpu to report.
func inflatedSize(raw []byte, limit int64) (int64, error) {
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(zr, limit))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // truncated streams are common and readable; what matters is the size
	}
	return n, err
}

// Read reads a PDF with pdfcpu under l, checks its streams and counts its
// pages: a file over a limit is refused (ErrTooLarge) before any stream is
// decoded.
func Read(rs io.ReadSeeker, l Limits) (*model.Context, error) {
	ctx, err := api.ReadContext(rs, Config(l))
	if err != nil {
		return nil, err
	}
	if err := CheckStreams(ctx, l); err != nil {
		return nil, err
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, err
	}
	return ctx, nil
}
