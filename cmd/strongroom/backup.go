package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// What a backup holds: the catalog (every item, bag, event, alert,
// session), and the search index so that search works at once after a
// restore (it can also be made again from the store: index rebuild). The
// store is not in it: it is the archive, kept and audited on its own. The
// catalog is also the work list: unfinished items resume from it.
var backupFiles = []string{"catalog.db", "index.db"}

// manifestName is the backup's own record of what it holds.
const manifestName = "backup.json"

type backupManifest struct {
	Made    time.Time             `json:"made"`
	Version string                `json:"version"`
	DataDir string                `json:"data_dir"`
	Store   string                `json:"store"`
	Files   map[string]backupFile `json:"files"`
}

type backupFile struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func cmdBackup(ctx context.Context, args []string) error {
	flags := newFlags("backup", "[--config FILE] DEST", `Makes a consistent copy of the catalog and the search index in the new
folder DEST, while the daemon runs (each from one snapshot), with
backup.json listing each file's size and SHA-256. The store is not copied:
it is the archive. strongroom restore puts a backup back.`)
	configPath := flags.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(flags, reorder(flags, args)); err != nil {
		return helpOK(err)
	}
	if flags.NArg() != 1 {
		return usageError{errors.New("backup: want one DEST folder")}
	}
	dest := flags.Arg(0)
	cfg, _, cat, err := openCatalog(ctx, *configPath, false)
	if err != nil {
		return err
	}
	defer cat.Close()
	db, ok := cat.(*sqlite.DB)
	if !ok {
		return usageError{errors.New("backup: catalog.url names a PostgreSQL catalog: back it up with PostgreSQL's own tools (pg_dump), and the index with it")}
	}
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return usageError{fmt.Errorf("backup: %s is not empty: give a new folder", dest)}
	}
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return err
	}
	m := backupManifest{Made: time.Now().UTC(), Version: version(), DataDir: cfg.DataDir, Store: cfg.Storage.URL, Files: map[string]backupFile{}}
	if err := db.Backup(ctx, filepath.Join(dest, "catalog.db")); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "index.db")); err == nil {
		idx, err := fts.Open(ctx, filepath.Join(cfg.DataDir, "index.db"))
		if err != nil {
			return err
		}
		err = idx.Backup(ctx, filepath.Join(dest, "index.db"))
		idx.Close()
		if err != nil {
			return err
		}
	}
	for _, name := range backupFiles {
		size, sum, err := hashFile(filepath.Join(dest, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		m.Files[name] = backupFile{size, sum}
	}
	if err := writeJSONFile(filepath.Join(dest, manifestName), m); err != nil {
		return err
	}
	if err := bagit.SyncDir(dest); err != nil {
		return err
	}
	return printShown(struct {
		Backup string                `json:"backup"`
		Made   time.Time             `json:"made"`
		Files  map[string]backupFile `json:"files"`
	}{dest, m.Made, m.Files}, true)
}

func cmdRestore(ctx context.Context, args []string) error {
	flags := newFlags("restore", "[--config FILE] [--force] SRC", `Puts a backup made by strongroom backup back into data_dir: each file is
checked against backup.json and opened (and migrated, if the backup is from
an older version) before it replaces anything. A data_dir that has a catalog
is refused unless --force, which keeps the files it replaces beside them
(catalog.db.replaced-TIME). Stop the daemon first; at its next start,
unfinished items resume where the restored catalog says they are.`)
	configPath := flags.String("config", "", "config file (default: the embedded defaults)")
	force := flags.Bool("force", false, "replace the catalog data_dir has, keeping it beside")
	if err := parse(flags, reorder(flags, args)); err != nil {
		return helpOK(err)
	}
	if flags.NArg() != 1 {
		return usageError{errors.New("restore: want one SRC folder (made by strongroom backup)")}
	}
	src := flags.Arg(0)
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if _, file := catalogURL(cfg); file != filepath.Join(cfg.DataDir, "catalog.db") {
		return usageError{errors.New("restore: catalog.url names a catalog outside data_dir; a backup puts back only the embedded one (restore a PostgreSQL catalog with pg_restore)")}
	}
	var m backupManifest
	b, err := os.ReadFile(filepath.Join(src, manifestName))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || m.Files["catalog.db"].SHA256 == "" {
		return usageError{fmt.Errorf("restore: %s is not a strongroom backup (no readable %s naming catalog.db): %v", src, manifestName, err)}
	}
	for name, want := range m.Files {
		size, sum, err := hashFile(filepath.Join(src, name))
		if err != nil || size != want.Size || sum != want.SHA256 {
			return failedError{fmt.Errorf("restore: %s in the backup is not what backup.json says (%d bytes, sha256 %s; recorded %d, %s): %v", name, size, sum, want.Size, want.SHA256, err)}
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "catalog.db")); err == nil && !*force {
		return usageError{fmt.Errorf("restore: %s already has a catalog: stop the daemon, then restore --force (the files replaced are kept beside them)", cfg.DataDir)}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	for _, name := range backupFiles {
		if _, ok := m.Files[name]; !ok {
			continue
		}
		// A copy beside its place first, opened (and migrated) there:
		// nothing is replaced by a file that does not open.
		tmp := filepath.Join(cfg.DataDir, name+".restoring")
		os.Remove(tmp) // left by a restore that was cut short
		if err := copyFile(filepath.Join(src, name), tmp); err != nil {
			return err
		}
		if err := openable(ctx, name, tmp); err != nil {
			os.Remove(tmp)
			return failedError{fmt.Errorf("restore: %s from %s does not open: %w", name, src, err)}
		}
		final := filepath.Join(cfg.DataDir, name)
		for _, side := range []string{"", "-wal", "-shm"} {
			if _, err := os.Stat(final + side); err == nil {
				if err := os.Rename(final+side, final+side+".replaced-"+stamp); err != nil {
					return err
				}
			}
		}
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
	}
	if err := bagit.SyncDir(cfg.DataDir); err != nil {
		return err
	}
	return printShown(struct {
		Restored string    `json:"restored"`
		Made     time.Time `json:"made"`
		DataDir  string    `json:"data_dir"`
	}{src, m.Made, cfg.DataDir}, true)
}

// openable opens a restored file as what it is, migrating a catalog from
// an older version.
func openable(ctx context.Context, name, p string) error {
	if name == "catalog.db" {
		db, err := sqlite.Open(ctx, p)
		if err != nil {
			return err
		}
		return db.Close()
	}
	idx, err := fts.Open(ctx, p)
	if err != nil {
		return err
	}
	return idx.Close()
}

func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// copyFile copies src to the new file dest and syncs it.
func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeNew(dest, in)
}

// writeJSONFile writes v, indented, to the new file p and syncs it.
func writeJSONFile(p string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeNew(p, bytes.NewReader(append(b, '\n')))
}

// writeNew writes r to the new file p and syncs it.
func writeNew(p string, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
