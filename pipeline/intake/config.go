package intake

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// HotFolder is one watched folder. Zero fields take the intake defaults.
type HotFolder struct {
	Path        string        `yaml:"path"`
	Settle      time.Duration `yaml:"settle"`
	BatchMarker string        `yaml:"batch_marker"`
	// Poll scans this folder instead of watching it (SMB/NFS shares, where
	// inotify sees nothing).
	Poll bool `yaml:"poll"`
	// OCRLanguages and OCRPSM override access.ocr for items of this folder.
	OCRLanguages []string `yaml:"ocr_languages"`
	OCRPSM       *int     `yaml:"ocr_psm"`
}

// Config configures intake.
type Config struct {
	HotFolders []HotFolder `yaml:"hot_folders"`
	// Settle is how long a file's size and mtime (or a batch folder's
	// contents) must hold still before it is taken.
	Settle time.Duration `yaml:"settle"`
	// BatchMarker, when set, closes a batch folder as soon as a file of this
	// name appears in it, instead of waiting for Settle.
	BatchMarker string `yaml:"batch_marker"`
	// Poll scans every hot folder instead of watching (see HotFolder.Poll).
	Poll         bool          `yaml:"poll"`
	PollInterval time.Duration `yaml:"poll_interval"`
	DoneDir      string        `yaml:"done_dir"`
	FailedDir    string        `yaml:"failed_dir"`
	// RemoveOriginals deletes originals once their bag is stored and read
	// back, instead of moving them to DoneDir.
	RemoveOriginals bool `yaml:"remove_originals"`
}

// Folders returns the hot folders with defaults applied.
func (c Config) Folders() []HotFolder {
	out := make([]HotFolder, len(c.HotFolders))
	for i, h := range c.HotFolders {
		if h.Settle == 0 {
			h.Settle = c.Settle
		}
		if h.BatchMarker == "" {
			h.BatchMarker = c.BatchMarker
		}
		h.Poll = h.Poll || c.Poll
		out[i] = h
	}
	return out
}

// Validate checks the configuration; paths must already be absolute.
func (c Config) Validate() error {
	var errs []error
	if len(c.HotFolders) == 0 {
		errs = append(errs, errors.New("intake.hot_folders: at least one hot folder is needed"))
	}
	if c.Settle <= 0 {
		errs = append(errs, fmt.Errorf("intake.settle %s: must be positive", c.Settle))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("intake.poll_interval %s: must be positive", c.PollInterval))
	}
	for _, d := range []struct{ key, path string }{{"done_dir", c.DoneDir}, {"failed_dir", c.FailedDir}} {
		if !filepath.IsAbs(d.path) {
			errs = append(errs, fmt.Errorf("intake.%s %q: must be set (an absolute path, or relative to the config file)", d.key, d.path))
		}
	}
	for i, h := range c.HotFolders {
		key := fmt.Sprintf("intake.hot_folders[%d]", i)
		if !filepath.IsAbs(h.Path) {
			errs = append(errs, fmt.Errorf("%s.path %q: must be set", key, h.Path))
			continue
		}
		if h.Settle < 0 {
			errs = append(errs, fmt.Errorf("%s.settle %s: must not be negative", key, h.Settle))
		}
		if strings.ContainsAny(h.BatchMarker, `/\`) {
			errs = append(errs, fmt.Errorf("%s.batch_marker %q: must be a file name", key, h.BatchMarker))
		}
		for _, other := range []struct{ key, path string }{{"done_dir", c.DoneDir}, {"failed_dir", c.FailedDir}} {
			if within(other.path, h.Path) || within(h.Path, other.path) {
				errs = append(errs, fmt.Errorf("%s.path %q and intake.%s %q must not contain each other", key, h.Path, other.key, other.path))
			}
		}
		for j, o := range c.HotFolders[:i] {
			if within(h.Path, o.Path) || within(o.Path, h.Path) {
				errs = append(errs, fmt.Errorf("%s.path %q overlaps intake.hot_folders[%d].path %q", key, h.Path, j, o.Path))
			}
		}
	}
	return errors.Join(errs...)
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Ignored reports whether a file name is a temporary or hidden file that
// intake never takes: dot-files, Office lock files (~$), partial downloads.
func Ignored(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") ||
		strings.HasSuffix(lower, ".part") || strings.HasSuffix(lower, ".tmp") ||
		strings.HasSuffix(lower, ".crdownload") || strings.HasSuffix(lower, ".partial") || strings.HasSuffix(name, "~")
}
