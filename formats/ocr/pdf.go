package ocr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/strongroom-archive/strongroom/formats/pdfread"
)

// ErrHasText is returned for a PDF that is not image-only: born digital,
// or already OCRed. Such a PDF is kept as it is.
var ErrHasText = errors.New("the PDF already carries text")

// SplitPDF returns the page images of an image-only PDF from a scanner:
// one image per page and no fonts. Each page's resolution comes from the
// image's pixel size over the page's size. Nothing is decoded before
// pdfread has checked the file against lim.
func SplitPDF(data []byte, lim pdfread.Limits) ([]SourcePage, error) {
	conf := pdfread.Config(lim)
	ctx, err := api.ReadContext(bytes.NewReader(data), conf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if err := pdfread.CheckStreams(ctx, lim); err != nil {
		return nil, err
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if ctx.PageCount > MaxPages {
		return nil, fmt.Errorf("%w: %d pages, more than the %d one file may have", ErrUnsupported, ctx.PageCount, MaxPages)
	}
	for nr := 1; nr <= ctx.PageCount; nr++ {
		d, _, inh, err := ctx.PageDict(nr, true)
		if err != nil || d == nil {
			return nil, fmt.Errorf("%w: page %d: %v", ErrUnsupported, nr, err)
		}
		if inh != nil && inh.Resources != nil {
			if f, ok := inh.Resources.Find("Font"); ok {
				if fd, err := ctx.DereferenceDict(f); err == nil && len(fd) > 0 {
					return nil, fmt.Errorf("%w (page %d has fonts)", ErrHasText, nr)
				}
			}
		}
	}
	images, err := api.ExtractImagesRaw(bytes.NewReader(data), nil, conf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	var pages []SourcePage
	for i, m := range images {
		var imgs []model.Image
		for _, im := range m {
			if !im.Thumb && !im.IsImgMask {
				imgs = append(imgs, im)
			}
		}
		if len(imgs) != 1 {
			return nil, fmt.Errorf("%w: page %d holds %d images; only scans (one image per page) are OCRed", ErrUnsupported, i+1, len(imgs))
		}
		b, err := io.ReadAll(imgs[0])
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %v", ErrUnsupported, i+1, err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%w: page %d image (%s): %v", ErrUnsupported, i+1, imgs[0].FileType, err)
		}
		p := SourcePage{Data: b, Format: format}
		if d, _, inh, err := ctx.PageDict(i+1, true); err == nil && d != nil && inh != nil && inh.MediaBox != nil {
			w, h := inh.MediaBox.Width(), inh.MediaBox.Height()
			if w > 0 && h > 0 {
				p.DPIX, p.DPIY = float64(cfg.Width)*72/w, float64(cfg.Height)*72/h
			}
		}
		pages = append(pages, p)
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: no pages", ErrUnsupported)
	}
	return pages, nil
}
