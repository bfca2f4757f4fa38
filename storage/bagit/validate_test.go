package bagit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var sample = map[string]string{
	"page-001.txt":      "first page\n",
	"page-002.txt":      "second page\n",
	"sub/dir/notes.txt": "nested\n",
	"empty.txt":         "",
}

// retag recomputes the tag manifests after a test edited a tag file, so
// that the test sees only the problem it made.
func retag(t *testing.T, dir string) {
	t.Helper()
	for _, a := range []Algorithm{SHA512, SHA256} {
		name := "tagmanifest-" + string(a) + ".txt"
		p := filepath.Join(dir, name)
		old, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		entries, _ := ParseManifest(name, old, true)
		var b strings.Builder
		for _, e := range entries {
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(e.Path)))
			if err != nil {
				b.WriteString(e.Digest + " " + EncodePath(e.Path) + "\n")
				continue
			}
			d, _, err := Copy(context.Background(), nil, f, []Algorithm{a})
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(d[a] + " " + EncodePath(e.Path) + "\n")
		}
		writeFile(t, p, b.String())
	}
}

func TestWrittenBagIsValid(t *testing.T) {
	dir := writeBag(t, sample)
	r := mustValid(t, dir)
	if r.Declaration.Version != "1.0" || r.Info.Get("Payload-Oxum") != "30.4" {
		t.Errorf("declaration %+v, oxum %q", r.Declaration, r.Info.Get("Payload-Oxum"))
	}
	if r.Checked != 9 { // 4 payload files, bagit.txt, bag-info.txt, 2 manifests, a tag directory file
		t.Errorf("checked %d files, want 9", r.Checked)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
}

func TestProblems(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(t *testing.T, dir string)
		want     []Kind
		complete bool
	}{
		{"payload file missing", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "data/page-001.txt")) },
			[]Kind{MissingFile, MissingFile, OxumMismatch}, false},
		{"unlisted payload file", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "data/extra.txt"), "x")
			editInfo(t, d, "Payload-Oxum: 30.4", "Payload-Oxum: 31.5")
		}, []Kind{ExtraFile}, false},
		{"file in one manifest only", func(t *testing.T, d string) {
			dropLine(t, filepath.Join(d, "manifest-sha256.txt"), "data/page-002.txt")
			retag(t, d)
		}, []Kind{NotInEveryManifest}, false},
		{"bytes altered", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "data/page-001.txt"), "First page\n") },
			[]Kind{DigestMismatch, DigestMismatch}, true},
		{"payload-oxum wrong", func(t *testing.T, d string) { editInfo(t, d, "Payload-Oxum: 30.4", "Payload-Oxum: 29.4") },
			[]Kind{OxumMismatch}, false},
		{"payload-oxum malformed", func(t *testing.T, d string) { editInfo(t, d, "Payload-Oxum: 30.4", "Payload-Oxum: 30") },
			[]Kind{BadBagInfo}, false},
		{"bag-info line without colon", func(t *testing.T, d string) {
			editInfo(t, d, "Source-Organization: Test Archive", "Source-Organization Test Archive")
		},
			[]Kind{BadBagInfo}, false},
		{"bag-info continuation first", func(t *testing.T, d string) { editInfo(t, d, "Source-Organization", " Source-Organization") },
			[]Kind{BadBagInfo}, false},
		{"duplicate entry, another digest", func(t *testing.T, d string) {
			p := filepath.Join(d, "manifest-sha256.txt")
			m := readFile(t, p)
			first := strings.SplitAfter(m, "\n")[0]
			writeFile(t, p, m+strings.Repeat("0", 64)+first[64:])
			retag(t, d)
		}, []Kind{DuplicateEntry}, false},
		{"digest of wrong length", func(t *testing.T, d string) {
			p := filepath.Join(d, "manifest-sha256.txt")
			writeFile(t, p, strings.Replace(readFile(t, p), sha256hex("nested\n"), sha256hex("nested\n")[:60], 1))
			retag(t, d)
		}, []Kind{BadManifest, NotInEveryManifest}, false},
		{"digest not hex", func(t *testing.T, d string) {
			p := filepath.Join(d, "manifest-sha256.txt")
			writeFile(t, p, readFile(t, p)+"zz data/x\n")
			retag(t, d)
		}, []Kind{BadManifest}, false},
		{"bagit.txt missing", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "bagit.txt")) },
			[]Kind{BadDeclaration, MissingFile, MissingFile}, false},
		{"bagit.txt with BOM", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "bagit.txt"), "\uFEFFBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
			retag(t, d)
		}, []Kind{BadDeclaration}, false},
		{"bagit.txt lines swapped", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "bagit.txt"), "Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n")
			retag(t, d)
		}, []Kind{BadDeclaration}, false},
		{"bagit.txt extra label", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "bagit.txt"), "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nX: y\n")
			retag(t, d)
		}, []Kind{BadDeclaration}, false},
		{"bagit.txt no encoding", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "bagit.txt"), "BagIt-Version: 1.0\n")
			retag(t, d)
		}, []Kind{BadDeclaration}, false},
		{"no payload dir", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, "data")) },
			[]Kind{NoPayloadDir, MissingFile, MissingFile, MissingFile, MissingFile, MissingFile, MissingFile, MissingFile, MissingFile, OxumMismatch}, false},
		{"no payload manifest", func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, "manifest-sha256.txt"))
			os.Remove(filepath.Join(d, "manifest-sha512.txt"))
			os.Remove(filepath.Join(d, "tagmanifest-sha256.txt"))
			os.Remove(filepath.Join(d, "tagmanifest-sha512.txt"))
		}, []Kind{NoPayloadManifest}, false},
		{"tag file altered", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "metadata/notes.txt"), "changed\n") },
			[]Kind{DigestMismatch, DigestMismatch}, true},
		{"tag manifest lists payload file", func(t *testing.T, d string) {
			p := filepath.Join(d, "tagmanifest-sha256.txt")
			writeFile(t, p, readFile(t, p)+sha256hex("nested\n")+" data/sub/dir/notes.txt\n")
		}, []Kind{BadTagManifest}, false},
		{"tag manifest lists tag manifest", func(t *testing.T, d string) {
			p := filepath.Join(d, "tagmanifest-sha256.txt")
			writeFile(t, p, readFile(t, p)+sha256hex("x")+" tagmanifest-sha512.txt\n")
		}, []Kind{BadTagManifest}, false},
		{"tag manifest misses payload manifest", func(t *testing.T, d string) {
			dropLine(t, filepath.Join(d, "tagmanifest-sha256.txt"), "manifest-sha512.txt")
		}, []Kind{BadTagManifest}, false},
		{"listed tag file missing", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "metadata/notes.txt")) },
			[]Kind{MissingFile, MissingFile}, false},
		{"fetch item not fetched", func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, "data/page-002.txt"))
			writeFile(t, filepath.Join(d, "fetch.txt"), "https://example.org/p2 12 data/page-002.txt\n")
			retag(t, d)
		}, []Kind{MissingFile, OxumMismatch}, false},
		{"fetch relative url", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "fetch.txt"), "p2.txt 12 data/page-002.txt\n")
		}, []Kind{BadFetch}, false},
		{"fetch path outside data", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "fetch.txt"), "https://example.org/x - other/x\n")
		}, []Kind{BadFetch}, false},
		{"fetch unsafe path", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "fetch.txt"), "https://example.org/x - data/../../etc/passwd\n")
		}, []Kind{UnsafePath}, false},
		{"fetch length wrong", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "fetch.txt"), "https://example.org/x 5 data/page-002.txt\n")
		}, []Kind{BadFetch}, false},
		{"fetch item not in manifests", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "fetch.txt"), "https://example.org/x - data/other.txt\n")
		}, []Kind{BadFetch, BadFetch, MissingFile}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeBag(t, sample)
			c.edit(t, dir)
			r := validate(t, dir)
			got := kinds(r)
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems = %v, want kinds %v", r.Problems, want)
			}
			if r.Valid || r.Complete != c.complete {
				t.Errorf("valid=%v complete=%v, want invalid and complete=%v", r.Valid, r.Complete, c.complete)
			}
			for _, p := range r.Problems {
				if p.Detail == "" {
					t.Errorf("problem without a reason: %+v", p)
				}
			}
		})
	}
}

func editInfo(t *testing.T, dir, old, new string) {
	t.Helper()
	p := filepath.Join(dir, "bag-info.txt")
	s := readFile(t, p)
	if !strings.Contains(s, old) {
		t.Fatalf("bag-info.txt has no %q:\n%s", old, s)
	}
	writeFile(t, p, strings.Replace(s, old, new, 1))
	retag(t, dir)
}

func dropLine(t *testing.T, p, suffix string) {
	t.Helper()
	var keep []string
	for _, l := range strings.SplitAfter(readFile(t, p), "\n") {
		if !strings.HasSuffix(strings.TrimRight(l, "\n"), " "+suffix) {
			keep = append(keep, l)
		}
	}
	writeFile(t, p, strings.Join(keep, ""))
}

func TestUnsafeManifestPaths(t *testing.T) {
	for _, p := range []string{"../outside.txt", "/etc/passwd", "~/secret", "C:/Windows/x", "data/../../x", `data\..\..\x`, "data/./x", "data//x"} {
		t.Run(p, func(t *testing.T) {
			dir := writeBag(t, sample)
			mp := filepath.Join(dir, "manifest-sha256.txt")
			writeFile(t, mp, readFile(t, mp)+sha256hex("x")+" "+p+"\n")
			retag(t, dir)
			r := validate(t, dir)
			if !hasKind(r, UnsafePath) || r.Valid {
				t.Errorf("path %q: problems %v", p, r.Problems)
			}
		})
	}
}

func TestSymlinksAreNotFollowed(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.txt"), "first page\n")
	dir := writeBag(t, sample)
	// Replace a payload file by a symlink to a file with the same bytes
	// outside the bag: the digest would match if the link were followed.
	p := filepath.Join(dir, "data/page-001.txt")
	os.Remove(p)
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), p); err != nil {
		t.Fatal(err)
	}
	r := validate(t, dir)
	if !hasKind(r, Symlink) || r.Valid {
		t.Fatalf("symlink not flagged: %v", r.Problems)
	}
	// A symlinked data/ directory is refused too.
	dir2 := writeBag(t, sample)
	os.Rename(filepath.Join(dir2, "data"), filepath.Join(outside, "data"))
	os.Symlink(filepath.Join(outside, "data"), filepath.Join(dir2, "data"))
	if r := validate(t, dir2); !hasKind(r, Symlink) || r.Valid {
		t.Fatalf("symlinked data/ not flagged: %v", r.Problems)
	}
}

func TestFinePrint(t *testing.T) {
	files := map[string]string{
		" leading space.txt":   "a",
		"trailing space.txt ":  "b",
		"unicode-ÄÖÜ-日本.txt":   "c",
		"percent%25-and-%.txt": "d",
		"line\nfeed.txt":       "e",
		"carriage\rreturn.txt": "f",
		"tab\there.txt":        "g",
	}
	dir := writeBag(t, files)
	m := readFile(t, filepath.Join(dir, "manifest-sha256.txt"))
	for _, want := range []string{"data/line%0Afeed.txt", "data/carriage%0Dreturn.txt", "data/percent%2525-and-%25.txt", "data/ leading space.txt", "data/trailing space.txt \n"} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
	mustValid(t, dir)
}

func TestLineEndingsAndCase(t *testing.T) {
	dir := writeBag(t, sample, SHA256)
	for _, name := range []string{"manifest-sha256.txt", "bag-info.txt"} {
		p := filepath.Join(dir, name)
		s := readFile(t, p)
		s = strings.ReplaceAll(s, "\n", "\r\n")
		if name == "manifest-sha256.txt" {
			s = strings.ToUpper(s[:64]) + s[64:] // hex digests in either case
		}
		writeFile(t, p, s)
	}
	retag(t, dir)
	mustValid(t, dir)
	// CR-only endings.
	p := filepath.Join(dir, "manifest-sha256.txt")
	writeFile(t, p, strings.ReplaceAll(readFile(t, p), "\r\n", "\r"))
	retag(t, dir)
	mustValid(t, dir)
}

func TestLongLines(t *testing.T) {
	dir := writeBag(t, sample, SHA256)
	long := strings.Repeat("x", 100_000) // one word, no fold point: one 100 kB line
	p := filepath.Join(dir, "bag-info.txt")
	writeFile(t, p, readFile(t, p)+"External-Description: "+long+"\n")
	retag(t, dir)
	r := mustValid(t, dir)
	if r.Info.Get("External-Description") != long {
		t.Errorf("long value not read back whole")
	}
}

func TestLookalikeNamesWarn(t *testing.T) {
	dir := writeBag(t, map[string]string{"a.txt": "1", "A.txt": "2", "caf\u00e9.txt": "3", "cafe\u0301.txt": "4"})
	r := mustValid(t, dir)
	var joined string
	for _, w := range r.Warnings {
		joined += w.String() + "\n"
	}
	if !strings.Contains(joined, "differ only in case") || !strings.Contains(joined, "differ only in Unicode normalisation") {
		t.Errorf("warnings = %s", joined)
	}
}

func TestFastSkipsDigests(t *testing.T) {
	dir := writeBag(t, sample)
	writeFile(t, filepath.Join(dir, "data/page-001.txt"), "First page\n") // same size
	r, err := ValidateDir(context.Background(), dir, ValidateOptions{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Valid || r.Checked != 0 {
		t.Errorf("fast: valid=%v checked=%d %v", r.Valid, r.Checked, r.Problems)
	}
	writeFile(t, filepath.Join(dir, "data/page-001.txt"), "First page, longer\n")
	r, _ = ValidateDir(context.Background(), dir, ValidateOptions{Fast: true})
	if !hasKind(r, OxumMismatch) {
		t.Errorf("fast missed an oxum change: %v", r.Problems)
	}
}

// TestOlderVersions builds bags as the 0.93 to 0.97 drafts wrote them.
func TestOlderVersions(t *testing.T) {
	payload := "hello\n"
	for _, c := range []struct {
		version, info string
		extra         map[string]string
	}{
		{"0.93", "package-info.txt", nil},
		{"0.94", "bag-info.txt", nil},
		{"0.95", "bag-info.txt", nil},
		{"0.96", "bag-info.txt", map[string]string{"tagmanifest-md5.txt": ""}},
		// 0.97 had no percent-encoding: a literal "%0A" is part of the name.
		{"0.97", "bag-info.txt", map[string]string{"data/odd%0Aname.txt": "odd"}},
	} {
		t.Run(c.version, func(t *testing.T) {
			files := map[string]string{
				"bagit.txt":        "BagIt-Version: " + c.version + "\r\nTag-File-Character-Encoding: UTF-8\r\n",
				c.info:             "Source-Organization: Old Archive\nPayload-Oxum: 6.1\n",
				"data/hello.txt":   payload,
				"manifest-md5.txt": "b1946ac92492d2347c6235b4d2611184  data/hello.txt\n",
			}
			for k, v := range c.extra {
				files[k] = v
			}
			if odd, ok := c.extra["data/odd%0Aname.txt"]; ok {
				files[c.info] = "Payload-Oxum: 9.2\n"
				files["manifest-md5.txt"] += md5hex(odd) + " data/odd%0Aname.txt\n"
			}
			if _, ok := c.extra["tagmanifest-md5.txt"]; ok {
				files["tagmanifest-md5.txt"] = md5hex(files["bagit.txt"]) + " bagit.txt\n" + md5hex(files["manifest-md5.txt"]) + " manifest-md5.txt\n"
			}
			dir := handBag(t, files)
			r := mustValid(t, dir)
			if r.Declaration.Version != c.version {
				t.Errorf("version %q", r.Declaration.Version)
			}
		})
	}
	t.Run("0.97 file in one of two manifests is a warning", func(t *testing.T) {
		dir := handBag(t, map[string]string{
			"bagit.txt":           "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt":          "a",
			"data/b.txt":          "b",
			"manifest-sha256.txt": sha256hex("a") + " data/a.txt\n" + sha256hex("b") + " data/b.txt\n",
			"manifest-sha512.txt": sha512hex("a") + " data/a.txt\n",
		})
		r := mustValid(t, dir)
		if len(r.Warnings) == 0 {
			t.Error("no warning")
		}
	})
	t.Run("latin-1 tag files", func(t *testing.T) {
		dir := handBag(t, map[string]string{
			"bagit.txt":           "BagIt-Version: 0.97\nTag-File-Character-Encoding: ISO-8859-1\n",
			"bag-info.txt":        "Source-Organization: Biblioth\xe8que\n",
			"data/a.txt":          "a",
			"manifest-sha256.txt": sha256hex("a") + " data/a.txt\n",
		})
		r := mustValid(t, dir)
		if got := r.Info.Get("Source-Organization"); got != "Bibliothèque" {
			t.Errorf("decoded %q", got)
		}
	})
}

// TestConformanceEdgeCases are the cases of a public BagIt conformance
// suite where the validator disagreed with bagit-python: what the pre-1.0
// rules allow is valid, a BOM in bagit.txt is not, and what is valid but
// risky is warned of.
func TestConformanceEdgeCases(t *testing.T) {
	a := "a"
	utf16 := func(s string) string { // UTF-16, big-endian, with its BOM
		b := []byte{0xFE, 0xFF}
		for _, r := range s {
			b = append(b, byte(r>>8), byte(r))
		}
		return string(b)
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		valid bool
		warns string
	}{
		{"0.97 ./data paths", map[string]string{"bagit.txt": "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt": a, "manifest-sha256.txt": sha256hex(a) + " ./data/a.txt\n"}, true, ""},
		{"1.0 ./data paths", map[string]string{"bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt": a, "manifest-sha256.txt": sha256hex(a) + " ./data/a.txt\n"}, false, ""},
		{"0.97 white space around a label", map[string]string{"bagit.txt": "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
			"bag-info.txt": "Test-Tag : 3\n", "data/a.txt": a, "manifest-sha256.txt": sha256hex(a) + " data/a.txt\n"}, true, ""},
		{"0.97 BOM in bagit.txt", map[string]string{"bagit.txt": "\xef\xbb\xbfBagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt": a, "manifest-sha256.txt": sha256hex(a) + " data/a.txt\n"}, false, ""},
		{"0.97 UTF-16 tag files", map[string]string{"bagit.txt": "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-16\n",
			"bag-info.txt": utf16("Source-Organization: Archiv\n"), "data/a.txt": a,
			"manifest-sha256.txt": utf16(sha256hex(a) + " data/a.txt\n")}, true, ""},
		{"md5sum's binary marker", map[string]string{"bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt": a, "manifest-md5.txt": md5hex(a) + " *data/a.txt\n"}, true, "binary-mode marker"},
		{"listed twice, same digest", map[string]string{"bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt": a, "manifest-sha256.txt": sha256hex(a) + " data/a.txt\n" + sha256hex(a) + " data/a.txt\n"}, true, "twice with the same digest"},
		{".DS_Store in the payload", map[string]string{"bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
			"data/a.txt": a, "data/.DS_Store": "x", "manifest-sha256.txt": sha256hex(a) + " data/a.txt\n" + sha256hex("x") + " data/.DS_Store\n"}, true, "operating system's file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := validate(t, handBag(t, c.files))
			if r.Valid != c.valid {
				t.Errorf("valid=%v, want %v: %v", r.Valid, c.valid, r.Problems)
			}
			var joined string
			for _, w := range r.Warnings {
				joined += w.String() + "\n"
			}
			if !strings.Contains(joined, c.warns) {
				t.Errorf("warnings %q, want %q", joined, c.warns)
			}
		})
	}
}

// TestManifestSeparators: one or more spaces or tabs separate digest and
// path (RFC 8493 §2.1.3); the path keeps its own spaces.
func TestManifestSeparators(t *testing.T) {
	dir := handBag(t, map[string]string{
		"bagit.txt":           "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
		"data/a.txt":          "a",
		"data/b c.txt":        "b",
		"data/d.txt":          "d",
		"manifest-sha256.txt": sha256hex("a") + "\tdata/a.txt\n" + sha256hex("b") + "   data/b c.txt\n" + sha256hex("d") + " \t data/d.txt\n",
	})
	mustValid(t, dir)
}
