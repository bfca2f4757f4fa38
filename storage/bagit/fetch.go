package bagit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// Fetch downloads the fetch.txt items that are missing from the bag in dir,
// over HTTP(S) with client. Nothing calls it implicitly: validation never
// fetches. Each item's length, when fetch.txt states one, is enforced while
// downloading; digests are left to a validation afterwards.
func Fetch(ctx context.Context, client *http.Client, dir string, items []FetchItem) error {
	for _, it := range items {
		if err := CheckPath(it.Path); err != nil {
			return fmt.Errorf("bagit: fetch: %w", err)
		}
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(it.Path))); err == nil {
			continue
		}
		if err := fetchOne(ctx, client, dir, it); err != nil {
			return fmt.Errorf("bagit: fetch %s from %s: %w", it.Path, it.URL, err)
		}
	}
	return nil
}

func fetchOne(ctx context.Context, client *http.Client, dir string, it FetchItem) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, it.URL, nil)
	if err != nil {
		return err
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("scheme %q not supported", req.URL.Scheme)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	body := io.Reader(resp.Body)
	if it.Length >= 0 {
		body = io.LimitReader(resp.Body, it.Length+1)
	}
	d := NewDirDest(dir)
	f, err := d.Create(ctx, it.Path)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, body)
	if err == nil && it.Length >= 0 && n != it.Length {
		err = fmt.Errorf("got %d bytes, fetch.txt says %d", n, it.Length)
	}
	if err != nil {
		f.Abort()
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	return d.Sync()
}
