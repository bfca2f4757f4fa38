// Package identify names the format of a file with Siegfried (PRONOM, with
// the signature file compiled into the binary) and maps the result to what
// the pipeline does with it, through the format policy.
package identify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/richardlehane/siegfried"
	"github.com/richardlehane/siegfried/pkg/config"
	"github.com/richardlehane/siegfried/pkg/static"
)

// Result is one identification.
type Result struct {
	PUID    string `json:"puid"`
	MIME    string `json:"mime"`
	Format  string `json:"format"`
	Version string `json:"version,omitempty"`
	Basis   string `json:"basis"`
	Warning string `json:"warning,omitempty"`
}

// Known reports whether Siegfried matched a PRONOM format.
func (r Result) Known() bool { return r.PUID != "" && r.PUID != "UNKNOWN" }

// Identifier wraps Siegfried. Loading the embedded signatures takes a
// few hundred milliseconds, so it happens once per process, on first use
// (commands that identify nothing never pay for it); Siegfried's buffers are
// pooled and safe for concurrent use.
type Identifier struct{}

var (
	loadOnce sync.Once
	sf       *siegfried.Siegfried
)

// New returns an Identifier.
func New() *Identifier { return &Identifier{} }

func (*Identifier) load() *siegfried.Siegfried {
	loadOnce.Do(func() { sf = static.New() })
	return sf
}

// Signature names the signature set, for reports and PREMIS agents.
func (id *Identifier) Signature() string {
	v := config.Version()
	s := fmt.Sprintf("siegfried %d.%d.%d", v[0], v[1], v[2])
	for _, d := range id.load().Identifiers() {
		s += "; " + d[0] + ": " + d[1]
	}
	return s
}

// ErrEmpty is returned for a zero-byte file: nothing to identify.
var ErrEmpty = errors.New("file is empty (0 bytes)")

// File identifies the file at path.
func (id *Identifier) File(ctx context.Context, path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("identify %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("identify %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return Result{}, fmt.Errorf("identify %s: %w", path, ErrEmpty)
	}
	return id.Reader(ctx, f, filepath.Base(path))
}

// Reader identifies a stream; name helps only the extension matcher.
func (id *Identifier) Reader(ctx context.Context, r io.Reader, name string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	ids, err := id.load().Identify(r, name, "")
	if err != nil && len(ids) == 0 {
		return Result{}, fmt.Errorf("identify %s: %w", name, err)
	}
	if len(ids) == 0 {
		return Result{PUID: "UNKNOWN"}, nil
	}
	res := Result{}
	for _, kv := range id.load().Label(ids[0]) {
		switch kv[0] {
		case "id":
			res.PUID = kv[1]
		case "format":
			res.Format = kv[1]
		case "version":
			res.Version = kv[1]
		case "mime":
			res.MIME = kv[1]
		case "basis":
			res.Basis = kv[1]
		case "warning":
			res.Warning = kv[1]
		}
	}
	return res, nil
}
