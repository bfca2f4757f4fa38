package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/configs"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/postgres"
	"github.com/strongroom-archive/strongroom/storage"
)

// checkConfig is `strongroom config check`: the configuration as the
// daemon would read it, then what it names on this machine: the folders
// (there, folders, writable), the TLS certificate and key (readable, a
// pair), a PostgreSQL catalog and index (reachable), and the store
// (reachable, and taking a probe object that is read back and removed). Every check is printed, ok or not; any failure is
// exit 2 with every problem listed, not the first only.
func checkConfig(ctx context.Context, path string) error {
	cfg, _, err := loadConfig(path)
	if err != nil {
		return err // every key's problem, named by its path (configs.Load)
	}
	where := cfg.Source
	if where == "" {
		where = "the embedded defaults"
	}
	fmt.Printf("configuration: %s\n", where)
	var failed []string
	report := func(what string, err error) {
		if err != nil {
			fmt.Printf("FAIL  %s: %v\n", what, err)
			failed = append(failed, what)
			return
		}
		fmt.Printf("ok    %s\n", what)
	}
	for i, h := range cfg.Intake.Folders() {
		what := fmt.Sprintf("intake.hot_folders[%d].path %s", i, h.Path)
		fi, err := os.Stat(h.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && h.CreateMissing:
			report(what+" (missing; serve makes it: create_missing)", writableParent(h.Path))
		case errors.Is(err, fs.ErrNotExist):
			report(what, errors.New("does not exist (a share not mounted?): mount or make it, or set create_missing: true"))
		case err != nil:
			report(what, err)
		case !fi.IsDir():
			report(what, errors.New("not a folder"))
		default:
			report(what, writable(h.Path))
		}
	}
	for _, d := range []struct{ key, path string }{{"data_dir", cfg.DataDir}, {"intake.done_dir", cfg.Intake.DoneDir}, {"intake.failed_dir", cfg.Intake.FailedDir}} {
		what := d.key + " " + d.path
		if _, err := os.Stat(d.path); errors.Is(err, fs.ErrNotExist) {
			report(what+" (missing; made when first needed)", writableParent(d.path))
			continue
		}
		report(what, writable(d.path))
	}
	if cfg.HTTP.TLSCert != "" {
		_, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
		report("http.tls_cert and http.tls_key", err)
	}
	shown := cfg.Storage.URL
	if u, err := url.Parse(shown); err == nil {
		shown = u.Redacted()
	}
	report("storage.url "+shown, probeStore(ctx, cfg))
	for _, db := range []struct{ key, url string }{{"catalog.url", cfg.Catalog.URL}, {"search.url", cfg.Search.URL}} {
		if strings.HasPrefix(db.url, "postgres") {
			_, err := postgres.Exists(ctx, db.url) // connects, and reads the catalog
			report(db.key+" "+postgres.Redact(db.url), err)
		}
	}
	if len(failed) > 0 {
		return usageError{fmt.Errorf("config check: %d problems: %s", len(failed), strings.Join(failed, "; "))}
	}
	fmt.Println("all checks passed")
	return nil
}

// writable says whether a file can be made in dir, by making one.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".strongroom-check-*")
	if err != nil {
		return fmt.Errorf("not writable by this user: %w", errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// writableParent says whether the nearest folder above p that exists is
// writable, so that p can be made there.
func writableParent(p string) error {
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a folder", dir)
			}
			return writable(dir)
		}
		if dir == filepath.Dir(dir) {
			return errors.New("no folder above it exists")
		}
	}
}

// probeStore opens the store and writes a small object there, reads it
// back and removes it. With S3 Object Lock, a probe could not be removed:
// the bucket is only listed.
func probeStore(ctx context.Context, cfg *configs.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	if cfg.Storage.S3.Lock.Mode != "" {
		for _, err := range st.List(ctx, "strongroom-check-") {
			if err != nil {
				return fmt.Errorf("list: %w", err)
			}
		}
		return nil
	}
	var id [8]byte
	rand.Read(id[:])
	key := "strongroom-check-" + hex.EncodeToString(id[:]) + ".probe"
	body := []byte("strongroom config check " + time.Now().UTC().Format(time.RFC3339) + "\n")
	sum := sha256.Sum256(body)
	if err := st.Put(ctx, key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{SHA256: hex.EncodeToString(sum[:])}); err != nil {
		return fmt.Errorf("write a probe object: %w", err)
	}
	removed := false
	defer func() {
		if !removed {
			st.Delete(context.WithoutCancel(ctx), key)
		}
	}()
	r, err := st.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read the probe object back: %w", err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) {
		return fmt.Errorf("read the probe object back: %d bytes, %v", len(got), err)
	}
	removed = true
	if err := st.Delete(ctx, key); err != nil {
		return fmt.Errorf("remove the probe object %s: %w", key, err)
	}
	return nil
}
