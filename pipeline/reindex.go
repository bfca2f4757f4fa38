package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/retrieve"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// ErrBagInvalid is a stored bag whose files do not match its own
// manifests: it is not indexed (what it says of itself cannot be trusted),
// and an alert is raised.
var ErrBagInvalid = errors.New("the bag does not match its manifests")

// Reindex reads one stored bag back (listed: its objects in the store) and
// puts its pages into idx, for `index rebuild`. It reads only what the
// index needs (bag-info, ALTO, access copies, PDFs kept as they are, and
// the manifests), and checks each file it reads: against the digests the
// catalog recorded, where the catalog knows the bag, and against the bag's
// own manifests always, the manifests and bag-info against its tag
// manifest. A bag that fails is not indexed and raises an alert: a copied
// bag whose bag-info was edited from closed to open must not be found as
// open.
func (e *Engine) Reindex(ctx context.Context, idx search.Index, bag string, listed []storage.ObjectInfo) (int, error) {
	tmp, err := os.MkdirTemp(e.DataDir, "reindex-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	recorded, _ := e.Catalog.Objects(ctx, bag)
	digest := map[string]catalog.Object{}
	for _, o := range recorded {
		digest[o.Key] = o
	}
	var files []catalog.File
	var read []string // data files read, for the manifest check
	for _, oi := range listed {
		key := strings.TrimPrefix(oi.Key, bag+"/")
		tag := key == "bag-info.txt" || key == "bagit.txt" || strings.HasPrefix(key, "manifest-") || strings.HasPrefix(key, "tagmanifest-")
		data := strings.HasPrefix(key, "data/alto/") || strings.HasPrefix(key, "data/access/") ||
			strings.HasPrefix(key, "data/original/") && strings.EqualFold(filepath.Ext(key), ".pdf")
		if !tag && !data || bagit.CheckPath(key) != nil {
			continue
		}
		if err := e.fetchTo(ctx, filepath.Join(tmp, filepath.FromSlash(key)), oi.Key, digest[key]); err != nil {
			var m *retrieve.Mismatch
			if errors.As(err, &m) {
				if aerr := m.Raise(ctx, e.Catalog, e.Now()); aerr != nil {
					err = errors.Join(err, aerr)
				}
			}
			return 0, err
		}
		if data {
			read = append(read, key)
		}
		if strings.HasPrefix(key, "data/original/") {
			files = append(files, catalog.File{Path: strings.TrimPrefix(key, "data/"), MIME: "application/pdf"})
		}
	}
	known := len(recorded) > 0
	if err := checkAgainstManifests(tmp, read, known); err != nil {
		detail := fmt.Sprintf("index rebuild: %v; not indexed", err)
		if _, _, aerr := e.Catalog.RaiseAlert(ctx, bag, catalog.ProblemTagAltered, "", detail, e.Now()); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return 0, fmt.Errorf("%w: %w", ErrBagInvalid, err)
	}
	b := &catalog.Bag{ID: bag}
	it := &catalog.Item{Name: bag}
	if cb, err := e.Catalog.Bag(ctx, bag); err == nil {
		b = cb
		if ci, err := e.Catalog.Item(ctx, cb.ItemID); err == nil {
			it = ci
		}
		if cf, err := e.Catalog.Files(ctx, it.ID); err == nil && len(cf) > 0 {
			files = cf
		}
	} else if raw, err := os.ReadFile(filepath.Join(tmp, "bag-info.txt")); err == nil {
		info, _ := bagit.ParseInfo("bag-info.txt", raw)
		fields := map[string]string{}
		for _, f := range info.Fields {
			fields[f.Label] = f.Value
		}
		it.Meta, _ = catalog.MetadataFrom(fields, false)
	}
	pages, err := e.Pages(ctx, filepath.Join(tmp, "data"), files)
	if err != nil {
		return 0, err
	}
	return len(pages), idx.PutBag(ctx, search.DocOf(b, it, files), pages)
}

// fetchTo copies the object at key to p: checked against the catalog's
// record o where there is one, as every retrieval is.
func (e *Engine) fetchTo(ctx context.Context, p, key string, o catalog.Object) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if o.Key != "" {
		err = retrieve.Fetch(ctx, e.Store, o, f)
	} else {
		var rc io.ReadCloser
		if rc, err = e.Store.Get(ctx, key); err == nil {
			_, err = io.Copy(f, rc)
			rc.Close()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkAgainstManifests checks the files read from a bag in dir: bag-info
// and the payload manifests against every tag manifest, and each data
// file against every payload manifest. A bag the catalog does not know
// must have a tag manifest, or its bag-info could say anything.
func checkAgainstManifests(dir string, data []string, known bool) error {
	tagManifests, _ := filepath.Glob(filepath.Join(dir, "tagmanifest-*.txt"))
	manifests, _ := filepath.Glob(filepath.Join(dir, "manifest-*.txt"))
	if len(manifests) == 0 {
		return errors.New("no payload manifest")
	}
	if len(tagManifests) == 0 && !known {
		return errors.New("no tag manifest: its bag-info.txt cannot be checked")
	}
	check := func(manifest string, keys []string) error {
		alg := bagit.Algorithm(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(filepath.Base(manifest), "tag"), "manifest-"), ".txt"))
		raw, err := os.ReadFile(manifest)
		if err != nil {
			return err
		}
		entries, errs := bagit.ParseManifest(filepath.Base(manifest), raw, true)
		if len(errs) > 0 {
			return fmt.Errorf("%s: %w", filepath.Base(manifest), errs[0])
		}
		want := map[string]string{}
		for _, en := range entries {
			want[en.Path] = strings.ToLower(en.Digest)
		}
		for _, k := range keys {
			d, ok := want[k]
			if !ok {
				return fmt.Errorf("%s is not listed in %s", k, filepath.Base(manifest))
			}
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(k)))
			if err != nil {
				return err
			}
			got, _, err := bagit.Copy(context.Background(), nil, f, []bagit.Algorithm{alg})
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if got[alg] != d {
				return fmt.Errorf("%s does not match its %s digest in %s", k, alg, filepath.Base(manifest))
			}
		}
		return nil
	}
	var tags []string
	for _, m := range manifests {
		tags = append(tags, filepath.Base(m))
	}
	if _, err := os.Stat(filepath.Join(dir, "bag-info.txt")); err == nil {
		tags = append(tags, "bag-info.txt")
	}
	for _, tm := range tagManifests {
		if err := check(tm, tags); err != nil {
			return err
		}
	}
	for _, m := range manifests {
		if err := check(m, data); err != nil {
			return err
		}
	}
	return nil
}
