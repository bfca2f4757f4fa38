package pipeline

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// premisXML renders an item's objects, events and agents as PREMIS 3.0, the
// tag file premis.xml. Identifiers are local: objects by payload path,
// events by item id and sequence, agents by name.
func premisXML(it *catalog.Item, files []catalog.File, events []catalog.Event) ([]byte, error) {
	doc := premisDoc{XMLNS: "http://www.loc.gov/premis/v3", Version: "3.0"}
	doc.Rights = premisRights(it, files)
	for _, f := range files {
		o := premisObject{XSI: "http://www.w3.org/2001/XMLSchema-instance", XSIType: "premis:file",
			ID: premisObjectID{"local", "data/" + f.Path}, OriginalName: f.Source}
		c := &o.Chars
		c.Level = 0
		c.Fixity = []premisFixity{{"SHA-256", f.SHA256, "strongroom"}, {"SHA-512", f.SHA512, "strongroom"}}
		c.Size = f.Size
		c.Format.Designation.Name = f.Format
		c.Format.Designation.Version = f.FormatVersion
		if f.PUID != "" && f.PUID != "UNKNOWN" {
			c.Format.Registry = &premisRegistry{"PRONOM", f.PUID}
		}
		if c.Format.Designation.Name == "" {
			c.Format.Designation.Name = "unknown"
		}
		doc.Objects = append(doc.Objects, o)
	}
	seen := map[string]bool{}
	for i, e := range events {
		pe := premisEvent{ID: premisEventID{"local", fmt.Sprintf("%s-event-%d", it.ID, i+1)}, Type: string(e.Type),
			DateTime: e.At.UTC().Format(time.RFC3339), Detail: e.Detail, Outcome: string(e.Outcome),
			Agent: premisAgentLink{"local", e.Agent}}
		if e.File != "" {
			pe.Object = &premisObjectLink{"local", "data/" + e.File}
		}
		doc.Events = append(doc.Events, pe)
		if !seen[e.Agent] {
			seen[e.Agent] = true
			doc.Agents = append(doc.Agents, premisAgent{ID: premisAgentID{"local", e.Agent}, Name: e.Agent, Type: "software"})
		}
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("premis for %s: %w", it.ID, err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
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
		r.Basis, r.Other = "Other", &premisOther{"URI", m.Rights, "rightsstatements.org"}
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
		r.Objects = append(r.Objects, premisObjectLink{"local", "data/" + f.Path})
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
	Type  string `xml:"premis:otherRightsDocumentationIdentifier>premis:otherRightsDocumentationIdentifierType,omitempty"`
	Value string `xml:"premis:otherRightsDocumentationIdentifier>premis:otherRightsDocumentationIdentifierValue,omitempty"`
	Basis string `xml:"premis:otherRightsBasis"`
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
	OriginalName string `xml:"premis:originalName"`
}

type premisEvent struct {
	ID       premisEventID     `xml:"premis:eventIdentifier"`
	Type     string            `xml:"premis:eventType"`
	DateTime string            `xml:"premis:eventDateTime"`
	Detail   string            `xml:"premis:eventDetailInformation>premis:eventDetail"`
	Outcome  string            `xml:"premis:eventOutcomeInformation>premis:eventOutcome"`
	Agent    premisAgentLink   `xml:"premis:linkingAgentIdentifier"`
	Object   *premisObjectLink `xml:"premis:linkingObjectIdentifier,omitempty"`
}

type premisAgent struct {
	ID   premisAgentID `xml:"premis:agentIdentifier"`
	Name string        `xml:"premis:agentName"`
	Type string        `xml:"premis:agentType"`
}
