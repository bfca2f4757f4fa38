package catalog

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Metadata is an item's description as a catalogue shows it: the usual
// Dublin Core fields, where it came from (station, operator), and the
// rights that decide who may see it. It is written to bag-info.txt and
// kept here, where it can be corrected (a PREMIS metadata modification
// event records each change).
type Metadata struct {
	Title       string `json:"title,omitempty"`
	Identifier  string `json:"identifier,omitempty"`
	Date        string `json:"date,omitempty"` // as written: 1923, 1923-04, 1923-04-05, or a range
	Creator     string `json:"creator,omitempty"`
	Description string `json:"description,omitempty"`
	Collection  string `json:"collection,omitempty"`
	Station     string `json:"station,omitempty"`
	Operator    string `json:"operator,omitempty"`
	// Rights is a rightsstatements.org or Creative Commons URI.
	Rights string      `json:"rights,omitempty"`
	Access AccessLevel `json:"access,omitempty"`
	// EmbargoUntil (YYYY-MM-DD): until this day only staff see the
	// content, whatever the access level.
	EmbargoUntil string `json:"embargo_until,omitempty"`
	// Retention is the code of the retention schedule the item falls under
	// (retention.schedules); Closed (YYYY-MM-DD) the day its record was
	// closed, for schedules that run from then.
	Retention string `json:"retention,omitempty"`
	Closed    string `json:"closed,omitempty"`
}

// AccessLevel says who may see an item: anyone (open, when the server is
// public), signed-in readers (restricted), or staff only (closed).
type AccessLevel string

const (
	AccessOpen       AccessLevel = "open"
	AccessRestricted AccessLevel = "restricted"
	AccessClosed     AccessLevel = "closed"
)

// AccessLevels lists the levels, most open first.
var AccessLevels = []AccessLevel{AccessOpen, AccessRestricted, AccessClosed}

// Valid reports whether a is an access level.
func (a AccessLevel) Valid() bool { return slices.Contains(AccessLevels, a) }

// EvMetadataModification records a change to an item's description.
const EvMetadataModification EventType = "metadata modification"

// Field is one metadata field: its name in metadata files and the API
// (Dublin Core where there is one), its bag-info.txt label, and where it
// lives in Metadata.
type Field struct {
	Name  string
	Label string
	Ptr   func(*Metadata) *string
}

// Fields lists the metadata fields in the order bag-info.txt and pages
// show them. Access is a typed level, reached through its string.
var Fields = []Field{
	{"title", "Title", func(m *Metadata) *string { return &m.Title }},
	{"identifier", "External-Identifier", func(m *Metadata) *string { return &m.Identifier }},
	{"date", "Date", func(m *Metadata) *string { return &m.Date }},
	{"creator", "Creator", func(m *Metadata) *string { return &m.Creator }},
	{"description", "External-Description", func(m *Metadata) *string { return &m.Description }},
	{"collection", "Collection", func(m *Metadata) *string { return &m.Collection }},
	{"station", "Scanner-Station", func(m *Metadata) *string { return &m.Station }},
	{"operator", "Operator", func(m *Metadata) *string { return &m.Operator }},
	{"rights", "Rights-Statement", func(m *Metadata) *string { return &m.Rights }},
	{"access", "Access-Restriction", func(m *Metadata) *string { return (*string)(&m.Access) }},
	{"embargo_until", "Embargo-Until", func(m *Metadata) *string { return &m.EmbargoUntil }},
	{"retention", "Retention-Schedule", func(m *Metadata) *string { return &m.Retention }},
	{"closed", "Date-Closed", func(m *Metadata) *string { return &m.Closed }},
}

// FieldNamed finds a field by any name people write for it: the API name
// (title), the Dublin Core element (dc.title, dcterms.title), the bag-info
// label (Title, External-Identifier), in any case. A few common synonyms
// are accepted (rights_statement, access_level, embargo).
func FieldNamed(name string) (Field, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, p := range []string{"dc.", "dcterms.", "dc:", "dcterms:"} {
		n = strings.TrimPrefix(n, p)
	}
	switch n {
	case "rights_statement", "rights-statement", "license", "licence":
		n = "rights"
	case "access_level", "access-level", "access-restriction", "accessrights":
		n = "access"
	case "embargo", "embargo-until", "embargo_date":
		n = "embargo_until"
	case "retention_schedule", "retention-schedule", "schedule":
		n = "retention"
	case "date_closed", "date-closed", "closed_date":
		n = "closed"
	case "ispartof", "is_part_of":
		n = "collection"
	case "scanner-station":
		n = "station"
	}
	for _, f := range Fields {
		if n == f.Name || n == strings.ToLower(f.Label) {
			return f, true
		}
	}
	return Field{}, false
}

// Set sets the field called name to v, checking it; it reports whether
// name is a metadata field at all.
func (m *Metadata) Set(name, v string) (bool, error) {
	f, ok := FieldNamed(name)
	if !ok {
		return false, nil
	}
	v = strings.TrimSpace(v)
	if err := CheckValue(v); err != nil {
		return true, fmt.Errorf("metadata %s: %w", f.Name, err)
	}
	switch f.Name {
	case "access":
		if v != "" && !AccessLevel(strings.ToLower(v)).Valid() {
			return true, fmt.Errorf("metadata access %q: want open, restricted or closed", v)
		}
		v = strings.ToLower(v)
	case "rights":
		if err := CheckRights(v); err != nil {
			return true, err
		}
	case "embargo_until", "closed":
		if _, err := time.Parse(time.DateOnly, v); v != "" && err != nil {
			return true, fmt.Errorf("metadata %s %q: want a date, YYYY-MM-DD", f.Name, v)
		}
	case "retention":
		if v != "" && !scheduleCode.MatchString(v) {
			return true, fmt.Errorf("metadata retention %q: want a schedule code (letters, digits, . _ -)", v)
		}
	}
	*f.Ptr(m) = v
	return true, nil
}

// scheduleCode is the form of a retention schedule's code.
var scheduleCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// maxValue bounds one field's value: a description, not a document.
const maxValue = 8 << 10

// CheckValue refuses in a description's value (or a legal hold's reason)
// what would break bag-info.txt, a page or a log line: invalid UTF-8, a
// value of more than one line (line breaks, and U+2028 and U+2029, which
// some readers take as line breaks), control characters (NUL among them)
// and values over maxValue bytes.
func CheckValue(v string) error {
	switch {
	case !utf8.ValidString(v):
		return errors.New("not valid UTF-8")
	case len(v) > maxValue:
		return fmt.Errorf("%d bytes: at most %d", len(v), maxValue)
	case strings.ContainsAny(v, "\r\n\u2028\u2029\u0085"):
		return errors.New("one line only")
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\t' {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// Get returns the value of the field called name.
func (m *Metadata) Get(name string) string {
	if f, ok := FieldNamed(name); ok {
		return *f.Ptr(m)
	}
	return ""
}

// Merge sets every field of o that is not empty.
func (m *Metadata) Merge(o Metadata) {
	for _, f := range Fields {
		if v := *f.Ptr(&o); v != "" {
			*f.Ptr(m) = v
		}
	}
}

// Changes lists the fields that differ from old to m, as "name: old → new".
func (m *Metadata) Changes(old Metadata) []string {
	var out []string
	for _, f := range Fields {
		if a, b := *f.Ptr(&old), *f.Ptr(m); a != b {
			out = append(out, fmt.Sprintf("%s: %q → %q", f.Name, a, b))
		}
	}
	return out
}

// Year is the first four-digit year of Date, or 0.
func (m *Metadata) Year() int {
	d := m.Date
	for i := 0; i+4 <= len(d); i++ {
		y := 0
		ok := true
		for _, c := range d[i : i+4] {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			y = y*10 + int(c-'0')
		}
		if ok && (i+4 == len(d) || d[i+4] < '0' || d[i+4] > '9') {
			return y
		}
	}
	return 0
}

// Embargoed reports whether the item's content is under embargo at now.
func (m *Metadata) Embargoed(now time.Time) bool {
	return m.EmbargoUntil != "" && now.UTC().Format(time.DateOnly) < m.EmbargoUntil
}

// CheckRights accepts a rightsstatements.org statement URI or a Creative
// Commons licence or public-domain tool URI ("" is no statement).
func CheckRights(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		switch {
		case u.Host == "rightsstatements.org" && strings.HasPrefix(u.Path, "/vocab/"):
			return nil
		case u.Host == "creativecommons.org" && (strings.HasPrefix(u.Path, "/licenses/") || strings.HasPrefix(u.Path, "/publicdomain/")):
			return nil
		}
	}
	return fmt.Errorf("metadata rights %q: want a rightsstatements.org URI (http://rightsstatements.org/vocab/InC/1.0/) or a Creative Commons licence URI", v)
}

// MetadataFrom reads fields as people write them (see FieldNamed). It
// returns what it could read and an error for each field it could not:
// an unknown name (when strict) or a bad value.
func MetadataFrom(fields map[string]string, strict bool) (Metadata, []error) {
	var m Metadata
	return m, m.SetAll(fields, strict)
}

// SetAll sets every field in fields (in name order), as Set does; it
// returns an error for each it could not set: a bad value, or an unknown
// name when strict.
func (m *Metadata) SetAll(fields map[string]string, strict bool) []error {
	var errs []error
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		known, err := m.Set(k, fields[k])
		switch {
		case err != nil:
			errs = append(errs, err)
		case !known && strict:
			errs = append(errs, fmt.Errorf("metadata %q: not a field (want one of title, identifier, date, creator, description, collection, station, operator, rights, access, embargo_until)", k))
		}
	}
	return errs
}
