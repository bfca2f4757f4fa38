package intake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HotFolder is one watched folder. Zero fields take the intake defaults.
type HotFolder struct {
	Path        string        `yaml:"path"`
	Settle      time.Duration `yaml:"settle"`
	BatchMarker string        `yaml:"batch_marker"`
	BatchQuiet  time.Duration `yaml:"batch_quiet"`
	// Poll scans this folder instead of watching it (SMB/NFS shares, where
	// inotify sees nothing).
	Poll bool `yaml:"poll"`
	// CreateMissing makes the folder when it is not there. Off, a missing
	// hot folder stops the daemon from starting: an unmounted share must
	// not silently become an empty local folder that scans go into.
	CreateMissing bool `yaml:"create_missing"`
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
	// name appears in it, instead of waiting for BatchQuiet.
	BatchMarker string `yaml:"batch_marker"`
	// BatchQuiet is how long a batch folder without a marker must hold
	// still before it is taken: longer than Settle, since a book scanner
	// pauses between pages (turning a page, refocusing: 30 s is common),
	// and a batch taken in a pause splits the book.
	BatchQuiet time.Duration `yaml:"batch_quiet"`
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
		if h.BatchQuiet == 0 {
			h.BatchQuiet = c.BatchQuiet
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
	if c.BatchQuiet <= 0 {
		errs = append(errs, fmt.Errorf("intake.batch_quiet %s: must be positive", c.BatchQuiet))
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
		if h.BatchQuiet < 0 {
			errs = append(errs, fmt.Errorf("%s.batch_quiet %s: must not be negative", key, h.BatchQuiet))
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

// ScannerPause is the longest pause between two pages a book scanner is
// expected to make; a batch quiet period shorter than it risks a book
// taken in a pause and split in two.
const ScannerPause = time.Minute

// Warnings are settings that work but risk what users do not expect: a
// hot folder whose batch folders close after less quiet than a scanner's
// pause between pages, with no marker to close them instead.
func (c Config) Warnings() []string {
	var out []string
	for i, h := range c.Folders() {
		if h.BatchMarker == "" && h.BatchQuiet < ScannerPause {
			out = append(out, fmt.Sprintf("intake.hot_folders[%d] (%s): batch folders close after %s of quiet and no batch_marker is set: "+
				"a scanner that pauses longer between pages splits the book; set batch_marker, or batch_quiet of %s or more", i, h.Path, h.BatchQuiet, ScannerPause))
		}
	}
	return out
}

// CheckFolders checks that every hot folder is there and is a folder,
// making those that may be made (create_missing). It lists every problem.
func (c Config) CheckFolders() error {
	var errs []error
	for i, h := range c.Folders() {
		fi, err := os.Stat(h.Path)
		switch {
		case err == nil && !fi.IsDir():
			errs = append(errs, fmt.Errorf("intake.hot_folders[%d].path %s: not a folder", i, h.Path))
		case errors.Is(err, fs.ErrNotExist) && h.CreateMissing:
			if err := os.MkdirAll(h.Path, 0o755); err != nil {
				errs = append(errs, fmt.Errorf("intake.hot_folders[%d].path %s: %w", i, h.Path, err))
			}
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("intake.hot_folders[%d].path %s does not exist (a share not mounted?): mount or make it, or set create_missing: true", i, h.Path))
		case err != nil:
			errs = append(errs, fmt.Errorf("intake.hot_folders[%d].path %s: %w", i, h.Path, err))
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
