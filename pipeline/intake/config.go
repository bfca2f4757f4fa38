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
}

// Config configures intake. The configuration file's intake section
// holds more (where originals go afterwards, each folder's OCR settings):
// configs composes it; HotFolders come from there.
type Config struct {
	HotFolders []HotFolder `yaml:"-"`
	// Settle is how long a file's size and mtime (or a batch folder's
	// contents) must hold still before it is taken.
	Settle time.Duration `yaml:"settle"`
	// BatchMarker, when set, closes a batch folder as soon as a file of this
	// name appears in it, instead of waiting for Settle.
	BatchMarker string `yaml:"batch_marker"`
	// Poll scans every hot folder instead of watching (see HotFolder.Poll).
	Poll         bool          `yaml:"poll"`
	PollInterval time.Duration `yaml:"poll_interval"`
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
		for j, o := range c.HotFolders[:i] {
			if Within(h.Path, o.Path) || Within(o.Path, h.Path) {
				errs = append(errs, fmt.Errorf("%s.path %q overlaps intake.hot_folders[%d].path %q", key, h.Path, j, o.Path))
			}
		}
	}
	return errors.Join(errs...)
}

// Within reports whether p is dir or below it.
func Within(p, dir string) bool {
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
