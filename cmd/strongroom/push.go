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
	fs := newFlags("push", "--server URL --token-file FILE [--meta key=value ...] [--wait] DIR | list | status ID | abort ID", `Pushes DIR (a book: a folder of page images) to a strongroom server as one
batch: computes every file's SHA-256, announces the batch, uploads the files
(resuming broken uploads, retrying network errors), and closes the batch.
The server stores it only if every file arrived and matched. Metadata
(title, identifier, operator, or any Label) goes into bag-info.txt; the
folder's name is the item's name.

Interrupted (Ctrl-C, a lost connection, a station restarted), the same
command resumes: the server finds the batch of the same files and
metadata still receiving, and only what it lacks is sent. "list" shows
this station's batches still receiving, "status ID" one batch, "abort ID"
gives one up and frees its place at once.

Prints the batch id, and with --wait the stored bag's id as the last line.
Exit codes: 0 closed (stored, with --wait); 1 refused or failed; 2 usage;
3 the server could not be reached or answered with an error; 4 interrupted.`)
	server := fs.String("server", "", "server URL, http(s)://HOST:PORT")
	tokenFile := fs.String("token-file", "", "file holding this station's token")
	wait := fs.Bool("wait", false, "wait until the batch is stored (or failed)")
	caFile := fs.String("ca-file", "", "PEM certificates to trust for an https server (e.g. a self-signed one)")
	meta := metaFlags{}
	fs.Var(meta, "meta", "key=value for bag-info.txt (repeatable)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	verb := ""
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "list", fs.NArg() == 2 && (fs.Arg(0) == "status" || fs.Arg(0) == "abort"):
		verb = fs.Arg(0)
	case fs.NArg() != 1:
		return usageError{errors.New("push: want one DIR, or list, status ID, abort ID")}
	}
	if *server == "" || *tokenFile == "" {
		return usageError{errors.New("push: want --server URL --token-file FILE")}
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
	// A server that does not answer is said within seconds, each retry
	// with its pause: never a silent wait.
	transport.ResponseHeaderTimeout = time.Minute
	c := &push.Client{Server: *server, Token: strings.TrimSpace(string(tok)), HTTP: &http.Client{Transport: transport},
		Retries: 8, Backoff: 500 * time.Millisecond,
		Retrying: func(err error, pause time.Duration) {
			fmt.Fprintf(os.Stderr, "push: %v; trying again in %s\n", err, pause.Round(100*time.Millisecond))
		}}
	switch verb {
	case "list":
		open, err := c.List(ctx)
		for _, st := range open {
			fmt.Printf("%s\t%s\t%d of %d files received\n", st.ID, st.Name, st.Received, st.Files)
		}
		return pushError(err)
	case "status":
		st, err := c.Status(ctx, fs.Arg(1))
		if err == nil {
			fmt.Printf("batch %s (%s): %s, %d of %d files received %s\n", st.ID, st.Name, st.Status, st.Received, st.Files, st.Reason)
		}
		return pushError(err)
	case "abort":
		st, err := c.Abort(ctx, fs.Arg(1))
		if err == nil {
			fmt.Printf("batch %s: %s\n", st.ID, st.Status)
		}
		return pushError(err)
	}
	var sent struct {
		files, of    int
		bytes, total int64
	}
	terminal := stderrIsTerminal()
	start := time.Now()
	c.Progress = func(df, f int, db, b int64) {
		sent.files, sent.of, sent.bytes, sent.total = df, f, db, b
		if !terminal {
			return
		}
		rate := float64(db) / max(time.Since(start).Seconds(), 0.001)
		eta := time.Duration(float64(b-db) / max(rate, 1) * float64(time.Second))
		fmt.Fprintf(os.Stderr, "\r%d/%d files, %s of %s, %s/s, %s left   ", df, f, humanMiB(db), humanMiB(b), humanMiB(int64(rate)), eta.Round(time.Second))
		if df == f {
			fmt.Fprintln(os.Stderr)
		}
	}
	var batch push.Status
	c.Opened = func(st push.Status) {
		batch = st
		if st.Resumed {
			fmt.Fprintf(os.Stderr, "push: resuming batch %s (%s): %d of %d files already received\n", st.ID, st.Name, st.Received, st.Files)
		}
	}
	st, err := c.Push(ctx, fs.Arg(0), meta, *wait)
	if st.ID != "" {
		fmt.Printf("batch %s: %s\n", st.ID, st.Status)
	}
	if ctx.Err() != nil && batch.ID != "" && st.Status == push.StatusReceiving {
		fmt.Fprintf(os.Stderr, "\npush: interrupted: batch %s has %d of %d files (%s of %s sent by this run); "+
			"run the same command again to send the rest, or `strongroom push abort %s` to give it up\n",
			batch.ID, sent.files, sent.of, humanMiB(sent.bytes), humanMiB(sent.total), batch.ID)
		return errQuiet // said: not "context canceled"
	}
	if err := pushError(err); err != nil || st.Status == push.StatusFailed {
		if err == nil {
			err = failedError{fmt.Errorf("batch %s failed: %s", st.ID, st.Reason)}
		}
		return err
	}
	if *wait {
		fmt.Println(st.Bag)
	}
	return nil
}

// pushError maps a push client's error to the exit codes: a refusal is 1,
// an interruption 4, anything else (the server unreachable) 3.
func pushError(err error) error {
	var refused *push.Refused
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		return failedError{err}
	}
	return err
}

func humanMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// stderrIsTerminal reports whether progress lines on stderr reach a
// person (a terminal) rather than a log file or a pipe.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
