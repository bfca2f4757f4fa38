package pipeline

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// derivedFile is a file strongroom made from the originals (the access
// copy, its text, its ALTO): a PREMIS object of its own, derived from them.
type derivedFile struct {
	Path    string // payload path below data/, e.g. access/book.pdf
	Size    int64
	Digests bagit.Digests
}

// derivedFormats name the derived files' formats, by their folder.
var derivedFormats = map[string]struct{ name, version, puid string }{
	"access": {"Acrobat PDF/A - Portable Document Format", "2b", "fmt/476"},
	"text":   {"Plain Text File", "", "x-fmt/111"},
	"alto":   {"ALTO (Analyzed Layout and Text Object) XML", "4.4", ""},
}

// premisXML renders an item's objects, events and agents as PREMIS 3.0, the
// tag file premis.xml. Identifiers are local: objects by payload path,
// events by item id and sequence, agents by name. Every file of the
// payload is an object: the originals, and what was made from them, each
// made file linked to its sources (derivation: has source), and the event
// that made them linked to both, with their roles.
func premisXML(it *catalog.Item, files []catalog.File, made []derivedFile, events []catalog.Event) ([]byte, error) {
	doc := premisDoc{XMLNS: "http://www.loc.gov/premis/v3", Version: "3.0"}
	doc.Rights = premisRights(it, files)
	var sources []string // the originals the access copy was made from
	for _, f := range files {
		if f.Action == "normalise" {
			sources = append(sources, "data/"+f.Path)
		}
	}
	for _, f := range files {
		o := newPremisObject("data/"+f.Path, f.Size, bagit.Digests{bagit.SHA256: f.SHA256, bagit.SHA512: f.SHA512}, f.Format, f.FormatVersion, f.PUID)
		o.OriginalName = originalName(it, f)
		doc.Objects = append(doc.Objects, o)
	}
	var outcomes []string
	for _, d := range made {
		df := derivedFormats[strings.SplitN(d.Path, "/", 2)[0]]
		o := newPremisObject("data/"+d.Path, d.Size, d.Digests, df.name, df.version, df.puid)
		rel := premisRelationship{Type: "derivation", SubType: "has source"}
		for _, src := range sources {
			rel.Related = append(rel.Related, premisRelated{"local", src})
		}
		if len(rel.Related) > 0 {
			o.Relationships = append(o.Relationships, rel)
		}
		doc.Objects = append(doc.Objects, o)
		outcomes = append(outcomes, "data/"+d.Path)
	}
	seen := map[string]bool{}
	for i, e := range events {
		pe := premisEvent{ID: premisEventID{"local", fmt.Sprintf("%s-event-%d", it.ID, i+1)}, Type: string(e.Type),
			DateTime: e.At.UTC().Format(time.RFC3339), Detail: e.Detail, Outcome: string(e.Outcome),
			Agent: premisAgentLink{"local", e.Agent}}
		switch {
		case e.Type == catalog.EvNormalization && e.Outcome == catalog.OutcomeSuccess && len(outcomes) > 0:
			for _, src := range sources {
				pe.Objects = append(pe.Objects, premisObjectLink{"local", src, "source"})
			}
			for _, out := range outcomes {
				pe.Objects = append(pe.Objects, premisObjectLink{"local", out, "outcome"})
			}
		case e.File != "":
			pe.Objects = append(pe.Objects, premisObjectLink{Type: "local", Value: "data/" + e.File})
		}
		doc.Events = append(doc.Events, pe)
		if !seen[e.Agent] {
			seen[e.Agent] = true
			doc.Agents = append(doc.Agents, premisAgent{ID: premisAgentID{"local", e.Agent}, Name: e.Agent, Type: "software", Version: agentVersion(e.Agent)})
		}
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("premis for %s: %w", it.ID, err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func newPremisObject(id string, size int64, d bagit.Digests, format, version, puid string) premisObject {
	o := premisObject{XSI: "http://www.w3.org/2001/XMLSchema-instance", XSIType: "premis:file", ID: premisObjectID{"local", id}}
	c := &o.Chars
	for _, a := range []struct {
		alg  bagit.Algorithm
		name string
	}{{bagit.SHA256, "SHA-256"}, {bagit.SHA512, "SHA-512"}} {
		if d[a.alg] != "" {
			c.Fixity = append(c.Fixity, premisFixity{a.name, d[a.alg], "strongroom"})
		}
	}
	c.Size = size
	c.Format.Designation.Name = format
	c.Format.Designation.Version = version
	if puid != "" && puid != "UNKNOWN" {
		c.Format.Registry = &premisRegistry{"PRONOM", puid}
	}
	if c.Format.Designation.Name == "" {
		c.Format.Designation.Name = "unknown"
	}
	return o
}

// originalName is an original's name as it was received: relative to its
// hot folder, or to the folder the ingest command took it from (the
// server's own paths are not the record's business).
func originalName(it *catalog.Item, f catalog.File) string {
	base := it.HotFolder
	if base == "" {
		base = filepath.Dir(it.Source)
	}
	if rel, err := filepath.Rel(base, f.Source); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return strings.TrimPrefix(f.Path, "original/")
}

// agentVersion reads the version out of an agent's name:
// "strongroom/1.4.0 tesseract 5.3.0 (eng)" is strongroom 1.4.0 with
// Tesseract 5.3.0; "siegfried 1.11.2; pronom: …" is 1.11.2 with its
// signature files.
func agentVersion(agent string) string {
	if rest, ok := strings.CutPrefix(agent, "strongroom/"); ok {
		return rest
	}
	if _, v, ok := strings.Cut(agent, " "); ok {
		return v
	}
	return ""
}

type premisDoc struct {
	XMLName xml.Name               `xml:"premis:premis"`
	XMLNS   string                 `xml:"xmlns:premis,attr"`
	Version string                 `xml:"version,attr"`
	Objects []premisObject         `xml:"premis:object"`
	Events  []premisEvent          `xml:"premis:event"`
	Agents  []premisAgent          `xml:"premis:agent"`
	Rights  *premisRightsStatement `xml:"premis:rights>premis:rightsStatement,omitempty"`
}

// premisRights states the item's rights: its rightsstatements.org or
// Creative Commons URI (a licence for CC, "other" rights with the
// statement's URI for rightsstatements.org, which names no jurisdiction),
// and what may be done: disseminate to its access level, and not at all
// before the end of an embargo.
func premisRights(it *catalog.Item, files []catalog.File) *premisRightsStatement {
	m := it.Meta
	if m.Rights == "" && m.Access == "" && m.EmbargoUntil == "" {
		return nil
	}
	r := &premisRightsStatement{ID: premisRightsID{"local", it.ID + "-rights"}}
	switch {
	case strings.Contains(m.Rights, "creativecommons.org"):
		r.Basis, r.License = "License", &premisLicense{"URI", m.Rights}
	case m.Rights != "":
		r.Basis, r.Other = "Other", &premisOther{&premisOtherDoc{"URI", m.Rights}, "rightsstatements.org"}
	default:
		r.Basis, r.Other = "Other", &premisOther{Basis: "institutional policy"}
	}
	if m.Access != "" {
		r.Granted = append(r.Granted, premisGranted{Act: "disseminate", Restriction: string(m.Access), Note: accessNotes[m.Access]})
	}
	if m.EmbargoUntil != "" {
		r.Granted = append(r.Granted, premisGranted{Act: "disseminate", Restriction: "Disallow",
			Term: &premisTerm{Start: it.Created.UTC().Format(time.DateOnly), End: m.EmbargoUntil}, Note: "embargo: staff only until " + m.EmbargoUntil})
	}
	for _, f := range files {
		r.Objects = append(r.Objects, premisObjectLink{Type: "local", Value: "data/" + f.Path})
	}
	return r
}

var accessNotes = map[catalog.AccessLevel]string{
	catalog.AccessOpen:       "open: anyone may see the description and the access copy",
	catalog.AccessRestricted: "restricted: signed-in readers and staff",
	catalog.AccessClosed:     "closed: staff only",
}

type premisRightsID struct {
	Type  string `xml:"premis:rightsStatementIdentifierType"`
	Value string `xml:"premis:rightsStatementIdentifierValue"`
}

type premisLicense struct {
	Type  string `xml:"premis:licenseDocumentationIdentifier>premis:licenseDocumentationIdentifierType"`
	Value string `xml:"premis:licenseDocumentationIdentifier>premis:licenseDocumentationIdentifierValue"`
}

type premisOther struct {
	Doc   *premisOtherDoc `xml:"premis:otherRightsDocumentationIdentifier,omitempty"`
	Basis string          `xml:"premis:otherRightsBasis"`
}

// premisOtherDoc is where a rights statement is documented: it is there
// whole (type and value) or not at all.
type premisOtherDoc struct {
	Type  string `xml:"premis:otherRightsDocumentationIdentifierType"`
	Value string `xml:"premis:otherRightsDocumentationIdentifierValue"`
}

type premisGranted struct {
	Act         string      `xml:"premis:act"`
	Restriction string      `xml:"premis:restriction"`
	Term        *premisTerm `xml:"premis:termOfRestriction,omitempty"`
	Note        string      `xml:"premis:rightsGrantedNote,omitempty"`
}

type premisTerm struct {
	Start string `xml:"premis:startDate"`
	End   string `xml:"premis:endDate,omitempty"`
}

type premisRightsStatement struct {
	ID      premisRightsID     `xml:"premis:rightsStatementIdentifier"`
	Basis   string             `xml:"premis:rightsBasis"`
	License *premisLicense     `xml:"premis:licenseInformation,omitempty"`
	Other   *premisOther       `xml:"premis:otherRightsInformation,omitempty"`
	Granted []premisGranted    `xml:"premis:rightsGranted"`
	Objects []premisObjectLink `xml:"premis:linkingObjectIdentifier"`
}
type premisObjectID struct {
	Type  string `xml:"premis:objectIdentifierType"`
	Value string `xml:"premis:objectIdentifierValue"`
}

type premisEventID struct {
	Type  string `xml:"premis:eventIdentifierType"`
	Value string `xml:"premis:eventIdentifierValue"`
}

type premisAgentID struct {
	Type  string `xml:"premis:agentIdentifierType"`
	Value string `xml:"premis:agentIdentifierValue"`
}

type premisAgentLink struct {
	Type  string `xml:"premis:linkingAgentIdentifierType"`
	Value string `xml:"premis:linkingAgentIdentifierValue"`
}

type premisObjectLink struct {
	Type  string `xml:"premis:linkingObjectIdentifierType"`
	Value string `xml:"premis:linkingObjectIdentifierValue"`
	Role  string `xml:"premis:linkingObjectRole,omitempty"`
}

type premisRelationship struct {
	Type    string          `xml:"premis:relationshipType"`
	SubType string          `xml:"premis:relationshipSubType"`
	Related []premisRelated `xml:"premis:relatedObjectIdentifier"`
}

type premisRelated struct {
	Type  string `xml:"premis:relatedObjectIdentifierType"`
	Value string `xml:"premis:relatedObjectIdentifierValue"`
}

type premisFixity struct {
	Algorithm  string `xml:"premis:messageDigestAlgorithm"`
	Digest     string `xml:"premis:messageDigest"`
	Originator string `xml:"premis:messageDigestOriginator"`
}

type premisRegistry struct {
	Name string `xml:"premis:formatRegistryName"`
	Key  string `xml:"premis:formatRegistryKey"`
}

type premisObject struct {
	XSI     string         `xml:"xmlns:xsi,attr"`
	XSIType string         `xml:"xsi:type,attr"`
	ID      premisObjectID `xml:"premis:objectIdentifier"`
	Chars   struct {
		Level  int            `xml:"premis:compositionLevel"`
		Fixity []premisFixity `xml:"premis:fixity"`
		Size   int64          `xml:"premis:size"`
		Format struct {
			Designation struct {
				Name    string `xml:"premis:formatName"`
				Version string `xml:"premis:formatVersion,omitempty"`
			} `xml:"premis:formatDesignation"`
			Registry *premisRegistry `xml:"premis:formatRegistry,omitempty"`
		} `xml:"premis:format"`
	} `xml:"premis:objectCharacteristics"`
	OriginalName  string               `xml:"premis:originalName,omitempty"`
	Relationships []premisRelationship `xml:"premis:relationship"`
}

type premisEvent struct {
	ID       premisEventID      `xml:"premis:eventIdentifier"`
	Type     string             `xml:"premis:eventType"`
	DateTime string             `xml:"premis:eventDateTime"`
	Detail   string             `xml:"premis:eventDetailInformation>premis:eventDetail"`
	Outcome  string             `xml:"premis:eventOutcomeInformation>premis:eventOutcome"`
	Agent    premisAgentLink    `xml:"premis:linkingAgentIdentifier"`
	Objects  []premisObjectLink `xml:"premis:linkingObjectIdentifier"`
}

type premisAgent struct {
	ID      premisAgentID `xml:"premis:agentIdentifier"`
	Name    string        `xml:"premis:agentName"`
	Type    string        `xml:"premis:agentType"`
	Version string        `xml:"premis:agentVersion,omitempty"`
}
