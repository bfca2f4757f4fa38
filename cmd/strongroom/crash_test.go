package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// TestCrashSafety starts the daemon, drops a mixed set of items, kills it
// with SIGKILL at random moments and restarts it, checking after every kill
// that no original is gone without a verified bag (or a place in failed/),
// and at the end that every item is stored once or failed with a reason.
// STRONGROOM_CRASH_TRIALS sets the number of trials (scripts/crash-trials
// runs 100).
func TestCrashSafety(t *testing.T) {
	trials := 10
	if s := os.Getenv("STRONGROOM_CRASH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		trials = n
	}
	for i := range trials {
		t.Run(fmt.Sprintf("trial-%03d", i), func(t *testing.T) {
			t.Parallel()
			crashTrial(t, rand.New(rand.NewPCG(uint64(i), 42)))
		})
	}
}

type crashWorld struct {
	dir, hot, done, failed, store string
	good, bad                     []string // item names expected to be stored / to fail
}

func crashTrial(t *testing.T, rng *rand.Rand) {
	dir := t.TempDir()
	w := &crashWorld{dir: dir, hot: filepath.Join(dir, "hot"), done: filepath.Join(dir, "done"),
		failed: filepath.Join(dir, "failed"), store: filepath.Join(dir, "store")}
	cfg := writeConfig(t, dir, "")
	os.MkdirAll(w.hot, 0o755)
	w.drop(t, 0)

	kills := 2 + rng.IntN(3)
	for round := 0; ; round++ {
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Dir = dir
		logf, _ := os.OpenFile(filepath.Join(dir, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if round < kills {
			time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
			cmd.Process.Kill() // SIGKILL: no chance to clean up
			cmd.Wait()
			logf.Close()
			w.check(t, false)
			if round == 0 {
				w.drop(t, 1) // more items arrive between crashes
			}
			continue
		}
		deadline := time.Now().Add(90 * time.Second)
		for !w.settled() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
		if !w.settled() {
			log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			t.Fatalf("items still in the hot folder after 90s; log tail:\n%s", lastLines(string(log), 30))
		}
		w.check(t, true)
		return
	}
}

// drop puts a set of items in the hot folder: good files, a batch, and
// three that must fail (a zero-byte file, a truncated image, a symlink out).
func (w *crashWorld) drop(t *testing.T, set int) {
	for i := range 4 {
		n := fmt.Sprintf("s%d-page %d ü.png", set, i)
		pngFile(t, filepath.Join(w.hot, n), 30+i, 20)
		w.good = append(w.good, n)
	}
	book := fmt.Sprintf("s%d-book", set)
	for i := range 5 {
		pngFile(t, filepath.Join(w.hot, book, fmt.Sprintf("p%02d.png", i)), 10+i, 10)
	}
	w.good = append(w.good, book)
	zero := fmt.Sprintf("s%d-zero.png", set)
	os.WriteFile(filepath.Join(w.hot, zero), nil, 0o644)
	trunc := fmt.Sprintf("s%d-truncated.png", set)
	pngFile(t, filepath.Join(w.hot, trunc), 64, 64)
	b, _ := os.ReadFile(filepath.Join(w.hot, trunc))
	os.WriteFile(filepath.Join(w.hot, trunc), b[:len(b)/2], 0o644)
	link := fmt.Sprintf("s%d-link.png", set)
	os.Symlink("/etc/hostname", filepath.Join(w.hot, link))
	w.bad = append(w.bad, zero, trunc, link)
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func (w *crashWorld) settled() bool {
	for _, n := range append(append([]string{}, w.good...), w.bad...) {
		if exists(filepath.Join(w.hot, n)) || (exists(filepath.Join(w.failed, n)) && !exists(filepath.Join(w.failed, n+".reason.json"))) {
			return false
		}
	}
	return true
}

// bags maps External-Identifier to the bag directories in the store.
func (w *crashWorld) bags(t *testing.T) map[string][]string {
	out := map[string][]string{}
	entries, _ := os.ReadDir(w.store)
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(w.store, e.Name(), "bag-info.txt"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // upload cut off before bag-info.txt: never counted as stored
		}
		info, _ := bagit.ParseInfo("bag-info.txt", b)
		name := info.Get("External-Identifier")
		out[name] = append(out[name], filepath.Join(w.store, e.Name()))
	}
	return out
}

func (w *crashWorld) check(t *testing.T, final bool) {
	t.Helper()
	bags := w.bags(t)
	isBad := map[string]bool{}
	for _, n := range w.bad {
		isBad[n] = true
	}
	for _, n := range append(append([]string{}, w.good...), w.bad...) {
		inHot, inDone, inFailed := exists(filepath.Join(w.hot, n)), exists(filepath.Join(w.done, n)), exists(filepath.Join(w.failed, n))
		places := 0
		for _, b := range []bool{inHot, inDone, inFailed} {
			if b {
				places++
			}
		}
		if places != 1 {
			t.Fatalf("%q is in %d places (hot %v, done %v, failed %v): lost or duplicated", n, places, inHot, inDone, inFailed)
		}
		if len(bags[n]) > 1 {
			t.Fatalf("%q has %d bags: %v", n, len(bags[n]), bags[n])
		}
		if inDone {
			if len(bags[n]) != 1 {
				t.Fatalf("%q released to done/ without a stored bag", n)
			}
			r, err := bagit.ValidateDir(context.Background(), bags[n][0], bagit.ValidateOptions{})
			if err != nil || !r.Valid {
				t.Fatalf("%q released to done/ but its bag is not valid: %v %v", n, err, r.Problems)
			}
		}
		if inDone && isBad[n] || inFailed && !isBad[n] {
			reason, _ := os.ReadFile(filepath.Join(w.failed, n+".reason.json"))
			t.Fatalf("%q ended in the wrong place (done %v, failed %v) %s", n, inDone, inFailed, reason)
		}
		if final {
			if inHot {
				t.Fatalf("%q never processed", n)
			}
			if inFailed && !exists(filepath.Join(w.failed, n+".reason.json")) {
				t.Fatalf("%q in failed/ without a reason file", n)
			}
			if isBad[n] && len(bags[n]) != 0 {
				t.Fatalf("failed item %q has a bag", n)
			}
		}
	}
}
