package iiif

import (
	"fmt"
	"net/url"
	"strings"
)

// Lang is a IIIF language map: {"none": ["Ledger"]}.
type Lang map[string][]string

// Text is a value in no particular language.
func Text(s ...string) Lang { return Lang{"none": s} }

// En is an English label.
func En(s string) Lang { return Lang{"en": {s}} }

// LabelValue is one line of a manifest's metadata.
type LabelValue struct {
	Label Lang `json:"label"`
	Value Lang `json:"value"`
}

// Resource is a linked resource: a rendering, a homepage, a seeAlso, a
// thumbnail, an image body.
type Resource struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Label   Lang      `json:"label,omitempty"`
	Format  string    `json:"format,omitempty"`
	Profile string    `json:"profile,omitempty"`
	Width   int       `json:"width,omitempty"`
	Height  int       `json:"height,omitempty"`
	Service []Service `json:"service,omitempty"`
}

// Service is a service a resource offers: an image service, a search
// (with its autocomplete).
type Service struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Profile string    `json:"profile,omitempty"`
	Service []Service `json:"service,omitempty"`
}

// Manifest is a Presentation API 3.0 manifest.
type Manifest struct {
	Context           any          `json:"@context"`
	ID                string       `json:"id"`
	Type              string       `json:"type"`
	Label             Lang         `json:"label"`
	Summary           Lang         `json:"summary,omitempty"`
	Metadata          []LabelValue `json:"metadata,omitempty"`
	Rights            string       `json:"rights,omitempty"`
	RequiredStatement *LabelValue  `json:"requiredStatement,omitempty"`
	Homepage          []Resource   `json:"homepage,omitempty"`
	Rendering         []Resource   `json:"rendering,omitempty"`
	SeeAlso           []Resource   `json:"seeAlso,omitempty"`
	PartOf            []Resource   `json:"partOf,omitempty"`
	Thumbnail         []Resource   `json:"thumbnail,omitempty"`
	Service           []any        `json:"service,omitempty"` // Service, ServiceV1
	Items             []Canvas     `json:"items"`
}

// Canvas is one page.
type Canvas struct {
	ID        string           `json:"id"`
	Type      string           `json:"type"`
	Label     Lang             `json:"label"`
	Width     int              `json:"width"`
	Height    int              `json:"height"`
	Thumbnail []Resource       `json:"thumbnail,omitempty"`
	Items     []AnnotationPage `json:"items"`
}

// AnnotationPage holds a canvas's painting annotation.
type AnnotationPage struct {
	ID    string       `json:"id"`
	Type  string       `json:"type"`
	Items []Annotation `json:"items"`
}

// Annotation paints an image on a canvas.
type Annotation struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	Motivation string   `json:"motivation"`
	Body       Resource `json:"body"`
	Target     string   `json:"target"`
}

// Page is what a manifest needs of one page: its label and its size in
// pixels, and where its image service is.
type Page struct {
	Label         string
	Width, Height int
	Service       string // the image service's id (…/iiif/3/image/BAG~N)
}

// ThumbnailWidth is the width of a canvas's thumbnail.
const ThumbnailWidth = 200

// CanvasOf is page n (from 1) of the manifest at base (…/iiif/3/BAG).
func CanvasOf(base string, n int, p Page) Canvas {
	id := fmt.Sprintf("%s/canvas/%d", base, n)
	img := p.Service + "/full/max/0/default.jpg"
	tw := min(ThumbnailWidth, p.Width)
	th := max(1, p.Height*tw/max(p.Width, 1))
	svc := []Service{{ID: p.Service, Type: "ImageService3", Profile: "level1"}}
	return Canvas{ID: id, Type: "Canvas", Label: Text(p.Label), Width: p.Width, Height: p.Height,
		Thumbnail: []Resource{{ID: fmt.Sprintf("%s/full/%d,/0/default.jpg", p.Service, tw), Type: "Image", Format: "image/jpeg",
			Width: tw, Height: th, Service: svc}},
		Items: []AnnotationPage{{ID: fmt.Sprintf("%s/page/%d", base, n), Type: "AnnotationPage", Items: []Annotation{{
			ID: fmt.Sprintf("%s/annotation/%d", base, n), Type: "Annotation", Motivation: "painting", Target: id,
			Body: Resource{ID: img, Type: "Image", Format: "image/jpeg", Width: p.Width, Height: p.Height, Service: svc}}}}}}
}

// PresentationContext is the manifest's @context.
const PresentationContext = "http://iiif.io/api/presentation/3/context.json"

// ImageContext is info.json's @context.
const ImageContext = "http://iiif.io/api/image/3/context.json"

// RightsURI reports whether s is a rights URI a manifest's rights may
// carry: one of rightsstatements.org's or Creative Commons'.
func RightsURI(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return u.Host == "rightsstatements.org" || u.Host == "creativecommons.org"
}

// Info is an image service's info.json (Image API 3.0, level 1).
type Info struct {
	Context        string   `json:"@context"`
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	Protocol       string   `json:"protocol"`
	Profile        string   `json:"profile"`
	Width          int      `json:"width"`
	Height         int      `json:"height"`
	MaxArea        int      `json:"maxArea"`
	Sizes          []Size   `json:"sizes"`
	Tiles          []Tile   `json:"tiles"`
	ExtraQualities []string `json:"extraQualities"`
	ExtraFormats   []string `json:"extraFormats"`
	ExtraFeatures  []string `json:"extraFeatures"`
	Rights         string   `json:"rights,omitempty"`
}

// Size is one of the sizes an image is offered at whole.
type Size struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Tile is the tiling viewers ask for.
type Tile struct {
	Width        int   `json:"width"`
	ScaleFactors []int `json:"scaleFactors"`
}

// TileSize is the tiles' side.
const TileSize = 512

// InfoOf is the info.json of the image service id for an image w × h.
func InfoOf(id string, w, h int, rights string) Info {
	in := Info{Context: ImageContext, ID: id, Type: "ImageService3", Protocol: "http://iiif.io/api/image", Profile: "level1",
		Width: w, Height: h, MaxArea: MaxArea, ExtraQualities: []string{"color", "gray", "bitonal"}, ExtraFormats: []string{"png"},
		ExtraFeatures: []string{"mirroring", "regionByPct", "regionSquare", "rotationBy90s", "sizeByConfinedWh", "sizeByPct", "sizeByWh", "sizeUpscaling"}}
	if RightsURI(rights) {
		in.Rights = rights
	}
	scales := []int{1}
	for f := 2; w/f >= 64 || h/f >= 64; f *= 2 {
		in.Sizes = append([]Size{{(w + f - 1) / f, (h + f - 1) / f}}, in.Sizes...)
		scales = append(scales, f)
		if len(scales) > 6 {
			break
		}
	}
	in.Tiles = []Tile{{Width: TileSize, ScaleFactors: scales}}
	return in
}

// Collection is a Presentation API 3.0 collection: manifests (and, for a
// long one, the collection of its next page).
type Collection struct {
	Context any        `json:"@context,omitempty"`
	ID      string     `json:"id"`
	Type    string     `json:"type"`
	Label   Lang       `json:"label"`
	Summary Lang       `json:"summary,omitempty"`
	PartOf  []Resource `json:"partOf,omitempty"`
	Items   []Resource `json:"items"`
}
