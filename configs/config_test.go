package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultsLoad(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if c.DataDir != filepath.Join(wd, "var/data") || c.Storage.URL != "file://"+filepath.Join(wd, "var/store") {
		t.Errorf("defaults not resolved against the working directory: %s %s", c.DataDir, c.Storage.URL)
	}
	if c.Intake.Settle <= 0 || len(c.Intake.HotFolders) != 1 || c.Bag.SourceOrganization == "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	for _, c := range []struct {
		name, yaml, wantErr string
	}{
		{"minimal", "intake:\n  hot_folders: [{path: in, batch_marker: .done}]\n", ""},
		{"unknown top key", "colour: blue\n", "colour"},
		{"storage only", "storage:\n  url: s3://bucket/prefix\n  s3: {endpoint: 127.0.0.1:9000}\n", "-keeps-defaults"},
		{"unknown nested key", "intake:\n  setle: 5s\n", "setle"},
		{"bad duration", "intake:\n  settle: soon\n", "line 2"},
		{"bad action", "formats:\n  policy:\n    mime: {image/png: burn}\n", "burn"},
		{"bad algorithm", "bag:\n  algorithms: [crc32]\n", "crc32"},
		{"done inside hot", "intake:\n  hot_folders: [{path: in}]\n  done_dir: in/done\n", "must not contain each other"},
		{"no organisation", "bag:\n  source_organization: \"\"\n", "source_organization"},
		{"bad log level", "log_level: loud\n", "log_level"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(write(c.yaml))
			if c.wantErr == "-keeps-defaults" {
				if err != nil || len(cfg.Intake.HotFolders) != 1 || cfg.Storage.S3.Endpoint != "127.0.0.1:9000" {
					t.Fatalf("%v %+v", err, cfg)
				}
				return
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(cfg.Intake.HotFolders) != 1 || cfg.Intake.HotFolders[0].Path != filepath.Join(dir, "in") || cfg.Intake.Folders()[0].BatchMarker != ".done" {
					t.Errorf("hot folder not resolved against the config file: %+v", cfg.Intake.HotFolders)
				}
				if !strings.HasPrefix(cfg.Storage.URL, "file://"+dir) {
					t.Errorf("storage url %s", cfg.Storage.URL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one naming %q", err, c.wantErr)
			}
		})
	}
}
