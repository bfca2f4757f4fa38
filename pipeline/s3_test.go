package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
	_ "github.com/strongroom-archive/strongroom/storage/s3"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestStoreOutageMinIO stops a real MinIO in the middle of a batch and
// starts it again: every item waits, then ends stored and verified.
func TestStoreOutageMinIO(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	no := false
	cfg := storage.Config{URL: s3test.URL(srv.Bucket(false)), S3: storage.S3Config{Endpoint: srv.Endpoint, Region: "us-east-1", Secure: &no, PathStyle: true}}
	st, err := storage.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	te := newTestEnv(t)
	te.Store, te.StoreURL = st, cfg.URL

	var ids []string
	for i := range 8 {
		p := put(t, filepath.Join(te.hot, fmt.Sprintf("page-%d.png", i)), pngBytes(t, 200+i, 300))
		it, err := te.NewItem(context.Background(), ItemSpec{Path: p, HotFolder: te.hot, Kind: "", Release: catalog.ReleaseMove})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	var wg sync.WaitGroup
	results := make([]*catalog.Item, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				time.Sleep(time.Duration(i) * 150 * time.Millisecond)
			}
			it, err := te.Run(context.Background(), id)
			if err != nil {
				t.Error(err)
			}
			results[i] = it
		}()
	}
	time.Sleep(300 * time.Millisecond)
	srv.Stop()
	time.Sleep(3 * time.Second) // items pile up, waiting
	srv.Start()
	wg.Wait()
	for _, it := range results {
		if it == nil || it.Stage != catalog.StageDone {
			t.Fatalf("item not stored after the outage: %+v", it)
		}
		fsys, err := storage.BagFS(context.Background(), st, it.BagID)
		if err != nil {
			t.Fatal(err)
		}
		r, err := bagit.Validate(context.Background(), fsys, bagit.ValidateOptions{})
		if err != nil || !r.Valid {
			t.Fatalf("bag %s: %v %v", it.BagID, err, r.Problems)
		}
	}
}
