package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/iiif"
	"github.com/strongroom-archive/strongroom/storage"
)

// withALTO gives each of the library's bags the ALTO of its access copy
// (one 1275 × 1650 page), as the access stage makes it.
func withALTO(t *testing.T, l *library) {
	t.Helper()
	ctx := context.Background()
	data := []byte(`<?xml version="1.0" encoding="UTF-8"?><alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"><Layout>` +
		`<Page ID="p1" PHYSICAL_IMG_NR="1" WIDTH="1275" HEIGHT="1650"><PrintSpace><TextBlock><TextLine>` +
		`<String CONTENT="herring" HPOS="120" VPOS="370" WIDTH="150" HEIGHT="40"/></TextLine></TextBlock></PrintSpace></Page></Layout></alto>`)
	for _, lv := range levels {
		objs, err := l.cat.Objects(ctx, lv.bag)
		if err != nil {
			t.Fatal(err)
		}
		key := "data/alto/doc.alto.xml"
		if err := l.s.Library.Store.Put(ctx, lv.bag+"/"+key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
		objs = append(objs, catalog.Object{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])})
		if err := l.cat.PutObjects(ctx, lv.bag, objs, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func fetch(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	return request(t, "GET", url, token, "")
}

// TestIIIF: a stored bag's manifest (Presentation 3.0: a canvas per page of
// its page's size, its image service, rights, the holding institution,
// the PDF and ALTO linked), its page's info.json, and Image API requests
// of every region, size, rotation, quality and format form answered with
// images of the right pixel size; malformed requests 400; rights as
// everywhere (what one may not read is 404); any origin may ask.
func TestIIIF(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	l := newLibrary(t, true)
	withALTO(t, l)
	l.s.Institution = "Test Archive"
	ctx := context.Background()
	it, _ := l.cat.Item(ctx, "item-b-open")
	it.Meta.Rights, it.Meta.Creator, it.Meta.Date = "http://rightsstatements.org/vocab/InC/1.0/", "Harbour master", "1843"
	if err := l.cat.SetMetadata(ctx, it.ID, it.Meta); err != nil {
		t.Fatal(err)
	}

	// b-open was reprocessed into b-open-v2: its manifest says so.
	v2 := &catalog.Item{ID: "item-b-open-v2", Name: "b-open", Source: catalog.ReprocessSource("b-open"), Kind: catalog.KindReprocess,
		Release: catalog.ReleaseKeep, Stage: catalog.StageDone, BagID: "b-open-v2", Meta: it.Meta}
	if err := l.cat.CreateItem(ctx, v2); err != nil {
		t.Fatal(err)
	}
	resp, body := fetch(t, l.srv.URL+"/iiif/3/b-open/manifest", "")
	body0 := body
	var m iiif.Manifest
	if err := json.Unmarshal(body, &m); resp.StatusCode != 200 || err != nil {
		t.Fatalf("manifest: %d %v %s", resp.StatusCode, err, body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/ld+json") {
		t.Errorf("headers: %v", resp.Header)
	}
	if m.Context != iiif.PresentationContext || m.Type != "Manifest" || m.ID != l.srv.URL+"/iiif/3/b-open/manifest" || m.Label["none"][0] != "Ledger b-open" ||
		m.Rights != "http://rightsstatements.org/vocab/InC/1.0/" || m.RequiredStatement == nil || m.RequiredStatement.Value["none"][0] != "Test Archive" ||
		len(m.Rendering) != 1 || !strings.HasSuffix(m.Rendering[0].ID, "/files/data/access/doc.pdf") || len(m.SeeAlso) != 1 || len(m.Homepage) != 1 {
		t.Errorf("manifest: %s", body)
	}
	if !strings.Contains(string(body), `"Newer version"`) || !strings.Contains(string(body), "/iiif/3/b-open-v2/manifest") {
		t.Errorf("the newer version is not named: %s", body)
	}
	if !strings.Contains(string(body), `"Creator"`) || !strings.Contains(string(body), `"Harbour master"`) {
		t.Errorf("metadata: %s", body)
	}
	if len(m.Items) != 1 || m.Items[0].Width != 1275 || m.Items[0].Height != 1650 || m.Items[0].Items[0].Items[0].Motivation != "painting" ||
		m.Items[0].Items[0].Items[0].Body.Service[0].ID != l.srv.URL+"/iiif/3/image/b-open~1" {
		t.Fatalf("canvases: %+v", m.Items)
	}

	resp, body = fetch(t, l.srv.URL+"/iiif/3/image/b-open~1/info.json", "")
	var info iiif.Info
	if json.Unmarshal(body, &info); resp.StatusCode != 200 || info.Width != 1275 || info.Height != 1650 || info.Profile != "level1" ||
		info.Type != "ImageService3" || len(info.Tiles) != 1 || info.Tiles[0].Width != 512 || len(info.Sizes) == 0 {
		t.Fatalf("info.json: %d %s", resp.StatusCode, body)
	}

	img := l.srv.URL + "/iiif/3/image/b-open~1/"
	for _, c := range []struct {
		path, format string
		w, h         int
	}{
		{"full/max/0/default.jpg", "jpeg", 1275, 1650},
		{"full/max/0/color.jpg", "jpeg", 1275, 1650},
		{"0,0,512,512/max/0/default.jpg", "jpeg", 512, 512},
		{"1024,1536,512,512/max/0/default.jpg", "jpeg", 251, 114},
		{"square/max/0/default.jpg", "jpeg", 1275, 1275},
		{"pct:10,10,50,50/max/0/default.jpg", "jpeg", 637, 825},
		{"full/200,/0/default.jpg", "jpeg", 200, 259},
		{"full/,165/0/default.jpg", "jpeg", 128, 165},
		{"full/pct:10/0/default.jpg", "jpeg", 128, 165},
		{"full/300,300/0/default.jpg", "jpeg", 300, 300},
		{"full/!300,300/0/default.jpg", "jpeg", 232, 300},
		{"0,0,100,100/^200,/0/default.jpg", "jpeg", 200, 200},
		{"full/200,/90/default.jpg", "jpeg", 259, 200},
		{"full/200,/180/default.jpg", "jpeg", 200, 259},
		{"full/200,/270/gray.jpg", "jpeg", 259, 200},
		{"full/200,/!0/bitonal.png", "png", 200, 259},
		{"full/200,/0/default.png", "png", 200, 259},
	} {
		resp, body := fetch(t, img+c.path, "")
		cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
		if resp.StatusCode != 200 || err != nil || format != c.format || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("%s: %d %v %s %dx%d, want %dx%d %s", c.path, resp.StatusCode, err, format, cfg.Width, cfg.Height, c.w, c.h, c.format)
			continue
		}
		if !strings.Contains(resp.Header.Get("Link"), `rel="canonical"`) || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: headers %v", c.path, resp.Header)
		}
	}
	// Cached: the same bytes, and 304 for the ETag.
	resp, first := fetch(t, img+"0,0,512,512/max/0/default.jpg", "")
	req, _ := http.NewRequest("GET", img+"0,0,512,512/max/0/default.jpg", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %v %v", r2, err)
	}
	if _, again := fetch(t, img+"0,0,512,512/max/0/default.jpg", ""); !bytes.Equal(first, again) {
		t.Error("a cached tile differs")
	}
	for _, bad := range []string{"full/max/45/default.jpg", "full/max/0/default.gif", "full/max/0/sepia.jpg", "0,0,0,0/max/0/default.jpg",
		"5000,0,10,10/max/0/default.jpg", "full/2000,/0/default.jpg", "full/,/0/default.jpg", "x/max/0/default.jpg", "full/max/0/default"} {
		if resp, body := fetch(t, img+bad, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
	for path, want := range map[string]int{
		"/iiif/3/image/b-open/info.json":                   400,
		"/iiif/3/image/b-open~2/info.json":                 404,
		"/iiif/3/image/b-open~1":                           200, // redirected to info.json
		"/iiif/3/nosuchbag/manifest":                       404,
		"/iiif/3/image/nosuchbag~1/full/max/0/default.jpg": 404,
	} {
		if resp, body := fetch(t, l.srv.URL+path, ""); resp.StatusCode != want {
			t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}

	// Content Search 2.0 within the book: the word's box on its canvas,
	// as the index (Tesseract's box) has it, with the text around it.
	var svc struct {
		Service []struct {
			ID, Type, Profile string
			OldID             string `json:"@id"`
			Service           []iiif.Service
		}
	}
	json.Unmarshal(body0, &svc)
	if len(svc.Service) != 2 || svc.Service[0].Type != "SearchService2" || svc.Service[0].Service[0].Type != "AutoCompleteService2" ||
		svc.Service[1].Profile != iiif.SearchV1Profile {
		t.Errorf("manifest services: %+v", svc.Service)
	}
	search2, autocomplete := svc.Service[0].ID, svc.Service[0].Service[0].ID
	resp, body = fetch(t, search2+"?q=herring", "")
	var found iiif.SearchPage
	want := l.words["herring"]
	if json.Unmarshal(body, &found); resp.StatusCode != 200 || found.Context != iiif.SearchLD || len(found.Items) != 1 ||
		found.Items[0].Target != fmt.Sprintf("%s/iiif/3/b-open/canvas/1#xywh=%d,%d,%d,%d", l.srv.URL, want.Min.X, want.Min.Y, want.Dx(), want.Dy()) ||
		found.Items[0].Motivation != "highlighting" || len(found.Annotations) != 1 || found.Annotations[0].Items[0].Target.Selector[0].Exact != "herring" ||
		!strings.Contains(found.Annotations[0].Items[0].Target.Selector[0].Prefix, "cargoes of") {
		t.Errorf("search in the book: %d %s (Tesseract's box %v)", resp.StatusCode, body, want)
	}
	if resp, body := fetch(t, search2+"?q=mackerel", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"items":[]`) {
		t.Errorf("a word not in the book: %d %s", resp.StatusCode, body)
	}
	resp, body = fetch(t, svc.Service[1].OldID+"?q=herring", "")
	var v1 iiif.SearchV1
	if json.Unmarshal(body, &v1); resp.StatusCode != 200 || len(v1.Resources) != 1 || v1.Resources[0].On != found.Items[0].Target || len(v1.Hits) != 1 ||
		v1.Hits[0].Match != "herring" {
		t.Errorf("search 1.0: %d %s", resp.StatusCode, body)
	}
	resp, body = fetch(t, autocomplete+"?q=her", "")
	var terms iiif.TermPage
	if json.Unmarshal(body, &terms); resp.StatusCode != 200 || len(terms.Items) != 1 || terms.Items[0].Value != "herring" || terms.Type != "TermPage" {
		t.Errorf("autocomplete: %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"/iiif/3/search/b-restricted?q=herring", "/iiif/3/autocomplete/b-closed?q=her"} {
		if resp, _ := fetch(t, l.srv.URL+p, ""); resp.StatusCode != 404 {
			t.Errorf("anonymous %s: %d, want 404", p, resp.StatusCode)
		}
	}

	// Collections: of every book, and of one collection; the manifest is
	// part of both.
	for _, p := range []string{"/iiif/3/collection", "/iiif/3/collection/harbours"} {
		resp, body := fetch(t, l.srv.URL+p, "")
		var c iiif.Collection
		if json.Unmarshal(body, &c); resp.StatusCode != 200 || c.Type != "Collection" || len(c.Items) != 1 ||
			c.Items[0].ID != l.srv.URL+"/iiif/3/b-open/manifest" || c.Items[0].Type != "Manifest" {
			t.Errorf("%s (anonymous: b-open only): %d %s", p, resp.StatusCode, body)
		}
	}
	if len(m.PartOf) != 2 || m.PartOf[1].ID != l.srv.URL+"/iiif/3/collection/harbours" {
		t.Errorf("partOf: %+v", m.PartOf)
	}
	if _, body := fetch(t, l.srv.URL+"/iiif/3/collection", "reader-token"); !strings.Contains(string(body), "b-restricted/manifest") || strings.Contains(string(body), "b-closed") {
		t.Errorf("a reader's collection: %s", body)
	}

	// A born-digital PDF kept as it is (no access copy): its own pages, at
	// 144 dpi, as its words' boxes in the index.
	l.s.Library.PageSizes = popplerSizes
	born := bookPDF([]image.Point{{300, 400}, {320, 420}}, nil) // 144 and 153.6 pt wide
	bornMeta := catalog.Metadata{Title: "Invoice", Access: catalog.AccessOpen, Collection: "harbours"}
	if err := l.cat.CreateItem(ctx, &catalog.Item{ID: "item-born", Name: "invoice.pdf", Source: "/hot/invoice.pdf", Kind: catalog.KindFile,
		Release: catalog.ReleaseMove, Stage: catalog.StageDone, BagID: "b-born", Meta: bornMeta}); err != nil {
		t.Fatal(err)
	}
	if err := l.s.Library.Store.Put(ctx, "b-born/data/original/invoice.pdf", bytes.NewReader(born), int64(len(born)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s256, s512 := sha256.Sum256(born), sha512.Sum512(born)
	l.cat.PutBag(ctx, catalog.Bag{ID: "b-born", ItemID: "item-born", Store: "file:///store", Bytes: 1, StoredAt: time.Now()})
	l.cat.PutObjects(ctx, "b-born", []catalog.Object{{Key: "data/original/invoice.pdf", Size: int64(len(born)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])}}, time.Now())
	resp, body = fetch(t, l.srv.URL+"/iiif/3/b-born/manifest", "")
	var bm iiif.Manifest
	if json.Unmarshal(body, &bm); resp.StatusCode != 200 || len(bm.Items) != 2 || bm.Items[0].Width != 288 || bm.Items[0].Height != 384 ||
		bm.Items[1].Width != 307 || len(bm.Rendering) != 1 || !strings.HasSuffix(bm.Rendering[0].ID, "/files/data/original/invoice.pdf") {
		t.Fatalf("a born-digital PDF's manifest: %d %s", resp.StatusCode, body)
	}
	resp, body = fetch(t, l.srv.URL+"/iiif/3/image/b-born~2/full/max/0/default.png", "")
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(body)); resp.StatusCode != 200 || err != nil || cfg.Width != 307 || cfg.Height != 403 {
		t.Errorf("a born-digital page's image: %d %v %+v", resp.StatusCode, err, cfg)
	}
	if _, body := fetch(t, l.srv.URL+"/iiif/3/collection/harbours", ""); !strings.Contains(string(body), "b-born/manifest") {
		t.Errorf("the collection leaves the born-digital PDF out: %s", body)
	}

	// Rights: as for the access copy itself.
	for _, c := range []struct {
		token string
		bag   string
		want  int
	}{
		{"", "b-restricted", 404}, {"", "b-closed", 404}, {"", "b-embargo", 404},
		{"reader-token", "b-restricted", 200}, {"reader-token", "b-closed", 404}, {"reader-token", "b-embargo", 404},
		{"reviewer-token", "b-closed", 200}, {"admin-token", "b-embargo", 200}, {"wrong-token", "b-open", 401},
	} {
		for _, p := range []string{"/iiif/3/" + c.bag + "/manifest", "/iiif/3/image/" + c.bag + "~1/info.json", "/iiif/3/image/" + c.bag + "~1/full/100,/0/default.jpg"} {
			if resp, _ := fetch(t, l.srv.URL+p, c.token); resp.StatusCode != c.want {
				t.Errorf("%q %s: %d, want %d", c.token, p, resp.StatusCode, c.want)
			}
		}
	}
	// A server that is not public: nothing without a token or a session.
	private := newLibrary(t, false)
	withALTO(t, private)
	if resp, _ := fetch(t, private.srv.URL+"/iiif/3/b-open/manifest", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous on a private server: %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, private.srv.URL+"/iiif/3/b-open/manifest", "reader-token"); resp.StatusCode != 200 {
		t.Errorf("a reader on a private server: %d", resp.StatusCode)
	}
}

// bookPDF is a PDF of grey pages of the given pixel sizes at 150 dpi, each
// a shade darker than the one before; own[i], when given, is page i+1's
// image instead.
func bookPDF(sizes []image.Point, own map[int]*image.Gray) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	var kids []string
	for i, sz := range sizes {
		page := 3 + 3*i
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
		pw, ph := float64(sz.X)*72/150, float64(sz.Y)*72/150
		pix := bytes.Repeat([]byte{byte(230 - 30*i)}, sz.X*sz.Y)
		if g := own[i]; g != nil {
			pix = g.Pix
		}
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /XObject << /Im %d 0 R >> >> /Contents %d 0 R >>", pw, ph, page+1, page+2),
			testenv.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8", sz.X, sz.Y), pix),
			testenv.Stream("", fmt.Sprintf("q %g 0 0 %g 0 0 cm /Im Do Q", pw, ph)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(sizes))
	return testenv.PDF(objs...)
}

// addBook stores bag b-book: a 5-page access copy of unequal grey pages
// (each darker than the one before) with its ALTO; rights public domain.
func addBook(t *testing.T, l *library, own map[int]*image.Gray) ([]image.Point, catalog.Metadata) {
	t.Helper()
	ctx := context.Background()
	sizes := []image.Point{{600, 800}, {640, 820}, {680, 840}, {720, 860}, {760, 880}}
	var alto strings.Builder
	alto.WriteString(`<?xml version="1.0" encoding="UTF-8"?><alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"><Layout>`)
	for i, sz := range sizes {
		fmt.Fprintf(&alto, `<Page ID="p%d" PHYSICAL_IMG_NR="%d" WIDTH="%d" HEIGHT="%d"><PrintSpace/></Page>`, i+1, i+1, sz.X, sz.Y)
	}
	alto.WriteString(`</Layout></alto>`)
	meta := catalog.Metadata{Title: "Harbour letters", Access: catalog.AccessOpen, Rights: "https://creativecommons.org/publicdomain/mark/1.0/"}
	it := &catalog.Item{ID: "item-book", Name: "book", Source: "/hot/book", Kind: catalog.KindBatch, Release: catalog.ReleaseMove,
		Stage: catalog.StageDone, BagID: "b-book", Meta: meta}
	if err := l.cat.CreateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	var objs []catalog.Object
	for key, data := range map[string][]byte{"data/access/book.pdf": bookPDF(sizes, own), "data/alto/book.alto.xml": []byte(alto.String())} {
		if err := l.s.Library.Store.Put(ctx, "b-book/"+key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
		objs = append(objs, catalog.Object{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])})
	}
	l.cat.PutBag(ctx, catalog.Bag{ID: "b-book", ItemID: it.ID, Store: "file:///store", Bytes: 1, StoredAt: time.Now()})
	if err := l.cat.PutObjects(ctx, "b-book", objs, time.Now()); err != nil {
		t.Fatal(err)
	}

	return sizes, meta
}

// TestIIIFClient: a 5-page book of unequal pages, its manifest read by a
// real IIIF client library (npm's @iiif/parser, in node): valid by its
// validator, 5 canvases in page order whose sizes are those of the page
// images its image services give, and the rights URI.
func TestIIIFClient(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	node := testenv.Tool(t, "node")
	modules := os.Getenv("STRONGROOM_NODE_MODULES")
	if modules == "" {
		home, _ := os.UserHomeDir()
		modules = filepath.Join(home, ".cache", "strongroom", "node", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(modules, "@iiif", "parser")); err != nil {
		t.Fatalf("@iiif/parser is not installed in %s: scripts/deps installs it (%v)", modules, err)
	}
	l := newLibrary(t, true)
	sizes, meta := addBook(t, l, nil)
	resp, manifest := fetch(t, l.srv.URL+"/iiif/3/b-book/manifest", "")
	if resp.StatusCode != 200 {
		t.Fatalf("manifest: %d %s", resp.StatusCode, manifest)
	}
	cmd := exec.Command(node, "testdata/iiif-check.cjs")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(manifest)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Valid    bool              `json:"valid"`
		Errors   []json.RawMessage `json:"errors"`
		Rights   string            `json:"rights"`
		Canvases []struct {
			ID            string
			Width, Height int
			Label         iiif.Lang
			Service       string
		} `json:"canvases"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !got.Valid || len(got.Errors) > 0 {
		t.Errorf("@iiif/parser's validator: valid %v, errors %s", got.Valid, got.Errors)
	}
	if got.Rights != meta.Rights || len(got.Canvases) != 5 {
		t.Fatalf("rights %q, %d canvases: %s", got.Rights, len(got.Canvases), out)
	}
	for i, c := range got.Canvases {
		if c.Label["none"][0] != fmt.Sprint(i+1) || c.Width != sizes[i].X || c.Height != sizes[i].Y || !strings.HasSuffix(c.Service, fmt.Sprintf("/iiif/3/image/b-book~%d", i+1)) {
			t.Errorf("canvas %d: %+v, want %v", i+1, c, sizes[i])
			continue
		}
		resp, body := fetch(t, c.Service+"/full/max/0/default.png", "")
		img, err := png.Decode(bytes.NewReader(body))
		if resp.StatusCode != 200 || err != nil || img.Bounds().Dx() != c.Width || img.Bounds().Dy() != c.Height {
			t.Errorf("page %d's image: %d %v, want %dx%d", i+1, resp.StatusCode, err, c.Width, c.Height)
			continue
		}
		// Page order: each page is a shade darker than the one before.
		if r, _, _, _ := img.At(c.Width/2, c.Height/2).RGBA(); math.Abs(float64(r>>8)-float64(230-30*i)) > 6 {
			t.Errorf("page %d's image is grey %d, want %d: not this page", i+1, r>>8, 230-30*i)
		}
	}
}

// popplerSizes gives a PDF's page sizes in points with pdfinfo, as the
// daemon's PDFium worker would.
func popplerSizes(ctx context.Context, path string) ([][2]float64, error) {
	out, err := exec.CommandContext(ctx, "pdfinfo", "-f", "1", "-l", "10000", path).Output()
	if err != nil {
		return nil, err
	}
	var sizes [][2]float64
	for _, line := range strings.Split(string(out), "\n") {
		var n int
		var w, h float64
		if _, err := fmt.Sscanf(line, "Page %d size: %g x %g pts", &n, &w, &h); err == nil {
			sizes = append(sizes, [2]float64{w, h})
		}
	}
	return sizes, nil
}
