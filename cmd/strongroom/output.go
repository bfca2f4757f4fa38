package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// One JSON for every command: with --json, what a command lists is JSON
// Lines (one compact object per line) and what it shows is one object on
// one line; keys are snake_case, as on the API. An empty list prints
// nothing on stdout and says so on stderr, so that an empty answer is not
// mistaken for a wrong folder or a failure.

// printLines prints each value as one JSON line.
func printLines[T any](vs []T) error {
	enc := json.NewEncoder(os.Stdout)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// printShown prints one record: a JSON line with --json, else indented
// for a reader.
func printShown(v any, asJSON bool) error {
	enc := json.NewEncoder(os.Stdout)
	if !asJSON {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// sayEmpty tells stderr that a list has nothing in it.
func sayEmpty(n int, what string) {
	if n == 0 {
		fmt.Fprintln(os.Stderr, what)
	}
}
