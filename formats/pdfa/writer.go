// Package pdfa writes and checks the PDF/A-2 files strongroom makes: one
// page per scanned image, the image embedded without loss, and an invisible
// (render mode 3), selectable, searchable text layer placed word by word on
// the image, in an embedded glyphless font with a ToUnicode map, plus XMP
// with the PDF/A identification and an sRGB output intent.
package pdfa

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf16"
)

// Image is a page image ready to embed: already-encoded stream data.
type Image struct {
	Filter           string // "DCTDecode" (JPEG passed through) or "FlateDecode"
	Data             []byte
	ColorSpace       string // "DeviceGray" or "DeviceRGB"
	BitsPerComponent int    // 1 or 8
	Width, Height    int    // pixels
	// Decode inverts 1-bit images where 1 is black ([1 0]).
	InvertBilevel bool
}

// Word is one recognised word, in pixel coordinates of the page image
// (origin top left), as OCR reports it.
type Word struct {
	Text           string
	X0, Y0, X1, Y1 int
	Confidence     float64
}

// Page is one page: its image, its resolution, and its words.
type Page struct {
	Image      Image
	DPIX, DPIY float64
	Words      []Word
}

// Options describe the document.
type Options struct {
	Part        int    // 2
	Conformance string // "B" or "U"
	Title       string
	Creator     string // the tool, e.g. strongroom/1.2
	Created     time.Time
	// Font is a glyphless TrueType font program (Tesseract's pdf.ttf): every
	// character maps to one invisible glyph of width 500/1000 em.
	Font []byte
}

// Writer writes a PDF/A document page by page: pages are written as they
// come (a 300-page book is not held in memory), the page tree, metadata and
// cross-reference table at Close.
type Writer struct {
	w       *countWriter
	opts    Options
	offsets []int64 // by object number - 1
	pages   []int   // page object numbers
	font    int     // Type0 font object number
	err     error
	id      string
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Reserved object numbers, written at Close or at the start.
const (
	objCatalog = 1
	objPages   = 2
	objXMP     = 3
	objIntent  = 4
	objFirst   = 5
)

// NewWriter starts a document on w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	if opts.Part == 0 {
		opts.Part = 2
	}
	if opts.Conformance == "" {
		opts.Conformance = "B"
	}
	if opts.Part != 2 || (opts.Conformance != "B" && opts.Conformance != "U") {
		return nil, fmt.Errorf("pdfa: PDF/A-%d%s is not supported (2b and 2u are)", opts.Part, strings.ToLower(opts.Conformance))
	}
	if len(opts.Font) == 0 {
		return nil, errors.New("pdfa: no glyphless font")
	}
	if opts.Created.IsZero() {
		opts.Created = time.Now()
	}
	if opts.Creator == "" {
		opts.Creator = "strongroom"
	}
	pw := &Writer{w: &countWriter{w: w}, opts: opts, offsets: make([]int64, objFirst-1)}
	var idb [16]byte
	rand.Read(idb[:])
	pw.id = hex.EncodeToString(idb[:])
	// The binary comment marks the file as binary (ISO 19005-2 6.1.2).
	pw.printf("%%PDF-1.7\n%%\xE2\xE3\xCF\xD3\n")
	pw.writeFont()
	return pw, pw.err
}

func (pw *Writer) printf(format string, args ...any) {
	if pw.err == nil {
		_, pw.err = fmt.Fprintf(pw.w, format, args...)
	}
}

// begin starts object num (0: the next free number) and returns its number.
func (pw *Writer) begin(num int) int {
	if num == 0 {
		pw.offsets = append(pw.offsets, 0)
		num = len(pw.offsets)
	}
	pw.offsets[num-1] = pw.w.n
	pw.printf("%d 0 obj\n", num)
	return num
}

func (pw *Writer) object(num int, dict string) int {
	num = pw.begin(num)
	pw.printf("%s\nendobj\n", dict)
	return num
}

// stream writes a stream object; compress deflates data first.
func (pw *Writer) stream(num int, dict string, data []byte, compress bool) int {
	if compress {
		var b bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
		dict += " /Filter /FlateDecode"
	}
	num = pw.begin(num)
	pw.printf("<< %s /Length %d >>\nstream\n", dict, len(data))
	if pw.err == nil {
		_, pw.err = pw.w.Write(data)
	}
	pw.printf("\nendstream\nendobj\n")
	return num
}

func (pw *Writer) writeFont() {
	file := pw.stream(0, fmt.Sprintf("/Length1 %d", len(pw.opts.Font)), pw.opts.Font, true)
	desc := pw.object(0, fmt.Sprintf("<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 0 %d 1000] "+
		"/ItalicAngle 0 /Ascent 1000 /Descent 0 /CapHeight 1000 /StemV 80 /FontFile2 %d 0 R >>", glyphWidth, file))
	// Every CID shows glyph 1, the font's one glyph.
	gid := make([]byte, 2*65536)
	for i := 1; i < len(gid); i += 2 {
		gid[i] = 1
	}
	cidToGID := pw.stream(0, "", gid, true)
	cid := pw.object(0, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont "+
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R "+
		"/DW %d /CIDToGIDMap %d 0 R >>", desc, glyphWidth, cidToGID))
	toUnicode := pw.stream(0, "", []byte(toUnicodeCMap), true)
	pw.font = pw.object(0, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H "+
		"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", cid, toUnicode))
}

// glyphWidth is the advance of the glyphless font's glyph (its hmtx).
const glyphWidth = 500

// toUnicodeCMap maps each CID (a UTF-16 code unit) to itself.
const toUnicodeCMap = `/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMapResource defineresource pop
end
end
`

// AddPage writes one page.
func (pw *Writer) AddPage(p Page) error {
	if pw.err != nil {
		return pw.err
	}
	im := p.Image
	if im.Width <= 0 || im.Height <= 0 || p.DPIX <= 0 || p.DPIY <= 0 {
		return fmt.Errorf("pdfa: page %d: bad size %dx%d at %gx%g dpi", len(pw.pages)+1, im.Width, im.Height, p.DPIX, p.DPIY)
	}
	if im.ColorSpace != "DeviceGray" && im.ColorSpace != "DeviceRGB" {
		return fmt.Errorf("pdfa: page %d: colour space %q not supported", len(pw.pages)+1, im.ColorSpace)
	}
	w := float64(im.Width) * 72 / p.DPIX
	h := float64(im.Height) * 72 / p.DPIY
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s /BitsPerComponent %d /Interpolate false",
		im.Width, im.Height, im.ColorSpace, im.BitsPerComponent)
	if im.InvertBilevel {
		dict += " /Decode [1 0]"
	}
	var img int
	switch im.Filter {
	case "DCTDecode":
		img = pw.stream(0, dict+" /Filter /DCTDecode", im.Data, false)
	case "FlateDecode":
		img = pw.stream(0, dict+" /Filter /FlateDecode", im.Data, false)
	default:
		return fmt.Errorf("pdfa: page %d: filter %q not supported", len(pw.pages)+1, im.Filter)
	}
	var c bytes.Buffer
	fmt.Fprintf(&c, "q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(w), num(h))
	sx, sy := 72/p.DPIX, 72/p.DPIY
	for _, wd := range p.Words {
		runes := utf16.Encode([]rune(wd.Text))
		if len(runes) == 0 || wd.X1 <= wd.X0 || wd.Y1 <= wd.Y0 {
			continue
		}
		size := float64(wd.Y1-wd.Y0) * sy
		width := float64(wd.X1-wd.X0) * sx
		// Stretch the glyphs so the word spans its box on the image.
		scale := 100 * width / (float64(len(runes)) * size * glyphWidth / 1000)
		x := float64(wd.X0) * sx
		y := h - float64(wd.Y1)*sy + size*0.2 // baseline a little above the box bottom
		fmt.Fprintf(&c, "BT 3 Tr /F0 %s Tf %s Tz 1 0 0 1 %s %s Tm <", num(size), num(scale), num(x), num(y))
		for _, u := range runes {
			fmt.Fprintf(&c, "%04X", u)
		}
		c.WriteString("> Tj ET\n")
	}
	contents := pw.stream(0, "", c.Bytes(), true)
	page := pw.object(0, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> "+
		"/Font << /F0 %d 0 R >> >> /Contents %d 0 R >>", objPages, num(w), num(h), img, pw.font, contents))
	pw.pages = append(pw.pages, page)
	return pw.err
}

func num(f float64) string {
	s := fmt.Sprintf("%.3f", math.Round(f*1000)/1000)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

// pdfString writes s as a PDF text string (UTF-16BE with BOM when needed).
func pdfString(s string) string {
	ascii := true
	for _, r := range s {
		if r > 126 || r < 32 {
			ascii = false
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`)
		return "(" + r.Replace(s) + ")"
	}
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String() + ">"
}

func pdfDate(t time.Time) string { return "D:" + t.UTC().Format("20060102150405") + "+00'00'" }

// Close writes the page tree, the metadata, the output intent, the
// catalog, the document information, the cross-reference table and the
// trailer.
func (pw *Writer) Close() error {
	if len(pw.pages) == 0 {
		return errors.New("pdfa: a document needs at least one page")
	}
	kids := make([]string, len(pw.pages))
	for i, p := range pw.pages {
		kids[i] = fmt.Sprintf("%d 0 R", p)
	}
	pw.object(objPages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pw.pages)))
	icc := pw.stream(0, "/N 3", SRGBProfile(), true)
	pw.object(objIntent, fmt.Sprintf("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) "+
		"/Info (sRGB IEC61966-2.1) /DestOutputProfile %d 0 R >>", icc))
	// The metadata stream stays unfiltered, readable by tools that don't inflate.
	pw.stream(objXMP, "/Type /Metadata /Subtype /XML", pw.xmp(), false)
	pw.object(objCatalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R /OutputIntents [%d 0 R] >>", objPages, objXMP, objIntent))
	info := pw.object(0, fmt.Sprintf("<< /Title %s /Creator %s /Producer %s /CreationDate (%s) /ModDate (%s) >>",
		pdfString(pw.opts.Title), pdfString(pw.opts.Creator), pdfString(pw.opts.Creator), pdfDate(pw.opts.Created), pdfDate(pw.opts.Created)))
	xref := pw.w.n
	pw.printf("xref\n0 %d\n0000000000 65535 f \n", len(pw.offsets)+1)
	for _, off := range pw.offsets {
		pw.printf("%010d 00000 n \n", off)
	}
	pw.printf("trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n",
		len(pw.offsets)+1, objCatalog, info, pw.id, pw.id, xref)
	return pw.err
}

func (pw *Writer) xmp() []byte {
	esc := func(s string) string {
		var b bytes.Buffer
		xmlEscape(&b, s)
		return b.String()
	}
	date := pw.opts.Created.UTC().Format("2006-01-02T15:04:05Z")
	sum := sha256.Sum256([]byte(pw.id))
	uuid := hex.EncodeToString(sum[:16])
	uuid = uuid[:8] + "-" + uuid[8:12] + "-" + uuid[12:16] + "-" + uuid[16:20] + "-" + uuid[20:]
	return []byte(`<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">
   <pdfaid:part>` + fmt.Sprint(pw.opts.Part) + `</pdfaid:part>
   <pdfaid:conformance>` + pw.opts.Conformance + `</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">` + esc(pw.opts.Title) + `</rdf:li></rdf:Alt></dc:title>
   <xmp:CreateDate>` + date + `</xmp:CreateDate>
   <xmp:ModifyDate>` + date + `</xmp:ModifyDate>
   <xmp:MetadataDate>` + date + `</xmp:MetadataDate>
   <xmp:CreatorTool>` + esc(pw.opts.Creator) + `</xmp:CreatorTool>
   <pdf:Producer>` + esc(pw.opts.Creator) + `</pdf:Producer>
   <xmpMM:DocumentID>uuid:` + uuid + `</xmpMM:DocumentID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// GlyphlessFont loads Tesseract's glyphless font (pdf.ttf, Apache-2.0,
// installed with tesseract-ocr), from $TESSDATA_PREFIX or the Debian path.
func GlyphlessFont() ([]byte, error) {
	var candidates []string
	if p := os.Getenv("TESSDATA_PREFIX"); p != "" {
		candidates = append(candidates, filepath.Join(p, "pdf.ttf"), filepath.Join(p, "tessdata", "pdf.ttf"))
	}
	found, _ := filepath.Glob("/usr/share/tesseract-ocr/*/tessdata/pdf.ttf")
	for _, p := range append(candidates, found...) {
		if b, err := os.ReadFile(p); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("pdfa: Tesseract's glyphless font pdf.ttf not found (install tesseract-ocr, or set TESSDATA_PREFIX)")
}
