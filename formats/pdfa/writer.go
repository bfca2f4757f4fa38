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
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// Image is a page image ready to embed: already-encoded stream data.
type Image struct {
	// Filter is DCTDecode (a JPEG as it is), JPXDecode (a JPEG 2000 file as
	// it is), CCITTFaxDecode or FlateDecode.
	Filter string
	Data   []byte
	// ColorSpace is DeviceGray or DeviceRGB; empty for JPXDecode, whose
	// data carries its own colour specification.
	ColorSpace       string
	BitsPerComponent int // 1 or 8; 0 for JPXDecode
	Width, Height    int // pixels
	// Decode inverts 1-bit images where 1 is black ([1 0]).
	InvertBilevel bool
	// DecodeParms is the filter's parameter dictionary, if it needs one
	// (CCITT: << /K -1 /Columns … /Rows … >>).
	DecodeParms string
}

// Word is one recognised word, in pixel coordinates of the page image
// (origin top left), as OCR reports it.
type Word struct {
	Text           string
	X0, Y0, X1, Y1 int
	Confidence     float64
}

// Page is one page: an image at a resolution, or a page copied from a
// scanned PDF (Copy), and the words of its text layer.
type Page struct {
	Image      Image
	DPIX, DPIY float64
	Copy       *Copied
	// Rotate turns the page as shown, clockwise degrees: a scan stored
	// sideways is shown upright without re-encoding it.
	Rotate int
	// Label is what viewers call the page (/PageLabels), e.g. the name of
	// the scan it shows; "" is its number.
	Label string
	// Words are in pixels of the page as shown (turned by Rotate):
	// TextWidth × TextHeight pixels cover it. Zero means the image's own
	// pixels, turned.
	Words                 []Word
	TextWidth, TextHeight int
}

// Options describe the document.
type Options struct {
	Part        int    // 2
	Conformance string // "B" or "U"
	Title       string
	Author      string // who made the document (dc:creator), if known
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
	labels  []string
	font    int // Type0 font object number
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

// reserve takes the next object number for an object written later.
func (pw *Writer) reserve() int {
	pw.offsets = append(pw.offsets, 0)
	return len(pw.offsets)
}

// rawStream writes a stream object whose dictionary text (Length
// included) and encoded data are ready.
func (pw *Writer) rawStream(num int, dict string, data []byte) {
	pw.begin(num)
	pw.printf("%s\nstream\n", dict)
	if pw.err == nil {
		_, pw.err = pw.w.Write(data)
	}
	pw.printf("\nendstream\nendobj\n")
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
	n := len(pw.pages)
	err := pw.addPage(p)
	if len(pw.pages) > n {
		pw.labels = append(pw.labels, p.Label)
	}
	return err
}

func (pw *Writer) addPage(p Page) error {
	if pw.err != nil {
		return pw.err
	}
	if p.Rotate%90 != 0 {
		return fmt.Errorf("pdfa: page %d: rotation %d is not a multiple of 90", len(pw.pages)+1, p.Rotate)
	}
	p.Rotate = ((p.Rotate % 360) + 360) % 360
	if p.Copy != nil {
		return pw.addCopy(p)
	}
	im := p.Image
	if im.Width <= 0 || im.Height <= 0 || p.DPIX <= 0 || p.DPIY <= 0 {
		return fmt.Errorf("pdfa: page %d: bad size %dx%d at %gx%g dpi", len(pw.pages)+1, im.Width, im.Height, p.DPIX, p.DPIY)
	}
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d", im.Width, im.Height)
	switch {
	case im.Filter == "JPXDecode" && im.ColorSpace == "":
	case im.ColorSpace == "DeviceGray" || im.ColorSpace == "DeviceRGB":
		dict += " /ColorSpace /" + im.ColorSpace
		if im.Filter != "JPXDecode" { // JPEG 2000 data gives its own depth
			dict += fmt.Sprintf(" /BitsPerComponent %d", im.BitsPerComponent)
		}
	default:
		return fmt.Errorf("pdfa: page %d: colour space %q not supported", len(pw.pages)+1, im.ColorSpace)
	}
	dict += " /Interpolate false"
	if im.InvertBilevel {
		dict += " /Decode [1 0]"
	}
	switch im.Filter {
	case "DCTDecode", "FlateDecode", "CCITTFaxDecode", "JPXDecode":
		dict += " /Filter /" + im.Filter
	default:
		return fmt.Errorf("pdfa: page %d: filter %q not supported", len(pw.pages)+1, im.Filter)
	}
	if im.DecodeParms != "" {
		dict += " /DecodeParms " + im.DecodeParms
	}
	img := pw.stream(0, dict, im.Data, false)
	w := float64(im.Width) * 72 / p.DPIX
	h := float64(im.Height) * 72 / p.DPIY
	var c bytes.Buffer
	fmt.Fprintf(&c, "q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(w), num(h))
	tw, th := p.TextWidth, p.TextHeight
	if tw == 0 || th == 0 {
		tw, th = im.Width, im.Height
		if p.Rotate%180 != 0 {
			tw, th = th, tw
		}
	}
	pw.textLayer(&c, p.Words, [4]float64{0, 0, w, h}, p.Rotate, tw, th)
	contents := pw.stream(0, "", c.Bytes(), true)
	page := pw.object(0, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s]%s /Resources << /XObject << /Im0 %d 0 R >> "+
		"/Font << /%s %d 0 R >> >> /Contents %d 0 R >>", objPages, num(w), num(h), rotateEntry(p.Rotate), img, fontName, pw.font, contents))
	pw.pages = append(pw.pages, page)
	return pw.err
}

func rotateEntry(r int) string {
	if r == 0 {
		return ""
	}
	return fmt.Sprintf(" /Rotate %d", r)
}

// fontName is the glyphless font's resource name on copied pages, chosen
// not to collide with a scanner's own names.
const fontName = "StrongroomOCR"

// addCopy writes a page copied from a scanned PDF: its content, unchanged
// and isolated in q … Q, with the text layer over it.
func (pw *Writer) addCopy(p Page) error {
	cp := p.Copy
	src := cp.src
	if src.writer != pw {
		src.writer, src.done = pw, map[int]int{}
	}
	c := &copier{x: src.x, pw: pw, done: src.done}
	res, err := c.resources(cp.res, cp.used, fmt.Sprintf(" /%s %d 0 R", fontName, pw.font))
	if err != nil {
		return err
	}
	group, err := c.group(cp.group)
	if err != nil {
		return err
	}
	if group != "" {
		group = " /Group " + group
	}
	var b bytes.Buffer
	// A content stream that restores more states than it saves gets
	// saves in front; one that saves more gets restores behind.
	b.WriteString(strings.Repeat("q ", max(-cp.balance, 0)) + "q\n")
	b.Write(cp.content)
	b.WriteString("\n" + strings.Repeat("Q ", max(cp.balance, 0)) + "Q\n")
	tw, th := p.TextWidth, p.TextHeight
	if len(p.Words) > 0 && (tw <= 0 || th <= 0) {
		return fmt.Errorf("pdfa: page %d: words without the size of their page", len(pw.pages)+1)
	}
	pw.textLayer(&b, p.Words, cp.Crop, p.Rotate, tw, th)
	contents := pw.stream(0, "", b.Bytes(), true)
	m, cr := cp.Media, cp.Crop
	page := pw.object(0, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [%s %s %s %s] /CropBox [%s %s %s %s]%s /Resources %s /Contents %d 0 R%s >>",
		objPages, num(m[0]), num(m[1]), num(m[2]), num(m[3]), num(cr[0]), num(cr[1]), num(cr[2]), num(cr[3]), rotateEntry(p.Rotate), res, contents, group))
	pw.pages = append(pw.pages, page)
	return pw.err
}

// textLayer draws words, invisible (render mode 3), on the page whose
// shown area is box in user space, turned by rotate: the words' pixels,
// tw × th of them, cover the page as shown.
func (pw *Writer) textLayer(c *bytes.Buffer, words []Word, box [4]float64, rotate, tw, th int) {
	if len(words) == 0 {
		return
	}
	w, h := box[2]-box[0], box[3]-box[1]
	if rotate%180 != 0 {
		w, h = h, w // the page as shown
	}
	// From the page as shown (origin bottom left) to user space.
	var m [6]float64
	switch rotate {
	case 90:
		m = [6]float64{0, 1, -1, 0, box[0] + h, box[1]}
	case 180:
		m = [6]float64{-1, 0, 0, -1, box[2], box[3]}
	case 270:
		m = [6]float64{0, -1, 1, 0, box[0], box[1] + w}
	default:
		m = [6]float64{1, 0, 0, 1, box[0], box[1]}
	}
	fmt.Fprintf(c, "q %s %s %s %s %s %s cm\n", num(m[0]), num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]))
	sx, sy := w/float64(tw), h/float64(th)
	for i, wd := range words {
		runes := utf16.Encode([]rune(wd.Text))
		if len(runes) == 0 || wd.X1 <= wd.X0 || wd.Y1 <= wd.Y0 {
			continue
		}
		size := float64(wd.Y1-wd.Y0) * sy
		right := wd.X1
		// A word followed on its line by another carries a space that
		// reaches the next word, as Tesseract's own PDF does: text
		// extraction then splits words by the space, not by guessing
		// from gaps, which runs narrowly set words together.
		if i+1 < len(words) && sameLine(wd, words[i+1]) {
			runes = append(runes, ' ')
			right = words[i+1].X0
		}
		width := float64(right-wd.X0) * sx
		// Stretch the glyphs so the word spans its box on the image.
		scale := 100 * width / (float64(len(runes)) * size * glyphWidth / 1000)
		x := float64(wd.X0) * sx
		y := h - float64(wd.Y1)*sy + size*0.2 // baseline a little above the box bottom
		fmt.Fprintf(c, "BT 3 Tr /%s %s Tf %s Tz 1 0 0 1 %s %s Tm <", fontName, num(size), num(scale), num(x), num(y))
		for _, u := range runes {
			fmt.Fprintf(c, "%04X", u)
		}
		c.WriteString("> Tj ET\n")
	}
	c.WriteString("Q\n")
}

// sameLine reports whether b follows a on a line: to its right, and the
// middle of each within the other's height.
func sameLine(a, b Word) bool {
	am, bm := (a.Y0+a.Y1)/2, (b.Y0+b.Y1)/2
	return b.X0 >= a.X1 && am >= b.Y0 && am <= b.Y1 && bm >= a.Y0 && bm <= a.Y1
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

// pageLabels is the catalog's /PageLabels entry when a page has a label:
// each labelled page is its label, the others their number.
func (pw *Writer) pageLabels() string {
	if !slices.ContainsFunc(pw.labels, func(l string) bool { return l != "" }) {
		return ""
	}
	var b strings.Builder
	b.WriteString(" /PageLabels << /Nums [")
	for i, l := range pw.labels {
		if l == "" {
			fmt.Fprintf(&b, " %d << /S /D /St %d >>", i, i+1)
		} else {
			fmt.Fprintf(&b, " %d << /P %s >>", i, pdfString(l))
		}
	}
	b.WriteString(" ] >>")
	return b.String()
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
	pw.object(objCatalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R /OutputIntents [%d 0 R]%s >>", objPages, objXMP, objIntent, pw.pageLabels()))
	author := ""
	if pw.opts.Author != "" {
		author = " /Author " + pdfString(pw.opts.Author)
	}
	info := pw.object(0, fmt.Sprintf("<< /Title %s%s /Creator %s /Producer %s /CreationDate (%s) /ModDate (%s) >>",
		pdfString(pw.opts.Title), author, pdfString(pw.opts.Creator), pdfString(pw.opts.Creator), pdfDate(pw.opts.Created), pdfDate(pw.opts.Created)))
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
	creator := "" // the Info dictionary's Author, as PDF/A wants it (6.6.2.3.1)
	if pw.opts.Author != "" {
		creator = "\n   <dc:creator><rdf:Seq><rdf:li>" + esc(pw.opts.Author) + "</rdf:li></rdf:Seq></dc:creator>"
	}
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
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">` + esc(pw.opts.Title) + `</rdf:li></rdf:Alt></dc:title>` + creator + `
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
