package trials

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

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

// TestCrashSafety starts the daemon, drops a mixed set of items, kills it
// with SIGKILL at random moments and restarts it, checking after every kill
// that no original is gone without a verified bag (or a place in failed/),
// and at the end that every item is stored once or failed with a reason.
// In every trial one original is also replaced (renamed over) while the
// daemon runs: both versions must end in bags, and done/ may hold only a
// version a bag holds. The fast tier runs one trial, the long tier ten;
// STRONGROOM_CRASH_TRIALS sets the number (scripts/crash-trials runs 100).
func TestCrashSafety(t *testing.T) {
	n := 1
	if testenv.LongTier() {
		n = 10
	}
	for i := range crashTrials(t, n) {
		t.Run(fmt.Sprintf("trial-%03d", i), func(t *testing.T) {
			t.Parallel()
			crashTrial(t, rand.New(rand.NewPCG(uint64(i), 42)), crashOptions{})
		})
	}
}

// TestCrashSafetyLongSteps is the same with steps longer than the queue's
// ack deadline (ack_wait 1s, pages whose OCR takes seconds) and more items
// than workers: deliveries redelivered while their step still runs, kills
// in the middle of long steps. Still no item may get two bags or fail.
func TestCrashSafetyLongSteps(t *testing.T) {
	testenv.Long(t)
	for i := range max(crashTrials(t, 10)/5, 2) {
		t.Run(fmt.Sprintf("trial-%03d", i), func(t *testing.T) {
			crashTrial(t, rand.New(rand.NewPCG(uint64(i), 7)), crashOptions{dense: 3, config: "  lease: 3s\n" /* continues WriteConfig's pipeline section */})
		})
	}
}

func crashTrials(t *testing.T, def int) int {
	if s := os.Getenv("STRONGROOM_CRASH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return def
}

type crashOptions struct {
	dense  int    // items of dense multi-page TIFFs (seconds of OCR each)
	config string // more configuration
}

type crashWorld struct {
	dir, hot, done, failed, store string
	good, bad                     []string // item names expected to be stored / to fail
	// replaced is the name whose file is renamed over during the trial,
	// with the digests of its two versions.
	replaced           string
	before, afterwards string
}

func crashTrial(t *testing.T, rng *rand.Rand, opts crashOptions) {
	dir := t.TempDir()
	w := &crashWorld{dir: dir, hot: filepath.Join(dir, "hot"), done: filepath.Join(dir, "done"),
		failed: filepath.Join(dir, "failed"), store: filepath.Join(dir, "store")}
	cfg := clitest.WriteConfig(t, dir, opts.config)
	os.MkdirAll(w.hot, 0o755)
	w.drop(t, 0)
	for i := range opts.dense {
		n := fmt.Sprintf("dense-%d.tif", i)
		denseTIFF(t, filepath.Join(dir, "src", n), 2, uint64(i))
		os.Rename(filepath.Join(dir, "src", n), filepath.Join(w.hot, n))
		w.good = append(w.good, n)
	}
	// One original is replaced at a random moment of the first rounds.
	w.replaced = w.good[0]
	w.before = sha256Hex(t, filepath.Join(w.hot, w.replaced))
	replaceAt := time.Now().Add(time.Duration(100+rng.IntN(2500)) * time.Millisecond)
	go func() {
		time.Sleep(time.Until(replaceAt))
		tmp := filepath.Join(w.hot, ".replacing")
		clitest.PNG(t, tmp, 77, 33)
		os.Rename(tmp, filepath.Join(w.hot, w.replaced))
	}()
	w.afterwards = func() string { // the replacement's digest, made the same way
		p := filepath.Join(t.TempDir(), "x.png")
		clitest.PNG(t, p, 77, 33)
		return sha256Hex(t, p)
	}()

	kills := 2 + rng.IntN(3)
	for round := 0; ; round++ {
		cmd := exec.Command(clitest.Bin, "serve", "--config", cfg)
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
		time.Sleep(time.Until(replaceAt))
		deadline := time.Now().Add(150 * time.Second)
		for !w.settled() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
		if !w.settled() {
			log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			t.Fatalf("items still in the hot folder after 150s; log tail:\n%s", clitest.LastLines(string(log), 30))
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
		clitest.PNG(t, filepath.Join(w.hot, n), 30+i, 20)
		w.good = append(w.good, n)
	}
	book := fmt.Sprintf("s%d-book", set)
	for i := range 5 {
		clitest.PNG(t, filepath.Join(w.hot, book, fmt.Sprintf("p%02d.png", i)), 10+i, 10)
	}
	w.good = append(w.good, book)
	zero := fmt.Sprintf("s%d-zero.png", set)
	os.WriteFile(filepath.Join(w.hot, zero), nil, 0o644)
	trunc := fmt.Sprintf("s%d-truncated.png", set)
	clitest.PNG(t, filepath.Join(w.hot, trunc), 64, 64)
	b, _ := os.ReadFile(filepath.Join(w.hot, trunc))
	os.WriteFile(filepath.Join(w.hot, trunc), b[:len(b)/2], 0o644)
	link := fmt.Sprintf("s%d-link.png", set)
	os.Symlink("/etc/hostname", filepath.Join(w.hot, link))
	w.bad = append(w.bad, zero, trunc, link)
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func (w *crashWorld) settled() bool {
	if aside, _ := filepath.Glob(filepath.Join(w.hot, ".strongroom-release-*")); len(aside) > 0 {
		return false
	}
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

// checkReplaced: the file renamed over may have one bag (replaced before
// it was taken) or two (one per version), never the same version twice;
// it is never in failed/; done/ holds only versions a valid bag holds (the
// first version may be there while the second waits in the hot folder);
// at the end the replacement is in a bag and nothing is left in hot/.
func (w *crashWorld) checkReplaced(t *testing.T, bags []string, inHot, inDone, inFailed, final bool) {
	t.Helper()
	n := w.replaced
	if inFailed || !inHot && !inDone || final && inHot {
		t.Fatalf("%q: hot %v, done %v, failed %v", n, inHot, inDone, inFailed)
	}
	held := map[string]int{}
	for _, b := range bags {
		if !final && !exists(filepath.Join(b, "bagit.txt")) {
			continue // upload cut off by the kill: never counted as stored
		}
		r, err := bagit.ValidateDir(context.Background(), b, bagit.ValidateOptions{})
		if err != nil || !r.Valid {
			t.Fatalf("%q: bag %s not valid: %v %v", n, b, err, r.Problems)
		}
		sum := r.Manifests[bagit.SHA256]["data/original/"+n]
		if sum != w.before && sum != w.afterwards {
			t.Fatalf("%q: bag %s holds a version that never was (%s)", n, b, sum)
		}
		held[sum]++
	}
	for sum, k := range held {
		if k > 1 {
			t.Fatalf("%q: version %s in %d bags", n, sum, k)
		}
	}
	released, _ := filepath.Glob(filepath.Join(w.done, strings.TrimSuffix(n, ".png")+"*.png"))
	for _, p := range released {
		if sum := sha256Hex(t, p); held[sum] == 0 {
			t.Fatalf("%q released to done/ as %s with bytes no bag holds (sha256 %s)", n, filepath.Base(p), sum)
		}
	}
	if final && held[w.afterwards] == 0 {
		t.Fatalf("%q: the replacement is in no bag (bags %v)", n, held)
	}
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
		if aside, _ := filepath.Glob(filepath.Join(w.hot, ".strongroom-release-*-"+n)); len(aside) > 0 {
			inHot = true // set aside by a release that was killed; the next run moves it on
		}
		if n == w.replaced {
			w.checkReplaced(t, bags[n], inHot, inDone, inFailed, final)
			continue
		}
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
