package pipeline

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// metadataFiles are where a batch folder may carry its own description,
// relative to the folder: Archivematica's convention (metadata/), or beside
// the pages.
var metadataFiles = []string{"metadata.json", "metadata.csv", "metadata/metadata.json", "metadata/metadata.csv"}

// describe completes the item's description, each source over the one
// before: the configured defaults (bag.metadata), its hot folder's or
// station's (already on the item), a metadata.json or metadata.csv in a
// batch folder, the fields a station pushed (--meta); the title falls back
// to the file or folder name. A reprocessed bag keeps its item's
// description as it was last corrected. A field that cannot be read is
// left to the source before, with a warning event: the originals are
// never refused for their description.
func (e *Engine) describe(it *catalog.Item, files []catalog.File) (catalog.Metadata, []catalog.Event) {
	if it.Kind == catalog.KindReprocess {
		return it.Meta, nil
	}
	m, _ := catalog.MetadataFrom(e.Bag.Metadata, false) // checked with the configuration
	m.Merge(it.Meta)
	var evs []catalog.Event
	warn := func(file, detail string) {
		evs = append(evs, catalog.Event{File: file, Type: catalog.EvIngestion, Outcome: catalog.OutcomeWarning, Agent: e.Agent, At: e.Now(), Detail: detail})
	}
	if it.Kind == catalog.KindBatch {
		for _, name := range metadataFiles {
			p := "original/" + it.Name + "/" + name
			if !hasFile(files, p) {
				continue
			}
			fields, err := readMetadataFile(e.workFile(it, p), it.Name)
			if err != nil {
				warn(p, fmt.Sprintf("metadata not read: %v", err))
				continue
			}
			fm, errs := catalog.MetadataFrom(fields, false)
			for _, err := range errs {
				warn(p, err.Error()+"; the value is ignored")
			}
			m.Merge(fm)
		}
	}
	pushed := map[string]string{}
	for _, f := range it.Info {
		pushed[f.Label] = f.Value
	}
	fm, errs := catalog.MetadataFrom(pushed, false)
	for _, err := range errs {
		warn("", "pushed "+err.Error()+"; the value is ignored")
	}
	m.Merge(fm)
	if m.Title == "" {
		m.Title = it.Name
		if it.Kind != catalog.KindBatch {
			m.Title = strings.TrimSuffix(it.Name, path.Ext(it.Name))
		}
	}
	if m.Identifier == "" {
		m.Identifier = it.Name
	}
	if m.Access == "" {
		m.Access = catalog.AccessRestricted // deny by default: never open unless someone said so
	}
	return m, evs
}

func hasFile(files []catalog.File, p string) bool {
	for _, f := range files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// maxMetadataFile bounds what is read of a metadata file: a description,
// not a payload.
const maxMetadataFile = 1 << 20

// readMetadataFile reads a batch folder's metadata.json or metadata.csv.
// JSON: one object of fields, or Archivematica's list of objects with a
// "filename" each (the one for the whole folder, "objects/" or ".", is
// taken). CSV: a header row of field names and one row of values, or rows
// with a "filename" column as in JSON.
func readMetadataFile(p, folder string) (map[string]string, error) {
	rows, err := readMetadataRows(p)
	if err != nil {
		return nil, err
	}
	if len(rows) == 1 && rows[0]["filename"] == "" {
		return rows[0], nil
	}
	for _, r := range rows {
		switch strings.TrimSuffix(r["filename"], "/") {
		case "objects", ".", "", folder, "objects/" + folder:
			delete(r, "filename")
			return r, nil
		}
	}
	return nil, errors.New(`no entry for the whole folder (filename "objects/" or ".")`)
}

// readMetadataRows reads every row of a metadata.json or metadata.csv.
func readMetadataRows(p string) ([]map[string]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetadataFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetadataFile {
		return nil, fmt.Errorf("larger than %d bytes", maxMetadataFile)
	}
	if strings.HasSuffix(p, ".json") {
		return jsonRows(b)
	}
	return csvRows(b)
}

func jsonRows(b []byte) ([]map[string]string, error) {
	var one map[string]any
	var many []map[string]any
	if err := json.Unmarshal(b, &one); err != nil {
		if err := json.Unmarshal(b, &many); err != nil {
			return nil, errors.New("want a JSON object of fields, or a list of them")
		}
	} else {
		many = []map[string]any{one}
	}
	out := make([]map[string]string, len(many))
	for i, o := range many {
		out[i] = map[string]string{}
		for k, v := range o {
			switch v := v.(type) {
			case string:
				out[i][k] = v
			case float64, bool:
				out[i][k] = fmt.Sprint(v)
			case []any: // repeated Dublin Core elements: joined
				var parts []string
				for _, p := range v {
					parts = append(parts, fmt.Sprint(p))
				}
				out[i][k] = strings.Join(parts, "; ")
			}
		}
	}
	return out, nil
}

func csvRows(b []byte) ([]map[string]string, error) {
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, errors.New("want a header row and a row of values")
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			if i < len(r) && r[i] != "" {
				if row[h] != "" { // repeated columns (dc.subject twice): joined
					row[h] += "; "
				}
				row[h] += r[i]
			}
		}
		out = append(out, row)
	}
	return out, nil
}
