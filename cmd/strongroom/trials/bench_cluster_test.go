package trials

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/pipeline/catalog/pgtest"
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestBenchCluster (scripts/bench-cluster; STRONGROOM_BENCH=1) times what
// a user sees: N small scans dropped at once into a hot folder until the
// last is released to done/, with `strongroom serve` running and warm, on
// the embedded path (SQLite, a folder store, one process) and on the
// distributed one (PostgreSQL, MinIO, a shared folder; one and three
// worker processes), alternated in rounds. With STRONGROOM_OLD_BIN, the
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
		{"distributed: PostgreSQL, MinIO, 1 process", clitest.Bin, 1, true, true},
		{"distributed: PostgreSQL, MinIO, 3 processes", clitest.Bin, 3, true, true},
	}
	if old := os.Getenv("STRONGROOM_OLD_BIN"); old != "" {
		setups = append(setups, setup{"embedded, the build with JetStream (" + filepath.Base(old) + ")", old, 1, false, false})
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
				cat = fmt.Sprintf("catalog: {url: %s}\nsearch: {url: %s}\n", u, u)
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
				os.WriteFile(filepath.Join(dir, "strongroom.yaml"), []byte(cfg), 0o644)
				cmd := exec.Command(s.bin, "serve", "--config", filepath.Join(dir, "strongroom.yaml"))
				cmd.Dir = dir
				logf, _ := os.Create(filepath.Join(dir, "serve.log"))
				cmd.Stdout, cmd.Stderr = logf, logf
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				procs = append(procs, cmd)
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
