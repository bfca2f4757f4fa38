package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// TestPagesSpread: two daemons (two workers of a cluster) share a catalog;
// a book of eight pages, over spread_pages, has its pages made by both,
// and the access copy holds every page in order.
func TestPagesSpread(t *testing.T) {
	te := newTestEnv(t)
	te.Cfg.SpreadPages, te.Cfg.Poll = 2, 50*time.Millisecond
	maker := func() *access.Maker {
		m := &access.Maker{Cfg: access.Config{PDFA: "2b", OCR: ocr.Config{Languages: []string{"eng"}, PSM: 3, Workers: 1, DefaultDPI: 300}},
			Creator: "strongroom/test", MaxPixel: 1e8}
		t.Cleanup(m.Close)
		return m
	}
	te.Access = maker()
	other := te.second("other-host/1/1")
	other.Cfg = te.Cfg
	other.Access = maker()

	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	for i, w := range words {
		img := testpage.Render([]string{fmt.Sprintf("Folio %s of the minute book", w)}, testpage.Options{DPI: 200, PointSize: 14, Seed: uint64(i)})
		var b bytes.Buffer
		jpeg.Encode(&b, img.SubImage(image.Rect(0, 0, img.Bounds().Dx(), 600)), &jpeg.Options{Quality: 85})
		put(t, filepath.Join(te.hot, "minutes", fmt.Sprintf("f%02d.jpg", i+1)), b.Bytes())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ds []*Daemon
	ended := make(chan error, 2)
	for _, e := range []*Engine{te.Engine, other} {
		d := &Daemon{Engine: e, Roles: []Role{RoleStages}}
		ds = append(ds, d)
		go func() { ended <- d.Run(ctx) }()
	}
	it, err := ds[0].Submit(ctx, ItemSpec{Path: filepath.Join(te.hot, "minutes"), HotFolder: te.hot, Release: catalog.ReleaseMove})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if it, err = te.cat.Item(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if it.Stage.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still at %s after 3 minutes", it.Stage)
		}
	}
	cancel()
	<-ended
	<-ended
	if it.Stage != catalog.StageDone {
		t.Fatalf("%s: %s", it.Stage, it.LastError)
	}
	a, b := te.Access.PagesOCRed.Load(), other.Access.PagesOCRed.Load()
	if a+b != int64(len(words)) || a == 0 || b == 0 {
		t.Errorf("pages made: %d here, %d by the other worker; want all %d, some by each", a, b, len(words))
	}
	txt, err := os.ReadFile(filepath.Join(te.storeDir, it.BagID, "data", "text", "minutes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pages := strings.Split(string(txt), "\f")
	if len(pages) != len(words) {
		t.Fatalf("%d pages in the text, want %d:\n%s", len(pages), len(words), txt)
	}
	for i, w := range words {
		if !strings.Contains(strings.ToLower(pages[i]), w) {
			t.Errorf("page %d says %q, want %q there", i+1, pages[i], w)
		}
	}
	if left, _ := te.cat.PagesOf(ctx, it.ID); len(left) != 0 {
		t.Errorf("page tasks left: %+v", left)
	}
	t.Logf("pages made: %d by one worker, %d by the other", a, b)
}
