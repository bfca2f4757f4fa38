package pdfa

import (
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
