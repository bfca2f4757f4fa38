package trials

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestCluster is issue 30's failure test: three `strongroom serve`
// workers, each its own "machine" (a host name of its own, its own
// data_dir), share one PostgreSQL catalog and index, one MinIO bucket and
// one shared folder (hot folder, done, failed, shared_dir), all on
// loopback. Items are dropped (pages that take seconds of OCR, small
// images, text files, book folders whose pages every worker OCRs
// (spread_pages), a truncated image, and a poison: an item that kills
// whichever worker takes it (the test kills that worker with SIGKILL, as
// the kernel's OOM killer would kill a worker a real poison exhausts;
// TestKilledForMemoryDoesNotLoop has a real one, which does not exhaust
// the same process every time); meanwhile a worker is killed with SIGKILL
// while it OCRs and PostgreSQL is restarted once. A supervisor restarts workers that die, as
// systemd would. Throughout, nothing is in done/ whose item has not
// passed the store stage (stored and read back). At the end every good
// item has exactly one bag, which an audit reads back intact; the bad
// ones are in failed/ with a reason; the poison went the dead-letter path
// (failed after max_attempts deaths, an item-failed alert); every worker
// did stage work. STRONGROOM_CLUSTER_ITEMS sets the number of small items
// (scripts/cluster-trial runs 200).
func TestCluster(t *testing.T) {
	small := 16
	if testenv.LongTier() {
		small = 60
	}
	if s := os.Getenv("STRONGROOM_CLUSTER_ITEMS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		small = n
	}
	pg := pgtest.Start(t)
	dbURL := pg.NewDatabase(t, "cluster")
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	bucket := srv.Bucket(false)

	shared := t.TempDir()
	hot, done, failed := filepath.Join(shared, "hot"), filepath.Join(shared, "done"), filepath.Join(shared, "failed")
	var cfgs []string
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("w%d", i+1))
		os.MkdirAll(dir, 0o755)
		cfg := filepath.Join(dir, "strongroom.yaml")
		text := fmt.Sprintf(`data_dir: data
shared_dir: %s
intake:
  hot_folders: [{path: %s, create_missing: true}]
  settle: 200ms
  batch_quiet: 500ms
  poll_interval: 200ms
  done_dir: %s
  failed_dir: %s
storage:
  url: s3://%s/archive
  s3: {endpoint: %s, region: us-east-1, secure: false, path_style: true}
bag:
  source_organization: Test Archive
pipeline:
  retry_backoff: 50ms
  lease: 5s
  max_attempts: 3
  spread_pages: 3
catalog:
  url: %s
search:
  url: %s
`, filepath.Join(shared, "shared"), hot, done, failed, bucket, srv.Endpoint, dbURL, dbURL)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, cfg)
	}

	// The items: names that must end in done/ (good) and in failed/ (bad).
	src := filepath.Join(t.TempDir(), "src")
	var good, bad []string
	for i := range 3 {
		n := fmt.Sprintf("dense-%d.tif", i)
		denseTIFF(t, filepath.Join(src, n), 1, uint64(i))
		good = append(good, n)
	}
	for i := range small {
		switch i % 4 {
		case 0, 1:
			n := fmt.Sprintf("page-%03d.png", i)
			clitest.PNG(t, filepath.Join(src, n), 40+i, 30)
			good = append(good, n)
		case 2:
			n := fmt.Sprintf("notes-%03d.txt", i)
			os.WriteFile(filepath.Join(src, n), []byte(fmt.Sprintf("Accession %d: letters, 1921-1923.\n", i)), 0o644)
			good = append(good, n)
		case 3:
			n := fmt.Sprintf("book-%03d", i)
			for p := range 3 {
				clitest.PNG(t, filepath.Join(src, n, fmt.Sprintf("p%02d.png", p)), 20+p, 20+i)
			}
			good = append(good, n)
		}
	}
	clitest.PNG(t, filepath.Join(src, "truncated.png"), 64, 64)
	b, _ := os.ReadFile(filepath.Join(src, "truncated.png"))
	os.WriteFile(filepath.Join(src, "truncated.png"), b[:len(b)/2], 0o644)
	denseTIFF(t, filepath.Join(src, "poison.tif"), 1, 99) // seconds of work: time to be caught at it
	bad = append(bad, "truncated.png", "poison.tif")

	// Three workers under a supervisor that restarts them when they die.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	workers := make([]*clusterWorker, 3)
	for i := range workers {
		w := &clusterWorker{name: fmt.Sprintf("w%d", i+1), log: filepath.Join(filepath.Dir(cfgs[i]), "serve.log")}
		workers[i] = w
		argv := []string{clitest.Bin, "serve", "--config", cfgs[i]}
		if exec.Command("unshare", "--uts", "true").Run() == nil {
			// A host name of its own: a worker's dead lease is not seen as
			// dead by the others (it is on "another machine"), it lapses.
			argv = append([]string{"unshare", "--uts", "--", "sh", "-c", `hostname "$0" && exec "$@"`, w.name}, argv...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.supervise(ctx, t, argv, filepath.Dir(cfgs[i]))
		}()
	}
	defer func() {
		stop()
		wg.Wait()
		if t.Failed() {
			for _, w := range workers {
				log, _ := os.ReadFile(w.log)
				t.Logf("%s (%d deaths), last lines:\n%s", w.name, w.deaths, clitest.LastLines(string(log), 15))
			}
		}
	}()
	os.MkdirAll(hot, 0o755)
	for _, n := range append(append([]string{}, good...), bad...) {
		if err := os.Rename(filepath.Join(src, n), filepath.Join(hot, n)); err != nil {
			t.Fatal(err)
		}
	}

	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(context.Background()) }()
	reconnect := func() {
		db.Close(context.Background())
		if c, err := pgx.Connect(context.Background(), dbURL); err == nil {
			db = c
		}
	}
	// released checks that everything in done/ belongs to an item past
	// the store stage: no original is released before its bag is stored
	// and read back.
	released := func() int {
		entries, _ := os.ReadDir(done)
		var names []string
		for _, e := range entries {
			// Not receipts, nor files being written (a receipt's temporary name).
			if !strings.HasSuffix(e.Name(), ".strongroom.json") && !strings.HasPrefix(e.Name(), ".strongroom-") {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return 0
		}
		rows, err := db.Query(context.Background(), `SELECT name FROM items WHERE name = ANY($1) AND stage IN ('release', 'done')`, names)
		if err != nil {
			reconnect()
			return len(names) // PostgreSQL restarting: the next look checks
		}
		past := map[string]bool{}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			past[n] = true
		}
		if rows.Err() != nil {
			return len(names)
		}
		for _, n := range names {
			if !past[n] {
				t.Errorf("%s is in done/ but its item has not passed the store stage", n)
			}
		}
		return len(names)
	}
	settled := func() bool {
		for _, n := range append(append([]string{}, good...), bad...) {
			if exists(filepath.Join(hot, n)) || exists(filepath.Join(failed, n)) && !exists(filepath.Join(failed, n+".reason.json")) {
				return false
			}
		}
		aside, _ := filepath.Glob(filepath.Join(hot, ".strongroom-release-*"))
		return len(aside) == 0
	}

	killed, restarted, poisonKills := "", false, 0
	start := time.Now()
	deadline := start.Add(6 * time.Minute)
	for !settled() {
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %s", time.Since(start).Round(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
		var holder string
		if db.QueryRow(context.Background(), `SELECT lease_holder FROM items WHERE name = 'poison.tif' AND lease_holder <> '' AND stage NOT IN ('fail', 'failed')`).Scan(&holder) == nil {
			for _, w := range workers {
				if w.kill(holder) {
					poisonKills++
				}
			}
		}
		n := released()
		if killed == "" {
			// A worker OCRing a dense page: killed mid-OCR.
			var holder string
			if db.QueryRow(context.Background(), `SELECT lease_holder FROM items WHERE stage = 'normalise' AND name LIKE 'dense-%' AND lease_holder <> '' LIMIT 1`).Scan(&holder) == nil {
				for _, w := range workers {
					if w.kill(holder) {
						killed = w.name
						t.Logf("%s: killed with SIGKILL while it OCRed (%s), %s in", w.name, holder, time.Since(start).Round(time.Millisecond))
					}
				}
			}
		} else if !restarted && n >= len(good)/3 {
			restarted = true
			t.Logf("restarting PostgreSQL (2 s down), %s in, %d items released", time.Since(start).Round(time.Millisecond), n)
			if err := pg.Restart(2 * time.Second); err != nil {
				t.Fatal(err)
			}
			reconnect()
		}
	}
	took := time.Since(start)
	released()
	if killed == "" || !restarted {
		t.Errorf("the run ended before a worker could be killed mid-OCR (%q) or PostgreSQL restarted (%v)", killed, restarted)
	}

	// One bag per good item, every bag intact when read back.
	out, errs, code := clitest.Run(t, shared, "items", "list", "--all", "--limit", "100000", "--json", "--config", cfgs[0])
	if code != 0 {
		t.Fatalf("items list: %d %s", code, errs)
	}
	type itemLine struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Stage     string `json:"stage"`
		BagID     string `json:"bag_id"`
		LastError string `json:"last_error"`
	}
	stored := map[string]int{}
	lines := map[string][]string{}
	var poison *itemLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var it itemLine
		json.Unmarshal(sc.Bytes(), &it)
		lines[it.Name] = append(lines[it.Name], sc.Text())
		if it.Stage == "done" && it.BagID != "" {
			stored[it.Name]++
		}
		if it.Name == "poison.tif" {
			poison = &it
		}
	}
	// Every good item in done/ once, each bad one in failed/ with its reason.
	for _, n := range good {
		if !exists(filepath.Join(done, n)) || exists(filepath.Join(failed, n)) {
			reason, _ := os.ReadFile(filepath.Join(failed, n+".reason.json"))
			t.Errorf("%s: done %v, failed %v %s", n, exists(filepath.Join(done, n)), exists(filepath.Join(failed, n)), reason)
		}
	}
	for _, n := range bad {
		if !exists(filepath.Join(failed, n+".reason.json")) {
			t.Errorf("%s: not failed with a reason: %q", n, lines[n])
		}
	}
	for _, n := range good {
		if stored[n] != 1 {
			t.Errorf("%s: %d bags", n, stored[n])
		}
	}
	out, errs, code = clitest.Run(t, shared, "audit", "--all", "--config", cfgs[0])
	if intact := strings.Count(out, `"status":"intact"`); code != 0 || intact != len(good) {
		t.Errorf("audit --all: exit %d, %d of %d bags intact\n%s", code, intact, len(good), clitest.LastLines(errs, 5))
	}
	// The poison: failed after max_attempts deaths, with an alert.
	if poison == nil || poison.Stage != "failed" || !strings.Contains(poison.LastError, "stopped") {
		t.Errorf("poison: %+v", poison)
		if poison != nil {
			out, _, _ := clitest.Run(t, shared, "items", "show", poison.ID, "--config", cfgs[0])
			t.Logf("the poison's item:\n%s", out)
		}
	} else {
		out, _, _ := clitest.Run(t, shared, "alerts", "list", "--json", "--config", cfgs[0])
		if !strings.Contains(out, `"problem":"item-failed"`) || !strings.Contains(out, poison.ID) {
			t.Errorf("no item-failed alert for the poison %s:\n%s", poison.ID, out)
		}
	}
	// Every worker did stage work.
	deaths := 0
	for _, w := range workers {
		log, _ := os.ReadFile(w.log)
		steps := strings.Count(string(log), "stage done")
		deaths += w.deaths
		t.Logf("%s: %d steps, %d deaths", w.name, steps, w.deaths)
		if steps == 0 {
			t.Errorf("%s did no stage work", w.name)
		}
		if strings.Contains(string(log), "OCR worker died") {
			t.Errorf("%s: an OCR worker died: the memory limit is too tight for the good items", w.name)
		}
	}
	t.Logf("%d items (%d good, %d bad) in %s; %d worker deaths (1 SIGKILL mid-OCR, %d taking the poison)", len(good)+len(bad), len(good), len(bad),
		took.Round(time.Millisecond), deaths, poisonKills)
}

// clusterWorker is one `strongroom serve` of TestCluster, restarted by its
// supervisor whenever it dies.
type clusterWorker struct {
	name, log string
	mu        sync.Mutex
	cmd       *exec.Cmd
	deaths    int
}

func (w *clusterWorker) supervise(ctx context.Context, t *testing.T, argv []string, dir string) {
	for ctx.Err() == nil {
		logf, err := os.OpenFile(w.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Error(err)
			return
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
		if err := cmd.Start(); err != nil {
			t.Error(err)
			logf.Close()
			return
		}
		w.mu.Lock()
		w.cmd = cmd
		w.mu.Unlock()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
			w.mu.Lock()
			w.deaths++
			w.mu.Unlock()
			fmt.Fprintf(logf, "--- supervisor: %s died (%v); restarting\n", w.name, cmd.ProcessState)
			logf.Close()
			time.Sleep(time.Second)
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			<-exited
			logf.Close()
			return
		}
	}
}

// kill kills the worker with SIGKILL if it is the lease holder named
// (host/pid/start).
func (w *clusterWorker) kill(holder string) bool {
	parts := strings.Split(holder, "/")
	if len(parts) != 3 {
		return false
	}
	pid, _ := strconv.Atoi(parts[1])
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil || w.cmd.Process.Pid != pid {
		return false
	}
	return w.cmd.Process.Kill() == nil
}
