package bagit

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }

// writeBag writes a bag with our Writer into a temp dir and returns it.
func writeBag(t *testing.T, files map[string]string, algs ...Algorithm) string {
	t.Helper()
	dir := t.TempDir()
	w := NewWriter(NewDirDest(dir), Options{Algorithms: algs, Agent: "strongroom test", Now: fixedNow})
	w.Info.Add("Source-Organization", "Test Archive")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	ctx := context.Background()
	for _, n := range names {
		if _, _, err := w.AddPayload(ctx, n, strings.NewReader(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTagFile(ctx, "metadata/notes.txt", strings.NewReader("a tag directory file\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return dir
}

// handBag writes files as given: for building bags of older versions and
// broken bags that our Writer would refuse to make.
func handBag(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha256hex(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
func sha512hex(s string) string { return fmt.Sprintf("%x", sha512.Sum512([]byte(s))) }

func validate(t *testing.T, dir string) *Report {
	t.Helper()
	r, err := ValidateDir(context.Background(), dir, ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func kinds(r *Report) []Kind {
	var ks []Kind
	for _, p := range r.Problems {
		ks = append(ks, p.Kind)
	}
	return ks
}

func hasKind(r *Report, k Kind) bool {
	for _, p := range r.Problems {
		if p.Kind == k {
			return true
		}
	}
	return false
}

func mustValid(t *testing.T, dir string) *Report {
	t.Helper()
	r := validate(t, dir)
	if !r.Valid || !r.Complete {
		t.Fatalf("bag %s not valid: %v", dir, r.Problems)
	}
	return r
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func md5hex(s string) string {
	d, _, _ := Copy(context.Background(), nil, strings.NewReader(s), []Algorithm{MD5})
	return d[MD5]
}
