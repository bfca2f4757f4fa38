package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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

// TestEveryKeyDocumented: every key the configuration takes, read from the
// structs' yaml tags, is in configs/strongroom.yaml (set to its default, or
// shown in a comment where it has none, as a hot folder's overrides), so
// the documented defaults cannot drift from what strongroom reads. (A key
// in the file that the structs do not take fails TestDefaultsLoad.)
func TestEveryKeyDocumented(t *testing.T) {
	doc := string(Defaults())
	var missing []string
	for _, key := range yamlKeys(reflect.TypeOf(Config{}), "") {
		name := key[strings.LastIndex(key, ".")+1:]
		if !regexp.MustCompile(`(?m)(^[ \t#-]*|[{,] *)` + regexp.QuoteMeta(name) + `:`).MatchString(doc) {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		t.Errorf("keys strongroom reads that configs/strongroom.yaml does not document: %q", missing)
	}
}

// yamlKeys lists the dotted yaml keys of a struct type, inline structs
// flattened, lists of structs as key[].
func yamlKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.Contains(opts, "inline") {
			out = append(out, yamlKeys(ft, prefix)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + name
		out = append(out, key)
		switch {
		case ft.Kind() == reflect.Struct && ft.PkgPath() != "time":
			out = append(out, yamlKeys(ft, key+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, yamlKeys(ft.Elem(), key+"[].")...)
		}
	}
	return out
}
