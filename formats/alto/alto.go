// Package alto writes OCR results as ALTO XML v4.4, the layout format
// digital libraries ingest: pages, text blocks, lines and words with their
// pixel coordinates and confidences.
package alto

import (
	"encoding/xml"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"

	"github.com/strongroom-archive/strongroom/formats/ocr"
)

// Page is one page to describe.
type Page struct {
	Width, Height int
	Words         []ocr.Word
	Source        string // the original file it came from (the first page's is recorded)
}

const ns = "http://www.loc.gov/standards/alto/ns-v4#"

type doc struct {
	XMLName     xml.Name    `xml:"alto"`
	NS          string      `xml:"xmlns,attr"`
	XSI         string      `xml:"xmlns:xsi,attr"`
	Schema      string      `xml:"xsi:schemaLocation,attr"`
	Description description `xml:"Description"`
	Pages       []page      `xml:"Layout>Page"`
}

type description struct {
	Unit     string `xml:"MeasurementUnit"`
	File     string `xml:"sourceImageInformation>fileName"`
	Software struct {
		ID      string `xml:"ID,attr"`
		Name    string `xml:"ocrProcessingStep>processingSoftware>softwareName"`
		Version string `xml:"ocrProcessingStep>processingSoftware>softwareVersion"`
	} `xml:"OCRProcessing"`
}

type box struct {
	ID     string `xml:"ID,attr"`
	HPOS   int    `xml:"HPOS,attr"`
	VPOS   int    `xml:"VPOS,attr"`
	WIDTH  int    `xml:"WIDTH,attr"`
	HEIGHT int    `xml:"HEIGHT,attr"`
}

type page struct {
	ID     string `xml:"ID,attr"`
	Nr     int    `xml:"PHYSICAL_IMG_NR,attr"`
	WIDTH  int    `xml:"WIDTH,attr"`
	HEIGHT int    `xml:"HEIGHT,attr"`
	Space  struct {
		box
		Blocks []block `xml:"TextBlock"`
	} `xml:"PrintSpace"`
}

type block struct {
	box
	Lines []line `xml:"TextLine"`
}

type line struct {
	box
	Items []any
}

type str struct {
	XMLName xml.Name `xml:"String"`
	box
	Content string  `xml:"CONTENT,attr"`
	WC      float64 `xml:"WC,attr"`
}

type sp struct {
	XMLName xml.Name `xml:"SP"`
}

// Write writes one ALTO document for all pages. software names the OCR
// engine and version.
func Write(w io.Writer, pages []Page, software, version string) error {
	d := doc{NS: ns, XSI: "http://www.w3.org/2001/XMLSchema-instance",
		Schema: ns + " http://www.loc.gov/alto/v4/alto-4-4.xsd"}
	d.Description.Unit = "pixel"
	d.Description.Software.ID = "OCR_0"
	d.Description.Software.Name, d.Description.Software.Version = software, version
	for i, p := range pages {
		if i == 0 {
			d.Description.File = p.Source // ALTO names one source file
		}
		pg := page{ID: fmt.Sprintf("P%d", i+1), Nr: i + 1, WIDTH: p.Width, HEIGHT: p.Height}
		pg.Space.box = box{ID: fmt.Sprintf("P%d_PS", i+1), WIDTH: p.Width, HEIGHT: p.Height}
		var b *block
		var l *line
		for j, wd := range p.Words {
			if b == nil || j == 0 || wd.Block != p.Words[j-1].Block {
				pg.Space.Blocks = append(pg.Space.Blocks, block{box: box{ID: fmt.Sprintf("P%d_B%d", i+1, len(pg.Space.Blocks)+1)}})
				b = &pg.Space.Blocks[len(pg.Space.Blocks)-1]
				l = nil
			}
			if l == nil || wd.Paragraph != p.Words[j-1].Paragraph || wd.Line != p.Words[j-1].Line {
				b.Lines = append(b.Lines, line{box: box{ID: fmt.Sprintf("%s_L%d", b.ID, len(b.Lines)+1)}})
				l = &b.Lines[len(b.Lines)-1]
			} else {
				l.Items = append(l.Items, sp{})
			}
			r := wd.Box
			l.Items = append(l.Items, str{box: box{ID: fmt.Sprintf("%s_W%d", l.ID, j+1), HPOS: r.Min.X, VPOS: r.Min.Y, WIDTH: r.Dx(), HEIGHT: r.Dy()},
				Content: wd.Text, WC: float64(int(wd.Confidence*10)) / 1000})
			grow(&l.box, r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
			grow(&b.box, r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
		}
		d.Pages = append(d.Pages, pg)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("alto: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// grow extends a box to cover a rectangle (a zero box takes it whole).
func grow(b *box, x0, y0, x1, y1 int) {
	if b.WIDTH == 0 && b.HEIGHT == 0 {
		b.HPOS, b.VPOS, b.WIDTH, b.HEIGHT = x0, y0, x1-x0, y1-y0
		return
	}
	bx1, by1 := b.HPOS+b.WIDTH, b.VPOS+b.HEIGHT
	b.HPOS, b.VPOS = min(b.HPOS, x0), min(b.VPOS, y0)
	b.WIDTH, b.HEIGHT = max(bx1, x1)-b.HPOS, max(by1, y1)-b.VPOS
}

// ReadPage is one page read back from ALTO: its size in pixels and its
// words with their boxes.
type ReadPage struct {
	Width, Height int
	Words         []ReadWord
}

// ReadWord is one String of an ALTO page.
type ReadWord struct {
	Text string
	Box  image.Rectangle
}

// Read reads the pages of an ALTO document (any version: elements are
// matched by local name), streaming, so a 1,000-page book is not held as
// a tree.
func Read(r io.Reader) ([]ReadPage, error) {
	dec := xml.NewDecoder(r)
	var pages []ReadPage
	num := func(e xml.StartElement, name string) int {
		for _, a := range e.Attr {
			if a.Name.Local == name {
				f, _ := strconv.ParseFloat(a.Value, 64)
				return int(math.Round(f))
			}
		}
		return 0
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return pages, nil
		}
		if err != nil {
			return pages, fmt.Errorf("alto: %w", err)
		}
		e, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch e.Name.Local {
		case "Page":
			pages = append(pages, ReadPage{Width: num(e, "WIDTH"), Height: num(e, "HEIGHT")})
		case "String":
			if len(pages) == 0 {
				continue
			}
			var text string
			for _, a := range e.Attr {
				if a.Name.Local == "CONTENT" {
					text = a.Value
				}
			}
			x, y := num(e, "HPOS"), num(e, "VPOS")
			p := &pages[len(pages)-1]
			p.Words = append(p.Words, ReadWord{Text: text, Box: image.Rect(x, y, x+num(e, "WIDTH"), y+num(e, "HEIGHT"))})
		}
	}
}
