package pdfa

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// A scanner's PDF keeps its page images in the encodings that suit them
// (JBIG2 and CCITT for black and white, JPEG and JPEG 2000 for grey and
// colour, several images and masks for mixed pages), all of which PDF/A-2
// allows. Its access copy keeps them: each page's content and the
// resources it uses are copied as they are, and the OCR text layer is
// drawn over them. A page is copied only when nothing it uses breaks
// PDF/A-2 (by the rules the checker applies) or can be mended on the way
// (Interpolate, OPI and Alternates dropped; LZW re-encoded as Flate; a form
// without its own resources given them); any other page is re-imaged by
// the caller.

// ErrNotCopyable marks a page that cannot be copied into PDF/A-2 as it is.
var ErrNotCopyable = errors.New("cannot be copied into PDF/A-2 as it is")

// Source is a PDF whose pages are copied into access copies.
type Source struct {
	x     *model.XRefTable
	pages []page // read on first use
	// done maps the source's objects to the objects written for them, for
	// the writer in use, so that what pages share is written once.
	done   map[int]int
	writer *Writer
}

// NewSource reads pages from a PDF pdfcpu has read.
func NewSource(ctx *model.Context) *Source { return &Source{x: ctx.XRefTable} }

// Copied is a page ready to copy.
type Copied struct {
	Media, Crop [4]float64 // llx lly urx ury, in the source's user space
	Rotate      int        // the source page's /Rotate, clockwise degrees
	src         *Source
	content     []byte
	res         types.Dict
	used        uses
	group       types.Object
	balance     int // q minus Q in content: a negative balance is evened out
}

// Page prepares page n (from 1) for copying, checking everything it uses.
// The error wraps ErrNotCopyable with the reason for a page that must be
// re-imaged instead.
func (s *Source) Page(n int) (*Copied, error) {
	if s.pages == nil {
		var err error
		if s.pages, err = pages(s.x); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotCopyable, err)
		}
	}
	if n < 1 || n > len(s.pages) || s.pages[n-1].media == nil {
		return nil, fmt.Errorf("%w: page %d cannot be read", ErrNotCopyable, n)
	}
	pg := s.pages[n-1]
	d := pg.dict
	if _, ok := d.Find("UserUnit"); ok {
		return nil, fmt.Errorf("%w: the page has a UserUnit", ErrNotCopyable)
	}
	cp := &Copied{src: s, res: pg.res, Rotate: ((pg.rotate % 360) + 360) % 360, group: d["Group"]}
	cp.Media = box(pg.media)
	cp.Crop = cp.Media
	if pg.crop != nil {
		cp.Crop = intersect(box(pg.crop), cp.Media)
	}
	var err error
	if cp.Crop[2] <= cp.Crop[0] || cp.Crop[3] <= cp.Crop[1] {
		return nil, fmt.Errorf("%w: the page's crop box is empty", ErrNotCopyable)
	}
	if cp.content, err = s.x.PageContent(d, n); err != nil && !errors.Is(err, model.ErrNoContent) {
		return nil, fmt.Errorf("%w: its content cannot be read: %v", ErrNotCopyable, err)
	}
	c := &copier{x: s.x}
	if cp.used, cp.balance, err = c.check(cp.content, cp.res); err != nil {
		return nil, err
	}
	if _, err := c.resources(cp.res, cp.used, ""); err != nil {
		return nil, err
	}
	if _, err := c.group(cp.group); err != nil {
		return nil, err
	}
	return cp, nil
}

// Empty reports whether the page draws nothing at all.
func (cp *Copied) Empty() bool { return len(bytes.TrimSpace(cp.content)) == 0 }

func box(r *types.Rectangle) [4]float64 {
	return [4]float64{min(r.LL.X, r.UR.X), min(r.LL.Y, r.UR.Y), max(r.LL.X, r.UR.X), max(r.LL.Y, r.UR.Y)}
}

func intersect(a, b [4]float64) [4]float64 {
	return [4]float64{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])}
}

// copier copies objects from a source into a writer (or, without one,
// only checks that they can be).
type copier struct {
	x     *model.XRefTable
	pw    *Writer
	done  map[int]int  // with a writer: source object → written object
	seen  map[int]bool // without one: objects checked
	depth int
	// inherited are the resources of the content being copied: a form
	// without resources of its own uses them.
	inherited types.Dict
}

func notCopyable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotCopyable, fmt.Sprintf(format, args...))
}

// strict is the colour context of an access copy: an sRGB output intent
// and whatever Default colour spaces the copied resources set.
var strict = colours{intent: "RGB"}

// check reads a content stream under the checker's rules and returns the
// resources it uses and its q/Q balance.
func (c *copier) check(b []byte, res types.Dict) (uses, int, error) {
	var problems []string
	used := content(b, strict.with(c.x, res), func(clause, format string, args ...any) {
		problems = append(problems, clause+": "+fmt.Sprintf(format, args...))
	}, "the content", false)
	if len(problems) > 0 {
		return nil, 0, notCopyable("%s", strings.Join(problems, "; "))
	}
	balance := 0
	scanContent(b, func(op string, _ []token) error {
		switch op {
		case "q":
			balance++
		case "Q":
			balance--
		}
		return nil
	})
	// Marked content may name property lists in the resources.
	scanContent(b, func(op string, args []token) error {
		if (op == "BDC" || op == "DP") && len(args) == 2 && args[1].kind == tName {
			used.add("Properties", args[1].text)
		}
		return nil
	})
	return used, balance, nil
}

// resources returns the text of a resource dictionary holding what used
// names from res, copying each; font, if not empty, is added to /Font.
func (c *copier) resources(res types.Dict, used uses, font string) (string, error) {
	var b strings.Builder
	b.WriteString("<<")
	cats := make([]string, 0, len(used)+1)
	for cat := range used {
		cats = append(cats, cat)
	}
	if font != "" && used["Font"] == nil {
		cats = append(cats, "Font")
	}
	sort.Strings(cats)
	defer func(outer types.Dict) { c.inherited = outer }(c.inherited)
	c.inherited = res
	for _, cat := range cats {
		src, _ := c.x.DereferenceDict(res[cat])
		fmt.Fprintf(&b, " /%s <<", cat)
		names := make([]string, 0, len(used[cat]))
		for name := range used[cat] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			o, ok := src[name]
			if !ok {
				return "", notCopyable("the content uses %s %s, which its resources lack", cat, name)
			}
			v, err := c.resource(cat, name, o)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, " %s %s", types.Name(name).PDFString(), v)
		}
		if cat == "Font" {
			b.WriteString(font)
		}
		b.WriteString(" >>")
	}
	b.WriteString(" >>")
	return b.String(), nil
}

func (c *copier) resource(cat, name string, o types.Object) (string, error) {
	switch cat {
	case "XObject":
		return c.ref(o, c.xobject)
	case "ExtGState":
		return c.ref(o, c.extGState)
	case "ColorSpace":
		if err := c.colourSpace(o, 0); err != nil {
			return "", err
		}
		return c.value(o)
	case "Properties":
		d, _ := c.x.DereferenceDict(o)
		if t := d.NameEntry("Type"); t != nil && (*t == "OCG" || *t == "OCMD") {
			return "", notCopyable("the content uses optional content (%s)", name)
		}
		return c.value(o)
	}
	return "", notCopyable("the content uses %s resources (%s)", cat, name)
}

// colourSpace accepts what an sRGB output intent allows: DeviceGray,
// DeviceRGB, the CIE-based spaces, ICC profiles and Indexed over those.
func (c *copier) colourSpace(o types.Object, depth int) error {
	o, _ = c.x.Dereference(o)
	switch cs := o.(type) {
	case types.Name:
		if cs == "DeviceGray" || cs == "DeviceRGB" {
			return nil
		}
		return notCopyable("colour space %s (the access copy's output intent is sRGB)", cs)
	case types.Array:
		if len(cs) == 0 || depth > 2 {
			break
		}
		family, _ := c.x.Dereference(cs[0])
		switch family {
		case types.Name("ICCBased"), types.Name("CalGray"), types.Name("CalRGB"), types.Name("Lab"):
			return nil
		case types.Name("Indexed"):
			if len(cs) == 4 {
				return c.colourSpace(cs[1], depth+1)
			}
		}
		return notCopyable("colour space %v", family)
	}
	return notCopyable("colour space %v", o)
}

// ref copies the object o refers to with fn (or as it is, for a direct
// object) and returns the reference to the copy.
func (c *copier) ref(o types.Object, fn func(types.Object) (string, []byte, error)) (string, error) {
	ir, ok := o.(types.IndirectRef)
	if !ok {
		text, data, err := fn(o)
		if data != nil {
			return "", notCopyable("a stream that is not an indirect object")
		}
		return text, err
	}
	n := ir.ObjectNumber.Value()
	if c.pw == nil {
		if c.seen == nil {
			c.seen = map[int]bool{}
		}
		if c.seen[n] {
			return "0 0 R", nil
		}
		c.seen[n] = true
	} else if t, ok := c.done[n]; ok {
		return fmt.Sprintf("%d 0 R", t), nil
	}
	if c.depth > 32 {
		return "", notCopyable("objects nested too deep")
	}
	target := 0
	if c.pw != nil {
		target = c.pw.reserve()
		c.done[n] = target // before copying: cycles end here
	}
	obj, err := c.x.Dereference(ir)
	if err != nil {
		return "", notCopyable("object %d cannot be read: %v", n, err)
	}
	c.depth++
	text, data, err := fn(obj)
	c.depth--
	if err != nil {
		return "", err
	}
	if c.pw != nil {
		if data != nil {
			c.pw.rawStream(target, text, data)
		} else {
			c.pw.object(target, text)
		}
	}
	return fmt.Sprintf("%d 0 R", target), nil
}

// any copies an object as it is (its references too).
func (c *copier) any(o types.Object) (string, []byte, error) {
	if sd, ok := o.(types.StreamDict); ok {
		return c.stream(sd, nil)
	}
	text, err := c.value(o)
	return text, nil, err
}

// value returns the text of a direct object, copying what it refers to.
func (c *copier) value(o types.Object) (string, error) {
	switch v := o.(type) {
	case nil:
		return "null", nil
	case types.IndirectRef:
		return c.ref(v, c.any)
	case types.Array:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := c.value(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, " ") + "]", nil
	case types.Dict:
		return c.dict(v, nil)
	case types.StreamDict:
		return "", notCopyable("a stream that is not an indirect object")
	}
	return o.PDFString(), nil
}

// dict returns a dictionary's text, with the values in set in place of
// (or in addition to) its own; an empty value drops a key.
func (c *copier) dict(d types.Dict, set map[string]string) (string, error) {
	keys := make([]string, 0, len(d)+len(set))
	for k := range d {
		keys = append(keys, k)
	}
	for k := range set {
		if _, ok := d[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("<<")
	for _, k := range keys {
		v, ok := set[k]
		if !ok {
			var err error
			if v, err = c.value(d[k]); err != nil {
				return "", err
			}
		}
		if v != "" {
			fmt.Fprintf(&b, " %s %s", types.Name(k).PDFString(), v)
		}
	}
	b.WriteString(" >>")
	return b.String(), nil
}

// allowedFilters are the filters PDF/A-2 allows (LZW is re-encoded).
var allowedFilters = []string{"ASCIIHexDecode", "ASCII85Decode", "FlateDecode", "RunLengthDecode", "CCITTFaxDecode", "JBIG2Decode", "DCTDecode", "JPXDecode"}

// stream copies a stream as it is, its data still encoded, or re-encoded
// with Flate where it used LZW. set overrides dictionary entries.
func (c *copier) stream(sd types.StreamDict, set map[string]string) (string, []byte, error) {
	for _, k := range []string{"F", "FFilter", "FDecodeParms"} {
		if _, ok := sd.Dict[k]; ok {
			return "", nil, notCopyable("a stream with %s (external data)", k)
		}
	}
	if set == nil {
		set = map[string]string{}
	}
	data := sd.Raw
	filters := filterNames(c.x, sd.Dict["Filter"])
	if slices.Contains(filters, "LZWDecode") {
		if len(filters) != 1 {
			return "", nil, notCopyable("LZW combined with other filters %v", filters)
		}
		if err := sd.Decode(); err != nil {
			return "", nil, notCopyable("an LZW stream that does not decode: %v", err)
		}
		data = deflate(sd.Content)
		set["Filter"], set["DecodeParms"] = "/FlateDecode", ""
	}
	for _, f := range filters {
		if f != "LZWDecode" && !slices.Contains(allowedFilters, f) {
			return "", nil, notCopyable("the %s filter", f)
		}
	}
	set["Length"] = fmt.Sprint(len(data))
	text, err := c.dict(sd.Dict, set)
	return text, data, err
}

func deflate(b []byte) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

// xobject copies an image or form XObject.
func (c *copier) xobject(o types.Object) (string, []byte, error) {
	sd, ok := o.(types.StreamDict)
	if !ok {
		return "", nil, notCopyable("an XObject that is not a stream")
	}
	if _, ok := sd.Dict["OC"]; ok {
		return "", nil, notCopyable("an XObject with optional content")
	}
	switch sub := sd.Dict.NameEntry("Subtype"); {
	case sub != nil && *sub == "Image":
		return c.image(sd)
	case sub != nil && *sub == "Form":
		return c.form(sd)
	case sub != nil:
		return "", nil, notCopyable("a %s XObject", *sub)
	}
	return "", nil, notCopyable("an XObject without a Subtype")
}

// image copies an image XObject: Interpolate, OPI, Alternates and its own
// metadata are dropped; its colour space, JPEG 2000 data, masks checked.
func (c *copier) image(o types.Object) (string, []byte, error) {
	sd, ok := o.(types.StreamDict)
	if !ok {
		return "", nil, notCopyable("an image that is not a stream")
	}
	set := map[string]string{"Interpolate": "", "OPI": "", "Alternates": "", "Metadata": ""}
	if in := sd.Dict.NameEntry("Intent"); in != nil && !renderingIntents[*in] {
		set["Intent"] = ""
	}
	if cs, ok := sd.Dict.Find("ColorSpace"); ok {
		if err := c.colourSpace(cs, 0); err != nil {
			return "", nil, err
		}
	}
	if slices.Contains(filterNames(c.x, sd.Dict["Filter"]), "JPXDecode") {
		if bad := jpxProblems(sd.Raw); len(bad) > 0 {
			return "", nil, notCopyable("JPEG 2000 data with %s", strings.Join(bad, ", "))
		}
	}
	if m, ok := sd.Dict.Find("SMask"); ok {
		v, err := c.ref(m, c.image)
		if err != nil {
			return "", nil, err
		}
		set["SMask"] = v
	}
	if m, ok := sd.Dict.Find("Mask"); ok {
		if _, isRef := m.(types.IndirectRef); isRef {
			v, err := c.ref(m, c.image)
			if err != nil {
				return "", nil, err
			}
			set["Mask"] = v
		}
	}
	return c.stream(sd, set)
}

// form copies a form XObject with the resources its content uses; one
// that inherited them is given its own (6.2.2).
func (c *copier) form(sd types.StreamDict) (string, []byte, error) {
	var problems []string
	formXObject(sd.Dict, func(clause, format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }, "a form XObject")
	if len(problems) > 0 {
		return "", nil, notCopyable("%s", strings.Join(problems, "; "))
	}
	if err := sd.Decode(); err != nil {
		return "", nil, notCopyable("a form whose content does not decode: %v", err)
	}
	res, _ := c.x.DereferenceDict(sd.Dict["Resources"])
	if res == nil {
		res = c.inherited
	}
	used, _, err := c.check(sd.Content, res)
	if err != nil {
		return "", nil, err
	}
	rtext, err := c.resources(res, used, "")
	if err != nil {
		return "", nil, err
	}
	g, err := c.group(sd.Dict["Group"])
	if err != nil {
		return "", nil, err
	}
	data := deflate(sd.Content)
	text, err := c.dict(sd.Dict, map[string]string{"Resources": rtext, "Group": g, "Filter": "/FlateDecode", "DecodeParms": "", "Length": fmt.Sprint(len(data)),
		"OPI": "", "Metadata": "", "PieceInfo": ""})
	return text, data, err
}

// group copies a transparency group dictionary, checking its colour space.
func (c *copier) group(o types.Object) (string, error) {
	if o == nil {
		return "", nil
	}
	d, err := c.x.DereferenceDict(o)
	if err != nil || d == nil {
		return "", notCopyable("a group that is not a dictionary")
	}
	if cs, ok := d.Find("CS"); ok {
		if err := c.colourSpace(cs, 0); err != nil {
			return "", err
		}
	}
	return c.value(o)
}

// gsKeys are the graphics state entries a copy keeps; any other (transfer
// functions, halftones, black generation, fonts) makes the page re-imaged.
var gsKeys = map[string]bool{"Type": true, "LW": true, "LC": true, "LJ": true, "ML": true, "D": true, "RI": true, "OP": true, "op": true,
	"OPM": true, "FL": true, "SM": true, "SA": true, "BM": true, "SMask": true, "CA": true, "ca": true, "AIS": true, "TK": true}

func (c *copier) extGState(o types.Object) (string, []byte, error) {
	d, ok := o.(types.Dict)
	if !ok {
		return "", nil, notCopyable("a graphics state that is not a dictionary")
	}
	var problems []string
	extGState(c.x, d, func(clause, format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }, "a graphics state")
	for k := range d {
		if !gsKeys[k] {
			problems = append(problems, "a graphics state with "+k)
		}
	}
	if len(problems) > 0 {
		return "", nil, notCopyable("%s", strings.Join(problems, "; "))
	}
	set := map[string]string{}
	if sm, _ := c.x.Dereference(d["SMask"]); sm != nil && sm != types.Name("None") {
		smd, ok := sm.(types.Dict)
		if !ok {
			return "", nil, notCopyable("a soft mask that is not a dictionary")
		}
		if tr, ok := smd.Find("TR"); ok && tr != types.Name("Identity") {
			return "", nil, notCopyable("a soft mask with a transfer function")
		}
		g, err := c.ref(smd["G"], func(o types.Object) (string, []byte, error) {
			sd, ok := o.(types.StreamDict)
			if !ok {
				return "", nil, notCopyable("a soft mask group that is not a stream")
			}
			return c.form(sd)
		})
		if err != nil {
			return "", nil, err
		}
		text, err := c.dict(smd, map[string]string{"G": g})
		if err != nil {
			return "", nil, err
		}
		set["SMask"] = text
	}
	text, err := c.dict(d, set)
	return text, nil, err
}
