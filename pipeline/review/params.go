package review

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// badParam is a query parameter out of its range, not a number, or not a
// word it takes: the request is answered 400 and names it, never clamped
// into something the caller did not ask for, and never passed on to
// arithmetic that could overflow (an offset near MaxInt once panicked the
// search).
type badParam struct {
	name, value string
	want        string // what it takes
}

func (e *badParam) Error() string {
	return fmt.Sprintf("%s=%q: want %s", e.name, e.value, e.want)
}

// The ranges of the numeric parameters every route shares.
const (
	maxOffset = 1_000_000 // far past any listing a person pages through
	maxPage   = 1_000_000 // pages of one PDF
	maxWidth  = 10_000    // pixels of a page image asked for
	maxYear   = 9999
)

// intParam reads parameter name of v as an integer in [lo, hi]; absent or
// empty, it is def.
func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, &badParam{name: name, value: s, want: fmt.Sprintf("a whole number from %d to %d", lo, hi)}
	}
	return n, nil
}

// intParams reads several parameters into their targets, stopping at the
// first bad one.
func intParams(v url.Values, ps ...param) error {
	for _, p := range ps {
		n, err := intParam(v, p.name, p.def, p.lo, p.hi)
		if err != nil {
			return err
		}
		*p.to = n
	}
	return nil
}

// param is one numeric parameter for intParams.
type param struct {
	name        string
	to          *int
	def, lo, hi int
}
