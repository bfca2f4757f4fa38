// Package testpage renders realistic test pages with known text: a serif
// face at a given resolution, slightly skewed, with speckle noise, as a
// scanner would deliver a printed page. Tests and benchmarks OCR them and
// score the result by character error rate.
package testpage

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Options shape a page.
type Options struct {
	DPI       float64 // 300
	PointSize float64 // 12
	SkewDeg   float64 // e.g. 0.8
	Noise     float64 // share of pixels flipped, e.g. 0.002
	Seed      uint64
}

// Render draws lines of text on an A4 page.
func Render(lines []string, o Options) *image.Gray {
	w, h := int(8.27*o.DPI), int(11.69*o.DPI)
	page := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(page, page.Bounds(), image.White, image.Point{}, draw.Src)
	f, _ := opentype.Parse(goregular.TTF)
	face, _ := opentype.NewFace(f, &opentype.FaceOptions{Size: o.PointSize, DPI: o.DPI, Hinting: font.HintingFull})
	d := &font.Drawer{Dst: page, Src: image.Black, Face: face}
	lineH := int(o.PointSize * 1.5 * o.DPI / 72)
	y := int(o.DPI) + lineH
	for _, l := range lines {
		d.Dot = fixed.P(int(o.DPI), y)
		d.DrawString(l)
		y += lineH
	}
	out := page
	if o.SkewDeg != 0 {
		out = rotate(page, o.SkewDeg)
	}
	if o.Noise > 0 {
		r := rand.New(rand.NewPCG(o.Seed, 7))
		for i := range out.Pix {
			if r.Float64() < o.Noise {
				out.Pix[i] = 255 - out.Pix[i]
			}
		}
	}
	return out
}

// rotate turns the page by deg around its centre (nearest neighbour).
func rotate(src *image.Gray, deg float64) *image.Gray {
	b := src.Bounds()
	dst := image.NewGray(b)
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			sx, sy := int(cos*dx+sin*dy+cx), int(-sin*dx+cos*dy+cy)
			c := color.Gray{255}
			if sx >= 0 && sy >= 0 && sx < b.Dx() && sy < b.Dy() {
				c = src.GrayAt(sx, sy)
			}
			dst.SetGray(x, y, c)
		}
	}
	return dst
}

// CER is the character error rate of got against want: the Levenshtein
// distance over the length of want, with white space normalised.
func CER(want, got string) float64 {
	a := []rune(strings.Join(strings.Fields(want), " "))
	b := []rune(strings.Join(strings.Fields(got), " "))
	if len(a) == 0 {
		return float64(len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(len(a))
}

// Text is sample prose for test pages: varied words, digits, punctuation.
var Text = []string{
	"The parish register of 1801 records forty-two baptisms,",
	"seventeen marriages and thirty-one burials. The vicar,",
	"John Whitlock, kept the book in a fair hand until March,",
	"when his curate took over; entries after that date are",
	"brief and often lack the names of the godparents.",
	"Item 17: a lease for three lives, dated 4 June 1799,",
	"between the Dean and Chapter and one Samuel Parker.",
	"Rent: two pounds and six shillings, payable at Lady Day.",
}
