package review

import (
	"strconv"
	"unicode/utf8"
)

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// shorten cuts s to at most n bytes, on a character boundary, marking the
// cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
