// Package iiif is what strongroom speaks of IIIF: the Image API 3.0
// request (region, size, rotation, quality, format: parsed, checked and
// applied to a page image) and the Presentation API 3.0 documents (a
// manifest per bag, an image service's info.json). The HTTP routes and
// the access rights are the review server's; this package knows no bag.
package iiif

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"strconv"
	"strings"

	xdraw "golang.org/x/image/draw"
)

// ErrRequest is a request the Image API does not allow or this server
// does not do: answered 400.
var ErrRequest = errors.New("iiif: bad image request")

// MaxArea bounds the pixels one response may have (maxArea in info.json).
const MaxArea = 25_000_000

// Request is one Image API request resolved against an image of a known
// size: the rectangle cut, the size it is scaled to, then turned and
// coloured.
type Request struct {
	Region   image.Rectangle
	Width    int
	Height   int
	Rotation int  // 0, 90, 180, 270, clockwise
	Mirror   bool // flipped left to right before turning
	Quality  string
	Format   string // jpg or png
}

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRequest, fmt.Sprintf(format, a...))
}

// Parse reads the four path segments of an image request for an image
// w × h pixels.
func Parse(region, size, rotation, qualityFormat string, w, h int) (Request, error) {
	var r Request
	var err error
	if r.Region, err = parseRegion(region, w, h); err != nil {
		return r, err
	}
	if r.Width, r.Height, err = parseSize(size, r.Region.Dx(), r.Region.Dy()); err != nil {
		return r, err
	}
	rot := rotation
	if strings.HasPrefix(rot, "!") {
		r.Mirror, rot = true, rot[1:]
	}
	switch rot {
	case "0", "90", "180", "270":
		r.Rotation, _ = strconv.Atoi(rot)
	default:
		return r, bad("rotation %q: 0, 90, 180 or 270 (with ! to mirror)", rotation)
	}
	q, f, ok := strings.Cut(qualityFormat, ".")
	if !ok {
		return r, bad("%q: want quality.format", qualityFormat)
	}
	switch q {
	case "default", "color", "gray", "bitonal":
		r.Quality = q
	default:
		return r, bad("quality %q: default, color, gray or bitonal", q)
	}
	switch f {
	case "jpg", "png":
		r.Format = f
	default:
		return r, bad("format %q: jpg or png", f)
	}
	return r, nil
}

// ints parses n comma-separated numbers (decimals with pct).
func ints(s string, n int, decimals bool) ([]float64, bool) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, false
	}
	out := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || (!decimals && v != math.Trunc(v)) || strings.ContainsAny(p, "eE+") {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

func parseRegion(s string, w, h int) (image.Rectangle, error) {
	full := image.Rect(0, 0, w, h)
	switch s {
	case "full":
		return full, nil
	case "square":
		side := min(w, h)
		x, y := (w-side)/2, (h-side)/2
		return image.Rect(x, y, x+side, y+side), nil
	}
	pct := strings.HasPrefix(s, "pct:")
	v, ok := ints(strings.TrimPrefix(s, "pct:"), 4, pct)
	if !ok {
		return image.Rectangle{}, bad("region %q: full, square, x,y,w,h or pct:x,y,w,h", s)
	}
	if pct {
		if v[0] > 100 || v[1] > 100 {
			return image.Rectangle{}, bad("region %q: outside the image", s)
		}
		v = []float64{v[0] * float64(w) / 100, v[1] * float64(h) / 100, v[2] * float64(w) / 100, v[3] * float64(h) / 100}
	}
	if v[2] <= 0 || v[3] <= 0 || v[0] >= float64(w) || v[1] >= float64(h) {
		return image.Rectangle{}, bad("region %q: empty, or outside the %d×%d image", s, w, h)
	}
	x0, y0 := int(math.Round(v[0])), int(math.Round(v[1]))
	x1, y1 := int(math.Round(math.Min(v[0]+v[2], float64(w)))), int(math.Round(math.Min(v[1]+v[3], float64(h))))
	r := image.Rect(x0, y0, x1, y1).Intersect(full)
	if r.Empty() {
		return image.Rectangle{}, bad("region %q: empty once cut to the image", s)
	}
	return r, nil
}

func parseSize(s string, rw, rh int) (int, int, error) {
	up := strings.HasPrefix(s, "^")
	s = strings.TrimPrefix(s, "^")
	fit := func(w, h float64) (int, int) { return max(1, int(math.Round(w))), max(1, int(math.Round(h))) }
	var w, h int
	switch {
	case s == "max":
		w, h = rw, rh
		if a := float64(w) * float64(h); a > MaxArea {
			f := math.Sqrt(MaxArea / a)
			w, h = fit(float64(rw)*f, float64(rh)*f)
		}
	case strings.HasPrefix(s, "pct:"):
		v, ok := ints(s[4:], 1, true)
		if !ok || v[0] <= 0 {
			return 0, 0, bad("size %q: pct:n with n > 0", s)
		}
		w, h = fit(float64(rw)*v[0]/100, float64(rh)*v[0]/100)
	case strings.HasPrefix(s, "!"):
		v, ok := ints(s[1:], 2, false)
		if !ok || v[0] == 0 || v[1] == 0 {
			return 0, 0, bad("size %q: !w,h", s)
		}
		f := math.Min(v[0]/float64(rw), v[1]/float64(rh))
		w, h = fit(float64(rw)*f, float64(rh)*f)
	default:
		a, b, ok := strings.Cut(s, ",")
		if !ok {
			return 0, 0, bad("size %q: max, w,, ,h, pct:n, w,h or !w,h", s)
		}
		var fw, fh float64
		var err1, err2 error
		if a != "" {
			fw, err1 = strconv.ParseFloat(a, 64)
		}
		if b != "" {
			fh, err2 = strconv.ParseFloat(b, 64)
		}
		if err1 != nil || err2 != nil || (a == "" && b == "") || fw < 0 || fh < 0 || fw != math.Trunc(fw) || fh != math.Trunc(fh) ||
			(a != "" && fw == 0) || (b != "" && fh == 0) || fw > 1e6 || fh > 1e6 {
			return 0, 0, bad("size %q: max, w,, ,h, pct:n, w,h or !w,h", s)
		}
		switch {
		case a == "":
			w, h = fit(float64(rw)*fh/float64(rh), fh)
		case b == "":
			w, h = fit(fw, float64(rh)*fw/float64(rw))
		default:
			w, h = int(fw), int(fh)
		}
	}
	if !up && (w > rw || h > rh) {
		return 0, 0, bad("size %q: larger than the region (%d×%d) without ^", "^"+s, rw, rh)
	}
	if float64(w)*float64(h) > MaxArea {
		return 0, 0, bad("size: %d×%d is over the %d pixels a response may have", w, h, MaxArea)
	}
	return w, h, nil
}

// Canonical is the request's canonical path (region/size/rotation/
// quality.format) for an image w × h: the same image has one name, in the
// cache and in the Link header.
func (r Request) Canonical(w, h int) string {
	region := "full"
	if r.Region != image.Rect(0, 0, w, h) {
		region = fmt.Sprintf("%d,%d,%d,%d", r.Region.Min.X, r.Region.Min.Y, r.Region.Dx(), r.Region.Dy())
	}
	size := fmt.Sprintf("%d,%d", r.Width, r.Height)
	if r.Width == r.Region.Dx() && r.Height == r.Region.Dy() {
		size = "max"
	} else if r.Width > r.Region.Dx() || r.Height > r.Region.Dy() {
		size = "^" + size
	}
	rot := strconv.Itoa(r.Rotation)
	if r.Mirror {
		rot = "!" + rot
	}
	q := r.Quality
	if q == "color" {
		q = "default"
	}
	return region + "/" + size + "/" + rot + "/" + q + "." + r.Format
}

// Apply cuts, scales, mirrors, turns and colours src (whose bounds are the
// full image) as r asks.
func (r Request) Apply(src image.Image) image.Image {
	b := src.Bounds()
	region := r.Region.Add(b.Min)
	var out draw.Image
	if r.Quality == "gray" || r.Quality == "bitonal" {
		out = image.NewGray(image.Rect(0, 0, r.Width, r.Height))
	} else {
		out = image.NewRGBA(image.Rect(0, 0, r.Width, r.Height))
	}
	scaler := xdraw.Scaler(xdraw.CatmullRom)
	if r.Width*r.Height > 4_000_000 || r.Width < region.Dx()/8 { // big or far smaller: cheaper, and as good there
		scaler = xdraw.ApproxBiLinear
	}
	scaler.Scale(out, out.Bounds(), src, region, xdraw.Src, nil)
	if r.Quality == "bitonal" {
		g := out.(*image.Gray)
		for i, v := range g.Pix {
			if v < 128 {
				g.Pix[i] = 0
			} else {
				g.Pix[i] = 255
			}
		}
	}
	if r.Mirror {
		out = transform(out, func(x, y, w, h int) (int, int) { return w - 1 - x, y }, out.Bounds().Dx(), out.Bounds().Dy())
	}
	switch r.Rotation {
	case 90:
		out = transform(out, func(x, y, w, h int) (int, int) { return h - 1 - y, x }, out.Bounds().Dy(), out.Bounds().Dx())
	case 180:
		out = transform(out, func(x, y, w, h int) (int, int) { return w - 1 - x, h - 1 - y }, out.Bounds().Dx(), out.Bounds().Dy())
	case 270:
		out = transform(out, func(x, y, w, h int) (int, int) { return y, w - 1 - x }, out.Bounds().Dy(), out.Bounds().Dx())
	}
	return out
}

// transform moves every pixel of src (w × h) to to(x, y) in an image of
// size ow × oh, bytes at a time (src is a *image.Gray or *image.RGBA).
func transform(src draw.Image, to func(x, y, w, h int) (int, int), ow, oh int) draw.Image {
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	var spix, dpix []byte
	var sstride, dstride, n int
	var dst draw.Image
	switch s := src.(type) {
	case *image.Gray:
		d := image.NewGray(image.Rect(0, 0, ow, oh))
		spix, sstride, dpix, dstride, n, dst = s.Pix, s.Stride, d.Pix, d.Stride, 1, d
	case *image.RGBA:
		d := image.NewRGBA(image.Rect(0, 0, ow, oh))
		spix, sstride, dpix, dstride, n, dst = s.Pix, s.Stride, d.Pix, d.Stride, 4, d
	}
	for y := range h {
		for x := range w {
			nx, ny := to(x, y, w, h)
			copy(dpix[ny*dstride+nx*n:ny*dstride+nx*n+n], spix[y*sstride+x*n:y*sstride+x*n+n])
		}
	}
	return dst
}
