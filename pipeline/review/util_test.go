package review

import (
	"testing"
	"unicode/utf8"
)

// TestShortenKeepsCharacters: a title cut for a table is cut between
// characters, never inside one (issue 28 item 7, "cuts UTF-8 mid-character").
func TestShortenKeepsCharacters(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Kirkwall", 16, "Kirkwall"},
		{"Føroya landsstýri", 2, "F…"},
		{"Føroya landsstýri", 3, "Fø…"},
		{"東京都公文書館", 4, "東…"},
		{"東京都公文書館", 2, "…"},
		{"ǅemal 🇫🇴", 10, "ǅemal …"},
		{"ǅemal 🇫🇴", 11, "ǅemal \U0001F1EB…"},
	} {
		got := shorten(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("shorten(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
