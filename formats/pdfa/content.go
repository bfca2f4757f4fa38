package pdfa

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// A content stream is read here as operands and operators, which is all
// the checks need: which operators a stream uses, on which colour spaces,
// resources and inline images. Nothing is drawn.

// tokenKind is the kind of a content-stream token.
type tokenKind uint8

const (
	tNumber tokenKind = iota
	tName
	tString
	tArray
	tDict
	tKeyword // an operator, or true, false, null
)

type token struct {
	kind  tokenKind
	text  string  // names: decoded, without the slash; keywords and numbers: as written
	items []token // arrays: elements; dicts: key, value, key, value …
}

// dictValue returns the value of key in a dict token (its items are pairs).
func (t token) dictValue(key string) (token, bool) {
	for i := 0; i+1 < len(t.items); i += 2 {
		if t.items[i].kind == tName && t.items[i].text == key {
			return t.items[i+1], true
		}
	}
	return token{}, false
}

// operators are ISO 32000-1's content stream operators (Annex A).
var operators = map[string]bool{}

func init() {
	for _, op := range []string{"b", "B", "b*", "B*", "BDC", "BI", "BMC", "BT", "BX", "c", "cm", "CS", "cs", "d", "d0", "d1", "Do", "DP", "EI",
		"EMC", "ET", "EX", "f", "F", "f*", "G", "g", "gs", "h", "i", "ID", "j", "J", "K", "k", "l", "m", "M", "MP", "n", "q", "Q", "re", "RG", "rg",
		"ri", "s", "S", "SC", "sc", "SCN", "scn", "sh", "T*", "Tc", "Td", "TD", "Tf", "Tj", "TJ", "TL", "Tm", "Tr", "Ts", "Tw", "Tz", "v", "w", "W",
		"W*", "y", "'", `"`} {
		operators[op] = true
	}
}

// scanContent calls fn for each operator of a content stream, with its
// operands. For an inline image the operator is "BI" and the single
// operand is its dictionary (abbreviated keys as written).
func scanContent(b []byte, fn func(op string, args []token) error) error {
	s := &scanner{b: b}
	var args []token
	for {
		t, err := s.next()
		if err != nil {
			return err
		}
		if t == nil {
			return nil
		}
		if t.kind != tKeyword || t.text == "true" || t.text == "false" || t.text == "null" {
			args = append(args, *t)
			continue
		}
		if t.text == "BI" {
			dict, err := s.inlineImage()
			if err != nil {
				return err
			}
			args = []token{dict}
		}
		if err := fn(t.text, args); err != nil {
			return err
		}
		args = args[:0]
	}
}

type scanner struct {
	b   []byte
	pos int
}

var errSyntax = errors.New("content stream syntax error")

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}
func isDelim(c byte) bool { return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0 }

func (s *scanner) skipSpace() {
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case isSpace(c):
			s.pos++
		case c == '%':
			for s.pos < len(s.b) && s.b[s.pos] != '\n' && s.b[s.pos] != '\r' {
				s.pos++
			}
		default:
			return
		}
	}
}

func (s *scanner) regular() string {
	start := s.pos
	for s.pos < len(s.b) && !isSpace(s.b[s.pos]) && !isDelim(s.b[s.pos]) {
		s.pos++
	}
	return string(s.b[start:s.pos])
}

// next returns the next token, nil at the end.
func (s *scanner) next() (*token, error) {
	s.skipSpace()
	if s.pos >= len(s.b) {
		return nil, nil
	}
	c := s.b[s.pos]
	switch {
	case c == '/':
		s.pos++
		return &token{kind: tName, text: decodeName(s.regular())}, nil
	case c == '(':
		return s.str()
	case c == '<' && s.pos+1 < len(s.b) && s.b[s.pos+1] == '<':
		s.pos += 2
		return s.collect(tDict, ">>")
	case c == '<':
		end := bytes.IndexByte(s.b[s.pos:], '>')
		if end < 0 {
			return nil, fmt.Errorf("%w: unterminated hex string", errSyntax)
		}
		t := &token{kind: tString, text: string(s.b[s.pos : s.pos+end+1])}
		s.pos += end + 1
		return t, nil
	case c == '[':
		s.pos++
		return s.collect(tArray, "]")
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		return nil, fmt.Errorf("%w: unexpected %q at byte %d", errSyntax, c, s.pos)
	}
	w := s.regular()
	if w == "" {
		return nil, fmt.Errorf("%w at byte %d", errSyntax, s.pos)
	}
	if _, err := strconv.ParseFloat(w, 64); err == nil || c == '.' || c == '-' || c == '+' || c >= '0' && c <= '9' {
		return &token{kind: tNumber, text: w}, nil
	}
	return &token{kind: tKeyword, text: w}, nil
}

// collect reads tokens up to the closing delimiter end ("]" or ">>").
func (s *scanner) collect(kind tokenKind, end string) (*token, error) {
	t := &token{kind: kind}
	for {
		s.skipSpace()
		if s.pos >= len(s.b) {
			return nil, fmt.Errorf("%w: unterminated %s", errSyntax, map[tokenKind]string{tArray: "array", tDict: "dictionary"}[kind])
		}
		if bytes.HasPrefix(s.b[s.pos:], []byte(end)) {
			s.pos += len(end)
			return t, nil
		}
		item, err := s.next()
		if err != nil {
			return nil, err
		}
		t.items = append(t.items, *item)
	}
}

// str reads a literal string, balanced parentheses and escapes included.
func (s *scanner) str() (*token, error) {
	start, depth := s.pos, 0
	for ; s.pos < len(s.b); s.pos++ {
		switch s.b[s.pos] {
		case '\\':
			s.pos++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				s.pos++
				return &token{kind: tString, text: string(s.b[start:s.pos])}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: unterminated string", errSyntax)
}

// inlineImage reads an inline image's dictionary up to ID, and skips its
// data up to EI.
func (s *scanner) inlineImage() (token, error) {
	dict := token{kind: tDict}
	for {
		t, err := s.next()
		if err != nil {
			return dict, err
		}
		if t == nil {
			return dict, fmt.Errorf("%w: inline image without ID", errSyntax)
		}
		if t.kind == tKeyword && t.text == "ID" {
			break
		}
		dict.items = append(dict.items, *t)
	}
	s.pos++ // the one white-space character after ID
	// The data ends at EI between white space (or the end): binary data
	// may hold "EI" elsewhere, so each candidate must be followed by white
	// space or the stream's end.
	for i := s.pos; i+2 <= len(s.b); i++ {
		if s.b[i] == 'E' && s.b[i+1] == 'I' && i > s.pos && isSpace(s.b[i-1]) && (i+2 == len(s.b) || isSpace(s.b[i+2])) {
			s.pos = i + 2
			return dict, nil
		}
	}
	return dict, fmt.Errorf("%w: inline image without EI", errSyntax)
}

// decodeName undoes #xx escapes in a name.
func decodeName(n string) string {
	if !bytes.Contains([]byte(n), []byte("#")) {
		return n
	}
	var b []byte
	for i := 0; i < len(n); i++ {
		if n[i] == '#' && i+2 < len(n) {
			if v, err := strconv.ParseUint(n[i+1:i+3], 16, 8); err == nil {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, n[i])
	}
	return string(b)
}
