package main

import (
	"slices"
	"testing"
)

// TestReorder: flags may come after the positional arguments. A boolean
// flag never takes the next argument as its value: `restore BAK --force
// --config c.yaml` once read --config as --force's value and c.yaml as a
// second backup.
func TestReorder(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		config string
		force  bool
		pos    []string
	}{
		{[]string{"--force", "--config", "c.yaml", "bak"}, "c.yaml", true, []string{"bak"}},
		{[]string{"bak", "--force", "--config", "c.yaml"}, "c.yaml", true, []string{"bak"}},
		{[]string{"bak", "--config", "c.yaml", "--force"}, "c.yaml", true, []string{"bak"}},
		{[]string{"--config=c.yaml", "bak", "--json"}, "c.yaml", false, []string{"bak"}},
		{[]string{"bak", "--", "--force"}, "", false, []string{"bak", "--force"}},
		{[]string{"bak", "-5"}, "", false, nil}, // an unknown flag is an error (nil: want one)
	} {
		fs := newFlags("t", "", "")
		config := fs.String("config", "", "")
		force := fs.Bool("force", false, "")
		fs.Bool("json", false, "")
		err := parse(fs, reorder(fs, tc.args))
		if tc.pos == nil {
			if err == nil {
				t.Errorf("%q: no error for a flag that is not one", tc.args)
			}
			continue
		}
		if err != nil || *config != tc.config || *force != tc.force || !slices.Equal(fs.Args(), tc.pos) {
			t.Errorf("%q: config %q, force %v, args %q, %v", tc.args, *config, *force, fs.Args(), err)
		}
	}
}
