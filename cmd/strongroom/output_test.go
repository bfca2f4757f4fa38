package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// TestOneJSON: the CLI's JSON was not one language (Go field names beside
// snake_case, show indented and lists in lines, no --json on items,
// alerts, config or version, nothing said of an empty result). Every
// command that lists or shows takes --json and prints JSON Lines, one
// object a line, with snake_case keys all the way down; an empty list
// prints nothing and says so on stderr.
func TestOneJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	p := filepath.Join(dir, "in", "page.png")
	clitest.PNG(t, p, 40, 30)
	out, _, code := clitest.Run(t, dir, "ingest", "--config", cfg, p)
	var il ingestLine
	if json.Unmarshal([]byte(out), &il); code != 0 || il.Bag == "" {
		t.Fatalf("ingest: %d %s", code, out)
	}
	for _, args := range [][]string{
		{"ingest", "--config", cfg, p}, // again: a duplicate alert, for the alerts below
		{"alerts", "list", "--json"},
		{"alerts", "show", "1", "--json"},
		{"bags", "list", "--json"},
		{"bags", "show", il.Bag, "--json"},
		{"items", "list", "--all", "--json"},
		{"items", "show", il.ID, "--json"},
		{"version", "--json"},
		{"config", "--json"},
		{"identify", "--config", cfg, p},
	} {
		if args[0] != "ingest" && args[0] != "version" && args[0] != "identify" {
			args = append(args, "--config", cfg)
		}
		out, errs, code := clitest.Run(t, dir, args...)
		if code != 0 || out == "" {
			t.Errorf("%s: exit %d, %q %s", strings.Join(args[:2], " "), code, out, errs)
			continue
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Errorf("%s: a line that is not a JSON object: %v\n%s", strings.Join(args[:2], " "), err, line)
				continue
			}
			if bad := testenv.NotSnakeCase(v, "modules", "info", "mime", "puid"); len(bad) > 0 {
				t.Errorf("%s: keys not in snake_case: %q", strings.Join(args[:2], " "), bad)
			}
		}
	}
	// Empty results: nothing on stdout, a word on stderr, exit 0.
	for _, args := range [][]string{
		{"alerts", "list", "--state", "resolved", "--json"},
		{"items", "list", "--json"},
		{"bags", "list", "--collection", "nothing-here", "--json"},
		{"search", "--json", "zebrafish"},
	} {
		out, errs, code := clitest.Run(t, dir, append(args, "--config", cfg)...)
		if code != 0 || out != "" || strings.TrimSpace(errs) == "" {
			t.Errorf("%s with nothing to list: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
	}
}

// TestIngestProgressOnTerminal: on a terminal (script gives the command
// one), ingest draws each access copy's pages as they are made; its stdout
// stays the JSON line.
func TestIngestProgressOnTerminal(t *testing.T) {
	script := testenv.Tool(t, "script")
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	book := filepath.Join(dir, "in", "book")
	clitest.PNG(t, filepath.Join(book, "p1.png"), 30, 20)
	clitest.PNG(t, filepath.Join(book, "p2.png"), 31, 20)
	cmd := exec.Command(script, "-qec", strings.Join([]string{clitest.Bin, "ingest", "--config", cfg, book}, " "), "/dev/null")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), ": page 1 of 2, about ") || !strings.Contains(string(out), ": page 2 of 2, about 0s left") || !strings.Contains(string(out), `"status":"stored"`) {
		t.Errorf("no progress line on the terminal:\n%q", out)
	}
	// The audit of what was stored says how far it is too, and its
	// results are not run into the progress line.
	cmd = exec.Command(script, "-qec", strings.Join([]string{clitest.Bin, "audit", "--config", cfg, "--all"}, " "), "/dev/null")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !regexp.MustCompile(`audit: 1 of 1 bags, [\d.]+ MiB of [\d.]+ MiB, [\d.]+ MiB/s, about 0s left`).Match(out) ||
		!regexp.MustCompile(`\r\x1b\[K\{"bag":"[^"]+","status":"intact"`).Match(out) {
		t.Errorf("the audit's progress on the terminal:\n%q", out)
	}
}
