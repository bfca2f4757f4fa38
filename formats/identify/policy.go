package identify

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what the pipeline does with a file of a given format.
type Action string

// The actions a format policy can name.
const (
	// Normalise OCRs the item and makes a PDF/A access copy beside the
	// original (formats that cannot be decoded here are kept as they are,
	// with a warning).
	Normalise Action = "normalise"
	Preserve  Action = "preserve" // keep the original as is
	Reject    Action = "reject"   // fail the item
)

func (a Action) valid() bool { return a == Normalise || a == Preserve || a == Reject }

// Policy maps formats to actions: an exact PUID wins, then the MIME type,
// then Default for identified formats and Unknown for unidentified ones.
type Policy struct {
	PUID    map[string]Action `yaml:"puid"`
	MIME    map[string]Action `yaml:"mime"`
	Default Action            `yaml:"default"`
	Unknown Action            `yaml:"unknown"`
}

// Validate checks every action name.
func (p Policy) Validate() error {
	var errs []error
	check := func(where string, a Action) {
		if !a.valid() {
			errs = append(errs, fmt.Errorf("formats.policy.%s: unknown action %q (want normalise, preserve or reject)", where, a))
		}
	}
	for k, a := range p.PUID {
		check("puid."+k, a)
	}
	for k, a := range p.MIME {
		check("mime."+k, a)
	}
	check("default", p.Default)
	check("unknown", p.Unknown)
	return errors.Join(errs...)
}

// Rules that Decide names when no format matched.
const (
	RuleUnknown       = "unknown format"
	RuleExtensionOnly = "extension-only match counts as unknown"
)

// Decide returns the action for r and the rule that chose it. A match on
// the file name's extension alone is no identification, so it counts as
// unknown: a renamed file must not pass as what its name claims.
func (p Policy) Decide(r Result) (Action, string) {
	if !r.Known() {
		return p.Unknown, RuleUnknown
	}
	if strings.Contains(r.Warning, "match on extension only") {
		return p.Unknown, RuleExtensionOnly
	}
	if a, ok := p.PUID[r.PUID]; ok {
		return a, "puid " + r.PUID
	}
	mime := strings.ToLower(strings.TrimSpace(strings.SplitN(r.MIME, ";", 2)[0]))
	if a, ok := p.MIME[mime]; ok && mime != "" {
		return a, "mime " + mime
	}
	return p.Default, "default"
}
