package pdfa

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// page is a page of a PDF with what it inherits from the page tree.
type page struct {
	dict        types.Dict
	res         types.Dict // its resources, its own or inherited
	ownRes      bool
	media, crop *types.Rectangle
	rotate      int
}

// pages walks the page tree once and returns every page in order, with
// the attributes it inherits (ISO 32000 7.7.3.4: the nearest ancestor's
// Resources, MediaBox, CropBox and Rotate). Asking pdfcpu for page n walks
// the tree from its root each time: for a PDF of 10,000 pages, 50 million
// steps.
func pages(x *model.XRefTable) ([]page, error) {
	root, err := x.Pages()
	if err != nil || root == nil {
		return nil, fmt.Errorf("no page tree: %v", err)
	}
	var out []page
	seen := map[int]bool{}
	var walk func(o types.Object, inh page, depth int) error
	walk = func(o types.Object, inh page, depth int) error {
		ir, ok := o.(types.IndirectRef)
		if !ok || seen[ir.ObjectNumber.Value()] {
			return fmt.Errorf("page tree node %v: not a new indirect object", o)
		}
		seen[ir.ObjectNumber.Value()] = true
		if depth > 64 {
			return fmt.Errorf("page tree deeper than 64")
		}
		d, err := x.DereferenceDict(ir)
		if err != nil || d == nil {
			return fmt.Errorf("page tree node %d: %v", ir.ObjectNumber, err)
		}
		inh.dict, inh.ownRes = d, false
		if r, ok := d.Find("Resources"); ok {
			if rd, _ := x.DereferenceDict(r); rd != nil {
				inh.res, inh.ownRes = rd, true
			}
		}
		for key, dst := range map[string]**types.Rectangle{"MediaBox": &inh.media, "CropBox": &inh.crop} {
			if a, _ := x.DereferenceArray(d[key]); len(a) == 4 {
				if r, err := x.RectForArray(a); err == nil {
					*dst = r
				}
			}
		}
		if r, ok := d.Find("Rotate"); ok {
			if n, err := x.DereferenceNumber(r); err == nil {
				inh.rotate = int(n)
			}
		}
		if t := d.NameEntry("Type"); t != nil && *t == "Page" || d["Kids"] == nil {
			out = append(out, inh)
			return nil
		}
		kids, err := x.DereferenceArray(d["Kids"])
		if err != nil {
			return fmt.Errorf("page tree node %d: %v", ir.ObjectNumber, err)
		}
		for _, k := range kids {
			if err := walk(k, inh, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(*root, page{}, 0)
}
