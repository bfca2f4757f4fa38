package review

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/strongroom-archive/strongroom/formats/alto"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/iiif"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"golang.org/x/sync/singleflight"
)

// The IIIF routes: a Presentation API 3.0 manifest for every bag with an
// access copy, and an Image API 3.0 service (level 1, and more) for each
// of its pages, drawn from the access copy. They obey the access rights
// as every other route does (what a user may not read is not found), with
// a bearer token, a session cookie, or nothing on a public server; and
// they answer any origin (CORS), so that viewers elsewhere open them.

// iiifPage is one page of a bag's access copies, in reading order.
type iiifPage struct {
	obj           catalog.Object // the access copy (PDF)
	n             int            // its page, from 1
	width, height int            // in pixels, as its ALTO says
}

// pageSizes caches each page-size source's sizes (an ALTO's, a kept PDF's)
// by its SHA-256: a manifest of a 500-page book is not 500 pages of ALTO
// parsed per request.
var pageSizes sync.Map // string → [][2]int

// iiifPages lists the pages of bag id that u may read: its access copy's,
// at the sizes its ALTO gives; without an access copy, those of a PDF kept
// as it is (born digital: its own access copy), at 144 dpi, as its words'
// boxes in the index are.
func (s *Server) iiifPages(r *http.Request, u *user, id string) (*catalog.Bag, *catalog.Item, []iiifPage, error) {
	b, it, err := s.describedBag(r, u, id)
	if err != nil {
		return nil, nil, nil, err
	}
	objs, err := s.Catalog.Objects(r.Context(), id)
	if err != nil {
		return nil, nil, nil, err
	}
	type source struct {
		pdf   string                              // the PDF drawn
		sizes catalog.Object                      // what gives its pages' sizes
		read  func(path string) ([][2]int, error) // reads them
	}
	var sources []source
	for _, o := range objs { // by key: the access copies' order
		if name, ok := strings.CutPrefix(o.Key, "data/alto/"); ok && strings.HasSuffix(name, ".alto.xml") {
			sources = append(sources, source{"data/access/" + strings.TrimSuffix(name, ".alto.xml") + ".pdf", o, readALTOSizes})
		}
	}
	if len(sources) == 0 && s.Library.PageSizes != nil {
		for _, o := range objs {
			if strings.HasPrefix(o.Key, "data/original/") && strings.EqualFold(path.Ext(o.Key), ".pdf") {
				sources = append(sources, source{o.Key, o, func(p string) ([][2]int, error) { return s.pdfSizes(r, p) }})
			}
		}
	}
	var pages []iiifPage
	for _, src := range sources {
		if !slices.ContainsFunc(objs, func(o catalog.Object) bool { return o.Key == src.pdf }) {
			continue
		}
		pdf, err := s.readableIn(r, u, id, it, objs, src.pdf)
		if err != nil {
			return nil, nil, nil, err
		}
		sizes, err := s.sizesOf(r, src.sizes, src.read)
		if err != nil {
			return nil, nil, nil, err
		}
		for n, sz := range sizes {
			pages = append(pages, iiifPage{obj: pdf, n: n + 1, width: sz[0], height: sz[1]})
		}
	}
	if len(pages) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: bag %s has no page images (no access copy)", catalog.ErrNotFound, id)
	}
	return b, it, pages, nil
}

// sizesOf is the page sizes read from object o, cached.
func (s *Server) sizesOf(r *http.Request, o catalog.Object, read func(path string) ([][2]int, error)) ([][2]int, error) {
	if v, ok := pageSizes.Load(o.SHA256); ok {
		return v.([][2]int), nil
	}
	p, err := s.Library.Cache.Path(r.Context(), o)
	if err != nil {
		return nil, err
	}
	sizes, err := read(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Key, err)
	}
	pageSizes.Store(o.SHA256, sizes)
	return sizes, nil
}

// readALTOSizes reads the page sizes of the ALTO at p.
func readALTOSizes(p string) ([][2]int, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	read, err := alto.Read(f)
	if err != nil {
		return nil, err
	}
	sizes := make([][2]int, len(read))
	for i, pg := range read {
		sizes[i] = [2]int{pg.Width, pg.Height}
	}
	return sizes, nil
}

// pdfSizes are the pages of the PDF at p in pixels at 144 dpi.
func (s *Server) pdfSizes(r *http.Request, p string) ([][2]int, error) {
	pts, err := s.Library.PageSizes(r.Context(), p)
	if err != nil {
		return nil, err
	}
	sizes := make([][2]int, len(pts))
	for i, pt := range pts {
		sizes[i] = [2]int{int(math.Round(pt[0] * 2)), int(math.Round(pt[1] * 2))}
	}
	return sizes, nil
}

// hasPageImages reports whether a bag of these files has pages to publish:
// an access copy with its ALTO, or, without an access copy, a PDF kept as
// it is.
func hasPageImages(keys []string) bool {
	if slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "data/alto/") }) {
		return true
	}
	return !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "data/access/") }) &&
		slices.ContainsFunc(keys, func(k string) bool {
			return strings.HasPrefix(k, "data/original/") && strings.EqualFold(path.Ext(k), ".pdf")
		})
}

// baseURL is the scheme and host the request came to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) iiifManifest(w http.ResponseWriter, r *http.Request, u *user, id string) {
	_, it, pages, err := s.iiifPages(r, u, id)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	base := baseURL(r)
	self := base + "/iiif/3/" + id
	m := iiif.Manifest{Context: iiif.PresentationContext, ID: self + "/manifest", Type: "Manifest", Label: iiif.Text(it.Meta.Title)}
	if it.Meta.Title == "" {
		m.Label = iiif.Text(it.Name)
	}
	for _, f := range []string{"title", "date", "creator", "collection", "identifier", "subject", "language"} {
		if v := it.Meta.Get(f); v != "" {
			m.Metadata = append(m.Metadata, iiif.LabelValue{Label: iiif.En(strings.ToUpper(f[:1]) + f[1:]), Value: iiif.Text(v)})
		}
	}
	// A bag reprocessed since (a new access copy, say) is a new bag: the
	// manifest of this one says where the newest is.
	if newer, err := s.Catalog.NewerVersions(r.Context(), id); err == nil && len(newer) > 0 {
		m.Metadata = append(m.Metadata, iiif.LabelValue{Label: iiif.En("Newer version"),
			Value: iiif.Text(fmt.Sprintf(`<a href="%s/iiif/3/%s/manifest">%s</a>`, base, newer[0], newer[0]))})
	}
	if d := it.Meta.Get("description"); d != "" {
		m.Summary = iiif.Text(d)
	}
	if iiif.RightsURI(it.Meta.Rights) {
		m.Rights = it.Meta.Rights
	}
	if s.Institution != "" {
		m.RequiredStatement = &iiif.LabelValue{Label: iiif.En("Holding institution"), Value: iiif.Text(s.Institution)}
	}
	m.Homepage = []iiif.Resource{{ID: base + "/bags/" + id, Type: "Text", Label: m.Label, Format: "text/html"}}
	m.PartOf = []iiif.Resource{{ID: base + "/iiif/3/collection", Type: "Collection", Label: iiif.En("Every book")}}
	if c := it.Meta.Collection; c != "" {
		m.PartOf = append(m.PartOf, iiif.Resource{ID: base + "/iiif/3/collection/" + url.PathEscape(c), Type: "Collection", Label: iiif.Text(c)})
	}
	var seen []string
	for _, p := range pages {
		if slices.Contains(seen, p.obj.Key) {
			continue
		}
		seen = append(seen, p.obj.Key)
		name := strings.TrimSuffix(path.Base(p.obj.Key), ".pdf")
		if !strings.HasPrefix(p.obj.Key, "data/access/") {
			m.Rendering = append(m.Rendering, iiif.Resource{ID: base + "/api/v1/bags/" + id + "/files/" + p.obj.Key, Type: "Text",
				Label: iiif.En("PDF (kept as it came)"), Format: "application/pdf"})
			continue
		}
		m.Rendering = append(m.Rendering, iiif.Resource{ID: base + "/api/v1/bags/" + id + "/files/" + p.obj.Key, Type: "Text",
			Label: iiif.En("PDF/A access copy"), Format: "application/pdf"})
		m.SeeAlso = append(m.SeeAlso, iiif.Resource{ID: base + "/api/v1/bags/" + id + "/files/data/alto/" + name + ".alto.xml", Type: "Dataset",
			Label: iiif.En("ALTO (OCR text with word positions)"), Format: "application/xml", Profile: "http://www.loc.gov/standards/alto/ns-v4#"})
	}
	for i, p := range pages {
		label := strconv.Itoa(i + 1)
		m.Items = append(m.Items, iiif.CanvasOf(self, i+1, iiif.Page{Label: label, Width: p.width, Height: p.height,
			Service: fmt.Sprintf("%s/iiif/3/image/%s~%d", base, id, i+1)}))
	}
	m.Thumbnail = m.Items[0].Thumbnail
	m.Service = []any{iiif.Service{ID: base + "/iiif/3/search/" + id, Type: "SearchService2",
		Service: []iiif.Service{{ID: base + "/iiif/3/autocomplete/" + id, Type: "AutoCompleteService2"}}},
		// The same search in the 1.0 form, which Mirador 4 looks for.
		iiif.ServiceV1{ID: base + "/iiif/3/search1/" + id, Type: "SearchService1", Profile: iiif.SearchV1Profile}}
	writeLD(w, iiif.PresentationContext, m)
}

// writeLD answers v as JSON-LD of the context given, as IIIF asks.
func writeLD(w http.ResponseWriter, context string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, internalError, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", `application/ld+json;profile="`+context+`"`)
	w.Write(b)
}

// iiifImageID splits BAG~N.
func iiifImageID(id string) (string, int, bool) {
	bag, n, ok := strings.Cut(id, "~")
	page, err := strconv.Atoi(n)
	return bag, page, ok && err == nil && page > 0
}

// iiifImagePage finds the page an image id names, for u.
func (s *Server) iiifImagePage(w http.ResponseWriter, r *http.Request, u *user) (*catalog.Item, iiifPage, bool) {
	bag, n, ok := iiifImageID(r.PathValue("id"))
	if !ok {
		http.Error(w, "an image id is BAG~PAGE", http.StatusBadRequest)
		return nil, iiifPage{}, false
	}
	_, it, pages, err := s.iiifPages(r, u, bag)
	if err == nil && n > len(pages) {
		err = fmt.Errorf("%w: page %d of bag %s", catalog.ErrNotFound, n, bag)
	}
	if err != nil {
		s.libraryError(w, r, err)
		return nil, iiifPage{}, false
	}
	return it, pages[n-1], true
}

func (s *Server) iiifInfo(w http.ResponseWriter, r *http.Request, u *user) {
	it, p, ok := s.iiifImagePage(w, r, u)
	if !ok {
		return
	}
	info := iiif.InfoOf(baseURL(r)+"/iiif/3/image/"+r.PathValue("id"), p.width, p.height, it.Meta.Rights)
	writeLD(w, iiif.ImageContext, info)
}

func (s *Server) iiifImage(w http.ResponseWriter, r *http.Request, u *user) {
	_, p, ok := s.iiifImagePage(w, r, u)
	if !ok {
		return
	}
	req, err := iiif.Parse(r.PathValue("region"), r.PathValue("size"), r.PathValue("rotation"), r.PathValue("quality"), p.width, p.height)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	canonical := req.Canonical(p.width, p.height)
	etag := `"` + p.obj.SHA256[:16] + "-" + strconv.Itoa(p.n) + "-" + strings.NewReplacer("/", "_", ",", ".", ":", "", "!", "m", "^", "u").Replace(canonical) + `"`
	w.Header().Set("Link", fmt.Sprintf(`<%s/iiif/3/image/%s/%s>;rel="canonical"`, baseURL(r), r.PathValue("id"), canonical))
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ct := map[string]string{"jpg": "image/jpeg", "png": "image/png"}[req.Format]
	cached := filepath.Join(s.iiifCache().dir, strings.Trim(etag, `"`)+"."+req.Format)
	b, err := os.ReadFile(cached)
	if err == nil {
		s.iiifCache().touch(cached)
	} else {
		src, err := s.iiifSource(r, p)
		if err != nil {
			s.Log.Warn("review: IIIF page image", "bag", p.obj.BagID, "file", p.obj.Key, "page", p.n, "err", err)
			http.Error(w, "the page cannot be drawn", http.StatusUnprocessableEntity)
			return
		}
		out := req.Apply(src)
		var buf bytes.Buffer
		if req.Format == "png" {
			err = png.Encode(&buf, out)
		} else {
			err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 85})
		}
		if err != nil {
			s.libraryError(w, r, err)
			return
		}
		b = buf.Bytes()
		keep(cached, b)
		s.iiifCache().wrote()
	}
	w.Header().Set("Content-Type", ct)
	w.Write(b)
}

// decodedPages keeps the last few pages drawn at full size decoded in
// memory (a 300-dpi A4 page is 13 MB): the tiles of the page a reader is
// zooming into are cut from it without decoding it again each time, and
// requests at once for one page decode it once.
type decodedPages struct {
	mu    sync.Mutex
	pages []decodedPage // most recent last
	group singleflight.Group
}

type decodedPage struct {
	key string
	img image.Image
}

const decodedPagesKept = 4

func (d *decodedPages) get(key string, load func() (image.Image, error)) (image.Image, error) {
	d.mu.Lock()
	for i, p := range d.pages {
		if p.key == key {
			d.pages = append(append(d.pages[:i:i], d.pages[i+1:]...), p)
			d.mu.Unlock()
			return p.img, nil
		}
	}
	d.mu.Unlock()
	v, err, _ := d.group.Do(key, func() (any, error) {
		img, err := load()
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.pages = append(d.pages, decodedPage{key, img})
		if len(d.pages) > decodedPagesKept {
			d.pages = d.pages[1:]
		}
		d.mu.Unlock()
		return img, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(image.Image), nil
}

// iiifSource is page p drawn at its full size, made once and kept.
func (s *Server) iiifSource(r *http.Request, p iiifPage) (image.Image, error) {
	return s.decoded.get(fmt.Sprintf("%s-%d", p.obj.SHA256, p.n), func() (image.Image, error) { return s.drawPage(r, p) })
}

// drawPage draws page p at its full size, or reads it as drawn before.
func (s *Server) drawPage(r *http.Request, p iiifPage) (image.Image, error) {
	cached := filepath.Join(s.iiifCache().dir, fmt.Sprintf("%s-%d-full.jpg", p.obj.SHA256, p.n))
	b, err := os.ReadFile(cached)
	if err == nil {
		s.iiifCache().touch(cached)
	} else {
		pdf, err := s.Library.Cache.Path(r.Context(), p.obj)
		if err != nil {
			return nil, err
		}
		if b, err = s.Library.Render(r.Context(), pdf, p.n-1, p.width); err != nil {
			return nil, err
		}
		keep(cached, b)
		s.iiifCache().wrote()
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if bd := img.Bounds(); bd.Dx() != p.width || bd.Dy() != p.height {
		// The renderer rounds the height from the page's aspect: regions
		// are in the ALTO's pixels, so the image is made exactly that.
		img = (iiif.Request{Region: bd, Width: p.width, Height: p.height, Quality: "default"}).Apply(img)
	}
	return img, nil
}

// iiifCache is the bounded folder of IIIF images.
func (s *Server) iiifCache() *imageCache {
	s.imagesOnce.Do(func() {
		s.images = &imageCache{dir: filepath.Join(s.Library.Cache.Dir, "iiif"), limit: s.Cfg.ImageCache}
	})
	return s.images
}

// keep writes b to p through a temporary file, so that a reader never
// sees half a file; a failure only means it is made again.
func keep(p string, b []byte) {
	if os.MkdirAll(filepath.Dir(p), 0o755) != nil {
		return
	}
	tmp := p + ".tmp" + strconv.Itoa(os.Getpid())
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, p)
	}
}

// canvasOf numbers a bag's pages as its manifest does: file and page →
// canvas, from 1.
func canvasOf(pages []iiifPage) map[string]int {
	out := make(map[string]int, len(pages))
	for i, p := range pages {
		out[p.obj.Key+"#"+strconv.Itoa(p.n)] = i + 1
	}
	return out
}

// iiifSearch is the Content Search API 2.0 within one bag: each matched
// word a highlighting annotation on its canvas (its box from the index),
// with the words around it.
func (s *Server) iiifSearch(w http.ResponseWriter, r *http.Request, u *user, bag string, v1 bool) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	_, _, pages, err := s.iiifPages(r, u, bag)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	base := baseURL(r)
	out := iiif.SearchPage{Context: iiif.SearchLD, ID: base + r.URL.RequestURI(), Type: "AnnotationPage", Items: []iiif.SearchHit{}}
	answer := func() {
		if v1 {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(out.ToV1(out.ID))
			return
		}
		writeLD(w, iiif.SearchLD, out)
	}
	if q == "" {
		answer()
		return
	}
	res, err := s.Library.Index.Search(r.Context(), search.Query{Text: q, Bag: bag, Limit: 200})
	if errors.Is(err, search.ErrQuery) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	canvases := canvasOf(pages)
	ctxs := iiif.SearchContexts{Type: "AnnotationPage"}
	for _, h := range res.Hits {
		n, ok := canvases[h.File+"#"+strconv.Itoa(h.Page)]
		if !ok {
			continue // a page of a PDF kept as it is: not a canvas of the manifest
		}
		canvas := fmt.Sprintf("%s/iiif/3/%s/canvas/%d", base, bag, n)
		prefix, suffix := snippetAround(h.Snippet)
		for k, b := range h.Boxes {
			id := fmt.Sprintf("%s/iiif/3/search/%s/anno/%d-%d", base, bag, n, k+1)
			out.Items = append(out.Items, iiif.Highlight(id, canvas, b.Word, b.X, b.Y, b.W, b.H))
			ctxs.Items = append(ctxs.Items, iiif.SearchContext{ID: id + "-context", Type: "Annotation", Motivation: "contextualizing",
				Target: iiif.ContextTarget{Type: "SpecificResource", Source: id, Selector: []iiif.QuoteSelector{{Type: "TextQuoteSelector",
					Prefix: prefix, Exact: b.Word, Suffix: suffix}}}})
		}
	}
	if len(ctxs.Items) > 0 {
		out.Annotations = []iiif.SearchContexts{ctxs}
	}
	answer()
}

// snippetAround is the text of a page's snippet before its first match
// and after its last.
func snippetAround(frags []search.Fragment) (string, string) {
	first, last := -1, -1
	for i, f := range frags {
		if f.Match {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return "", ""
	}
	var before, after strings.Builder
	for _, f := range frags[:first] {
		before.WriteString(f.Text)
	}
	for _, f := range frags[last+1:] {
		after.WriteString(f.Text)
	}
	return before.String(), after.String()
}

// iiifAutocomplete completes a word's beginning from the words of one bag.
func (s *Server) iiifAutocomplete(w http.ResponseWriter, r *http.Request, u *user, bag string) {
	q := search.Tokens(r.URL.Query().Get("q"))
	if _, _, _, err := s.iiifPages(r, u, bag); err != nil {
		s.libraryError(w, r, err)
		return
	}
	out := iiif.TermPage{Context: iiif.SearchLD, ID: baseURL(r) + r.URL.RequestURI(), Type: "TermPage", Items: []iiif.Term{}}
	if len(q) == 1 && len([]rune(q[0])) >= 2 {
		res, err := s.Library.Index.Search(r.Context(), search.Query{Text: q[0] + "*", Bag: bag, Limit: 200})
		if err != nil && !errors.Is(err, search.ErrQuery) {
			s.libraryError(w, r, err)
			return
		}
		counts := map[string]int{}
		if res != nil {
			for _, h := range res.Hits {
				for _, b := range h.Boxes {
					for _, tok := range search.Tokens(b.Word) {
						if strings.HasPrefix(tok, q[0]) {
							counts[tok]++
						}
					}
				}
			}
		}
		for v, n := range counts {
			out.Items = append(out.Items, iiif.Term{Value: v, Total: n})
		}
		slices.SortFunc(out.Items, func(a, b iiif.Term) int { return cmp.Or(b.Total-a.Total, strings.Compare(a.Value, b.Value)) })
		out.Items = out.Items[:min(len(out.Items), 20)]
	}
	writeLD(w, iiif.SearchLD, out)
}

// collectionPage is how many bags a collection lists at once; a longer
// one ends with its next page, a collection of its own.
const collectionPage = 100

// iiifCollection lists the manifests u may open: of every bag, or of one
// collection (the items' `collection`), a page at a time (?page=N).
func (s *Server) iiifCollection(w http.ResponseWriter, r *http.Request, u *user, name string) {
	page, err := intParam(r.URL.Query(), "page", 1, 1, maxOffset/collectionPage)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	base := baseURL(r)
	self := base + "/iiif/3/collection"
	label := iiif.En("Every book")
	if name != "" {
		self += "/" + url.PathEscape(name)
		label = iiif.Text(name)
	}
	q := catalog.BagQuery{Collection: name, Access: u.levels(), Sort: catalog.SortTitle, Limit: collectionPage, Offset: (page - 1) * collectionPage}
	rows, total, err := s.Catalog.FindBags(r.Context(), q)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	c := iiif.Collection{Context: iiif.PresentationContext, ID: self, Type: "Collection", Label: label, Items: []iiif.Resource{}}
	if page > 1 {
		c.ID = fmt.Sprintf("%s?page=%d", self, page)
		c.PartOf = []iiif.Resource{{ID: self, Type: "Collection", Label: label}}
	}
	for _, b := range rows {
		if !u.staff() && b.Meta.Embargoed(s.Now()) {
			continue // its pages are not to be seen yet
		}
		objs, err := s.Catalog.Objects(r.Context(), b.ID)
		if err != nil {
			s.libraryError(w, r, err)
			return
		}
		keys := make([]string, len(objs))
		for i, o := range objs {
			keys[i] = o.Key
		}
		if !hasPageImages(keys) {
			continue // no page images: no manifest
		}
		title := cmp.Or(b.Meta.Title, b.Name)
		c.Items = append(c.Items, iiif.Resource{ID: base + "/iiif/3/" + b.ID + "/manifest", Type: "Manifest", Label: iiif.Text(title)})
	}
	if page*collectionPage < total {
		c.Items = append(c.Items, iiif.Resource{ID: fmt.Sprintf("%s?page=%d", self, page+1), Type: "Collection",
			Label: iiif.En(fmt.Sprintf("More: page %d", page+1))})
	}
	writeLD(w, iiif.PresentationContext, c)
}
