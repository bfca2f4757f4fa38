package ocr

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// langName is a Tesseract language (eng, deu, chi_sim) or script
// (script/Latin) name: nothing that could lead a path elsewhere.
var langName = regexp.MustCompile(`^([a-z]{3}(_[a-z]+)*|script/[A-Z][A-Za-z_]+|osd)$`)

// tessdataDirs are where Tesseract's languages may be: $TESSDATA_PREFIX
// (itself or its tessdata/), and where Debian and a source build put them.
func tessdataDirs() []string {
	var dirs []string
	if p := os.Getenv("TESSDATA_PREFIX"); p != "" {
		dirs = append(dirs, p, filepath.Join(p, "tessdata"))
	}
	found, _ := filepath.Glob("/usr/share/tesseract-ocr/*/tessdata")
	return append(append(dirs, found...), "/usr/share/tessdata", "/usr/local/share/tessdata")
}

// CheckLanguages checks that each language is a language name and that
// Tesseract has its data, so that a language that is not installed is
// refused when it is asked for (a config, a reprocess), not found out item
// by item, each then stored without an access copy. Where no data folder
// is found at all it cannot tell and says nothing: Tesseract will.
func CheckLanguages(langs []string) error {
	var dirs []string
	for _, d := range tessdataDirs() {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	for _, l := range langs {
		if !langName.MatchString(l) {
			return fmt.Errorf("OCR language %q: not a Tesseract language name (eng, deu, chi_sim, script/Latin)", l)
		}
		if len(dirs) == 0 {
			continue
		}
		installed := false
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(l)+".traineddata")); err == nil {
				installed = true
				break
			}
		}
		if !installed {
			script, isScript := strings.CutPrefix(l, "script/")
			pkg := "tesseract-ocr-" + strings.ReplaceAll(strings.ToLower(script), "_", "-")
			if isScript {
				pkg = "tesseract-ocr-script-" + strings.ReplaceAll(strings.ToLower(script), "_", "-")
			}
			return fmt.Errorf("OCR language %q is not installed (no %s.traineddata in %s; on Debian: apt-get install %s)", l, l, strings.Join(dirs, ", "), pkg)
		}
	}
	return nil
}

// InstalledLanguages lists the languages Tesseract has data for, in the
// data folders CheckLanguages looks in.
func InstalledLanguages() []string {
	var out []string
	for _, d := range tessdataDirs() {
		found, _ := filepath.Glob(filepath.Join(d, "*.traineddata"))
		for _, f := range found {
			if l := strings.TrimSuffix(filepath.Base(f), ".traineddata"); !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out
}
