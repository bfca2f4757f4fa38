// Package configs holds strongroom's configuration: one struct, loaded from
// YAML on top of the embedded defaults (strongroom.yaml in this folder), with
// unknown keys refused and every section validated by the package it
// configures.
package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/audit"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/intake"
	"github.com/strongroom-archive/strongroom/pipeline/push"
	"github.com/strongroom-archive/strongroom/pipeline/quality"
	"github.com/strongroom-archive/strongroom/pipeline/retention"
	"github.com/strongroom-archive/strongroom/pipeline/review"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/storage"
)

//go:embed strongroom.yaml
var defaults []byte

// Defaults returns the embedded default configuration file.
func Defaults() []byte { return defaults }

// Config is the whole configuration.
type Config struct {
	DataDir string `yaml:"data_dir"`
	// SharedDir holds what every machine running stages must reach at
	// the same path: items' work areas (work/) and pushed batches
	// (push/). Empty: data_dir (one machine).
	SharedDir string             `yaml:"shared_dir"`
	LogLevel  string             `yaml:"log_level"`
	LogFormat string             `yaml:"log_format"`
	Intake    Intake             `yaml:"intake"`
	Catalog   catalog.Config     `yaml:"catalog"`
	Storage   storage.Config     `yaml:"storage"`
	Bag       pipeline.BagConfig `yaml:"bag"`
	Pipeline  pipeline.Config    `yaml:"pipeline"`
	// Queue is a section earlier versions had (NATS JetStream between
	// the stages; the catalog is the work list now): a file that still has
	// it loads, and serve says it is not used.
	Queue     any              `yaml:"queue"`
	Formats   Formats          `yaml:"formats"`
	Access    access.Config    `yaml:"access"`
	Audit     audit.Config     `yaml:"audit"`
	HTTP      review.Config    `yaml:"http"`
	Push      push.Config      `yaml:"push"`
	Stations  []push.Station   `yaml:"stations"`
	Search    search.Config    `yaml:"search"`
	Retention retention.Config `yaml:"retention"`
	Quality   quality.Config   `yaml:"quality"`
	// Roles are the parts of the daemon this process runs.
	Roles []pipeline.Role `yaml:"roles"`

	// Source is the file the config came from ("" for the defaults).
	Source string `yaml:"-"`
}

// Intake is the intake section as it is written: the watcher's settings
// (intake.Config), the hot folders with each one's own OCR settings, and
// where originals go once their item ends (the pipeline's).
type Intake struct {
	intake.Config   `yaml:",inline"`
	HotFolders      []HotFolder `yaml:"hot_folders"`
	DoneDir         string      `yaml:"done_dir"`
	FailedDir       string      `yaml:"failed_dir"`
	RemoveOriginals bool        `yaml:"remove_originals"`
}

// HotFolder is one hot folder as it is written.
type HotFolder struct {
	intake.HotFolder `yaml:",inline"`
	// OCRLanguages and OCRPSM override access.ocr for this folder's items.
	OCRLanguages []string `yaml:"ocr_languages"`
	OCRPSM       *int     `yaml:"ocr_psm"`
	// Metadata is the default description of this folder's items
	// (collection, rights, access), over bag.metadata.
	Metadata map[string]string `yaml:"metadata"`
}

// Watch returns the watcher's configuration, hot folders included.
func (in Intake) Watch() intake.Config {
	c := in.Config
	c.HotFolders = make([]intake.HotFolder, len(in.HotFolders))
	for i, h := range in.HotFolders {
		c.HotFolders[i] = h.HotFolder
	}
	return c
}

// Folders returns the hot folders with the intake defaults applied.
func (in Intake) Folders() []intake.HotFolder { return in.Watch().Folders() }

// OCR returns the hot folders' own OCR settings, by folder path.
func (in Intake) OCR() map[string]*catalog.OCRSettings {
	out := map[string]*catalog.OCRSettings{}
	for _, h := range in.HotFolders {
		if len(h.OCRLanguages) > 0 || h.OCRPSM != nil {
			out[h.Path] = &catalog.OCRSettings{Languages: h.OCRLanguages, PSM: h.OCRPSM}
		}
	}
	return out
}

// Meta returns the hot folders' default descriptions, by folder path.
func (in Intake) Meta() map[string]catalog.Metadata {
	out := map[string]catalog.Metadata{}
	for _, h := range in.HotFolders {
		out[h.Path], _ = catalog.MetadataFrom(h.Metadata, true)
	}
	return out
}

// Release is what happens to originals from the hot folders once stored.
func (in Intake) Release() catalog.Release {
	if in.RemoveOriginals {
		return catalog.ReleaseDelete
	}
	return catalog.ReleaseMove
}

// Validate checks the section: the watcher's settings, and that done and
// failed folders are set and apart from the hot folders.
func (in Intake) Validate() error {
	errs := []error{in.Watch().Validate()}
	for i, h := range in.HotFolders {
		if _, merrs := catalog.MetadataFrom(h.Metadata, true); len(merrs) > 0 {
			errs = append(errs, fmt.Errorf("intake.hot_folders[%d].metadata: %w", i, errors.Join(merrs...)))
		}
		if err := ocr.CheckLanguages(h.OCRLanguages); err != nil {
			errs = append(errs, fmt.Errorf("intake.hot_folders[%d].ocr_languages: %w", i, err))
		}
	}
	for _, d := range []struct{ key, path string }{{"done_dir", in.DoneDir}, {"failed_dir", in.FailedDir}} {
		if !filepath.IsAbs(d.path) {
			errs = append(errs, fmt.Errorf("intake.%s %q: must be set (an absolute path, or relative to the config file)", d.key, d.path))
			continue
		}
		for i, h := range in.HotFolders {
			if filepath.IsAbs(h.Path) && (intake.Within(d.path, h.Path) || intake.Within(h.Path, d.path)) {
				errs = append(errs, fmt.Errorf("intake.hot_folders[%d].path %q and intake.%s %q must not contain each other", i, h.Path, d.key, d.path))
			}
		}
	}
	return errors.Join(errs...)
}

// Formats holds the format policy.
type Formats struct {
	Policy identify.Policy `yaml:"policy"`
}

// Load reads the defaults and, if path is not "", the file at path on top.
// Relative paths are resolved against the file's folder (the working
// directory for the defaults).
func Load(path string) (*Config, error) {
	var c Config
	if err := decode(defaults, &c); err != nil {
		return nil, fmt.Errorf("config: embedded defaults: %w", err)
	}
	base, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		// A list in the file replaces the default list (yaml.v3 decodes a
		// sequence into a new slice); a file without hot_folders keeps it.
		if err := decode(b, &c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		base, c.Source = filepath.Dir(abs), abs
	}
	if err := c.resolve(base); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		where := "defaults"
		if path != "" {
			where = path
		}
		return nil, fmt.Errorf("config %s: %w", where, err)
	}
	return &c, nil
}

func decode(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)                                            // unknown keys are errors, named by the decoder
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return keyed(err, b)
	}
	return nil
}

func (c *Config) resolve(base string) error {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.SharedDir)
	if c.SharedDir == "" {
		c.SharedDir = c.DataDir
	}
	abs(&c.Intake.DoneDir)
	abs(&c.Intake.FailedDir)
	if c.HTTP.TLSCert != "" {
		abs(&c.HTTP.TLSCert)
		abs(&c.HTTP.TLSKey)
	}
	for i := range c.Intake.HotFolders {
		abs(&c.Intake.HotFolders[i].Path)
	}
	for _, sc := range []*storage.Config{&c.Storage, &c.Retention.Transfer} {
		if sc.URL == "" {
			continue
		}
		u, err := url.Parse(sc.URL)
		if err != nil {
			return fmt.Errorf("config: storage url %q: %w", sc.URL, err)
		}
		if u.Scheme == "file" && u.Opaque != "" { // file:relative/path
			p := u.Opaque
			abs(&p)
			sc.URL = (&url.URL{Scheme: "file", Path: p}).String()
		}
	}
	return nil
}

// Validate checks every section and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data_dir %q: must be set", c.DataDir))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format %q: want text or json", c.LogFormat))
	}
	errs = append(errs, c.Retention.Validate(), c.schedulesNamed(), c.Quality.Validate(), pipeline.CheckRoles(c.Roles))
	errs = append(errs, c.Catalog.Validate(), c.Storage.Validate(), c.Access.Validate(), c.Intake.Validate(), c.Bag.Validate(), c.Pipeline.Validate(), c.Formats.Policy.Validate(), c.Audit.Validate(), c.HTTP.Validate(), push.Validate(c.Push, c.Stations))
	return errors.Join(errs...)
}

// schedulesNamed checks that every retention schedule a default
// description names (bag.metadata, a hot folder's, a station's) is one of
// retention.schedules.
func (c *Config) schedulesNamed() error {
	var errs []error
	check := func(at string, meta map[string]string) {
		for k, v := range meta {
			if f, ok := catalog.FieldNamed(k); ok && f.Name == "retention" && v != "" {
				if _, ok := c.Retention.Find(v); !ok {
					errs = append(errs, fmt.Errorf("%s.%s %q: no such schedule in retention.schedules", at, k, v))
				}
			}
		}
	}
	check("bag.metadata", c.Bag.Metadata)
	for i, h := range c.Intake.HotFolders {
		check(fmt.Sprintf("intake.hot_folders[%d].metadata", i), h.Metadata)
	}
	for i, s := range c.Stations {
		check(fmt.Sprintf("stations[%d].metadata", i), s.Metadata)
	}
	return errors.Join(errs...)
}

// Level parses log_level.
func (c *Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		return l, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}
