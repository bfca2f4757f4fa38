package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strongroom-archive/strongroom/configs"
	"github.com/strongroom-archive/strongroom/formats/access"
	"github.com/strongroom-archive/strongroom/formats/identify"
	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline"
	"github.com/strongroom-archive/strongroom/pipeline/audit"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/postgres"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/sqlite"
	"github.com/strongroom-archive/strongroom/pipeline/disposal"
	"github.com/strongroom-archive/strongroom/pipeline/push"
	"github.com/strongroom-archive/strongroom/pipeline/retrieve"
	"github.com/strongroom-archive/strongroom/pipeline/review"
	"github.com/strongroom-archive/strongroom/pipeline/search"
	"github.com/strongroom-archive/strongroom/pipeline/search/fts"
	_ "github.com/strongroom-archive/strongroom/pipeline/search/pgfts" // postgres:// indexes
	"github.com/strongroom-archive/strongroom/storage"
	_ "github.com/strongroom-archive/strongroom/storage/local" // file:// store
	_ "github.com/strongroom-archive/strongroom/storage/s3"    // s3:// stores
)

// The one place that wires strongroom: each package gets its own part of
// the configuration and what it needs of the others.

// defaultConfigs are where a command looks for its configuration when
// --config is not given, after $STRONGROOM_CONFIG: the working directory,
// then the system's. None there: the embedded defaults.
var defaultConfigs = []string{"strongroom.yaml", "/etc/strongroom/strongroom.yaml"}

// configPath is the configuration a command reads: --config, else
// $STRONGROOM_CONFIG, else the first of defaultConfigs that exists, else
// "" (the embedded defaults).
func configPath(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("STRONGROOM_CONFIG"); env != "" {
		return env
	}
	for _, p := range defaultConfigs {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func loadConfig(path string) (*configs.Config, *slog.Logger, error) {
	cfg, err := configs.Load(configPath(path))
	if err != nil {
		return nil, nil, usageError{err}
	}
	if os.Getenv("GOMEMLIMIT") == "" && cfg.Pipeline.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.Pipeline.MemoryLimit)
	}
	level, _ := cfg.Level()
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return cfg, slog.New(h), nil
}

// openCatalog opens only the catalog, for commands that read and triage
// (alerts, items, bags): they never touch the store. Only with create is
// an embedded catalog made where there is none: a read command run with
// the wrong configuration must not make an empty catalog and report that
// nothing is wrong.
func openCatalog(ctx context.Context, path string, create bool) (*configs.Config, *slog.Logger, catalog.Catalog, error) {
	cfg, log, err := loadConfig(path)
	if err != nil {
		return nil, nil, nil, err
	}
	u, db := catalogURL(cfg)
	if err := catalog.Registered(u); err != nil {
		return nil, nil, nil, usageError{fmt.Errorf("catalog.url: %w", err)}
	}
	used := configPath(path)
	if used == "" {
		used = "the embedded defaults"
	}
	noCatalog := func(where string) error {
		return usageError{fmt.Errorf("no catalog at %s (configuration: %s): is this the right --config or $STRONGROOM_CONFIG? "+
			"nothing has been stored with this configuration yet", where, used)}
	}
	switch {
	case db != "":
		if _, err := os.Stat(db); !create && errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, noCatalog(db)
		}
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			return nil, nil, nil, fmt.Errorf("data_dir: %w", err)
		}
	case !create && strings.HasPrefix(u, "postgres"):
		if ok, err := postgres.Exists(ctx, u); err != nil {
			return nil, nil, nil, err
		} else if !ok {
			return nil, nil, nil, noCatalog(postgres.Redact(u))
		}
	}
	cat, err := catalog.Open(ctx, u)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, log, cat, nil
}

// catalogURL is the catalog cfg names (catalog.url, else the embedded one
// under data_dir) and, for an embedded one, its file.
func catalogURL(cfg *configs.Config) (u, file string) {
	return embedded(cfg.Catalog.URL, filepath.Join(cfg.DataDir, "catalog.db"), sqlite.URL)
}

// env is what the engine-running commands share.
type env struct {
	cfgFile string // the configuration file read, "" for the embedded defaults
	cfg     *configs.Config
	log     *slog.Logger
	engine  *pipeline.Engine
	catalog catalog.Catalog
	lazy    *storage.Lazy // the store, when it opens in the background
}

func (e *env) Close() {
	e.engine.Access.Close()
	e.engine.Decoder.Close()
	if e.engine.Index != nil {
		e.engine.Index.Close()
	}
	e.catalog.Close()
}

// disposer is the executor of approved disposal requests, on the env's
// catalog, store and index.
func (e *env) disposer() *disposal.Executor {
	x := &disposal.Executor{Catalog: e.catalog, Store: e.engine.Store, StoreURL: e.cfg.Storage.URL, Retention: e.cfg.Retention,
		CacheDir: filepath.Join(e.cfg.DataDir, "cache", "retrieve"), WorkDir: filepath.Join(e.cfg.SharedDir, "work"),
		Agent: e.engine.Agent, Log: e.log, Now: time.Now}
	if e.engine.Index != nil {
		x.Index = e.engine.Index
	}
	if tc := e.cfg.Retention.Transfer; tc.URL != "" {
		x.Transfer = func(ctx context.Context) (storage.Store, string, error) {
			st, err := storage.Open(ctx, tc)
			return st, tc.URL, err
		}
	}
	return x
}

// openIndex opens the search index cfg names.
func openIndex(ctx context.Context, cfg *configs.Config) (search.Index, error) {
	u, _ := indexURL(cfg)
	return search.Open(ctx, u)
}

// indexURL is the index cfg names (search.url, else the embedded one under
// data_dir) and, for an embedded one, its file.
func indexURL(cfg *configs.Config) (u, file string) {
	return embedded(cfg.Search.URL, filepath.Join(cfg.DataDir, "index.db"), fts.URL)
}

// embedded is the URL configured (else the file under data_dir) and the
// file of an embedded (sqlite://) one.
func embedded(configured, file string, toURL func(string) string) (u, path string) {
	if configured == "" {
		return toURL(file), file
	}
	if p, err := url.Parse(configured); err == nil && p.Scheme == "sqlite" {
		return configured, p.Path
	}
	return configured, ""
}

// openEnv opens the catalog (made, with create) and the store and makes
// the engine. A lazy
// store opens in the background (the daemon starts while the store is
// down); otherwise a store that cannot be opened is an error now.
func openEnv(ctx context.Context, path string, lazy, create bool) (*env, error) {
	cfg, log, cat, err := openCatalog(ctx, path, create)
	if err != nil {
		return nil, err
	}
	if err := storage.Registered(cfg.Storage.URL); err != nil {
		cat.Close()
		return nil, usageError{fmt.Errorf("storage.url: %w", err)}
	}
	if u, _ := indexURL(cfg); cfg.Search.Enabled {
		if err := search.Registered(u); err != nil {
			cat.Close()
			return nil, usageError{fmt.Errorf("search.url: %w", err)}
		}
	}
	e := &env{cfgFile: configPath(path), cfg: cfg, log: log, catalog: cat}
	var st storage.Store
	if lazy {
		e.lazy = storage.NewLazy(func(ctx context.Context) (storage.Store, error) { return storage.Open(ctx, cfg.Storage) })
		go e.lazy.Run(ctx, log)
		st = e.lazy
	} else if st, err = storage.Open(ctx, cfg.Storage); err != nil {
		cat.Close()
		return nil, err
	}
	if e.engine, err = newEngine(cfg, log, cat, st); err != nil {
		cat.Close()
		return nil, err
	}
	if cfg.Search.Enabled {
		idx, err := openIndex(ctx, cfg)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.engine.Index = idx
	}
	return e, nil
}

func newEngine(cfg *configs.Config, log *slog.Logger, cat catalog.Catalog, st storage.Store) (*pipeline.Engine, error) {
	// PDFium's code, compiled once for this machine, is kept for every
	// worker to load; the decoders that validate run apart from OCR, as
	// many as OCR has up to one per core (a 500-page TIFF is validated in
	// 3.8 s on two, 7.9 s on one).
	cfg.Access.OCR.CacheDir = filepath.Join(cfg.DataDir, "cache", "pdfium")
	dec := cfg.Access.OCR
	dec.Workers, dec.MaxDecode = min(max(cfg.Access.OCR.Workers, 1), runtime.GOMAXPROCS(0)), cfg.Pipeline.MaxPixels
	// Idle decoders end after a while: their memory is not held through
	// the OCR of the item they validated (a 500-page TIFF's peak, process
	// tree: 744 MiB with them held, 630 MiB so; 626 MiB for 50 pages).
	dec.IdleStop = 5 * time.Second
	decoder, err := ocr.NewEngine(dec)
	if err != nil {
		return nil, err
	}
	return &pipeline.Engine{
		Cfg: cfg.Pipeline, Bag: cfg.Bag, DataDir: cfg.DataDir, WorkDir: filepath.Join(cfg.SharedDir, "work"), DoneDir: cfg.Intake.DoneDir, FailedDir: cfg.Intake.FailedDir,
		Catalog: cat, Store: st, StoreURL: cfg.Storage.URL, Identify: identify.New(), Policy: cfg.Formats.Policy,
		Agent: "strongroom/" + version(), Log: log, Now: time.Now, Holder: pipeline.Holder(),
		Access: &access.Maker{Cfg: cfg.Access, Creator: "strongroom/" + version(), MaxPixel: cfg.Pipeline.MaxPixels,
			MaxDecoded: cfg.Pipeline.MaxDecodedBytes},
		Decoder:   decoder,
		Retention: cfg.Retention, Quality: cfg.Quality,
	}, nil
}

func newAuditor(e *env) *audit.Auditor {
	a := &audit.Auditor{Cfg: e.cfg.Audit, Catalog: e.catalog, Store: e.engine.Store, Agent: e.engine.Agent, Log: e.log, Now: time.Now}
	if w := e.cfg.Audit.Webhook; w.URL != "" {
		a.Notify = w.Notifier(&http.Client{Timeout: 30 * time.Second}, 5, 2*time.Second)
	}
	return a
}

// daemon runs everything `serve` runs until ctx ends or one part fails:
// the pipeline from the catalog's work list and the hot folders, the audit loop, and with
// http.listen the review API and page, metrics and the push API on one
// listener.
func daemon(ctx context.Context, e *env) error {
	d := &pipeline.Daemon{Engine: e.engine, Intake: e.cfg.Intake.Watch(), Release: e.cfg.Intake.Release(), OCR: e.cfg.Intake.OCR(),
		Meta: e.cfg.Intake.Meta(), Roles: e.cfg.Roles}
	runs := func(r pipeline.Role) bool { return slices.Contains(e.cfg.Roles, r) }
	for _, w := range d.Intake.Warnings() {
		e.log.Warn("intake: batches may split", "why", w)
	}
	aud := newAuditor(e)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.Run(ctx) })
	if runs(pipeline.RoleAudit) {
		// One audit scheduler (and one proposer of disposals) in the
		// cluster: the process that holds the role.
		g.Go(func() error {
			return pipeline.WhileHolding(ctx, e.catalog, string(pipeline.RoleAudit), e.engine.Holder, pipeline.RoleLease, e.log, time.Now,
				func(ctx context.Context) error {
					g, ctx := errgroup.WithContext(ctx)
					g.Go(func() error { return aud.Loop(ctx) })
					g.Go(func() error {
						return disposal.ProposeLoop(ctx, e.catalog, e.cfg.Retention, e.engine.ApplySchedules, e.log)
					})
					return g.Wait()
				})
		})
	}
	if e.cfg.HTTP.Listen != "" && runs(pipeline.RoleHTTP) {
		rv := &review.Server{Cfg: e.cfg.HTTP, Catalog: e.catalog, AuditCycle: e.cfg.Audit.Cycle, Log: e.log, Now: time.Now,
			Gauges: review.Gauges{BytesAudited: aud.BytesRead.Load, AuditFailed: aud.Failures.Load,
				PagesOCRed: e.engine.Access.PagesOCRed.Load, EnvironmentErrors: e.engine.EnvironmentErrors, Store: e.lazy.Ready},
			Progress: e.engine.Progress, Dispose: e.disposer().Execute, Schedules: e.cfg.Retention.Schedules, Assign: e.engine.Assign,
			Institution: e.cfg.Bag.SourceOrganization}
		idx := e.engine.Index
		if idx == nil { // search off: what was indexed before is still found
			var err error
			if idx, err = openIndex(ctx, e.cfg); err != nil {
				return err
			}
			defer idx.Close()
		}
		rv.Library = &review.Library{Index: idx, Store: e.engine.Store,
			Cache:  &retrieve.Cache{Dir: filepath.Join(e.cfg.DataDir, "cache", "retrieve"), Store: e.engine.Store, Altered: rv.CacheAltered},
			Render: e.engine.Decoder.RenderJPEG,
			PageSizes: func(ctx context.Context, path string) ([][2]float64, error) {
				f, err := e.engine.Decoder.Inspect(ctx, path)
				if err != nil {
					return nil, err
				}
				out := make([][2]float64, len(f.PDFPages))
				for i, p := range f.PDFPages {
					out[i] = [2]float64{p.Width, p.Height}
				}
				return out, nil
			}}
		ps := &push.Server{Cfg: e.cfg.Push, Stations: e.cfg.Stations, Catalog: e.catalog, Staging: filepath.Join(e.cfg.SharedDir, "push"),
			Log: e.log, Now: time.Now,
			Submit: func(ctx context.Context, dir, station string, info []catalog.InfoField) (*catalog.Item, error) {
				var meta catalog.Metadata
				for _, st := range e.cfg.Stations {
					if st.Name == station {
						meta, _ = catalog.MetadataFrom(st.Metadata, true)
					}
				}
				return d.Submit(ctx, pipeline.ItemSpec{Path: dir, Kind: catalog.KindBatch, Release: catalog.ReleaseDelete, Info: info, Meta: meta})
			}}
		mux := http.NewServeMux()
		mux.Handle("/", rv.Handler())
		ps.Mount(mux)
		g.Go(func() error { return review.ListenAndServe(ctx, e.cfg.HTTP, mux, e.log) })
		if e.cfg.HTTP.MetricsListen != "" { // /metrics alone, without a token: for a scraper on a trusted network
			m := http.NewServeMux()
			m.Handle("GET /metrics", rv.MetricsHandler())
			g.Go(func() error {
				return review.ListenAndServe(ctx, review.Config{Listen: e.cfg.HTTP.MetricsListen}, m, e.log.With("listener", "metrics"))
			})
		}
		g.Go(func() error { return ps.Janitor(ctx, time.Minute) })
	}
	return g.Wait()
}
