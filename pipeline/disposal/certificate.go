package disposal

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/strongroom-archive/strongroom/formats/pdfa"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
)

// The certificate's pages: A4 at 150 dpi, 2 cm margins, 10 pt type.
const (
	certDPI    = 150
	certW      = 1240 // 8.27 in
	certH      = 1754 // 11.69 in
	certMargin = 118
	certPt     = 10
)

// certLine is one line of the certificate: bold for headings.
type certLine struct {
	text string
	bold bool
}

// certificateLines is what the certificate says, in the order a records
// manager reads it.
func certificateLines(t *catalog.Tombstone) []certLine {
	day := func(x time.Time) string {
		if x.IsZero() {
			return "—"
		}
		return x.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	lines := []certLine{{"Certificate of disposal", true}, {"", false}}
	add := func(label, v string) { lines = append(lines, certLine{fmt.Sprintf("%-22s %s", label+":", v), false}) }
	add("Bag", t.BagID)
	add("Title", t.Title)
	add("Identifier", t.Identifier)
	add("Collection", t.Collection)
	add("Size", fmt.Sprintf("%d bytes, %d files (Payload-Oxum %s)", t.Bytes, t.Files, t.Oxum))
	add("Tag manifest SHA-512", t.TagManifestSHA512)
	add("Stored", day(t.StoredAt))
	add("Schedule", t.Schedule)
	add("Mandate", t.Mandate)
	add("Due", retention.DueText(t.Due))
	add("Request", fmt.Sprint(t.Request))
	add("Reason", t.Reason)
	add("Requested by", t.RequestedBy)
	add("Approved by", t.ApprovedBy+" on "+day(t.Approved))
	add("Disposed of", day(t.Disposed))
	add("Store", t.Store)
	if t.TransferredTo != "" {
		add("Transferred to", t.TransferredTo+" (copied, read back and validated before deletion)")
	}
	lines = append(lines, certLine{"", false}, certLine{fmt.Sprintf("Deleted (%d)", len(t.Deleted)), true})
	for _, k := range t.Deleted {
		lines = append(lines, certLine{k, false})
	}
	return lines
}

// CertificatePDF renders the tombstone as a PDF/A-2b document a person
// reads: the text drawn on the page, and the same text as a text layer
// (it can be searched and copied).
func CertificatePDF(t *catalog.Tombstone, glyphless []byte) ([]byte, error) {
	regular, err := face(gomono.TTF) // fixed width: the labels line up
	if err != nil {
		return nil, err
	}
	bold, err := face(gomonobold.TTF)
	if err != nil {
		return nil, err
	}
	defer regular.Close()
	defer bold.Close()
	var out bytes.Buffer
	pw, err := pdfa.NewWriter(&out, pdfa.Options{Title: "Certificate of disposal: bag " + t.BagID, Creator: "strongroom", Created: t.Disposed, Font: glyphless})
	if err != nil {
		return nil, err
	}
	lineH := certPt * certDPI * 14 / 10 / 72 // 1.4 × the type size
	width := certW - 2*certMargin
	var page *image.Gray
	var words []pdfa.Word
	y := 0
	flush := func() error {
		if page == nil {
			return nil
		}
		img, err := pdfa.FromImage(page)
		if err != nil {
			return err
		}
		err = pw.AddPage(pdfa.Page{Image: img, DPIX: certDPI, DPIY: certDPI, Words: words})
		page, words = nil, nil
		return err
	}
	for _, l := range certificateLines(t) {
		f := regular
		if l.bold {
			f = bold
		}
		for _, text := range wrap(f, l.text, width) {
			if page == nil || y+lineH > certH-certMargin {
				if err := flush(); err != nil {
					return nil, err
				}
				page = image.NewGray(image.Rect(0, 0, certW, certH))
				draw.Draw(page, page.Bounds(), image.White, image.Point{}, draw.Src)
				y = certMargin
			}
			words = append(words, drawWords(page, f, text, certMargin, y+lineH*3/4)...)
			y += lineH
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := pw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func face(ttf []byte) (font.Face, error) {
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: certPt, DPI: certDPI, Hinting: font.HintingFull})
}

// wrap breaks text into lines no wider than width pixels, at spaces, and
// inside a word (a long key) where it must.
func wrap(f font.Face, text string, width int) []string {
	if text == "" {
		return []string{""}
	}
	var lines []string
	for text != "" {
		n := len(text)
		for n > 1 && font.MeasureString(f, text[:n]).Ceil() > width {
			if i := strings.LastIndexByte(text[:n-1], ' '); i > 0 {
				n = i
			} else {
				n--
			}
		}
		lines = append(lines, text[:n])
		text = strings.TrimLeft(text[n:], " ")
	}
	return lines
}

// drawWords draws text at (x, baseline) and returns its words with their
// boxes, for the text layer.
func drawWords(dst *image.Gray, f font.Face, text string, x, baseline int) []pdfa.Word {
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(color.Black), Face: f, Dot: fixed.P(x, baseline)}
	m := f.Metrics()
	var words []pdfa.Word
	for i, w := range strings.Split(text, " ") {
		if i > 0 {
			d.DrawString(" ")
		}
		if w == "" {
			continue
		}
		x0 := d.Dot.X.Floor()
		d.DrawString(w)
		words = append(words, pdfa.Word{Text: w, X0: x0, Y0: baseline - m.Ascent.Ceil(), X1: d.Dot.X.Ceil(), Y1: baseline + m.Descent.Ceil(), Confidence: 100})
	}
	return words
}
