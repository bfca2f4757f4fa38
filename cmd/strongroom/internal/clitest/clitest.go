// Package clitest drives the real strongroom binary from tests, as a user
// or a harness would: the CLI tests of cmd/strongroom and the daemon
// trials of cmd/strongroom/trials share it.
package clitest

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
)

// Bin is the strongroom binary under test, set by Main.
var Bin string

// postgres is the PostgreSQL server every config WriteConfig writes puts
// its catalog and index on, when $STRONGROOM_TEST_POSTGRES is set
// (scripts/test runs the bag, search and retrieval tests once so).
var (
	postgres  *pgtest.Server
	databases atomic.Int64
)

// Main runs a test package's tests against the binary: $STRONGROOM_BIN
// when set (scripts/test and scripts/test-fast build bin/strongroom once
// for every package), else one built here from pkg. The binary is
// stat'ed, so that go test's result cache knows it: a new build re-runs
// the tests, an unchanged one keeps their cached result.
func Main(m *testing.M, pkg string) {
	os.Exit(run(m, pkg))
}

func run(m *testing.M, pkg string) int {
	if os.Getenv("STRONGROOM_TEST_POSTGRES") != "" {
		var err error
		if postgres, err = pgtest.New(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer postgres.Stop()
	}
	if p := os.Getenv("STRONGROOM_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(os.Stderr, "STRONGROOM_BIN: %v\n", err)
			return 1
		}
		Bin = p
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "strongroom-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	Bin = filepath.Join(dir, "strongroom")
	if out, err := exec.Command("go", "build", "-o", Bin, pkg).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
		return 1
	}
	return m.Run()
}

// Embedded skips a test of the embedded catalog's own files (backup,
// migrate) when the configs put the catalog on PostgreSQL.
func Embedded(t testing.TB) {
	if postgres != nil {
		t.Skip("a test of the embedded catalog's files; $STRONGROOM_TEST_POSTGRES puts the catalog on PostgreSQL")
	}
}

// Run runs the binary in dir and returns stdout, stderr and the exit code.
func Run(t testing.TB, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(Bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// PNG writes a w×h grey PNG of a ramp at p, making its folder.
func PNG(t testing.TB, p string, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteConfig writes dir/strongroom.yaml for a daemon on dir's hot, done,
// failed and store folders, with short settle, quiet and poll times and extra
// appended after the pipeline section (lines indented by two spaces add to
// it; others start sections of their own) (and, with $STRONGROOM_TEST_POSTGRES, the catalog and index in a
// new PostgreSQL database), and returns its path.
func WriteConfig(t testing.TB, dir, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "strongroom.yaml")
	cfg := `data_dir: data
intake:
  hot_folders: [{path: hot, create_missing: true}]
  settle: 200ms
  batch_quiet: 500ms
  poll_interval: 200ms
  done_dir: done
  failed_dir: failed
storage:
  url: file:store
bag:
  source_organization: Test Archive
pipeline:
  retry_backoff: 50ms
` + extra
	if postgres != nil {
		u, err := postgres.CreateDatabase(fmt.Sprintf("archive%d", databases.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("catalog:\n  url: %s\nsearch:\n  url: %s\n", u, u)
	}
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// UseS3 points the config at cfgPath (one WriteConfig wrote) at bucket on
// the S3 server at endpoint, under the prefix archive/, with extra s3
// settings (e.g. "lock: {mode: compliance, retain_for: 1h}"), if any.
func UseS3(t testing.TB, cfgPath, bucket, endpoint, extra string) {
	t.Helper()
	s3 := fmt.Sprintf("  url: s3://%s/archive\n  s3:\n    endpoint: %s\n    region: us-east-1\n    secure: false\n    path_style: true\n", bucket, endpoint)
	if extra != "" {
		s3 += "    " + extra + "\n"
	}
	text := ReadFile(t, cfgPath)
	if !strings.Contains(text, "  url: file:store\n") {
		t.Fatalf("%s: no store to replace", cfgPath)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(text, "  url: file:store\n", s3, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadFile returns the file's text or fails t.
func ReadFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// LastLines is the last n lines of s, for logs in failure messages.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
