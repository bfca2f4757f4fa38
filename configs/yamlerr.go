package configs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML decoder reports a value of the wrong type by line and Go type
// only ("line 3: cannot unmarshal !!str `two` into int"). keyed says which
// key it is and what it wants: `pipeline.workers: "two" is not a whole
// number (line 3)`.

var typeErr = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+) `(.*)` into (.+)$")

// wants names what a Go type of the configuration takes.
var wants = map[string]string{
	"int": "a whole number", "int64": "a whole number", "uint32": "a whole number", "float64": "a number",
	"bool": "true or false", "string": "text", "time.Duration": "a duration (90s, 5m, 2h)",
	"[]string": "a list", "map[string]string": "a mapping of keys to text",
}

func keyed(err error, src []byte) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var root yaml.Node
	if yaml.Unmarshal(src, &root) != nil {
		return err
	}
	keys := map[int]string{} // line of a value → its key's path
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				keys[n.Content[i+1].Line] = p
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := keys[c.Line]; !ok {
					keys[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(&root, "")
	var out []error
	for _, msg := range te.Errors {
		m := typeErr.FindStringSubmatch(msg)
		if m == nil {
			out = append(out, errors.New(msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		key, ok := keys[line]
		if !ok || strings.HasPrefix(m[4], "configs.Config") {
			key = "the file"
		}
		want, ok := wants[m[4]]
		if !ok { // a section or a list where a value was written, or the reverse
			want = "a section of its own keys"
			if strings.HasPrefix(m[4], "[]") {
				want = "a list"
			}
		}
		if key == "the file" {
			out = append(out, fmt.Errorf("line %s: the file is not a mapping of keys (key: value lines)", m[1]))
			continue
		}
		out = append(out, fmt.Errorf("%s: %s is not %s (line %s)", key, strconv.Quote(m[3]), want, m[1]))
	}
	return errors.Join(out...)
}
