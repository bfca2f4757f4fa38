package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// Client pushes a folder to a strongroom server. It runs on the station.
type Client struct {
	Server   string // http(s)://host:port
	Token    string
	HTTP     *http.Client
	Retries  int           // per request, on network errors and 5xx
	Backoff  time.Duration // first pause between retries; doubles
	Progress func(doneFiles, files int, doneBytes, bytes int64)
	// Retrying, if set, is told of each failed attempt before the pause
	// that follows it: a server that does not answer is said at once.
	Retrying func(err error, pause time.Duration)
	// Opened, if set, is told of the batch once it is open (or resumed).
	Opened func(Status)
}

// Refused is a refusal by the server: a client error that retrying can't fix.
type Refused struct {
	Status  int
	Message string
	Missing []string
}

func (e *Refused) Error() string {
	msg := fmt.Sprintf("server refused (HTTP %d): %s", e.Status, e.Message)
	if len(e.Missing) > 0 {
		msg += ": missing " + strings.Join(e.Missing, ", ")
	}
	return msg
}

// Manifest lists the files below dir as the server wants them: relative
// path, size, SHA-256. Temporary and hidden files are left out, as intake
// leaves them out; symlinks are refused.
func Manifest(ctx context.Context, dir string) ([]catalog.BatchFile, []string, error) {
	var files []catalog.BatchFile
	var local []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && intake.Ignored(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%s); symlinks are not pushed", p, d.Type())
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		dg, n, err := bagit.Copy(ctx, nil, f, []bagit.Algorithm{bagit.SHA256})
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		files = append(files, catalog.BatchFile{Path: filepath.ToSlash(rel), Size: n, SHA256: dg[bagit.SHA256]})
		local = append(local, p)
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s: no files to push", dir)
	}
	return files, local, err
}

// do sends one request, retrying network errors and 5xx answers with
// exponential backoff (the backoff library); body is re-created for each
// attempt. A 4xx answer is a *Refused, not retried.
func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body func() (io.Reader, error), out any) (*http.Response, error) {
	once := func() (*http.Response, error) {
		var r io.Reader
		if body != nil {
			var err error
			if r, err = body(); err != nil {
				return nil, backoff.Permanent(err)
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Server, "/")+path, r)
		if err != nil {
			return nil, backoff.Permanent(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text holds the URL
			}
			return nil, err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500:
			return nil, fmt.Errorf("HTTP %s", resp.Status)
		case resp.StatusCode >= 400:
			var e apiError
			json.Unmarshal(b, &e)
			if e.Error == "" {
				e.Error = strings.TrimSpace(string(b))
			}
			return resp, backoff.Permanent(&Refused{Status: resp.StatusCode, Message: e.Error, Missing: e.Missing})
		}
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return resp, backoff.Permanent(fmt.Errorf("%s %s: bad answer: %w", method, path, err))
			}
		}
		return resp, nil
	}
	b := &backoff.ExponentialBackOff{InitialInterval: c.Backoff, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: time.Minute}
	opts := []backoff.RetryOption{backoff.WithBackOff(b), backoff.WithMaxTries(uint(c.Retries + 1)), backoff.WithMaxElapsedTime(0)}
	if c.Retrying != nil {
		opts = append(opts, backoff.WithNotify(c.Retrying))
	}
	resp, err := backoff.Retry(ctx, once, opts...)
	var ref *Refused
	if err != nil && !errors.As(err, &ref) && ctx.Err() == nil {
		return resp, fmt.Errorf("%s %s: %d attempts failed, last: %w", method, path, c.Retries+1, err)
	}
	return resp, err
}

func filePath(batch, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/push/v1/batches/" + url.PathEscape(batch) + "/files/" + strings.Join(segs, "/")
}

// Open announces a batch of the folder name. The same files and metadata
// announced again resume the batch already receiving them (Status.Resumed).
func (c *Client) Open(ctx context.Context, name string, files []catalog.BatchFile, meta map[string]string) (Status, error) {
	b, err := json.Marshal(OpenRequest{Name: name, Files: files, Metadata: meta})
	if err != nil {
		return Status{}, err
	}
	var st Status
	_, err = c.do(ctx, http.MethodPost, "/push/v1/batches", http.Header{"Content-Type": {"application/json"}},
		func() (io.Reader, error) { return bytes.NewReader(b), nil }, &st)
	return st, err
}

// Upload sends one file, resuming after what the server already has, and
// retrying from the server's offset when a transfer breaks off.
func (c *Client) Upload(ctx context.Context, batch string, f catalog.BatchFile, local string) error {
	for attempt := 0; ; attempt++ {
		resp, err := c.do(ctx, http.MethodHead, filePath(batch, f.Path), nil, nil, nil)
		if err != nil {
			return err
		}
		if resp.Header.Get("Upload-Complete") == "true" {
			return nil
		}
		off, _ := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
		var res struct {
			Complete bool `json:"complete"`
		}
		_, err = c.do(ctx, http.MethodPut, filePath(batch, f.Path), http.Header{"Upload-Offset": {strconv.FormatInt(off, 10)}, "Content-Type": {"application/octet-stream"}},
			func() (io.Reader, error) {
				fh, err := os.Open(local)
				if err != nil {
					return nil, err
				}
				if _, err := fh.Seek(off, io.SeekStart); err != nil {
					fh.Close()
					return nil, err
				}
				return fh, nil // the HTTP client closes it
			}, &res)
		var ref *Refused
		switch {
		case err == nil && res.Complete:
			return nil
		case errors.As(err, &ref) && ref.Status == http.StatusConflict && attempt < c.Retries:
			continue // the offset moved (a retry landed): ask again
		case err != nil:
			return fmt.Errorf("%s: %w", f.Path, err)
		case attempt >= c.Retries:
			return fmt.Errorf("%s: upload did not complete after %d attempts", f.Path, attempt+1)
		}
	}
}

// Close asks the server to check the batch and hand it to the pipeline.
func (c *Client) Close(ctx context.Context, batch string) (Status, error) {
	var st Status
	_, err := c.do(ctx, http.MethodPost, "/push/v1/batches/"+url.PathEscape(batch)+"/close", nil, nil, &st)
	return st, err
}

// List returns the station's batches still receiving.
func (c *Client) List(ctx context.Context) ([]Status, error) {
	var out []Status
	_, err := c.do(ctx, http.MethodGet, "/push/v1/batches", nil, nil, &out)
	return out, err
}

// Abort gives up a batch still receiving.
func (c *Client) Abort(ctx context.Context, batch string) (Status, error) {
	var st Status
	_, err := c.do(ctx, http.MethodDelete, "/push/v1/batches/"+url.PathEscape(batch), nil, nil, &st)
	return st, err
}

// Status asks where a batch is.
func (c *Client) Status(ctx context.Context, batch string) (Status, error) {
	var st Status
	_, err := c.do(ctx, http.MethodGet, "/push/v1/batches/"+url.PathEscape(batch), nil, nil, &st)
	return st, err
}

// Push sends dir as one batch and closes it; with wait, it waits until the
// batch is stored or failed. It returns the last status.
func (c *Client) Push(ctx context.Context, dir string, meta map[string]string, wait bool) (Status, error) {
	files, local, err := Manifest(ctx, dir)
	if err != nil {
		return Status{}, err
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	st, err := c.Open(ctx, filepath.Base(filepath.Clean(dir)), files, meta)
	if err != nil {
		return st, err
	}
	if c.Opened != nil {
		c.Opened(st)
	}
	var done int64
	for i, f := range files {
		if err := c.Upload(ctx, st.ID, f, local[i]); err != nil {
			return st, err
		}
		done += f.Size
		if c.Progress != nil {
			c.Progress(i+1, len(files), done, total)
		}
	}
	if st, err = c.Close(ctx, st.ID); err != nil || !wait {
		return st, err
	}
	for st.Status != StatusStored && st.Status != StatusFailed {
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if st, err = c.Status(ctx, st.ID); err != nil {
			return st, err
		}
	}
	if st.Status == StatusFailed {
		return st, fmt.Errorf("batch %s failed: %s", st.ID, st.Reason)
	}
	return st, nil
}
