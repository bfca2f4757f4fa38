package pdfa

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/strongroom-archive/strongroom/formats/pdfread"
)

// Clauses lists the ISO 19005-2 clauses the checker covers: for each, it
// passes every "pass" file and fails every "fail" file of the veraPDF
// corpus subset in shared/testdata (see check_test.go).
var Clauses = []string{"6.1.2", "6.1.3", "6.1.7.1", "6.1.10", "6.2.2", "6.2.4.3", "6.2.8.3", "6.5.1", "6.5.2", "6.6.2.1", "6.6.4"}

// Partial lists clauses checked only in part (what can be seen without
// interpreting font programs): findings under them are real, and no "pass"
// file of the corpus gets one, but some "fail" files pass. 6.2.3 output
// intents (profile class, version, colour space, one profile); 6.2.8.1
// images (Alternates, OPI, Interpolate, Intent); 6.2.11.4.1 fonts (a font
// program embedded, for fonts that render: not those an interactive form
// only offers in its default resources): not whether every glyph used is
// in it.
//
// Checked too, without corpus files to prove it: no LZW or Crypt filter
// (6.1.7.2), no transfer functions or HTP in graphics states (6.2.5), no
// reference or PostScript XObjects (6.2.9), standard blend modes only
// (6.2.10). These are what a page copied from a scanner's PDF (see
// Source) could bring in.
var Partial = []string{"6.2.3", "6.2.8.1", "6.2.11.4.1"}

// Part1 lists the ISO 19005-1 rules checked for a file that declares part
// 1, beside the clauses the parts share: what PDF 1.4 did not have and
// part 2 allows (reported as "6.4 (part 1)" and so on). 6.1.11 no embedded
// files (no EmbeddedFiles name tree, no EF in a file specification);
// 6.1.13 no optional content (no OCProperties); 6.4 no transparency (no
// soft mask other than /None, no transparency group in a form XObject,
// blend mode Normal or Compatible, CA and ca 1.0); 6.7.3 the Info
// dictionary agrees with the XMP. Made in the tests (the corpus subset has
// no part-1 files).
var Part1 = []string{"6.1.11", "6.1.13", "6.4", "6.7.3"}

// Finding is one way a file falls short of PDF/A.
type Finding struct {
	Clause  string
	Message string
}

func (f Finding) String() string { return f.Clause + ": " + f.Message }

// Report is the outcome of a check.
type Report struct {
	// Part is the part of ISO 19005 the file declares (1, 2 or 3), from
	// its XMP identification; 0 when it declares none (NotDeclared). Files
	// of parts 1 and 3 are checked against the part-2 clauses the parts
	// share (Clauses); of part 1's own rules, those of Part1 too.
	Part        int
	Conformance string // A, B or U
	NotDeclared bool   // no PDF/A identification in the XMP: not claimed to be PDF/A
	Findings    []Finding
	// Unread says why pdfcpu could not read the file at all (malformed,
	// truncated, a password needed), or that it is over a limit
	// (pdfread.ErrTooLarge); nil when it was read.
	Unread error
	// Truncated says the file's last KiB, where readers look for them,
	// holds neither startxref nor %%EOF: a file cut short in transfer.
	// pdfcpu and PDFium both repair such a file and show what arrived.
	Truncated bool
}

// Valid reports whether the file passed every check.
func (r *Report) Valid() bool { return len(r.Findings) == 0 }

// Err lists the findings, or returns nil.
func (r *Report) Err() error {
	if r.Valid() {
		return nil
	}
	msgs := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		msgs[i] = f.String()
	}
	return fmt.Errorf("not PDF/A-%d%s: %s", r.Part, strings.ToLower(r.Conformance), strings.Join(msgs, "; "))
}

func (r *Report) add(clause, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{clause, fmt.Sprintf(format, args...)})
}

// CheckOptions tune Check.
type CheckOptions struct {
	// Strict also runs pdfcpu's strict validation of the whole file against
	// ISO 32000 (reported under clause "ISO 32000"). strongroom does for
	// every file it writes; the veraPDF corpus is checked without it.
	Strict bool
	// Limits bound what reading the file may cost (pdfread.Defaults when
	// zero); a file over them is reported unreadable, not decoded.
	Limits pdfread.Limits
}

// Check checks the PDF at path.
func Check(path string, opts CheckOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &Report{}
	head := make([]byte, 1024)
	n, _ := io.ReadFull(f, head)
	checkHeader(r, head[:n])
	r.Truncated = truncated(f)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	ctx, err := api.ReadContext(f, pdfread.Config(opts.Limits))
	if err == nil {
		if lerr := pdfread.CheckStreams(ctx, opts.Limits); lerr != nil {
			r.Unread = lerr
			r.add("6.1", "the file is refused: %v", lerr)
			return r, nil
		}
	}
	if err != nil {
		r.Unread = err
		if strings.Contains(strings.ToLower(err.Error()), "encrypt") || strings.Contains(strings.ToLower(err.Error()), "password") {
			r.Unread = fmt.Errorf("encrypted, and it needs a password to open: %w", err)
			r.add("6.1.3", "the file is encrypted")
			return r, nil
		}
		r.add("6.1", "the file is not a readable PDF (malformed or truncated): %v", err)
		return r, nil
	}
	x := ctx.XRefTable
	if x.Encrypt != nil || ctx.E != nil {
		r.add("6.1.3", "the file is encrypted (its trailer has an Encrypt entry)")
	}
	switch err := checkTrailers(f); {
	case errors.Is(err, errNoTrailer):
		// Cross-reference streams carry the ID in their dictionary.
		if len(x.ID) != 2 {
			r.add("6.1.3", "the cross-reference stream has no ID of two strings")
		}
	case err != nil:
		r.add("6.1.3", "%v", err)
	}
	cat, err := x.Catalog()
	if err != nil {
		r.add("6.1", "no document catalog: %v", err)
		return r, nil
	}
	xmp := checkMetadata(r, x, cat)
	intent := checkOutputIntents(r, x, cat)
	nums := slices.Sorted(maps.Keys(x.Table)) // the objects, in order
	checkObjects(r, x, cat, nums)
	checkStreamKeywords(r, f, x)
	checkPages(r, x, colours{intent: intent})
	if r.Part == 1 {
		checkInfo(r, x, xmp) // part 1 only: parts 2 and 3 do not ask it
		checkPart1(r, x, cat, nums)
	}
	if opts.Strict {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		sconf := pdfread.Config(opts.Limits)
		sconf.ValidationMode = model.ValidationStrict
		if _, err := api.ReadAndValidate(f, sconf); err != nil {
			r.add("ISO 32000", "pdfcpu strict validation: %v", err)
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Clause < r.Findings[j].Clause })
	return r, nil
}

// checkPart1 checks the rules of ISO 19005-1 that part 2 dropped (see
// Part1), in every object (nums, in order), direct ones inside others
// included.
func checkPart1(r *Report, x *model.XRefTable, cat types.Dict, nums []int) {
	if _, ok := cat.Find("OCProperties"); ok {
		r.add("6.1.13 (part 1)", "the catalog has optional content (OCProperties)")
	}
	if names, err := x.DereferenceDict(cat["Names"]); err == nil && names != nil {
		if _, ok := names.Find("EmbeddedFiles"); ok {
			r.add("6.1.11 (part 1)", "the name dictionary has embedded files (EmbeddedFiles)")
		}
	}
	var walk func(n int, o types.Object, depth int)
	walk = func(n int, o types.Object, depth int) {
		if depth > 32 {
			return
		}
		switch o := o.(type) {
		case types.StreamDict:
			walk(n, o.Dict, depth)
		case types.Array:
			for _, v := range o {
				walk(n, v, depth+1)
			}
		case types.Dict:
			part1Dict(r, x, n, o)
			for _, v := range o {
				walk(n, v, depth+1)
			}
		}
	}
	for _, n := range nums {
		if e := x.Table[n]; e != nil && !e.Free && e.Object != nil {
			walk(n, e.Object, 0)
		}
	}
}

// part1Dict checks one dictionary (of object n) for what part 1 forbids.
func part1Dict(r *Report, x *model.XRefTable, n int, d types.Dict) {
	if _, ok := d.Find("EF"); ok {
		r.add("6.1.11 (part 1)", "object %d: a file specification with an embedded file (EF)", n)
	}
	if v, ok := d.Find("SMask"); ok {
		if name, isName := v.(types.Name); !isName || name != "None" {
			r.add("6.4 (part 1)", "object %d: a soft mask (SMask)", n)
		}
	}
	if sub := d.NameEntry("Subtype"); sub != nil && *sub == "Form" {
		if g, err := x.DereferenceDict(d["Group"]); err == nil && g != nil {
			if s := g.NameEntry("S"); s != nil && *s == "Transparency" {
				r.add("6.4 (part 1)", "object %d: a form XObject with a transparency group", n)
			}
		}
	}
	if bm, ok := d.Find("BM"); ok {
		if name, isName := bm.(types.Name); !isName || name != "Normal" && name != "Compatible" {
			r.add("6.4 (part 1)", "object %d: blend mode %v, not Normal or Compatible", n, bm)
		}
	}
	for _, k := range []string{"CA", "ca"} {
		if v, ok := d.Find(k); ok {
			if f, isNum := number(v); !isNum || f != 1 {
				r.add("6.4 (part 1)", "object %d: %s %v, not 1.0 (opacity)", n, k, v)
			}
		}
	}
}

// number is a PDF integer or real as a float.
func number(o types.Object) (float64, bool) {
	switch v := o.(type) {
	case types.Integer:
		return float64(v), true
	case types.Float:
		return float64(v), true
	}
	return 0, false
}

// checkStreamKeywords: each stream's data starts after "stream" and one
// end of line (CR LF or LF, nothing before it), and ends, Length bytes
// later, with an end of line and "endstream" (6.1.7.1).
func checkStreamKeywords(r *Report, f io.ReaderAt, x *model.XRefTable) {
	nums := make([]int, 0, len(x.Table))
	for n, e := range x.Table {
		if e != nil && !e.Free && e.Offset != nil {
			if _, ok := e.Object.(types.StreamDict); ok {
				nums = append(nums, n)
			}
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		sd := x.Table[n].Object.(types.StreamDict)
		if sd.StreamLength == nil || sd.StreamOffset < 8 {
			continue
		}
		before := make([]byte, 8)
		if _, err := f.ReadAt(before, sd.StreamOffset-8); err != nil {
			continue
		}
		if !bytes.HasSuffix(before, []byte("stream\n")) && !bytes.HasSuffix(before, []byte("stream\r\n")) {
			r.add("6.1.7.1", "stream %d: the stream keyword is not followed by CR LF or LF alone", n)
		}
		after := make([]byte, 11)
		k, _ := f.ReadAt(after, sd.StreamOffset+*sd.StreamLength)
		after = after[:k]
		switch {
		case bytes.HasPrefix(after, []byte("endstream")):
			r.add("6.1.7.1", "stream %d: endstream is not preceded by an end of line", n)
		case !bytes.HasPrefix(after, []byte("\r\nendstream")) && !bytes.HasPrefix(after, []byte("\nendstream")) && !bytes.HasPrefix(after, []byte("\rendstream")):
			r.add("6.1.7.1", "stream %d: Length %d does not end where the data does", n, *sd.StreamLength)
		}
	}
}

// checkTrailers requires an ID of two non-empty strings (6.1.3) in the
// trailer that counts: the first-page trailer of a linearised file, the
// last trailer of any other.
func checkTrailers(f io.ReadSeeker) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	const chunk, keep = 1 << 20, 8 << 10
	buf := make([]byte, 0, chunk+keep)
	found := 0
	var withID []bool
	linearized := false
	first := true
	for {
		n, err := io.ReadFull(f, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		last := err != nil
		if first {
			head := buf[:min(len(buf), 2048)]
			linearized = bytes.Contains(head, []byte("/Linearized"))
			first = false
		}
		for {
			i := bytes.Index(buf, []byte("trailer"))
			if i < 0 || (!last && len(buf)-i < keep) {
				break
			}
			end := bytes.Index(buf[i:], []byte("startxref"))
			if end < 0 {
				end = len(buf) - i
			}
			found++
			withID = append(withID, idRe.Match(buf[i:i+end]))
			buf = buf[i+7:]
		}
		if last {
			break
		}
		if len(buf) > keep {
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
	}
	switch {
	case found == 0:
		return errNoTrailer
	case linearized && !withID[0]:
		return errors.New("the first-page trailer of a linearised file has no ID of two non-empty strings")
	case !linearized && !withID[len(withID)-1]:
		return errors.New("the trailer has no ID of two non-empty strings")
	}
	return nil
}

// truncated reports whether f's last KiB lacks both startxref and %%EOF.
func truncated(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	tail := make([]byte, min(fi.Size(), 1024))
	if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err != nil {
		return false
	}
	return !bytes.Contains(tail, []byte("%%EOF")) && !bytes.Contains(tail, []byte("startxref"))
}

// errNoTrailer: the file has cross-reference streams only.
var errNoTrailer = errors.New("no trailer keyword")

var idRe = regexp.MustCompile(`/ID\s*\[\s*(<[0-9A-Fa-f\s]+>|\((?:[^)\\]|\\.)+\))\s*(<[0-9A-Fa-f\s]+>|\((?:[^)\\]|\\.)+\))\s*\]`)

var headerRe = regexp.MustCompile(`^%PDF-1\.[0-7](\r\n|\r|\n)%`)

// checkHeader: exactly "%PDF-1.n" and an end of line at offset 0, then at
// once a comment line starting with four bytes above 127 (6.1.2).
func checkHeader(r *Report, b []byte) {
	m := headerRe.FindIndex(b)
	if m == nil {
		r.add("6.1.2", "the file must start with a %%PDF-1.n line followed at once by a comment line")
		return
	}
	rest := b[m[1]:]
	if len(rest) < 4 {
		r.add("6.1.2", "the comment after the header is too short")
		return
	}
	for _, c := range rest[:4] {
		if c <= 127 {
			r.add("6.1.2", "the comment after the header needs four bytes above 127")
			return
		}
	}
}

func streamBytes(x *model.XRefTable, o types.Object) ([]byte, types.Dict, error) {
	sd, _, err := x.DereferenceStreamDict(o)
	if err != nil || sd == nil {
		return nil, nil, errors.New("not a stream")
	}
	if err := sd.Decode(); err != nil {
		return nil, sd.Dict, err
	}
	return sd.Content, sd.Dict, nil
}

const pdfaidNS = "http://www.aiim.org/pdfa/ns/id/"

var xpacketRe = regexp.MustCompile(`<\?xpacket\s+begin=[^?]*\?>`)

// checkMetadata: the catalog's Metadata stream is an XMP packet whose header
// has no bytes or encoding attribute (6.6.2.1) and which identifies the part
// and conformance level in the PDF/A identification namespace (6.6.4).
func checkMetadata(r *Report, x *model.XRefTable, cat types.Dict) []byte {
	o, ok := cat.Find("Metadata")
	if !ok {
		r.add("6.6.2.1", "the catalog has no Metadata stream")
		return nil
	}
	xmp, d, err := streamBytes(x, o)
	if err != nil {
		r.add("6.6.2.1", "the Metadata stream cannot be read: %v", err)
		return nil
	}
	if t := d.NameEntry("Type"); t == nil || *t != "Metadata" {
		r.add("6.6.2.1", "the Metadata stream is not /Type /Metadata")
	}
	if pi := xpacketRe.Find(xmp); pi == nil {
		r.add("6.6.2.1", "the Metadata stream is not an XMP packet")
	} else if bytes.Contains(pi, []byte("bytes=")) || bytes.Contains(pi, []byte("encoding=")) {
		r.add("6.6.2.1", "the XMP packet header has a bytes or encoding attribute")
	}
	part, conf := pdfaID(xmp)
	if part != "" && !bytes.Contains(xmp, []byte("pdfaid:part")) {
		r.add("6.6.4", "the PDF/A identification schema must use the prefix pdfaid")
	}
	switch part {
	case "":
		r.NotDeclared = true
		r.add("6.6.4", "the XMP has no pdfaid:part in the %s namespace", pdfaidNS)
	case "1", "2", "3":
		r.Part = int(part[0] - '0')
	default:
		r.add("6.6.4", "pdfaid:part is %q, want 1, 2 or 3", part)
	}
	switch {
	case conf == "":
		r.add("6.6.4", "the XMP has no pdfaid:conformance in the %s namespace", pdfaidNS)
	case conf != "A" && conf != "B" && conf != "U":
		r.add("6.6.4", "pdfaid:conformance is %q, want A, B or U", conf)
	default:
		r.Conformance = conf
	}
	return xmp
}

// checkInfo: the document information dictionary's Title, Author and
// Producer must equal dc:title, dc:creator and pdf:Producer in the XMP
// (ISO 19005-1 6.7.3, in part; parts 2 and 3 dropped the rule).
func checkInfo(r *Report, x *model.XRefTable, xmp []byte) {
	if x.Info == nil || xmp == nil {
		return
	}
	info, err := x.DereferenceDict(*x.Info)
	if err != nil || info == nil {
		return
	}
	props := xmpProps(xmp)
	for key, prop := range map[string]string{"Title": "http://purl.org/dc/elements/1.1/ title", "Author": "http://purl.org/dc/elements/1.1/ creator", "Producer": "http://ns.adobe.com/pdf/1.3/ Producer"} {
		o, ok := info.Find(key)
		if !ok {
			continue
		}
		v, err := x.DereferenceStringOrHexLiteral(o, model.V17, nil)
		if err != nil {
			continue
		}
		got := props[prop] // an empty XMP element reads as absent
		if got != v {
			r.add("6.7.3 (part 1)", "document information %s %q has no equal XMP property (%q)", key, v, got)
		}
	}
}

// xmpProps reads simple XMP properties (elements or attributes; for
// language alternatives the first value), keyed "namespace local".
func xmpProps(xmp []byte) map[string]string {
	props := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(xmp))
	dec.Strict = false
	var stack []xml.Name
	for {
		tok, err := dec.Token()
		if err != nil {
			return props
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name)
			for _, a := range t.Attr {
				if a.Name.Space != "" && a.Name.Space != "xmlns" {
					props[a.Name.Space+" "+a.Name.Local] = a.Value
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			// The property is the nearest ancestor outside the RDF namespace.
			for i := len(stack) - 1; i >= 0; i-- {
				if n := stack[i]; n.Space != "http://www.w3.org/1999/02/22-rdf-syntax-ns#" {
					key := n.Space + " " + n.Local
					if _, seen := props[key]; !seen && strings.TrimSpace(string(t)) != "" {
						props[key] = string(t)
					}
					break
				}
			}
		}
	}
}

// pdfaID reads pdfaid:part and pdfaid:conformance, as elements or as
// attributes, resolving namespaces properly.
func pdfaID(xmp []byte) (part, conf string) {
	dec := xml.NewDecoder(bytes.NewReader(xmp))
	dec.Strict = false
	var inside string
	for {
		tok, err := dec.Token()
		if err != nil {
			return part, conf
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inside = ""
			if t.Name.Space == pdfaidNS {
				inside = t.Name.Local
			}
			for _, a := range t.Attr {
				if a.Name.Space == pdfaidNS {
					set(&part, &conf, a.Name.Local, a.Value)
				}
			}
		case xml.CharData:
			if inside != "" {
				set(&part, &conf, inside, string(t))
			}
		case xml.EndElement:
			inside = ""
		}
	}
}

func set(part, conf *string, local, v string) {
	v = strings.TrimSpace(v)
	switch local {
	case "part":
		*part = v
	case "conformance":
		*conf = v
	}
}

// checkOutputIntents: a PDF/A output intent's profile must be a valid ICC
// output or display profile, and all of them the same stream (6.2.3). It
// returns the colour space of the GTS_PDFA1 intent's profile (RGB, CMYK,
// GRAY), or "" without one.
func checkOutputIntents(r *Report, x *model.XRefTable, cat types.Dict) (space string) {
	o, ok := cat.Find("OutputIntents")
	if !ok {
		return ""
	}
	arr, err := x.DereferenceArray(o)
	if err != nil {
		r.add("6.2.3", "OutputIntents is not an array")
		return ""
	}
	var profiles []types.IndirectRef
	for _, e := range arr {
		d, err := x.DereferenceDict(e)
		if err != nil || d == nil {
			continue
		}
		p, ok := d.Find("DestOutputProfile")
		if !ok {
			continue
		}
		if ir, ok := p.(types.IndirectRef); ok {
			for _, q := range profiles {
				if q.ObjectNumber != ir.ObjectNumber {
					r.add("6.2.3", "output intents with different DestOutputProfile streams")
				}
			}
			profiles = append(profiles, ir)
		}
		if s := d.NameEntry("S"); s == nil || *s != "GTS_PDFA1" {
			continue
		}
		icc, sd, err := streamBytes(x, p)
		if err != nil {
			r.add("6.2.3", "the output profile cannot be read: %v", err)
			continue
		}
		if len(icc) < 128 || string(icc[36:40]) != "acsp" {
			r.add("6.2.3", "the output profile is not an ICC profile")
			continue
		}
		class, cs := string(icc[12:16]), string(icc[16:20])
		space = strings.TrimSpace(cs)
		if class != "prtr" && class != "mntr" {
			r.add("6.2.3", "the output profile's class is %q, want prtr or mntr", class)
		}
		if v := binary.BigEndian.Uint32(icc[8:12]) >> 24; v > 4 {
			r.add("6.2.3", "ICC profile version %d is newer than PDF/A-2 allows", v)
		}
		want := map[string]int{"RGB": 3, "CMYK": 4, "GRAY": 1}[space]
		if want == 0 {
			r.add("6.2.3", "the output profile's colour space %q is not RGB, CMYK or GRAY", space)
		} else if n := sd.IntEntry("N"); n == nil || *n != want {
			r.add("6.2.3", "the output profile's N does not match its %q colour space", space)
		}
	}
	return space
}

// Actions PDF/A-2 forbids (6.5.1), and the named actions it allows.
var (
	forbiddenActions = map[string]bool{"Launch": true, "Sound": true, "Movie": true, "ResetForm": true, "ImportData": true,
		"JavaScript": true, "Hide": true, "SetOCGState": true, "Rendition": true, "Trans": true, "GoTo3DView": true,
		"SetState": true, "NOP": true}
	allowedNamed = map[string]bool{"NextPage": true, "PrevPage": true, "FirstPage": true, "LastPage": true}
)

var renderingIntents = map[string]bool{"AbsoluteColorimetric": true, "RelativeColorimetric": true, "Saturation": true, "Perceptual": true}

// checkObjects walks every object for actions and trigger events (6.5),
// stream filters (6.1.7), image attributes and data (6.2.8.1, 6.2.8.3),
// form XObjects (6.2.9) and font embedding (6.2.11.4.1). Colour, content
// and graphics states are checked page by page (checkPages), where what a
// page uses is known. nums are the objects' numbers, in order.
func checkObjects(r *Report, x *model.XRefTable, cat types.Dict, nums []int) {
	offered := formOnlyFonts(x, cat, nums)
	if _, ok := cat.Find("AA"); ok {
		r.add("6.5.2", "the catalog has additional actions (AA)")
	}
	for _, n := range nums {
		e := x.Table[n]
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		switch o := e.Object.(type) {
		case types.Dict:
			if !offered[n] {
				checkDict(r, x, n, o)
			}
		case types.StreamDict:
			where := fmt.Sprintf("stream %d", n)
			streamFilters(x, o.Dict, r.add, where)
			checkDict(r, x, n, o.Dict)
			if sub := o.Dict.NameEntry("Subtype"); sub != nil && *sub == "Image" && slices.Contains(filterNames(x, o.Dict["Filter"]), "JPXDecode") {
				for _, p := range jpxProblems(o.Raw) {
					r.add("6.2.8.3", "image %d: JPEG 2000 data with %s", n, p)
				}
			}
			if sub := o.Dict.NameEntry("Subtype"); sub != nil && *sub == "Form" {
				formXObject(o.Dict, r.add, fmt.Sprintf("form XObject %d", n))
			}
		}
	}
}

// formOnlyFonts returns the font objects an interactive form's default
// resources (AcroForm /DR) offer and nothing else uses: no page, form
// XObject or appearance stream renders with them, so their programs need
// not be embedded (6.2.11.4.1 asks it of fonts used for rendering).
func formOnlyFonts(x *model.XRefTable, cat types.Dict, nums []int) map[int]bool {
	fontRefs := func(res types.Dict) []int {
		var out []int
		fonts, err := x.DereferenceDict(res["Font"])
		if err != nil || fonts == nil {
			return nil
		}
		for _, v := range fonts {
			if ref, ok := v.(types.IndirectRef); ok {
				out = append(out, ref.ObjectNumber.Value())
			}
		}
		return out
	}
	form, err := x.DereferenceDict(cat["AcroForm"])
	if err != nil || form == nil {
		return nil
	}
	dr, err := x.DereferenceDict(form["DR"])
	if err != nil || dr == nil {
		return nil
	}
	offered := map[int]bool{}
	for _, n := range fontRefs(dr) {
		offered[n] = true
	}
	if len(offered) == 0 {
		return nil
	}
	drNum := -1
	if ref, ok := form["DR"].(types.IndirectRef); ok {
		drNum = ref.ObjectNumber.Value()
	}
	for _, n := range nums {
		if n == drNum {
			continue
		}
		var d types.Dict
		switch o := x.Table[n].Object.(type) {
		case types.Dict:
			d = o
		case types.StreamDict:
			d = o.Dict
		}
		if d == nil {
			continue
		}
		// A page, form XObject or appearance stream with its resources,
		// or a resources dictionary of its own (shared by reference).
		if res, err := x.DereferenceDict(d["Resources"]); err == nil && res != nil {
			for _, f := range fontRefs(res) {
				delete(offered, f)
			}
		}
		if _, ok := d["Font"]; ok {
			for _, f := range fontRefs(d) {
				delete(offered, f)
			}
		}
	}
	return offered
}

func checkDict(r *Report, x *model.XRefTable, n int, d types.Dict) {
	typ, sub := d.NameEntry("Type"), d.NameEntry("Subtype")
	if s := d.NameEntry("S"); s != nil && (typ == nil || *typ == "Action") {
		if forbiddenActions[*s] {
			r.add("6.5.1", "object %d is a %s action", n, *s)
		}
		if *s == "Named" {
			if nm := d.NameEntry("N"); nm == nil || !allowedNamed[*nm] {
				r.add("6.5.1", "object %d is a named action other than NextPage, PrevPage, FirstPage, LastPage", n)
			}
		}
	}
	if typ != nil && *typ == "Page" {
		if _, ok := d.Find("AA"); ok {
			r.add("6.5.2", "page object %d has additional actions (AA)", n)
		}
	}
	if sub != nil && *sub == "Widget" {
		if _, ok := d.Find("AA"); ok {
			r.add("6.5.2", "widget annotation %d has additional actions (AA)", n)
		}
	}
	if sub != nil && *sub == "Image" {
		if _, ok := d.Find("Alternates"); ok {
			r.add("6.2.8.1", "image %d has Alternates", n)
		}
		if _, ok := d.Find("OPI"); ok {
			r.add("6.2.8.1", "image %d has OPI", n)
		}
		if b := d.BooleanEntry("Interpolate"); b != nil && *b {
			r.add("6.2.8.1", "image %d has Interpolate true", n)
		}
		if in := d.NameEntry("Intent"); in != nil && !renderingIntents[*in] {
			r.add("6.2.8.1", "image %d has rendering intent %s", n, *in)
		}
	}
	if typ != nil && *typ == "Font" && sub != nil {
		switch *sub {
		case "Type1", "MMType1", "TrueType", "CIDFontType0", "CIDFontType2":
			fd, err := x.DereferenceDict(d["FontDescriptor"])
			if err != nil || fd == nil {
				r.add("6.2.11.4.1", "font object %d has no font descriptor", n)
				return
			}
			_, f1 := fd.Find("FontFile")
			_, f2 := fd.Find("FontFile2")
			_, f3 := fd.Find("FontFile3")
			if !f1 && !f2 && !f3 {
				name := ""
				if b := d.NameEntry("BaseFont"); b != nil {
					name = *b
				}
				r.add("6.2.11.4.1", "font %s (object %d) is not embedded", name, n)
			}
		}
	}
}
