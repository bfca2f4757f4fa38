package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
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

// pageSizes caches each ALTO's page sizes by the ALTO's SHA-256: a
// manifest of a 500-page book is not 500 pages of ALTO parsed per request.
var pageSizes sync.Map // string → [][2]int

// iiifPages lists the pages of bag id that u may read.
func (s *Server) iiifPages(r *http.Request, u *user, id string) (*catalog.Bag, *catalog.Item, []iiifPage, error) {
	b, it, err := s.describedBag(r, u, id)
	if err != nil {
		return nil, nil, nil, err
	}
	objs, err := s.Catalog.Objects(r.Context(), id)
	if err != nil {
		return nil, nil, nil, err
	}
	var pages []iiifPage
	for _, o := range objs { // by key: the access copies' order
		name, ok := strings.CutPrefix(o.Key, "data/alto/")
		if !ok || !strings.HasSuffix(name, ".alto.xml") {
			continue
		}
		pdf := "data/access/" + strings.TrimSuffix(name, ".alto.xml") + ".pdf"
		i := slices.IndexFunc(objs, func(p catalog.Object) bool { return p.Key == pdf })
		if i < 0 {
			continue
		}
		if _, _, err := s.readable(r, u, id, pdf); err != nil {
			return nil, nil, nil, err
		}
		sizes, err := s.altoSizes(r, o)
		if err != nil {
			return nil, nil, nil, err
		}
		for n, sz := range sizes {
			pages = append(pages, iiifPage{obj: objs[i], n: n + 1, width: sz[0], height: sz[1]})
		}
	}
	if len(pages) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: bag %s has no page images (no access copy)", catalog.ErrNotFound, id)
	}
	return b, it, pages, nil
}

func (s *Server) altoSizes(r *http.Request, o catalog.Object) ([][2]int, error) {
	if v, ok := pageSizes.Load(o.SHA256); ok {
		return v.([][2]int), nil
	}
	p, err := s.Library.Cache.Path(r.Context(), o)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	read, err := alto.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Key, err)
	}
	sizes := make([][2]int, len(read))
	for i, pg := range read {
		sizes[i] = [2]int{pg.Width, pg.Height}
	}
	pageSizes.Store(o.SHA256, sizes)
	return sizes, nil
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
	var seen []string
	for _, p := range pages {
		if slices.Contains(seen, p.obj.Key) {
			continue
		}
		seen = append(seen, p.obj.Key)
		name := strings.TrimSuffix(path.Base(p.obj.Key), ".pdf")
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
	cached := filepath.Join(s.Library.Cache.Dir, "iiif", strings.Trim(etag, `"`)+"."+req.Format)
	b, err := os.ReadFile(cached)
	if err != nil {
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
	}
	w.Header().Set("Content-Type", ct)
	w.Write(b)
}

// iiifSource is page p drawn at its full size, made once and kept.
func (s *Server) iiifSource(r *http.Request, p iiifPage) (image.Image, error) {
	cached := filepath.Join(s.Library.Cache.Dir, "iiif", fmt.Sprintf("%s-%d-full.jpg", p.obj.SHA256, p.n))
	b, err := os.ReadFile(cached)
	if err != nil {
		pdf, err := s.Library.Cache.Path(r.Context(), p.obj)
		if err != nil {
			return nil, err
		}
		if b, err = s.Library.Render(r.Context(), pdf, p.n-1, p.width); err != nil {
			return nil, err
		}
		keep(cached, b)
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
