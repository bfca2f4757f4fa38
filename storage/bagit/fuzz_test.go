package bagit

import (
	"bytes"
	"strings"
	"testing"
)

// The parsers read files from bags we did not write: they must never panic,
// and what our writer produces must parse back to what went in.

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("abc123 data/a.txt\r\nABC  data/b c.txt\rdef\tdata/%0A%25\n"), "data/x y")
	f.Add([]byte(""), "data/\n%")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		ParseManifest("manifest-sha256.txt", b, true)
		ParseManifest("manifest-sha256.txt", b, false)
		if CheckPath(name) != nil {
			return
		}
		line := "00ff " + EncodePath(name) + "\n"
		es, errs := ParseManifest("m", []byte(line), true)
		if name != strings.TrimLeft(name, " \t") {
			return // leading white space belongs to the separator by the RFC's grammar
		}
		if len(errs) != 0 || len(es) != 1 || es[0].Path != name {
			t.Fatalf("round trip of %q: %v %+v", name, errs, es)
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	f.Add([]byte("Source-Organization: X\n  continued\nPayload-Oxum: 1.1\r\n"), "Label", "a long value")
	f.Fuzz(func(t *testing.T, b []byte, label, value string) {
		ParseInfo("bag-info.txt", b)
		in := Info{}
		in.Add(label, value)
		out, err := in.Marshal()
		if err != nil {
			return
		}
		back, errs := ParseInfo("bag-info.txt", out)
		want := strings.Join(strings.Fields(value), " ")
		if len(errs) != 0 || len(back.Fields) != 1 || back.Fields[0].Label != label || back.Fields[0].Value != want {
			t.Fatalf("round trip of %q: %q: %v %+v", label, value, errs, back.Fields)
		}
	})
}

func FuzzParseDeclaration(f *testing.F) {
	f.Add([]byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"))
	f.Add([]byte("\xef\xbb\xbfBagIt-Version: 0.97\r\nTag-File-Character-Encoding: UTF-8"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _, err := ParseDeclaration(b)
		if err == nil && (d.Version == "" || d.Encoding == "") {
			t.Fatalf("accepted %q as %+v", b, d)
		}
		if err == nil && d.Is1() && bytes.HasPrefix(b, utf8BOM) {
			t.Fatalf("accepted a BOM in a 1.0 declaration")
		}
	})
}

func FuzzParseFetch(f *testing.F) {
	f.Add([]byte("https://x.org/a 12 data/a b.txt\nftp://y - data/c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _ := ParseFetch(b, true)
		for _, it := range items {
			if !isAbsoluteURL(it.URL) || it.Length < -1 {
				t.Fatalf("accepted %+v", it)
			}
		}
	})
}
