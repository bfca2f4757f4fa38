package iiif

import (
	"errors"
	"image"
	"image/color"
	"testing"
)

// TestParse: every region and size form of the Image API 3.0 level 1 (and
// the level 2 ones strongroom does as well) resolves to the right
// rectangle and pixel size on a 2480 × 3508 page; what the API does not
// allow is ErrRequest, never a panic.
func TestParse(t *testing.T) {
	const w, h = 2480, 3508
	for _, c := range []struct {
		region, size string
		want         image.Rectangle
		ww, wh       int
		canonical    string
	}{
		{"full", "max", image.Rect(0, 0, w, h), w, h, "full/max/0/default.jpg"},
		{"square", "max", image.Rect(0, 514, w, 514+w), w, w, "0,514,2480,2480/max/0/default.jpg"},
		{"0,0,512,512", "max", image.Rect(0, 0, 512, 512), 512, 512, "0,0,512,512/max/0/default.jpg"},
		{"2048,3072,512,512", "max", image.Rect(2048, 3072, 2480, 3508), 432, 436, "2048,3072,432,436/max/0/default.jpg"},
		{"pct:50,50,50,50", "max", image.Rect(1240, 1754, 2480, 3508), 1240, 1754, "1240,1754,1240,1754/max/0/default.jpg"},
		{"full", "620,", image.Rect(0, 0, w, h), 620, 877, "full/620,877/0/default.jpg"},
		{"full", ",877", image.Rect(0, 0, w, h), 620, 877, "full/620,877/0/default.jpg"},
		{"full", "pct:25", image.Rect(0, 0, w, h), 620, 877, "full/620,877/0/default.jpg"},
		{"full", "300,300", image.Rect(0, 0, w, h), 300, 300, "full/300,300/0/default.jpg"},
		{"full", "!300,300", image.Rect(0, 0, w, h), 212, 300, "full/212,300/0/default.jpg"},
		{"0,0,100,100", "^200,", image.Rect(0, 0, 100, 100), 200, 200, "0,0,100,100/^200,200/0/default.jpg"},
		{"0,0,100,100", "^max", image.Rect(0, 0, 100, 100), 100, 100, "0,0,100,100/max/0/default.jpg"},
	} {
		r, err := Parse(c.region, c.size, "0", "default.jpg", w, h)
		if err != nil || r.Region != c.want || r.Width != c.ww || r.Height != c.wh {
			t.Errorf("%s/%s: %v %dx%d %v, want %v %dx%d", c.region, c.size, r.Region, r.Width, r.Height, err, c.want, c.ww, c.wh)
			continue
		}
		if got := r.Canonical(w, h); got != c.canonical {
			t.Errorf("%s/%s: canonical %s, want %s", c.region, c.size, got, c.canonical)
		}
	}
	for _, c := range [][4]string{
		{"full", "max", "45", "default.jpg"},        // arbitrary rotation: not done
		{"full", "max", "0", "default.gif"},         // format
		{"full", "max", "0", "sepia.jpg"},           // quality
		{"full", "max", "0", "default"},             // no format
		{"0,0,0,10", "max", "0", "default.jpg"},     // empty region
		{"3000,0,10,10", "max", "0", "default.jpg"}, // outside
		{"pct:101,0,1,1", "max", "0", "default.jpg"},
		{"1,2,3", "max", "0", "default.jpg"},
		{"-1,0,10,10", "max", "0", "default.jpg"},
		{"1e3,0,10,10", "max", "0", "default.jpg"},
		{"full", "3000,", "0", "default.jpg"}, // upscaling without ^
		{"full", ",", "0", "default.jpg"},
		{"full", "0,", "0", "default.jpg"},
		{"full", "pct:0", "0", "default.jpg"},
		{"full", "^99999,99999", "0", "default.jpg"}, // over MaxArea
		{"full", "!0,10", "0", "default.jpg"},
		{"full", "big", "0", "default.jpg"},
	} {
		if _, err := Parse(c[0], c[1], c[2], c[3], w, h); !errors.Is(err, ErrRequest) {
			t.Errorf("%v: %v, want ErrRequest", c, err)
		}
	}
}

// TestApply: the output has the size asked for, turned clockwise, mirrored
// and in grey as asked: a red pixel in the top left corner of the region
// ends up where the transformation puts it.
func TestApply(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 400, 200))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	for y := range 20 {
		for x := range 20 {
			src.Set(x, y, color.RGBA{255, 0, 0, 255})
		}
	}
	red := func(img image.Image, x, y int) bool {
		r, g, _, _ := img.At(x, y).RGBA()
		return r > 0xc000 && g < 0x4000
	}
	for _, c := range []struct {
		rotation    string
		w, h        int
		redX, redY  int
		quality     string
		wantRedThen bool
	}{
		{"0", 200, 100, 2, 2, "default", true},
		{"90", 100, 200, 97, 2, "default", true},
		{"180", 200, 100, 197, 97, "default", true},
		{"270", 100, 200, 2, 197, "default", true},
		{"!0", 200, 100, 197, 2, "default", true},
		{"0", 200, 100, 2, 2, "gray", false},
	} {
		r, err := Parse("full", "200,", c.rotation, c.quality+".png", 400, 200)
		if err != nil {
			t.Fatal(err)
		}
		out := r.Apply(src)
		if b := out.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
			t.Errorf("rotation %s: %v, want %dx%d", c.rotation, b, c.w, c.h)
			continue
		}
		if red(out, c.redX, c.redY) != c.wantRedThen {
			t.Errorf("rotation %s %s: the corner is not where it should be", c.rotation, c.quality)
		}
		if _, gray := out.(*image.Gray); gray != (c.quality == "gray") {
			t.Errorf("quality %s: %T", c.quality, out)
		}
	}
}
