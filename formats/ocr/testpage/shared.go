package testpage

import (
	"os"
	"path/filepath"
)

// SharedDir finds sub (e.g. "schemas") in the project's shared folder,
// which sits beside the repository: $STRONGROOM_SHARED, or a "shared"
// folder next to the working directory or any of its parents. It returns
// "" when there is none.
func SharedDir(sub string) string {
	if s := os.Getenv("STRONGROOM_SHARED"); s != "" {
		return filepath.Join(s, sub)
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", sub)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}
