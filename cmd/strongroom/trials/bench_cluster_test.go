package trials

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/ocr/testpage"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestBenchCluster (scripts/bench-cluster; STRONGROOM_BENCH=1) times what
// a user sees: N small scans dropped at once into a hot folder until the
// last is released to done/, with `strongroom serve` running and warm, on
// the embedded path (SQLite, a folder store, one process) and on the
// distributed one (PostgreSQL, MinIO, a shared folder; one and three
// worker processes), alternated in rounds, each process warm (its PDFium
// compiled before, as after its first item). With STRONGROOM_OLD_BIN, the
// embedded path of another build (the one with NATS JetStream between the
// stages) is timed in the same rounds.
func TestBenchCluster(t *testing.T) {
	if os.Getenv("STRONGROOM_BENCH") == "" {
		t.Skip("a benchmark: scripts/bench-cluster")
	}
	n := 100
	if s := os.Getenv("STRONGROOM_BENCH_ITEMS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	pg := pgtest.Start(t)
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	type setup struct {
		name    string
		bin     string
		workers int
		pg, s3  bool
	}
	setups := []setup{
		{"embedded: SQLite, folder store, 1 process", clitest.Bin, 1, false, false},
		{"PostgreSQL, folder store, 1 process", clitest.Bin, 1, true, false},
		{"embedded with MinIO: SQLite, MinIO, 1 process", clitest.Bin, 1, false, true},
		{"distributed: PostgreSQL, MinIO, 1 process", clitest.Bin, 1, true, true},
		{"distributed: PostgreSQL, MinIO, 3 processes", clitest.Bin, 3, true, true},
	}
	if old := os.Getenv("STRONGROOM_OLD_BIN"); old != "" {
		setups = append(setups, setup{"embedded, the build with JetStream (" + filepath.Base(old) + ")", old, 1, false, false})
	}
	// Every process starts warm, as a daemon that has run before: PDFium
	// compiled into data_dir/cache once, here, and copied to each.
	warm := t.TempDir()
	clitest.PNG(t, filepath.Join(warm, "warm.png"), 40, 30)
	warmCfg := clitest.WriteConfig(t, warm, "")
	if out, errs, code := clitest.Run(t, warm, "ingest", "--config", warmCfg, filepath.Join(warm, "warm.png")); code != 0 {
		t.Fatalf("warm-up: %d %s %s", code, out, errs)
	}
	results := map[string][]time.Duration{}
	db := 0
	for round := range 2 {
		for _, s := range setups {
			root := t.TempDir()
			shared := filepath.Join(root, "shared")
			store := "url: file:" + filepath.Join(root, "store")
			if s.s3 {
				store = fmt.Sprintf("url: s3://%s/archive\n  s3: {endpoint: %s, region: us-east-1, secure: false, path_style: true}", srv.Bucket(false), srv.Endpoint)
			}
			cat := ""
			if s.pg {
				db++
				u := pg.NewDatabase(t, fmt.Sprintf("bench%d", db))
				cat = fmt.Sprintf("catalog: {url: %q}\nsearch: {url: %q}\n", u, u)
			}
			hot, done := filepath.Join(shared, "hot"), filepath.Join(shared, "done")
			var procs []*exec.Cmd
			for w := range s.workers {
				dir := filepath.Join(root, fmt.Sprintf("w%d", w))
				os.MkdirAll(dir, 0o755)
				sharedDir := ""
				if s.bin == clitest.Bin {
					sharedDir = "shared_dir: " + filepath.Join(shared, "work") + "\n"
				}
				cfg := fmt.Sprintf(`data_dir: data
%sintake:
  hot_folders: [{path: %s, create_missing: true}]
  settle: 200ms
  poll_interval: 200ms
  done_dir: %s
  failed_dir: %s
storage:
  %s
bag:
  source_organization: Test Archive
%s`, sharedDir, hot, done, filepath.Join(shared, "failed"), store, cat)
				if err := os.CopyFS(filepath.Join(dir, "data", "cache"), os.DirFS(filepath.Join(warm, "data", "cache"))); err != nil {
					t.Fatal(err)
				}
				procs = append(procs, startServe(t, s.bin, dir, cfg))
				for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					if b, _ := os.ReadFile(filepath.Join(dir, "serve.log")); strings.Contains(string(b), "strongroom serving") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: worker %d did not start", s.name, w)
					}
				}
			}
			src := filepath.Join(root, "src")
			for i := range n {
				clitest.PNG(t, filepath.Join(src, fmt.Sprintf("scan-%03d.png", i)), 40+i, 30)
			}
			time.Sleep(time.Second) // every process settled into watching and claiming
			os.MkdirAll(hot, 0o755)
			start := time.Now()
			for i := range n {
				name := fmt.Sprintf("scan-%03d.png", i)
				if err := os.Rename(filepath.Join(src, name), filepath.Join(hot, name)); err != nil {
					t.Fatal(err)
				}
			}
			for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
				entries, _ := os.ReadDir(done)
				released := 0
				for _, e := range entries {
					if strings.HasSuffix(e.Name(), ".png") {
						released++
					}
				}
				if released == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %d of %d released after 10 minutes", s.name, released, n)
				}
			}
			took := time.Since(start)
			results[s.name] = append(results[s.name], took)
			for _, p := range procs {
				p.Process.Signal(syscall.SIGTERM)
			}
			for _, p := range procs {
				p.Wait()
			}
			t.Logf("round %d: %-55s %6.1f s, %5.1f ms an item", round+1, s.name, took.Seconds(), float64(took.Milliseconds())/float64(n))
		}
	}
	base := results[setups[0].name]
	sum := func(ds []time.Duration) time.Duration {
		var s time.Duration
		for _, d := range ds {
			s += d
		}
		return s
	}
	for _, s := range setups {
		t.Logf("%-55s %5.1f ms an item (%d rounds), %.2f× the embedded path", s.name,
			float64(sum(results[s.name]).Milliseconds())/float64(n*len(results[s.name])), len(results[s.name]),
			float64(sum(results[s.name]))/float64(sum(base)))
	}
}

// TestBenchSpread (scripts/bench-cluster; STRONGROOM_BENCH=1) times the
// OCR of one book of STRONGROOM_BENCH_PAGES pages (default 60: scans of
// 40 lines at 300 dpi) dropped into the hot folder, until it is released,
// with 1, 2 and 3 `strongroom serve` processes sharing PostgreSQL and a
// folder, each with one OCR worker (so that a process is a core's worth
// of OCR, as a machine would be), pages spread (spread_pages: 8). The
// reference in the same run: the tesseract command on the same pages,
// one after the other.
func TestBenchSpread(t *testing.T) {
	if os.Getenv("STRONGROOM_BENCH") == "" {
		t.Skip("a benchmark: scripts/bench-cluster")
	}
	n := 60
	if s := os.Getenv("STRONGROOM_BENCH_PAGES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	tesseract := testenv.Tool(t, "tesseract")
	pg := pgtest.Start(t)
	pages := t.TempDir()
	for i := range n {
		var lines []string
		for j := range 40 {
			lines = append(lines, testpage.Text[(i+j)%len(testpage.Text)])
		}
		img := testpage.Render(lines, testpage.Options{DPI: 300, PointSize: 10, Seed: uint64(i)})
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(pages, fmt.Sprintf("p%03d.png", i+1)), b.Bytes(), 0o644)
	}
	start := time.Now()
	for i := range n {
		p := filepath.Join(pages, fmt.Sprintf("p%03d.png", i+1))
		cmd := exec.Command(tesseract, p, "-", "-l", "eng", "--psm", "3")
		cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1") // one thread, as strongroom's OCR workers
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tesseract: %v %s", err, out)
		}
	}
	floor := time.Since(start)
	t.Logf("tesseract (one thread), one page after the other: %.1f s (%.2f s a page)", floor.Seconds(), floor.Seconds()/float64(n))
	var one time.Duration
	for procs := 1; procs <= 3; procs++ {
		root := t.TempDir()
		shared := filepath.Join(root, "shared")
		u := pg.NewDatabase(t, fmt.Sprintf("spread%d", procs))
		hot, done := filepath.Join(shared, "hot"), filepath.Join(shared, "done")
		var cmds []*exec.Cmd
		for w := range procs {
			dir := filepath.Join(root, fmt.Sprintf("w%d", w))
			os.MkdirAll(dir, 0o755)
			cfg := fmt.Sprintf(`data_dir: data
shared_dir: %s
intake:
  hot_folders: [{path: %s, create_missing: true}]
  settle: 200ms
  batch_quiet: 500ms
  poll_interval: 200ms
  done_dir: %s
  failed_dir: %s
storage: {url: "file:%s"}
bag: {source_organization: Test Archive}
pipeline: {spread_pages: 8}
access: {ocr: {workers: 1}}
catalog: {url: %q}
search: {url: %q}
`, filepath.Join(shared, "work"), hot, done, filepath.Join(shared, "failed"), filepath.Join(root, "store"), u, u)
			cmds = append(cmds, startServe(t, clitest.Bin, dir, cfg))
		}
		time.Sleep(2 * time.Second)
		book := filepath.Join(root, "book")
		os.MkdirAll(book, 0o755)
		for i := range n {
			name := fmt.Sprintf("p%03d.png", i+1)
			b, _ := os.ReadFile(filepath.Join(pages, name))
			os.WriteFile(filepath.Join(book, name), b, 0o644)
		}
		os.MkdirAll(hot, 0o755)
		start := time.Now()
		if err := os.Rename(book, filepath.Join(hot, "book")); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Minute); !exists(filepath.Join(done, "book")); time.Sleep(100 * time.Millisecond) {
			if exists(filepath.Join(shared, "failed", "book")) || time.Now().After(deadline) {
				t.Fatalf("%d processes: the book did not arrive in done/", procs)
			}
		}
		took := time.Since(start)
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		made := ""
		for w, c := range cmds {
			c.Wait()
			log, _ := os.ReadFile(filepath.Join(root, fmt.Sprintf("w%d", w), "serve.log"))
			made += fmt.Sprintf(" w%d:%d", w+1, strings.Count(string(log), "page made"))
		}
		if procs == 1 {
			one = took
		}
		t.Logf("%d processes: %.1f s, %.2f pages/s, %.2f× one process, %.2f× the tesseract floor's time (pages made by worker:%s)", procs, took.Seconds(),
			float64(n)/took.Seconds(), float64(one)/float64(took), took.Seconds()/floor.Seconds(), made)
	}
}

// startServe writes cfg to dir/strongroom.yaml and starts bin serve on it
// in dir, its log in dir/serve.log.
func startServe(t *testing.T, bin, dir, cfg string) *exec.Cmd {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "strongroom.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "strongroom.yaml"))
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}
