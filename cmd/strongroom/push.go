package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/push"
)

// metaFlags collects repeated --meta k=v.
type metaFlags map[string]string

func (m metaFlags) String() string { return "" }
func (m metaFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	m[k] = v
	return nil
}

func cmdPush(ctx context.Context, args []string) error {
	fs := newFlags("push", "--server URL --token-file FILE [--meta key=value ...] [--wait] DIR", `Pushes DIR (a book: a folder of page images) to a strongroom server as one
batch: computes every file's SHA-256, announces the batch, uploads the files
(resuming broken uploads, retrying network errors), and closes the batch.
The server stores it only if every file arrived and matched. Metadata
(title, identifier, operator, or any Label) goes into bag-info.txt.

Prints the batch id, and with --wait the stored bag's id as the last line.
Exit codes: 0 closed (stored, with --wait); 1 refused or failed; 2 usage;
3 the server could not be reached or answered with an error.`)
	server := fs.String("server", "", "server URL, http(s)://HOST:PORT")
	tokenFile := fs.String("token-file", "", "file holding this station's token")
	wait := fs.Bool("wait", false, "wait until the batch is stored (or failed)")
	caFile := fs.String("ca-file", "", "PEM certificates to trust for an https server (e.g. a self-signed one)")
	meta := metaFlags{}
	fs.Var(meta, "meta", "key=value for bag-info.txt (repeatable)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if *server == "" || *tokenFile == "" || fs.NArg() != 1 {
		return usageError{errors.New("push: want --server URL --token-file FILE and one DIR")}
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return usageError{fmt.Errorf("push: token file: %w", err)}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return usageError{fmt.Errorf("push: --ca-file: %w", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return usageError{fmt.Errorf("push: --ca-file %s: no PEM certificate in it", *caFile)}
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c := &push.Client{Server: *server, Token: strings.TrimSpace(string(tok)), HTTP: &http.Client{Transport: transport},
		Retries: 8, Backoff: 500 * time.Millisecond}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		c.Progress = func(df, f int, db, b int64) {
			fmt.Fprintf(os.Stderr, "\r%d/%d files, %s of %s", df, f, humanMiB(db), humanMiB(b))
			if df == f {
				fmt.Fprintln(os.Stderr)
			}
		}
	}
	st, err := c.Push(ctx, fs.Arg(0), meta, *wait)
	if st.ID != "" {
		fmt.Printf("batch %s: %s\n", st.ID, st.Status)
	}
	var refused *push.Refused
	switch {
	case errors.As(err, &refused):
		return failedError{err}
	case err != nil && st.Status == push.StatusFailed:
		return failedError{err}
	case err != nil:
		return err
	}
	if *wait {
		fmt.Println(st.Bag)
	}
	return nil
}

func humanMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
