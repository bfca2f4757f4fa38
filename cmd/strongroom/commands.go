package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"

	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
	_ "github.com/strongroom-archive/strongroom/storage/local" // file:// store
	_ "github.com/strongroom-archive/strongroom/storage/s3"    // s3:// stores
)

// buildVersion is set with -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			return "dev-" + rev[:12] + dirty
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// cmdVersion prints strongroom's version and those of the engines that
// decide what happens to a file: what a bug report and a PREMIS agent need.
func cmdVersion(args []string) error {
	fs := newFlags("version", "[--json]", "Prints strongroom's version and those of the engines it runs.")
	asJSON := fs.Bool("json", false, "one JSON line")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	v := struct {
		Version   string            `json:"version"`
		Go        string            `json:"go"`
		Platform  string            `json:"platform"`
		OCR       string            `json:"ocr"`
		Languages []string          `json:"languages"`
		Formats   string            `json:"formats"`
		Modules   map[string]string `json:"modules"`
	}{version(), runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, ocr.Version(), ocr.InstalledLanguages(), identify.New().Signature(), map[string]string{}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/pdfcpu/pdfcpu", "github.com/klippa-app/go-pdfium", "github.com/minio/minio-go/v7", "modernc.org/sqlite", "github.com/nats-io/nats-server/v2":
				v.Modules[d.Path] = d.Version
			}
		}
	}
	if *asJSON {
		return printShown(v, true)
	}
	fmt.Println("strongroom", v.Version)
	fmt.Println("go", v.Go, v.Platform)
	langs := "none found"
	if len(v.Languages) > 0 {
		langs = strings.Join(v.Languages, " ")
	}
	fmt.Printf("%s (languages: %s)\n", v.OCR, langs)
	fmt.Println(v.Formats)
	for _, m := range slices.Sorted(maps.Keys(v.Modules)) {
		fmt.Println(m, v.Modules[m])
	}
	return nil
}

// newFlags makes a flag set whose --help prints help and whose errors are
// usage errors.
func newFlags(name, args, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strongroom %s %s\n\n%s\n", name, args, help)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	return nil
}

// parseWithID parses a verb's arguments: its flags and an id, which may come
// before or after the flags ("ack 7 --note x" or "ack --note x 7").
func parseWithID(fs *flag.FlagSet, args []string) (string, error) {
	if err := parse(fs, reorder(fs, args)); err != nil {
		return "", err
	}
	return fs.Arg(0), nil
}

// errHelp ends a command after --help, successfully.
var errHelp = errors.New("help")

func cmdServe(ctx context.Context, args []string) error {
	fs := newFlags("serve", "[--config FILE]", "Runs the daemon: watches the hot folders and turns every settled file or\nbatch folder into a BagIt bag in the store, read back and verified.")
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	e, err := openEnv(ctx, *configPath, true, true)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.cfg.Intake.Watch().CheckFolders(); err != nil {
		return usageError{err}
	}
	if e.cfg.Queue != nil {
		e.log.Warn("config: the queue section is no longer used: the catalog is the work list (an external NATS is not needed; data_dir/queue may be removed)",
			"config", e.cfgFile)
	}
	var folders []string
	for _, h := range e.cfg.Intake.Folders() {
		folders = append(folders, h.Path)
	}
	e.log.Info("strongroom serving", "version", version(), "hot_folders", folders, "store", e.cfg.Storage.URL,
		"data_dir", e.cfg.DataDir, "done_dir", e.cfg.Intake.DoneDir, "failed_dir", e.cfg.Intake.FailedDir)
	// SIGHUP asks daemons to reload; this one reads its configuration at
	// start only. Said, rather than dying of the signal's default action.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			e.log.Warn("SIGHUP: the configuration is read at start only; restart strongroom to apply a change (items in progress resume)",
				"config", e.cfgFile)
		}
	}()
	err = daemon(ctx, e)
	e.log.Info("strongroom stopped")
	if ctx.Err() != nil {
		return nil // a signal is a normal way to stop the daemon
	}
	return err
}

func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// ingestStatus is how an item of the ingest command ended.
type ingestStatus string

const (
	ingestStored      ingestStatus = "stored"
	ingestDuplicate   ingestStatus = "duplicate" // not stored again (pipeline.duplicates: skip): bag holds it
	ingestFailed      ingestStatus = "failed"
	ingestInterrupted ingestStatus = "interrupted" // the same command resumes it
)

// ingestLine is what ingest prints per item.
type ingestLine struct {
	Item   string       `json:"item"`
	ID     string       `json:"id,omitempty"`
	Bag    string       `json:"bag,omitempty"`
	Status ingestStatus `json:"status"`
	Reason string       `json:"reason,omitempty"`
}

func cmdReprocess(ctx context.Context, args []string) error {
	fs := newFlags("reprocess", "[--config FILE] [--languages eng+deu] [--psm N] BAG_ID...", "Makes a new version of each stored bag, in the foreground: its originals are\nread back from the store, checked against the digests recorded, identified,\nvalidated and normalised again with today's settings (a new access copy), and\nstored as a new bag whose bag-info.txt says Is-Version-Of the old one. Nothing\nstored is changed; the old bag's no-access-copy alert is resolved when the new\none has an access copy. The OCR settings are the item's own (its hot folder's\nat intake) unless --languages or --psm say otherwise. Prints one JSON line per\nbag: item, bag (the new one), status, reason. Run again, it resumes where it\nwas interrupted.")
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	langs := fs.String("languages", "", "OCR languages for the new access copy, joined by + (e.g. eng+deu)")
	psm := fs.Int("psm", -1, "Tesseract page segmentation mode for the new access copy")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("reprocess: no BAG_ID given")}
	}
	var settings *catalog.OCRSettings
	if *langs != "" || *psm >= 0 {
		settings = &catalog.OCRSettings{}
		if *langs != "" {
			settings.Languages = strings.Split(*langs, "+")
			// Refused before anything is read or stored: a language
			// that is not installed would make a version without an
			// access copy.
			if err := ocr.CheckLanguages(settings.Languages); err != nil {
				return usageError{fmt.Errorf("reprocess --languages: %w", err)}
			}
		}
		if *psm >= 0 {
			settings.PSM = psm
		}
	}
	return runItems(ctx, *configPath, fs.Args(), func(ctx context.Context, eng *pipeline.Engine, bag string) ingestLine {
		return reprocessOne(ctx, eng, bag, settings)
	})
}

// reprocessOne runs the reprocess item of a bag to its end, resuming one
// an earlier run left.
func reprocessOne(ctx context.Context, eng *pipeline.Engine, bag string, ocr *catalog.OCRSettings) ingestLine {
	it, err := eng.Catalog.ActiveBySource(ctx, catalog.ReprocessSource(bag))
	if err == nil && it == nil {
		it, err = eng.Reprocess(ctx, bag, ocr)
	}
	if err != nil {
		return ingestLine{Item: bag, Status: ingestFailed, Reason: err.Error()}
	}
	return runItem(ctx, eng, bag, it)
}

func cmdIngest(ctx context.Context, args []string) error {
	fs := newFlags("ingest", "[--config FILE] PATH...", "Processes files and batch folders now, in the foreground, through the same\nsteps as the daemon. Originals are left where they are. Prints one JSON line\nper item: item, bag, status (stored or failed), reason. Exits 0 only when\nevery item was stored.")
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("ingest: no PATH given")}
	}
	return runItems(ctx, *configPath, fs.Args(), ingestOne)
}

// runItems runs one item per argument, pipeline.workers at a time, and
// prints a JSON line for each.
func runItems(ctx context.Context, configPath string, args []string, one func(context.Context, *pipeline.Engine, string) ingestLine) error {
	e, err := openEnv(ctx, configPath, false, true)
	if err != nil {
		return err
	}
	defer e.Close()
	var mu sync.Mutex
	if stderrIsTerminal() {
		// On a terminal, the pages of each access copy as they are made
		// (the log says it every few seconds too, wherever it goes).
		e.engine.OnProgress = func(id string, p catalog.Progress) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(os.Stderr, "\r\x1b[K%s: page %d of %d, about %s left", id, p.Done, p.Total, p.Left)
			if p.Done == p.Total {
				fmt.Fprintln(os.Stderr)
			}
		}
	}
	failed := 0
	enc := json.NewEncoder(os.Stdout)
	var g errgroup.Group
	g.SetLimit(e.cfg.Pipeline.Workers)
	for _, p := range args {
		g.Go(func() error {
			l := one(ctx, e.engine, p)
			mu.Lock()
			defer mu.Unlock()
			if l.Status != ingestStored && l.Status != ingestDuplicate {
				failed++
			}
			return enc.Encode(l) // one line per item, whole
		})
	}
	g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return failedError{fmt.Errorf("%d of %d items failed", failed, len(args))}
	}
	return nil
}

// ingestOne runs the item for p to its end. An unfinished item an earlier
// ingest of the same path left (interrupted, killed) is resumed.
func ingestOne(ctx context.Context, eng *pipeline.Engine, p string) ingestLine {
	it, err := eng.NewItem(ctx, pipeline.ItemSpec{Path: p, HotFolder: "", Kind: "", Release: catalog.ReleaseKeep})
	if errors.Is(err, catalog.ErrActive) {
		abs, _ := filepath.Abs(p)
		prev, perr := eng.Catalog.ActiveBySource(ctx, abs)
		switch {
		case perr != nil:
			err = perr
		case prev == nil:
			// Finished meanwhile: take it anew.
			it, err = eng.NewItem(ctx, pipeline.ItemSpec{Path: p, Release: catalog.ReleaseKeep})
		case prev.Release == catalog.ReleaseKeep && prev.HotFolder == "":
			eng.Log.Info("resuming the unfinished item of an earlier ingest", "item", prev.ID, "stage", prev.Stage)
			it, err = prev, nil
		default:
			return ingestLine{Item: p, ID: prev.ID, Status: ingestFailed, Reason: fmt.Sprintf("the daemon is processing this path as item %s (stage %s); "+
				"wait for it, or give it up with: strongroom items release %s", prev.ID, prev.Stage, prev.ID)}
		}
	}
	if err != nil {
		return ingestLine{Item: p, Status: ingestFailed, Reason: err.Error()}
	}
	return runItem(ctx, eng, p, it)
}

// runItem runs an item to its end and says how it ended.
func runItem(ctx context.Context, eng *pipeline.Engine, name string, it *catalog.Item) ingestLine {
	it, err := eng.Run(ctx, it.ID)
	l := ingestLine{Item: name, ID: it.ID, Status: ingestFailed, Reason: it.LastError}
	switch {
	case ctx.Err() != nil:
		l.Status, l.Reason = ingestInterrupted, fmt.Sprintf("interrupted at stage %s; the same command resumes item %s", it.Stage, it.ID)
	case err != nil:
		l.Reason = err.Error()
	case it.Stage == catalog.StageDone && it.BagID != it.ID:
		l.Status, l.Bag, l.Reason = ingestDuplicate, it.BagID, "every original is stored already in bag "+it.BagID+" (pipeline.duplicates: skip)"
	case it.Stage == catalog.StageDone:
		l.Status, l.Bag, l.Reason = ingestStored, it.BagID, ""
	}
	return l
}

type identifyLine struct {
	File string `json:"file"`
	identify.Result
	Action string `json:"action,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Error  string `json:"error,omitempty"`
}

func cmdIdentify(ctx context.Context, args []string) error {
	fs := newFlags("identify", "[--config FILE] FILE...", "Identifies each file with Siegfried (PRONOM signatures built in) and prints\none JSON line per file: puid, mime, format, version, basis, warning, and the\naction the format policy takes.")
	configPath := fs.String("config", "", "config file for the format policy (default: the embedded defaults)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("identify: no FILE given")}
	}
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	id := identify.New()
	enc := json.NewEncoder(os.Stdout)
	failed := 0
	for _, p := range fs.Args() {
		l := identifyLine{File: p}
		res, err := id.File(ctx, p)
		if err != nil {
			l.Error = err.Error()
			failed++
		} else {
			l.Result = res
			a, rule := cfg.Formats.Policy.Decide(res)
			l.Action, l.Rule = string(a), rule
		}
		enc.Encode(l)
	}
	if failed > 0 {
		return failedError{fmt.Errorf("%d of %d files could not be identified", failed, fs.NArg())}
	}
	return nil
}

func cmdConfig(ctx context.Context, args []string) error {
	fs := newFlags("config", "[--config FILE] [--json] | check [--config FILE]", `Validates the configuration and prints it as strongroom sees it, with
defaults applied and paths resolved (YAML; --json: one JSON line, the same keys).

  check   checks it on this machine too, and says ok or FAIL for each: hot
          folders there and writable, data_dir, done_dir and failed_dir
          writable, the TLS certificate and key a pair, the store reachable
          and taking a probe object (written, read back, removed). Exit 2
          with every problem listed.`)
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	asJSON := fs.Bool("json", false, "one JSON line")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return helpOK(err)
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "check":
		return checkConfig(ctx, *configPath)
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("config: unknown command %q (want check, or nothing)", strings.Join(fs.Args(), " "))}
	}
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	// A password written into a URL is not shown again.
	for _, u := range []*string{&cfg.Catalog.URL, &cfg.Search.URL, &cfg.Storage.URL} {
		if p, err := url.Parse(*u); err == nil && *u != "" {
			*u = p.Redacted()
		}
	}
	if !*asJSON {
		return yaml.NewEncoder(os.Stdout).Encode(cfg)
	}
	// The YAML keys are the configuration's names: JSON takes them as
	// they are, through YAML's own reading of what it wrote.
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return err
	}
	return printShown(v, true)
}

func cmdBag(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{errors.New("bag: want validate or create")}
	}
	switch args[0] {
	case "validate":
		return cmdBagValidate(ctx, args[1:], os.Stdout, os.Stderr)
	case "create":
		return cmdBagCreate(ctx, args[1:])
	case "store":
		return cmdBagStore(ctx, args[1:])
	}
	return usageError{fmt.Errorf("bag: unknown command %q (want validate, create or store)", args[0])}
}

func cmdBagValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bag validate", "[--quiet] [--fast] PATH", "Validates a BagIt bag (1.0 strictly; 0.93 to 0.97 by their own rules). Prints\neach problem on its own line on stderr; exits 0 for a valid bag, 1 for an\ninvalid one. --fast checks completeness and Payload-Oxum only.")
	quiet := fs.Bool("quiet", false, "print nothing for a valid bag, and no warnings")
	fast := fs.Bool("fast", false, "check completeness and Payload-Oxum only; read no payload bytes")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("bag validate: want exactly one PATH")}
	}
	path := fs.Arg(0)
	r, err := bagit.ValidateDir(ctx, path, bagit.ValidateOptions{Fast: *fast})
	if err != nil {
		return err
	}
	for _, p := range r.Problems {
		fmt.Fprintf(stderr, "%s: %s\n", path, p)
	}
	if !*quiet {
		for _, w := range r.Warnings {
			fmt.Fprintf(stderr, "%s: %s\n", path, w)
		}
	}
	mode := "valid"
	if *fast {
		mode = "complete (fast: digests not checked)"
	}
	if !r.Valid {
		return failedError{fmt.Errorf("%s: invalid bag (BagIt %s, complete: %v): %d problems", path, r.Declaration.Version, r.Complete, len(r.Problems))}
	}
	if !*quiet {
		fmt.Fprintf(stdout, "%s: %s (BagIt %s, %d payload files, %d files checked)\n", path, mode, r.Declaration.Version, len(r.Payload), r.Checked)
	}
	return nil
}

func cmdBagCreate(ctx context.Context, args []string) error {
	fs := newFlags("bag create", "[--algorithm sha512,sha256] SRC_DIR DEST_DIR", "Bags every regular file below SRC_DIR into a new BagIt 1.0 bag at DEST_DIR\n(which must not exist or be empty). SRC_DIR is not changed.")
	algs := fs.String("algorithm", "sha512,sha256", "manifest algorithms: sha512, sha256, sha1, md5")
	org := fs.String("source-organization", "", "Source-Organization for bag-info.txt")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 2 {
		return usageError{errors.New("bag create: want SRC_DIR DEST_DIR")}
	}
	a, err := bagit.ParseAlgorithms(*algs)
	if err != nil {
		return usageError{err}
	}
	var info bagit.Info
	if *org != "" {
		info.Add("Source-Organization", *org)
	}
	res, err := bagit.CreateFromDir(ctx, fs.Arg(0), fs.Arg(1), bagit.Options{Algorithms: a, Agent: "strongroom/" + version()}, info)
	if err != nil {
		return err
	}
	fmt.Printf("%s: bag created (Payload-Oxum %s)\n", fs.Arg(1), res.Oxum)
	return nil
}

func cmdFixity(ctx context.Context, args []string) error {
	fs := newFlags("fixity", "FILE...", "Prints the SHA-256 and SHA-512 of each file, computed as intake does: both\ndigests in one streaming read, in constant memory. Output is sha256sum-style:\n\"sha256:HEX sha512:HEX  FILE\".")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("fixity: no FILE given")}
	}
	algs := []bagit.Algorithm{bagit.SHA256, bagit.SHA512}
	for _, p := range fs.Args() {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		d, _, err := bagit.Copy(ctx, nil, f, algs)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		fmt.Printf("sha256:%s sha512:%s  %s\n", d[bagit.SHA256], d[bagit.SHA512], p)
	}
	return nil
}

func cmdBagStore(ctx context.Context, args []string) error {
	fs := newFlags("bag store", "[--config FILE] [--id BAG_ID] BAG_DIR", "Validates the bag in BAG_DIR, uploads it to the configured store under\nBAG_ID/ (default: the folder's name), reads every object back and validates\nthe stored copy. Prints the bag id when the stored copy is valid.")
	configPath := fs.String("config", "", "config file (default: the embedded defaults)")
	id := fs.String("id", "", "bag id in the store (default: the folder's name)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("bag store: want exactly one BAG_DIR")}
	}
	dir := fs.Arg(0)
	if *id == "" {
		*id = filepath.Base(filepath.Clean(dir))
	}
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	r, err := bagit.ValidateDir(ctx, dir, bagit.ValidateOptions{})
	if err != nil {
		return err
	}
	if err := r.Err(); err != nil {
		return failedError{fmt.Errorf("%s: not stored: %w", dir, err)}
	}
	st, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	if _, err := storage.PutBag(ctx, st, *id, dir, storage.BagOptions{}); err != nil {
		return err
	}
	fsys, err := storage.BagFS(ctx, st, *id)
	if err != nil {
		return err
	}
	back, err := bagit.Validate(ctx, fsys, bagit.ValidateOptions{})
	if err != nil {
		return err
	}
	if err := back.Err(); err != nil {
		return failedError{fmt.Errorf("bag %s: the stored copy is not valid: %w", *id, err)}
	}
	fmt.Println(*id)
	return nil
}
