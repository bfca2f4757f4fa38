package pdfa

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// corpus finds shared/testdata/verapdf-corpus beside the repository.
func corpus(t *testing.T) string {
	t.Helper()
	return testenv.Shared(t, "testdata/verapdf-corpus")
}

var corpusName = regexp.MustCompile(`veraPDF test suite ([0-9-]+)-t[0-9]+-(pass|fail)-[a-z]+\.pdf$`)

// TestCorpus: for every clause the checker claims, every "pass" file of
// the veraPDF corpus passes (no finding under that clause) and every "fail"
// file fails with a finding under that clause.
func TestCorpus(t *testing.T) {
	root := corpus(t)
	claimed, partial := map[string]bool{}, map[string]bool{}
	for _, c := range Clauses {
		claimed[c] = true
	}
	for _, c := range Partial {
		partial[c] = true
	}
	checked := map[string]int{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		m := corpusName.FindStringSubmatch(p)
		if m == nil {
			return nil
		}
		clause := strings.ReplaceAll(m[1], "-", ".")
		if !claimed[clause] && !partial[clause] {
			return nil
		}
		r, err := Check(p, CheckOptions{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			return nil
		}
		var hits []string
		for _, f := range r.Findings {
			if f.Clause == clause || strings.HasPrefix(f.Clause, "6.1") && clause == "6.1.2" && f.Clause == "6.1" {
				hits = append(hits, f.String())
			}
		}
		switch {
		case m[2] == "pass" && len(hits) > 0:
			t.Errorf("%s should pass %s: %v", filepath.Base(p), clause, hits)
		case m[2] == "fail" && len(hits) == 0 && claimed[clause]:
			t.Errorf("%s should fail %s; findings: %v", filepath.Base(p), clause, r.Findings)
		}
		checked[clause]++
		return nil
	})
	for _, c := range Clauses {
		if checked[c] == 0 {
			t.Errorf("clause %s claimed but no corpus file tests it", c)
		}
	}
	t.Logf("corpus files checked per clause: %v", checked)
}

// TestOurFilesPass: what the writer makes passes every check, strict too.
func TestOurFilesPass(t *testing.T) {
	for _, conf := range []string{"B", "U"} {
		r, err := Check(writeSample(t, conf), CheckOptions{Strict: true})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Valid() || r.Part != 2 || r.Conformance != conf {
			t.Errorf("PDF/A-2%s: %+v", conf, r)
		}
	}
}

// TestPassFilesHaveNoFinding: a preservation record must not call a valid
// file invalid. Every "pass" file of the corpus gets no finding at all,
// under any clause (the Info dictionary of 6-1-5-t01 differs from its XMP,
// which part 2 allows; 6-2-11-7-2-t02's form offers fonts it never renders
// with, which need no font program).
func TestPassFilesHaveNoFinding(t *testing.T) {
	n := 0
	filepath.WalkDir(corpus(t), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if m := corpusName.FindStringSubmatch(p); m == nil || m[2] != "pass" {
			return nil
		}
		n++
		r, err := Check(p, CheckOptions{})
		if err != nil || len(r.Findings) > 0 {
			t.Errorf("%s: %v %v", filepath.Base(p), err, r.Findings)
		}
		return nil
	})
	if n < 300 {
		t.Errorf("%d pass files; the corpus has 352", n)
	}
}

// TestDeclaredParts: a file is checked against the part it declares: one
// that declares part 1 or 3 is not faulted for not being part 2 (the
// clauses the parts share are checked; for part 1 also its rule that the
// Info dictionary agrees with the XMP), and one that declares no part is
// said not to claim PDF/A.
func TestDeclaredParts(t *testing.T) {
	var out bytes.Buffer
	w, _ := NewWriter(&out, Options{Title: "Minute book", Author: "Clerk", Creator: "t", Font: glyphless(t)})
	im, _ := FromImage(image.NewGray(image.Rect(0, 0, 20, 20)))
	w.AddPage(Page{Image: im, DPIX: 72, DPIY: 72})
	w.Close()
	for _, c := range []struct {
		part, info string
		want       int
		findings   string
	}{
		{"2", "", 2, ""}, {"1", "", 1, ""}, {"3", "", 3, ""},
		{"1", "Minute bool", 1, "6.7.3 (part 1)"}, // the Info Title no longer equals dc:title
		{"3", "Minute bool", 3, ""},
		{"9", "", 0, `pdfaid:part is "9"`},
	} {
		b := bytes.Replace(out.Bytes(), []byte("<pdfaid:part>2</pdfaid:part>"), []byte("<pdfaid:part>"+c.part+"</pdfaid:part>"), 1)
		if c.info != "" {
			b = bytes.Replace(b, []byte("/Title (Minute book)"), []byte("/Title ("+c.info+")"), 1)
		}
		p := filepath.Join(t.TempDir(), "x.pdf")
		os.WriteFile(p, b, 0o644)
		r, err := Check(p, CheckOptions{})
		if err != nil || r.Part != c.want || (c.findings == "") != r.Valid() || c.findings != "" && !strings.Contains(fmt.Sprint(r.Findings), c.findings) {
			t.Errorf("part %s (Info %q): part %d, findings %v, %v; want part %d, %q", c.part, c.info, r.Part, r.Findings, err, c.want, c.findings)
		}
	}
	b := bytes.Replace(out.Bytes(), []byte("<pdfaid:part>2</pdfaid:part>"), []byte("<pdfaid:xxxx>2</pdfaid:xxxx>"), 1)
	p := filepath.Join(t.TempDir(), "x.pdf")
	os.WriteFile(p, b, 0o644)
	if r, _ := Check(p, CheckOptions{}); !r.NotDeclared || r.Part != 0 {
		t.Errorf("no part declared: %+v", r)
	}
}

// TestPart1Rules: what PDF/A-2 allows and PDF/A-1 does not (transparency,
// optional content, embedded files) is a finding for a file that declares
// part 1, and none for the same file declaring part 2.
func TestPart1Rules(t *testing.T) {
	xmp := func(part string) string {
		return testenv.Stream("/Type /Metadata /Subtype /XML", `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>`+part+`</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`)
	}
	content := testenv.Stream("", "q 10 0 0 10 0 0 cm /Im1 Do Q")
	image := func(extra string) string {
		return testenv.Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8"+extra, "\x80")
	}
	file := func(part, catalog, resources string, objs ...string) string {
		all := append([]string{"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R " + catalog + " >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 5 0 R /Resources << /XObject << /Im1 6 0 R >> " + resources + " >> >>",
			xmp(part), content}, objs...)
		p := filepath.Join(t.TempDir(), "x.pdf")
		if err := os.WriteFile(p, testenv.PDF(all...), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name            string
		catalog, res    string
		objs            []string
		clause, finding string
	}{
		{"opacity", "", "/ExtGState << /G0 << /ca 0.5 >> >>", []string{image("")}, "6.4 (part 1)", "ca 0.5"},
		{"blend mode", "", "/ExtGState << /G0 << /BM /Multiply >> >>", []string{image("")}, "6.4 (part 1)", "blend mode"},
		{"soft mask", "", "", []string{image(" /SMask 7 0 R"), image("")}, "6.4 (part 1)", "object 6: a soft mask"},
		{"transparency group", "", "/XObject << /Im1 6 0 R /Fm1 7 0 R >>", []string{image(""),
			testenv.Stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Group << /S /Transparency >>", "")}, "6.4 (part 1)", "transparency group"},
		{"optional content", "/OCProperties << /OCGs [] /D << >> >>", "", []string{image("")}, "6.1.13 (part 1)", "OCProperties"},
		{"embedded file", "/Names << /EmbeddedFiles << /Names [(a.txt) 7 0 R] >> >>", "", []string{image(""),
			"<< /Type /Filespec /F (a.txt) /EF << /F 8 0 R >> >>", testenv.Stream("/Type /EmbeddedFile", "a")}, "6.1.11 (part 1)", "EmbeddedFiles"},
		{"opacity 1 and a soft mask of None are allowed", "", "/ExtGState << /G0 << /CA 1 /ca 1.0 /SMask /None /BM /Normal >> >>", []string{image("")}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, part := range []string{"1", "2"} {
				r, err := Check(file(part, c.catalog, c.res, c.objs...), CheckOptions{})
				if err != nil || r.Part != int(part[0]-'0') {
					t.Fatalf("part %s: %+v %v", part, r, err)
				}
				var got []string
				for _, f := range r.Findings {
					if strings.HasSuffix(f.Clause, "(part 1)") {
						got = append(got, f.String())
					}
				}
				want := c.clause != "" && part == "1"
				if want && (len(got) == 0 || !strings.Contains(strings.Join(got, "; "), c.finding) || !strings.HasPrefix(got[0], c.clause)) {
					t.Errorf("part %s: part-1 findings %q, want %s %q", part, got, c.clause, c.finding)
				}
				if !want && len(got) > 0 {
					t.Errorf("part %s: part-1 findings %q, want none", part, got)
				}
			}
		})
	}
}
