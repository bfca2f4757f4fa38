package review

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
)

// The book viewer: Mirador (built in by scripts/viewer-assets; no CDN at
// run time) opening a bag's IIIF manifest at a page, with a search in the
// book when the page was reached from a hit.

//go:embed viewer
var viewerFiles embed.FS

// viewerAsset serves the viewer's scripts.
func (s *Server) viewerAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(viewerFiles, "viewer/"+path.Base(name))
	if err != nil || path.Ext(name) != ".js" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

var viewerPage = template.Must(template.New("viewer").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — strongroom</title>
<style>html, body { margin: 0; height: 100%; } #viewer { position: absolute; inset: 0; }</style>
</head><body>
<div id="viewer" data-manifest="{{.Manifest}}" data-canvas="{{.Canvas}}" data-q="{{.Query}}"></div>
<script src="/static/viewer/mirador.min.js"></script>
<script src="/static/viewer/viewer.js"></script>
</body></html>
`))

// bookViewer opens bag id in the viewer at ?canvas=N (or the ?file= and
// ?page= of a hit), searching for ?q= in the book.
func (s *Server) bookViewer(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	_, it, pages, err := s.iiifPages(r, &sess.user, id)
	if err != nil {
		s.libraryError(w, r, err)
		return
	}
	q := r.URL.Query()
	n, err := intParam(q, "canvas", 1, 1, len(pages))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if file := q.Get("file"); file != "" {
		if c, ok := canvasOf(pages)[file+"#"+q.Get("page")]; ok {
			n = c
		}
	}
	base := baseURL(r) + "/iiif/3/" + id
	title := it.Meta.Title
	if title == "" {
		title = it.Name
	}
	var buf bytes.Buffer
	if err := viewerPage.Execute(&buf, map[string]string{"Title": title, "Manifest": base + "/manifest",
		"Canvas": base + "/canvas/" + strconv.Itoa(n), "Query": q.Get("q")}); err != nil {
		s.Log.Error("review: viewer page", "err", err)
		http.Error(w, internalError, http.StatusInternalServerError)
		return
	}
	// Mirador sets its styles inline, and draws pages from blobs.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "+
		"font-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
