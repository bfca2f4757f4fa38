// Command strongroom turns scans into verified BagIt packages and keeps them
// intact. See README.md; `strongroom help` lists the subcommands.
//
// Exit codes (also printed by `strongroom help`):
//
//	0  success
//	1  the work ran but something in it failed: an item failed, a bag is invalid
//	2  usage or configuration error
//	3  runtime error: the store or catalog could not be used
//	4  interrupted (SIGINT/SIGTERM) before the work finished
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/strongroom-archive/strongroom/formats/ocr"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitRuntime     = 3
	exitInterrupted = 4
)

// usageError is a mistake on the command line or in the config.
type usageError struct{ error }

// failedError means the command ran and found failures (items, bags).
type failedError struct{ error }

func exitCode(ctx context.Context, err error) int {
	var ue usageError
	var fe failedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, catalog.ErrNotFound): // an id that names nothing is the caller's to fix
		return exitUsage
	case errors.As(err, &fe):
		return exitFailed
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitRuntime
}

const usage = `strongroom turns scans into verified BagIt packages and keeps them intact.

Usage:
  strongroom serve    [--config FILE]            run the daemon: hot folders → stored, verified bags
  strongroom ingest   [--config FILE] PATH...    process files or batch folders now; one JSON line each
  strongroom reprocess [--config FILE] BAG_ID... make a new version of stored bags (a new access copy)
  strongroom identify [--config FILE] FILE...    identify formats (Siegfried/PRONOM); one JSON line each
  strongroom bag validate [--quiet] [--fast] PATH
  strongroom bag create [--algorithm sha512,sha256] SRC_DIR DEST_DIR
  strongroom bag store [--config FILE] [--id BAG_ID] BAG_DIR   upload a bag, read it back, validate
  strongroom audit    [--config FILE] (--bag ID | --all | --due) [--subset n/t]
                                                 re-read stored bags now; one JSON line per bag
  strongroom alerts   [--config FILE] list|show|ack|resolve   triage what audits found
  strongroom items    [--config FILE] list|show|release      the pipeline's items; give up an unfinished one
  strongroom search   [--config FILE] [--json] [--collection C] ... QUERY
                                                 find pages by their words: bag, file, page, boxes
  strongroom bags     [--config FILE] list|show [--json]   the stored bags, with titles
  strongroom get      [--config FILE] BAG_ID DEST   download a bag, every byte checked
  strongroom export   [--config FILE] [--format tar|zip] [--output FILE] BAG_ID
  strongroom index    [--config FILE] rebuild [--bag ID]   rebuild the search index from the store
  strongroom retention [--config FILE] schedules | due [--before DAY] | show BAG   schedules and due dates
  strongroom hold     [--config FILE] create|add|remove|release|list|show   legal holds
  strongroom disposal [--config FILE] request|approve|reject|execute|list|show|tombstone
                                                 dispose of bags past retention, approved by a second person
  strongroom backup   [--config FILE] DEST       a consistent copy of the catalog and the index, while running
  strongroom restore  [--config FILE] [--force] SRC   put a backup back (daemon stopped)
  strongroom catalog  [--config FILE] migrate --to postgres://…   move the catalog and index into PostgreSQL (daemon stopped)
  strongroom push     --server URL --token-file FILE [--meta k=v] [--wait] DIR
                                                 push a batch from a scanner station (run again: resumes)
  strongroom push     --server URL --token-file FILE list | status ID | abort ID
  strongroom fixity   FILE...                    SHA-256 and SHA-512 of each file, in one read
  strongroom config   [--config FILE] [--json]   print the effective configuration
  strongroom config check [--config FILE]        check it on this machine (folders, TLS, store)
  strongroom version  [--json]

Without --config: $STRONGROOM_CONFIG, ./strongroom.yaml,
/etc/strongroom/strongroom.yaml, else the embedded defaults
(configs/strongroom.yaml) with paths relative to the working directory. "strongroom COMMAND --help"
describes each command.

Exit codes:
  0  success
  1  the work ran but something in it failed (an item failed, a bag is invalid)
  2  usage or configuration error
  3  runtime error (the store or catalog could not be used)
  4  interrupted before the work finished
`

func main() {
	// The same binary is the OCR worker the daemon starts (formats/ocr).
	ocr.WorkerMain()
	// Tesseract runs OpenMP threads; with pages OCRed in parallel on few
	// cores they fight and OCR runs 2× slower (ocrmypdf 30× here: see
	// scripts/bench-ocr). libgomp reads the limit only at start-up, so the
	// process starts itself again with it set, unless the user chose one.
	if os.Getenv("OMP_THREAD_LIMIT") == "" {
		if self, err := os.Executable(); err == nil {
			env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
			if err := syscall.Exec(self, os.Args, env); err != nil {
				fmt.Fprintln(os.Stderr, "strongroom: cannot set OMP_THREAD_LIMIT:", err)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := cpuProfile(os.Getenv("STRONGROOM_CPUPROFILE"))
	err := run(ctx, os.Args[1:])
	stopProfile()
	if err != nil && !errors.Is(err, errQuiet) {
		fmt.Fprintln(os.Stderr, "strongroom:", err)
	}
	os.Exit(exitCode(ctx, err))
}

// cpuProfile writes a CPU profile of the command to path, if set (for the
// benchmarks: go tool pprof bin/strongroom PATH); it returns the stop.
func cpuProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "strongroom: STRONGROOM_CPUPROFILE:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// errQuiet is a failure that was already reported.
var errQuiet = errors.New("")

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return usageError{errors.New("no command given")}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest)
	case "ingest":
		return cmdIngest(ctx, rest)
	case "reprocess":
		return cmdReprocess(ctx, rest)
	case "identify":
		return cmdIdentify(ctx, rest)
	case "bag":
		return cmdBag(ctx, rest)
	case "config":
		return cmdConfig(ctx, rest)
	case "fixity":
		return cmdFixity(ctx, rest)
	case "audit":
		return cmdAudit(ctx, rest)
	case "push":
		return cmdPush(ctx, rest)
	case "alerts":
		return cmdAlerts(ctx, rest)
	case "items":
		return cmdItems(ctx, rest)
	case "get":
		return cmdGet(ctx, rest)
	case "export":
		return cmdExport(ctx, rest)
	case "retention":
		return cmdRetention(ctx, rest)
	case "hold":
		return cmdHold(ctx, rest)
	case "disposal":
		return cmdDisposal(ctx, rest)
	case "backup":
		return cmdBackup(ctx, rest)
	case "restore":
		return cmdRestore(ctx, rest)
	case "search":
		return cmdSearch(ctx, rest)
	case "bags":
		return cmdBags(ctx, rest)
	case "index":
		return cmdIndex(ctx, rest)
	case "catalog":
		return cmdCatalog(ctx, rest)
	case "version", "--version":
		return cmdVersion(rest)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}
