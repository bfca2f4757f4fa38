package bagit

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden pins the bytes of the tag files we write.
func TestGolden(t *testing.T) {
	dir := writeBag(t, sample)
	for _, name := range []string{"bagit.txt", "bag-info.txt", "manifest-sha512.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"} {
		got := readFile(t, filepath.Join(dir, name))
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			writeFile(t, golden, got)
			continue
		}
		if want := readFile(t, golden); got != want {
			t.Errorf("%s differs from %s:\n%s", name, golden, got)
		}
	}
}

// TestCrossCheckCoreutils checks our manifests with an independent
// implementation: coreutils' sha512sum/sha256sum -c, run in the bag.
func TestCrossCheckCoreutils(t *testing.T) {
	for _, tool := range []string{"sha256sum", "sha512sum", "md5sum", "sha1sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: %v", tool, err)
		}
	}
	files := map[string]string{"a.txt": "a", " leading.txt": "b", "ünï cödé.txt": "c", "deep/er/file.bin": strings.Repeat("z", 3<<20)}
	dir := writeBag(t, files, SHA512, SHA256, SHA1, MD5)
	for _, m := range []string{"manifest-sha512.txt", "manifest-sha256.txt", "manifest-sha1.txt", "manifest-md5.txt", "tagmanifest-sha256.txt", "tagmanifest-md5.txt"} {
		alg := strings.TrimSuffix(m[strings.LastIndex(m, "-")+1:], ".txt")
		cmd := exec.Command(alg+"sum", "--strict", "-c", m)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%ssum -c %s: %v\n%s", alg, m, err, out)
		}
	}
	mustValid(t, dir)
}

func TestCopyDigests(t *testing.T) {
	for _, n := range []int{0, 1, copyBufSize - 1, copyBufSize, copyBufSize + 1, 3*copyBufSize + 12345} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rand.IntN(256))
		}
		var out bytes.Buffer
		// OneByteReader makes reads short, as pipes and sockets do.
		d, got, err := Copy(context.Background(), &out, iotest.HalfReader(bytes.NewReader(data)), []Algorithm{SHA512, SHA256, SHA1, MD5})
		if err != nil {
			t.Fatal(err)
		}
		if got != int64(n) || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("n=%d: copied %d bytes, equal=%v", n, got, bytes.Equal(out.Bytes(), data))
		}
		want := Digests{
			SHA512: fmt.Sprintf("%x", sha512.Sum512(data)), SHA256: fmt.Sprintf("%x", sha256.Sum256(data)),
			SHA1: fmt.Sprintf("%x", sha1.Sum(data)), MD5: fmt.Sprintf("%x", md5.Sum(data)),
		}
		for a, w := range want {
			if d[a] != w {
				t.Errorf("n=%d %s = %s, want %s", n, a, d[a], w)
			}
		}
	}
}

func TestCopyErrors(t *testing.T) {
	boom := fmt.Errorf("boom")
	if _, _, err := Copy(context.Background(), nil, iotest.ErrReader(boom), DefaultAlgorithms); err != boom {
		t.Errorf("read error: %v", err)
	}
	if _, _, err := Copy(context.Background(), failWriter{boom}, strings.NewReader(strings.Repeat("x", 5<<20)), DefaultAlgorithms); err != boom {
		t.Errorf("write error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Copy(ctx, nil, strings.NewReader("x"), DefaultAlgorithms); err == nil {
		t.Error("cancelled copy succeeded")
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterRefuses(t *testing.T) {
	ctx := context.Background()
	w := NewWriter(NewDirDest(t.TempDir()), Options{})
	for _, p := range []string{"../x", "/abs", "a/../../b", ""} {
		if _, _, err := w.AddPayload(ctx, p, strings.NewReader("x")); err == nil {
			t.Errorf("payload %q accepted", p)
		}
	}
	if _, _, err := w.AddPayload(ctx, "a", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.AddPayload(ctx, "a", strings.NewReader("y")); err == nil {
		t.Error("duplicate payload accepted")
	}
	for _, n := range []string{"bagit.txt", "manifest-md5.txt", "tagmanifest-sha256.txt", "data/x", "bag-info.txt"} {
		if err := w.AddTagFile(ctx, n, strings.NewReader("x")); err == nil {
			t.Errorf("tag file %q accepted", n)
		}
	}
	// A symlink source is refused, not followed.
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "real"), "x")
	os.Symlink(filepath.Join(src, "real"), filepath.Join(src, "link"))
	if _, _, err := w.AddPayloadFile(ctx, "link", filepath.Join(src, "link")); err == nil {
		t.Error("symlink source accepted")
	}
}

func TestCreateFromDir(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "one.txt"), "1")
	writeFile(t, filepath.Join(src, "sub/two.txt"), "22")
	dest := filepath.Join(t.TempDir(), "bag")
	res, err := CreateFromDir(context.Background(), src, dest, Options{Algorithms: []Algorithm{SHA256}}, Info{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Oxum != "3.2" {
		t.Errorf("oxum %s", res.Oxum)
	}
	mustValid(t, dest)
	if _, err := CreateFromDir(context.Background(), src, dest, Options{}, Info{}); err == nil {
		t.Error("bagging into a non-empty directory succeeded")
	}
}

func TestInfoFolding(t *testing.T) {
	long := strings.Repeat("word ", 60) + "end"
	in := Info{}
	in.Add("External-Description", long)
	in.Add("Contact-Name", "A")
	in.Add("Contact-Name", "B") // repeatable
	b, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if len(l) > foldWidth {
			t.Errorf("line of %d > %d: %q", len(l), foldWidth, l)
		}
	}
	back, errs := ParseInfo("bag-info.txt", b)
	if len(errs) > 0 || back.Get("External-Description") != long || strings.Join(back.All("Contact-Name"), ",") != "A,B" {
		t.Errorf("round trip: %v %q", errs, back.Fields)
	}
	for _, bad := range []string{"a:b", "a\nb", " a", ""} {
		if _, err := (&Info{Fields: []Field{{bad, "v"}}}).Marshal(); err == nil {
			t.Errorf("label %q accepted", bad)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"data/a.txt", true}, {"data/ spaced .txt", true}, {"data/100%.txt", true}, {"data/ü", true},
		{"data/..hidden", true}, {"data/a~b", true},
		{"", false}, {"/etc/passwd", false}, {"\\\\server\\x", false}, {"../x", false}, {"data/../x", false},
		{"data/./x", false}, {"~/x", false}, {"C:/x", false}, {"c:x", false}, {"data/a\x00b", false},
		{"data\\..\\x", false}, {"data//x", false}, {"data/", false}, {"data/\xff", false},
	} {
		if err := CheckPath(c.p); (err == nil) != c.ok {
			t.Errorf("CheckPath(%q) = %v, want ok=%v", c.p, err, c.ok)
		}
	}
}

func TestPercentEncoding(t *testing.T) {
	for _, c := range []struct{ raw, enc string }{
		{"a b", "a b"}, {"100%", "100%25"}, {"a\nb", "a%0Ab"}, {"a\rb", "a%0Db"}, {"a\r\nb", "a%0D%0Ab"}, {"%41", "%2541"},
	} {
		if got := EncodePath(c.raw); got != c.enc {
			t.Errorf("EncodePath(%q) = %q, want %q", c.raw, got, c.enc)
		}
		if got := DecodePath(c.enc); got != c.raw {
			t.Errorf("DecodePath(%q) = %q, want %q", c.enc, got, c.raw)
		}
	}
	if DecodePath("a%0ab%41") != "a\nb%41" {
		t.Error("lowercase hex or other escapes mishandled")
	}
}
