package pdfa

import (
	"fmt"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// The rules below are shared by the checker, which reports every finding,
// and the page copier, which copies a page from a scanned PDF into an
// access copy only if copying it breaks none of them.

type reporter func(clause, format string, args ...any)

// colours is what decides whether a Device colour space may be used
// (6.2.4.3): the output intent's colour space (RGB, CMYK, GRAY, or "" for
// none) and the Default colour spaces the resources set.
type colours struct {
	intent   string
	defaults map[string]bool
}

func (c colours) allowed(device string) bool {
	switch device {
	case "DeviceGray":
		return c.intent != "" || c.defaults["DefaultGray"]
	case "DeviceRGB":
		return c.intent == "RGB" || c.defaults["DefaultRGB"]
	case "DeviceCMYK":
		return c.intent == "CMYK" || c.defaults["DefaultCMYK"]
	}
	return true
}

// with adds the Default colour spaces of a resource dictionary.
func (c colours) with(x *model.XRefTable, res types.Dict) colours {
	cs, _ := x.DereferenceDict(res["ColorSpace"])
	if len(cs) == 0 {
		return c
	}
	out := colours{intent: c.intent, defaults: map[string]bool{}}
	for k, v := range c.defaults {
		out.defaults[k] = v
	}
	for _, k := range []string{"DefaultGray", "DefaultRGB", "DefaultCMYK"} {
		if _, ok := cs[k]; ok {
			out.defaults[k] = true
		}
	}
	return out
}

// abbreviations of device colour spaces in inline images.
var inlineSpaces = map[string]string{"G": "DeviceGray", "RGB": "DeviceRGB", "CMYK": "DeviceCMYK"}

// colourSpace checks a colour space (a name or an array) for Device spaces
// the output intent does not allow, through Indexed bases and Separation
// and DeviceN alternates.
func colourSpace(x *model.XRefTable, o types.Object, c colours, report reporter, where string, depth int) {
	o, _ = x.Dereference(o)
	if depth > 8 {
		return
	}
	switch cs := o.(type) {
	case types.Name:
		name := string(cs)
		if d, ok := inlineSpaces[name]; ok {
			name = d
		}
		if !c.allowed(name) {
			report("6.2.4.3", "%s uses %s, which the output intent (%s) does not allow", where, name, orNone(c.intent))
		}
	case types.Array:
		if len(cs) == 0 {
			return
		}
		family, _ := x.Dereference(cs[0])
		n, _ := family.(types.Name)
		switch {
		case n == "Indexed" && len(cs) > 1, n == "Pattern" && len(cs) > 1:
			colourSpace(x, cs[1], c, report, where, depth+1)
		case n == "Separation" && len(cs) > 2, n == "DeviceN" && len(cs) > 2:
			colourSpace(x, cs[2], c, report, where, depth+1)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// standardBlendModes are ISO 32000-1's (6.2.10: no others).
var standardBlendModes = map[string]bool{"Normal": true, "Compatible": true, "Multiply": true, "Screen": true, "Overlay": true, "Darken": true,
	"Lighten": true, "ColorDodge": true, "ColorBurn": true, "HardLight": true, "SoftLight": true, "Difference": true, "Exclusion": true,
	"Hue": true, "Saturation": true, "Color": true, "Luminosity": true}

// extGState checks a graphics state parameter dictionary: no transfer
// functions but TR2 Default, no HTP, standard rendering intents (6.2.5),
// standard blend modes (6.2.10).
func extGState(x *model.XRefTable, d types.Dict, report reporter, where string) {
	if _, ok := d.Find("TR"); ok {
		report("6.2.5", "%s has a transfer function (TR)", where)
	}
	if o, ok := d.Find("TR2"); ok {
		if n, _ := x.Dereference(o); n != types.Name("Default") {
			report("6.2.5", "%s has TR2 other than Default", where)
		}
	}
	if _, ok := d.Find("HTP"); ok {
		report("6.2.5", "%s has HTP", where)
	}
	if o, ok := d.Find("RI"); ok {
		if n, _ := x.Dereference(o); !renderingIntents[fmt.Sprint(n)] {
			report("6.2.5", "%s has rendering intent %v", where, n)
		}
	}
	if o, ok := d.Find("BM"); ok {
		o, _ = x.Dereference(o)
		modes := []types.Object{o}
		if a, ok := o.(types.Array); ok {
			modes = a
		}
		for _, m := range modes {
			if n, ok := m.(types.Name); !ok || !standardBlendModes[string(n)] {
				report("6.2.10", "%s has blend mode %v", where, m)
			}
		}
	}
}

// streamFilters checks a stream's filters: no external file (F, FFilter,
// FDecodeParms; 6.1.7.1), no LZW and no Crypt (6.1.7.2).
func streamFilters(x *model.XRefTable, d types.Dict, report reporter, where string) {
	for _, k := range []string{"F", "FFilter", "FDecodeParms"} {
		if _, ok := d.Find(k); ok {
			report("6.1.7.1", "%s has %s (an external stream)", where, k)
		}
	}
	for _, f := range filterNames(x, d["Filter"]) {
		if f == "LZWDecode" || f == "Crypt" {
			report("6.1.7.2", "%s uses the %s filter", where, f)
		}
	}
}

// filterNames returns a Filter entry as a list of names.
func filterNames(x *model.XRefTable, o types.Object) []string {
	o, _ = x.Dereference(o)
	switch f := o.(type) {
	case types.Name:
		return []string{string(f)}
	case types.Array:
		var out []string
		for _, e := range f {
			if n, ok := e.(types.Name); ok {
				out = append(out, string(n))
			}
		}
		return out
	}
	return nil
}

// inlineFilters are the abbreviations inline images may use.
var inlineFilters = map[string]string{"AHx": "ASCIIHexDecode", "A85": "ASCII85Decode", "LZW": "LZWDecode", "Fl": "FlateDecode",
	"RL": "RunLengthDecode", "CCF": "CCITTFaxDecode", "DCT": "DCTDecode"}

// uses lists the resources a content stream names, by resource category
// (XObject, ExtGState, ColorSpace, Pattern, Shading).
type uses map[string]map[string]bool

func (u uses) add(category, name string) {
	if u[category] == nil {
		u[category] = map[string]bool{}
	}
	u[category][name] = true
}

// content checks a content stream: ISO 32000-1 operators only and
// standard rendering intents (6.2.2); Device colour operators and inline
// image colour spaces the output intent allows (6.2.4.3), including the
// initial DeviceGray black a page paints with before it sets a colour
// (initial); no LZW or Crypt filter in an inline image (6.1.10); no
// interpolation (6.2.8.1). It returns the resources the stream uses, which
// are checked with the resources.
func content(b []byte, c colours, report reporter, where string, initial bool) uses {
	used := uses{}
	lastName := func(args []token) string {
		if len(args) > 0 && args[len(args)-1].kind == tName {
			return args[len(args)-1].text
		}
		return ""
	}
	// Whether the fill and stroke colours are still the initial ones, with
	// q and Q saving and restoring them.
	type state struct{ fill, stroke bool }
	st := state{initial, initial}
	var stack []state
	paint := func(fill, stroke bool, op string) {
		if fill && st.fill || stroke && st.stroke {
			colourOp(c, report, where+" (the initial colour)", "DeviceGray", op)
			st = state{} // reported once
		}
	}
	err := scanContent(b, func(op string, args []token) error {
		if !operators[op] {
			report("6.2.2", "%s uses the operator %q, which ISO 32000-1 does not define", where, op)
			return nil
		}
		switch op {
		case "q":
			stack = append(stack, st)
		case "Q":
			if len(stack) > 0 {
				st, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "rg", "k", "g", "cs", "sc", "scn":
			st.fill = false
		case "RG", "K", "G", "CS", "SC", "SCN":
			st.stroke = false
		case "f", "F", "f*", "Tj", "TJ", "'", `"`:
			paint(true, false, op)
		case "S", "s":
			paint(false, true, op)
		case "B", "B*", "b", "b*":
			paint(true, true, op)
		}
		switch op {
		case "rg", "RG":
			colourOp(c, report, where, "DeviceRGB", op)
		case "k", "K":
			colourOp(c, report, where, "DeviceCMYK", op)
		case "g", "G":
			colourOp(c, report, where, "DeviceGray", op)
		case "cs", "CS":
			if n := lastName(args); strings.HasPrefix(n, "Device") {
				colourOp(c, report, where, n, op)
			} else if n != "" {
				used.add("ColorSpace", n)
			}
		case "scn", "SCN":
			if n := lastName(args); n != "" {
				used.add("Pattern", n)
			}
		case "Do":
			used.add("XObject", lastName(args))
		case "gs":
			used.add("ExtGState", lastName(args))
		case "sh":
			used.add("Shading", lastName(args))
		case "Tf":
			if len(args) == 2 && args[0].kind == tName {
				used.add("Font", args[0].text)
			}
		case "ri":
			if len(args) == 1 && !renderingIntents[args[0].text] {
				report("6.2.2", "%s uses rendering intent %s", where, args[0].text)
			}
		case "BI":
			if n := inlineImage(args[0], c, report, where); n != "" {
				used.add("ColorSpace", n)
			}
		}
		return nil
	})
	if err != nil {
		report("6.2.2", "%s cannot be read: %v", where, err)
	}
	return used
}

func colourOp(c colours, report reporter, where, space, op string) {
	if !c.allowed(space) {
		report("6.2.4.3", "%s uses %s (operator %s), which the output intent (%s) does not allow", where, space, op, orNone(c.intent))
	}
}

// inlineImage checks an inline image's dictionary and returns the name of
// the resource colour space it uses, if any.
func inlineImage(d token, c colours, report reporter, where string) (named string) {
	for _, key := range []string{"F", "Filter"} {
		f, ok := d.dictValue(key)
		if !ok {
			continue
		}
		names := []token{f}
		if f.kind == tArray {
			names = f.items
		}
		for _, n := range names {
			full := n.text
			if l, ok := inlineFilters[full]; ok {
				full = l
			}
			if full == "LZWDecode" || full == "Crypt" {
				report("6.1.10", "%s has an inline image with the %s filter", where, full)
			}
		}
	}
	for _, key := range []string{"I", "Interpolate"} {
		if v, ok := d.dictValue(key); ok && v.text == "true" {
			report("6.2.8.1", "%s has an inline image with interpolation", where)
		}
	}
	for _, key := range []string{"CS", "ColorSpace"} {
		if v, ok := d.dictValue(key); ok && v.kind == tName {
			space := v.text
			if l, ok := inlineSpaces[space]; ok {
				space = l
			}
			if strings.HasPrefix(space, "Device") {
				colourOp(c, report, where+" (inline image)", space, "BI")
			} else {
				named = space
			}
		}
	}
	return named
}

// formXObject checks what 6.2.9 forbids in form XObjects: reference
// XObjects (Ref), PostScript (Subtype2 PS, PS) and OPI.
func formXObject(d types.Dict, report reporter, where string) {
	if _, ok := d.Find("Ref"); ok {
		report("6.2.9", "%s is a reference XObject", where)
	}
	if _, ok := d.Find("PS"); ok {
		report("6.2.9", "%s has PostScript (PS)", where)
	}
	if s := d.NameEntry("Subtype2"); s != nil && *s == "PS" {
		report("6.2.9", "%s is a PostScript XObject", where)
	}
	if _, ok := d.Find("OPI"); ok {
		report("6.2.9", "%s has OPI", where)
	}
}

// checkPages reads every page's content stream and resources, and those
// of the form XObjects, tiling patterns, Type 3 glyphs and annotation
// appearances they use.
func checkPages(r *Report, x *model.XRefTable, c colours) {
	all, err := pages(x)
	if err != nil {
		return // reported by pdfcpu's own reading
	}
	w := &pageWalk{r: r, x: x, seen: map[int]bool{}}
	for i, pg := range all {
		nr, d := i+1, pg.dict
		where := fmt.Sprintf("page %d", nr)
		b, err := x.PageContent(d, nr)
		if err != nil && err != model.ErrNoContent {
			r.add("6.2.2", "%s: its content cannot be read: %v", where, err)
			continue
		}
		w.content(b, pg.res, pg.ownRes, c, where, true, 0)
		annots, _ := x.DereferenceArray(d["Annots"])
		for i, a := range annots {
			ad, _ := x.DereferenceDict(a)
			ap, _ := x.DereferenceDict(ad["AP"])
			n, _ := x.Dereference(ap["N"])
			streams := []types.Object{ap["N"]}
			if states, ok := n.(types.Dict); ok {
				streams = streams[:0]
				for _, s := range states {
					streams = append(streams, s)
				}
			}
			for _, s := range streams {
				w.stream(s, nil, colours{intent: c.intent}, fmt.Sprintf("%s annotation %d appearance", where, i+1), 0)
			}
		}
	}
}

type pageWalk struct {
	r    *Report
	x    *model.XRefTable
	seen map[int]bool // forms and patterns already read
}

// content checks a content stream and the resources it uses; explicit is
// false when res is inherited rather than the stream's own (6.2.2 wants
// every stream that uses resources to have its own).
func (w *pageWalk) content(b []byte, res types.Dict, explicit bool, c colours, where string, initial bool, depth int) {
	if depth > 12 {
		return
	}
	x := w.x
	c = c.with(x, res)
	used := content(b, c, w.r.add, where, initial)
	if len(used) > 0 && !explicit {
		w.r.add("6.2.2", "%s uses resources but has no Resources dictionary of its own", where)
	}
	// Only what the content uses counts: a resource nothing draws with is
	// never rendered (veraPDF's corpus passes such files).
	each := func(category string, fn func(name string, o types.Object)) {
		d, _ := x.DereferenceDict(res[category])
		for name := range used[category] {
			if o, ok := d[name]; ok {
				fn(name, o)
			}
		}
	}
	each("Font", func(name string, o types.Object) {
		f, _ := x.DereferenceDict(o)
		if sub := f.NameEntry("Subtype"); sub == nil || *sub != "Type3" {
			return
		}
		fres, _ := x.DereferenceDict(f["Resources"])
		explicit := fres != nil
		if fres == nil {
			fres = res
		}
		procs, _ := x.DereferenceDict(f["CharProcs"])
		for glyph, p := range procs {
			sd, _, err := x.DereferenceStreamDict(p)
			if err != nil || sd == nil || sd.Decode() != nil {
				continue
			}
			w.content(sd.Content, fres, explicit, c, fmt.Sprintf("%s Type 3 font %s glyph %s", where, name, glyph), false, depth+1)
		}
	})
	each("ColorSpace", func(name string, o types.Object) {
		colourSpace(x, o, c, w.r.add, where+" colour space "+name, 0)
	})
	each("ExtGState", func(name string, o types.Object) {
		d, err := x.DereferenceDict(o)
		if err != nil || d == nil {
			return
		}
		extGState(x, d, w.r.add, where+" graphics state "+name)
		if sm, _ := x.DereferenceDict(d["SMask"]); sm != nil {
			w.stream(sm["G"], res, c, where+" soft mask", depth)
		}
	})
	each("XObject", func(name string, o types.Object) { w.stream(o, res, c, where+" XObject "+name, depth) })
	each("Pattern", func(name string, o types.Object) {
		// A pattern draws in its own space: the page's Default colour
		// spaces do not reach it.
		w.stream(o, res, colours{intent: c.intent}, where+" pattern "+name, depth)
		if d, _ := x.DereferenceDict(o); d != nil {
			w.shading(d["Shading"], c, where+" pattern "+name)
		}
	})
	each("Shading", func(name string, o types.Object) { w.shading(o, c, where+" shading "+name) })
}

// stream reads an XObject or tiling pattern: an image's colour spaces
// (its own, its soft mask's), a form's or pattern's content with its own
// resources (or, lacking them, the ones it is used with).
func (w *pageWalk) stream(o types.Object, parent types.Dict, c colours, where string, depth int) {
	ir, ok := o.(types.IndirectRef)
	if !ok || w.seen[ir.ObjectNumber.Value()] {
		return
	}
	w.seen[ir.ObjectNumber.Value()] = true
	sd, _, err := w.x.DereferenceStreamDict(ir)
	if err != nil || sd == nil {
		return
	}
	sub, pt := sd.NameEntry("Subtype"), sd.IntEntry("PatternType")
	switch {
	case sub != nil && *sub == "Image":
		where = fmt.Sprintf("image %d", ir.ObjectNumber)
		if cs, ok := sd.Find("ColorSpace"); ok {
			colourSpace(w.x, cs, c, w.r.add, where, 0)
		}
		if sm, ok := sd.Find("SMask"); ok {
			w.stream(sm, parent, c, where+" soft mask", depth)
		}
		return
	case sub != nil && *sub == "Form", pt != nil && *pt == 1:
	default:
		return
	}
	if g, _ := w.x.DereferenceDict(sd.Dict["Group"]); g != nil {
		if cs, ok := g.Find("CS"); ok {
			colourSpace(w.x, cs, c, w.r.add, fmt.Sprintf("%s, object %d transparency group", where, ir.ObjectNumber), 0)
		}
	}
	if err := sd.Decode(); err != nil {
		return
	}
	res, _ := w.x.DereferenceDict(sd.Dict["Resources"])
	explicit := res != nil
	if res == nil {
		res = parent
	}
	w.content(sd.Content, res, explicit, c, fmt.Sprintf("%s, object %d", where, ir.ObjectNumber), false, depth+1)
}

func (w *pageWalk) shading(o types.Object, c colours, where string) {
	d, _ := w.x.DereferenceDict(o)
	if d == nil {
		if sd, _, _ := w.x.DereferenceStreamDict(o); sd != nil {
			d = sd.Dict
		}
	}
	if d != nil {
		colourSpace(w.x, d["ColorSpace"], c, w.r.add, where, 0)
	}
}
