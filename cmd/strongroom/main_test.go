package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// The tests drive the real binary, as a user or a harness would.
func TestMain(m *testing.M) { clitest.Main(m, ".") }

// runBin runs the binary and returns stdout, stderr and the exit code.

func TestUsageAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"version"}, exitOK, "strongroom"},
		{[]string{"version"}, exitOK, "tesseract"}, // and its languages, Siegfried's signatures, pdfcpu
		{[]string{"version"}, exitOK, "pronom: DROID_SignatureFile"},
		{[]string{"version"}, exitOK, "github.com/pdfcpu/pdfcpu v"},
		{[]string{"serve", "--help"}, exitOK, "Usage: strongroom serve"},
		{[]string{"ingest", "--help"}, exitOK, "Usage: strongroom ingest"},
		{[]string{"identify", "--help"}, exitOK, "Usage: strongroom identify"},
		{[]string{"bag", "validate", "--help"}, exitOK, "Usage: strongroom bag validate"},
		{[]string{"bag", "create", "--help"}, exitOK, "Usage: strongroom bag create"},
		{[]string{"ingest"}, exitUsage, "no PATH"},
		{[]string{"serve", "--config", "/nonexistent.yaml"}, exitUsage, "no such file"},
	} {
		out, errs, code := clitest.Run(t, dir, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("strongroom %v: exit %d, want %d; output %q", c.args, code, c.code, out+errs)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	p := clitest.WriteConfig(t, dir, "intake_typo: 1\n")
	_, errs, code := clitest.Run(t, dir, "serve", "--config", p)
	if code != exitUsage || !strings.Contains(errs, "intake_typo") {
		t.Errorf("unknown key: exit %d, %q", code, errs)
	}
	p = clitest.WriteConfig(t, dir, "")
	os.WriteFile(p, []byte(strings.Replace(clitest.ReadFile(t, p), "settle: 200ms", "settle: -1s", 1)), 0o644)
	_, errs, code = clitest.Run(t, dir, "config", "--config", p)
	if code != exitUsage || !strings.Contains(errs, "intake.settle") {
		t.Errorf("bad value: exit %d, %q", code, errs)
	}
}

// TestIngest200 is the "done" check: a folder of 200 small files
// ingested in the foreground prints 200 stored lines.
func TestIngest200(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	var paths []string
	for i := range 200 {
		p := filepath.Join(dir, "in", fmt.Sprintf("page-%03d.png", i))
		clitest.PNG(t, p, 8+i%5, 8)
		paths = append(paths, p)
	}
	out, errs, code := clitest.Run(t, dir, append([]string{"ingest", "--config", cfg}, paths...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, clitest.LastLines(errs, 10))
	}
	stored := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l ingestLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		if l.Status == "stored" && l.Bag != "" {
			stored++
		}
	}
	if stored != 200 {
		t.Errorf("%d stored lines, want 200", stored)
	}
	// ingest leaves originals where they are.
	if _, err := os.Stat(paths[0]); err != nil {
		t.Error(err)
	}
}

func TestIngestFailures(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	good := filepath.Join(dir, "good.png")
	clitest.PNG(t, good, 10, 10)
	empty := filepath.Join(dir, "empty.png")
	os.WriteFile(empty, nil, 0o644)
	out, _, code := clitest.Run(t, dir, "ingest", "--config", cfg, good, empty)
	if code != exitFailed || !strings.Contains(out, `"status":"stored"`) || !strings.Contains(out, "zero-byte") {
		t.Errorf("exit %d, output %s", code, out)
	}
}

// TestIngestDuplicateSkipped: under pipeline.duplicates: skip, ingesting a
// file a bag holds already says "duplicate" with that bag, exits 0, and
// stores nothing new.
func TestIngestDuplicateSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "  duplicates: skip\n")
	p := filepath.Join(dir, "page.png")
	clitest.PNG(t, p, 10, 10)
	out, _, code := clitest.Run(t, dir, "ingest", "--config", cfg, p)
	var first struct{ Bag, Status string }
	if code != 0 || json.Unmarshal([]byte(out), &first) != nil || first.Status != "stored" {
		t.Fatalf("first ingest: exit %d, %s", code, out)
	}
	out, _, code = clitest.Run(t, dir, "ingest", "--config", cfg, p)
	if code != 0 || !strings.Contains(out, `"bag":"`+first.Bag+`","status":"duplicate"`) {
		t.Errorf("second ingest: exit %d, %s", code, out)
	}
	if bags, _ := filepath.Glob(filepath.Join(dir, "store", "*", "bagit.txt")); len(bags) != 1 {
		t.Errorf("bags stored: %q, want 1", bags)
	}
}

func TestBagCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	clitest.PNG(t, filepath.Join(src, "a.png"), 5, 5)
	clitest.PNG(t, filepath.Join(src, "sub dir", "b.png"), 6, 5)
	bag := filepath.Join(dir, "bag")
	if _, errs, code := clitest.Run(t, dir, "bag", "create", "--algorithm", "sha256,md5", src, bag); code != 0 {
		t.Fatalf("create: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(bag, "manifest-md5.txt")); err != nil {
		t.Error(err)
	}
	if out, errs, code := clitest.Run(t, dir, "bag", "validate", bag); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("validate: %d %s %s", code, out, errs)
	}
	if out, _, code := clitest.Run(t, dir, "bag", "validate", "--quiet", bag); code != 0 || out != "" {
		t.Errorf("quiet: %d %q", code, out)
	}
	os.WriteFile(filepath.Join(bag, "data", "a.png"), []byte("tampered"), 0o644)
	os.WriteFile(filepath.Join(bag, "data", "extra.txt"), []byte("x"), 0o644)
	_, errs, code := clitest.Run(t, dir, "bag", "validate", bag)
	if code != exitFailed {
		t.Fatalf("invalid bag: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	want := []string{"digest-mismatch: data/a.png", "unlisted-file: data/extra.txt", "oxum-mismatch"}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
	if len(lines) < 4 { // two digest mismatches, the unlisted file, the oxum, the summary
		t.Errorf("want each problem on its own line:\n%s", errs)
	}
	if _, _, code := clitest.Run(t, dir, "bag", "validate", "--fast", bag); code != exitFailed {
		t.Errorf("fast on a bag with an extra file: exit %d", code)
	}
	if _, _, code := clitest.Run(t, dir, "bag", "create", src, bag); code == 0 {
		t.Error("create into a non-empty folder succeeded")
	}
}

// TestAuditAndAlertsCLI: the contract our checks use. audit --all exits 0
// when every bag is intact and non-zero otherwise; alerts list prints one
// line per open alert naming the bag.
func TestAuditAndAlertsCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	var paths []string
	for i := range 3 {
		p := filepath.Join(dir, "in", fmt.Sprintf("p%d.png", i))
		clitest.PNG(t, p, 10+i, 10)
		paths = append(paths, p)
	}
	out, _, code := clitest.Run(t, dir, append([]string{"ingest", "--config", cfg}, paths...)...)
	if code != 0 {
		t.Fatalf("ingest: %d %s", code, out)
	}
	var bags []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var il ingestLine
		json.Unmarshal([]byte(l), &il)
		bags = append(bags, il.Bag)
	}
	if out, errs, code := clitest.Run(t, dir, "audit", "--config", cfg, "--all"); code != 0 || strings.Count(out, `"status":"intact"`) != 3 {
		t.Fatalf("audit of intact bags: %d\n%s\n%s", code, out, errs)
	}
	if out, _, _ := clitest.Run(t, dir, "alerts", "--config", cfg, "list"); out != "" {
		t.Errorf("alerts before damage: %q", out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "store", bags[1], "data", "original", "*.png"))
	if len(pages) != 1 {
		t.Fatalf("bag %s holds %v", bags[1], pages)
	}
	victim := pages[0]
	b, _ := os.ReadFile(victim)
	b[len(b)/2] ^= 0xff // one byte flipped: same size, other bytes
	os.WriteFile(victim, b, 0o644)
	out, errs, code := clitest.Run(t, dir, "audit", "--config", cfg, "--all")
	if code != exitFailed || !strings.Contains(out, `"status":"damaged"`) || !strings.Contains(errs, "damaged") {
		t.Fatalf("audit of a damaged bag: %d\n%s\n%s", code, out, errs)
	}
	list, _, _ := clitest.Run(t, dir, "alerts", "--config", cfg, "list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], bags[1]) || !strings.Contains(lines[0], "altered") {
		t.Fatalf("alerts list: %q", list)
	}
	id := strings.Fields(lines[0])[0]
	if _, errs, code := clitest.Run(t, dir, "alerts", "--config", cfg, "ack", id, "--note", "looking", "--by", "ana"); code != 0 {
		t.Fatalf("ack: %d %s", code, errs)
	}
	if out, _, code := clitest.Run(t, dir, "alerts", "--config", cfg, "resolve", id, "--note", "restored"); code != 0 || !strings.Contains(out, `"state": "resolved"`) {
		t.Fatalf("resolve: %d %s", code, out)
	}
	if out, _, _ := clitest.Run(t, dir, "alerts", "--config", cfg, "list"); out != "" {
		t.Errorf("open alerts after resolving: %q", out)
	}
	if _, _, code := clitest.Run(t, dir, "audit", "--config", cfg, "--bag", bags[0]); code != 0 {
		t.Errorf("audit of an intact bag: %d", code)
	}
	if _, _, code := clitest.Run(t, dir, "audit", "--config", cfg, "--bag", "no-such-bag"); code != exitUsage {
		t.Errorf("audit of an unknown bag: %d", code)
	}
	if out, _, code := clitest.Run(t, dir, "audit", "--config", cfg, "--all", "--subset", "1/1"); code != exitFailed || strings.Count(out, "\n") != 3 {
		t.Errorf("subset 1/1: %d %s", code, out)
	}
}

// TestReprocessRefusesMissingLanguage: `reprocess --languages fra` with
// fra not installed stored a new version without an access copy and
// exited 0. Now it is refused before anything is read: exit 2, the
// Debian package named, nothing made.
func TestReprocessRefusesMissingLanguage(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	_, errs, code := clitest.Run(t, dir, "reprocess", "--config", cfg, "--languages", "eng+qqq", "some-bag")
	if code != exitUsage || !strings.Contains(errs, "apt-get install tesseract-ocr-qqq") {
		t.Errorf("exit %d, %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Errorf("something was made: %v", err)
	}
}

// TestReadCommandsNeverCreate: `alerts list` with a wrong --config (or
// none) printed nothing and made an empty catalog where it looked: staff
// could conclude there are no alerts. Read commands now refuse, exit 2,
// naming where they looked; without --config they read
// $STRONGROOM_CONFIG, then ./strongroom.yaml.
func TestReadCommandsNeverCreate(t *testing.T) {
	dir := t.TempDir()
	wrong := clitest.WriteConfig(t, t.TempDir(), "")
	for _, args := range [][]string{{"alerts", "list"}, {"items", "list"}, {"bags", "list"}, {"audit", "--all"}, {"get", "some-bag", filepath.Join(dir, "x")}} {
		_, errs, code := clitest.Run(t, dir, append(append([]string{}, args[0], "--config", wrong), args[1:]...)...)
		if code != exitUsage || !strings.Contains(errs, "no catalog at") {
			t.Errorf("%v with a config nothing was stored with: exit %d %q", args, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(wrong), "data")); !os.IsNotExist(err) {
		t.Errorf("a read command made data_dir: %v", err)
	}
	// The configuration is found without --config: ./strongroom.yaml.
	cfg := clitest.WriteConfig(t, dir, "")
	clitest.PNG(t, filepath.Join(dir, "in", "p.png"), 12, 10)
	if out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfg, filepath.Join(dir, "in", "p.png")); code != 0 {
		t.Fatalf("ingest: %s %s", out, errs)
	}
	if out, errs, code := clitest.Run(t, dir, "bags", "list"); code != 0 || !strings.Contains(out, "p") {
		t.Errorf("bags list in the folder of strongroom.yaml: exit %d %q %q", code, out, errs)
	}
}

// TestMissingHotFolderRefused: a hot folder that did not exist was made
// silently: an unmounted share became an empty local folder that scans
// went into. serve now refuses to start (exit 2) naming it, unless the
// folder may be made (create_missing: true).
func TestMissingHotFolderRefused(t *testing.T) {
	dir := t.TempDir()
	share := filepath.Join(dir, "mnt", "scans")
	cfg := clitest.WriteConfig(t, dir, "")
	text := strings.Replace(clitest.ReadFile(t, cfg), "{path: hot, create_missing: true}", "{path: "+share+"}", 1)
	os.WriteFile(cfg, []byte(text), 0o644)
	_, errs, code := clitest.Run(t, dir, "serve", "--config", cfg)
	if code != exitUsage || !strings.Contains(errs, share+" does not exist") || !strings.Contains(errs, "create_missing") {
		t.Errorf("serve with a missing hot folder: exit %d %q", code, errs)
	}
	if _, err := os.Stat(share); !os.IsNotExist(err) {
		t.Errorf("the missing hot folder was made: %v", err)
	}
}

// TestSighupSaid: SIGHUP (a terminal closed, an operator asking for a
// reload) killed the daemon by the signal's default action. It now stays
// up and says the configuration is read at start only.
func TestSighupSaid(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	cmd := exec.Command(clitest.Bin, "serve", "--config", cfg)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf // a file: the test reads it while the daemon writes
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	out := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out(), "strongroom serving"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
	}
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	if cmd.ProcessState != nil || syscall.Kill(cmd.Process.Pid, 0) != nil {
		t.Fatal("serve died of SIGHUP")
	}
	if !strings.Contains(out(), "SIGHUP: the configuration is read at start only") {
		t.Errorf("nothing said of SIGHUP:\n%s", clitest.LastLines(out(), 10))
	}
}

// TestNotFoundExitsTwo: `bags show nosuchbag` exited 3 where `get
// nosuchbag` exited 2. An id that names nothing is 2 in every command.
func TestNotFoundExitsTwo(t *testing.T) {
	dir := t.TempDir()
	cfg := clitest.WriteConfig(t, dir, "")
	clitest.PNG(t, filepath.Join(dir, "in", "p.png"), 12, 10)
	if out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfg, filepath.Join(dir, "in", "p.png")); code != 0 {
		t.Fatalf("ingest: %s %s", out, errs)
	}
	for _, args := range [][]string{{"bags", "show", "nosuchbag"}, {"get", "nosuchbag", filepath.Join(dir, "x")}, {"items", "show", "nosuchitem"},
		{"alerts", "show", "999"}, {"audit", "--bag", "nosuchbag"}} {
		if _, errs, code := clitest.Run(t, dir, append([]string{args[0], "--config", cfg}, args[1:]...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errs)
		}
	}
}

// TestConfigCheck: `config check` checks the configuration on this
// machine and lists every problem, not the first: a hot folder that is not
// there, a done folder that cannot be made, a TLS pair that cannot be read,
// a store that cannot be written. A good configuration passes, and its
// store keeps nothing of the probe. YAML of the wrong type names its key;
// a config file that is a folder, binary or 10 MB of text is refused with
// its name; an empty one is the defaults.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := clitest.WriteConfig(t, dir, "")
	out, errs, code := clitest.Run(t, dir, "config", "check", "--config", good)
	if code != 0 || !strings.Contains(out, "all checks passed") || strings.Contains(out, "FAIL") {
		t.Errorf("a good configuration: exit %d\n%s%s", code, out, errs)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "store")); len(left) != 1 { // .incoming only
		t.Errorf("the store keeps %d entries after the check", len(left))
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("data_dir: data\nintake:\n  hot_folders: [{path: /nonexistent/scans}]\n  done_dir: /proc/done\n  failed_dir: failed\n"+
		"storage:\n  url: file:///proc/store\nhttp:\n  listen: 127.0.0.1:0\n  tls_cert: nope.pem\n  tls_key: nope.key\n"), 0o644)
	out, errs, code = clitest.Run(t, dir, "config", "check", "--config", bad)
	if code != exitUsage || strings.Count(out, "FAIL") != 4 || !strings.Contains(errs, "4 problems") {
		t.Errorf("four problems: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"FAIL  intake.hot_folders[0].path /nonexistent/scans: does not exist", "FAIL  intake.done_dir /proc/done", "FAIL  http.tls_cert", "FAIL  storage.url file:///proc/store"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check does not say %q:\n%s", want, out)
		}
	}
	typed := filepath.Join(dir, "typed.yaml")
	os.WriteFile(typed, []byte("pipeline:\n  workers: two\nintake:\n  hot_folders:\n    - path: hot\n      settle: soon\n"), 0o644)
	_, errs, code = clitest.Run(t, dir, "config", "check", "--config", typed)
	if code != exitUsage || !strings.Contains(errs, `pipeline.workers: "two" is not a whole number (line 2)`) ||
		!strings.Contains(errs, `intake.hot_folders[0].settle: "soon" is not a duration`) {
		t.Errorf("values of the wrong type: exit %d, %q", code, errs)
	}
	binary := filepath.Join(dir, "binary.yaml")
	os.WriteFile(binary, []byte("\x00\xff\xfe binary \x01"), 0o644)
	huge := filepath.Join(dir, "huge.yaml")
	os.WriteFile(huge, bytes.Repeat([]byte("a"), 10<<20), 0o644)
	for _, p := range []string{t.TempDir(), binary, huge} {
		if _, errs, code := clitest.Run(t, dir, "config", "check", "--config", p); code != exitUsage || !strings.Contains(errs, filepath.Base(p)) {
			t.Errorf("config file %s: exit %d, %q", filepath.Base(p), code, clitest.LastLines(errs, 2))
		}
	}
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o644)
	if _, errs, code := clitest.Run(t, dir, "config", "--config", empty); code != 0 {
		t.Errorf("an empty config file (the defaults): exit %d, %q", code, errs)
	}
}

// TestSystemdUnit: configs/strongroom.service is a unit systemd takes as it
// is (systemd-analyze verify says nothing of it, with ExecStart pointing at
// this build), hardened (systemd-analyze security: exposure at most 2.5 of
// 10), and starts the commands this binary has. Where systemd runs as the
// machine's init, scripts/install-service installs and starts it; here
// (no systemd as init, as in CI) the unit is checked offline.
func TestSystemdUnit(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze")
	b, err := os.ReadFile("../../configs/strongroom.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "strongroom.service")
	os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/local/bin/strongroom"), []byte(clitest.Bin)), 0o644)
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, _ := exec.Command(analyze, "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for strongroom.service: ([\d.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security:\n%s", out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2.5 {
		t.Errorf("exposure %.1f, want at most 2.5:\n%s", score, out)
	}
	for _, line := range strings.Split(string(b), "\n") {
		cmd, ok := strings.CutPrefix(line, "ExecStart")
		if !ok {
			continue
		}
		_, cmd, _ = strings.Cut(cmd, "=/usr/local/bin/strongroom ")
		args := append(strings.Fields(cmd), "--help")
		if _, errs, code := clitest.Run(t, t.TempDir(), args...); code != 0 {
			t.Errorf("the unit runs %q, which this binary does not take: exit %d %q", cmd, code, errs)
		}
	}
}

// TestRetentionSchedules: the first slice of retention. Each stored bag
// falls under the schedule its description names (bag.metadata for all, a
// batch's metadata.json for its own), its due date computed from its
// trigger and period and recorded with a PREMIS policy assignment event;
// `retention due` lists what is due by a day, then what cannot be dated
// (a schedule that runs from a closed date not given); a legal hold marks
// what it holds until it is released; a configuration that names a
// schedule it does not have does not start.
func TestRetentionSchedules(t *testing.T) {
	dir := t.TempDir()
	schedules := `retention:
  schedules:
    - {code: FIN-7, title: Financial records, mandate: Companies Act 2006 s.388, trigger: ingested, period: P7Y, action: destroy}
    - {code: CASE, title: Case files, mandate: Records policy 4.2, trigger: closed, period: P6Y, action: review}
`
	withDefault := func(dir, code string) string {
		p := clitest.WriteConfig(t, dir, schedules)
		os.WriteFile(p, []byte(strings.Replace(clitest.ReadFile(t, p), "  source_organization: Test Archive\n", "  source_organization: Test Archive\n  metadata: {retention: "+code+"}\n", 1)), 0o644)
		return p
	}
	cfg := withDefault(dir, "FIN-7")
	ledger := filepath.Join(dir, "in", "ledger.png")
	clitest.PNG(t, ledger, 20, 20)
	closedCase, openCase := filepath.Join(dir, "in", "case-1"), filepath.Join(dir, "in", "case-2")
	clitest.PNG(t, filepath.Join(closedCase, "p1.png"), 21, 20)
	os.WriteFile(filepath.Join(closedCase, "metadata.json"), []byte(`{"retention": "CASE", "closed": "2020-01-31"}`), 0o644)
	clitest.PNG(t, filepath.Join(openCase, "p1.png"), 22, 20)
	os.WriteFile(filepath.Join(openCase, "metadata.json"), []byte(`{"retention": "CASE"}`), 0o644)
	bags := ingestBags(t, dir, cfg, ledger, closedCase, openCase)
	out, _, code := clitest.Run(t, dir, "retention", "show", bags[ledger], "--json", "--config", cfg)
	var r catalog.Retention
	json.Unmarshal([]byte(out), &r)
	if want := time.Now().UTC().AddDate(7, 0, 0).Format(time.DateOnly); code != 0 || r.Schedule != "FIN-7" || r.Action != "destroy" || r.Due.Format(time.DateOnly) != want {
		t.Errorf("the ledger's retention: exit %d %+v, want FIN-7, destroy, due %s", code, r, want)
	}
	out, _, _ = clitest.Run(t, dir, "retention", "due", "--json", "--config", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"bag_id":"`+bags[closedCase]+`"`) || !strings.Contains(lines[0], `"due":"2026-01-31T00:00:00Z"`) ||
		!strings.Contains(lines[1], bags[openCase]) || !strings.Contains(lines[1], "no closed date") {
		t.Errorf("retention due: the closed case (due 2026-01-31), then the open one (not datable):\n%s", out)
	}
	if out, _, _ := clitest.Run(t, dir, "bags", "show", bags[closedCase], "--json", "--config", cfg); !strings.Contains(out, `"type":"policy assignment"`) ||
		!strings.Contains(out, "retention schedule CASE (Case files; Records policy 4.2): review after P6Y, due 2026-01-31") {
		t.Errorf("no policy assignment event:\n%s", out)
	}
	if out, _, code := clitest.Run(t, dir, "retention", "schedules", "--config", cfg); code != 0 || !strings.Contains(out, "Companies Act 2006 s.388") {
		t.Errorf("retention schedules: %d\n%s", code, out)
	}
	// A legal hold on the closed case: due, but held; released, not.
	out, errs, code := clitest.Run(t, dir, "hold", "create", "--name", "Smith v Harbour Board", "--reason", "litigation", "--authority", "counsel, 2026-11-30", "--json", "--config", cfg)
	var h catalog.Hold
	if json.Unmarshal([]byte(out), &h); code != 0 || h.ID == 0 {
		t.Fatalf("hold create: exit %d %q %s", code, out, errs)
	}
	id := fmt.Sprint(h.ID)
	if _, errs, code := clitest.Run(t, dir, "hold", "add", id, bags[closedCase], "--config", cfg); code != 0 {
		t.Fatalf("hold add: exit %d %s", code, errs)
	}
	if out, _, _ := clitest.Run(t, dir, "retention", "due", "--json", "--config", cfg); !strings.Contains(strings.Split(out, "\n")[0], `"held":true`) {
		t.Errorf("the held case is not marked held:\n%s", out)
	}
	if out, _, _ := clitest.Run(t, dir, "bags", "show", bags[closedCase], "--json", "--config", cfg); !strings.Contains(out, "legal hold "+id+" (Smith v Harbour Board; counsel, 2026-11-30): applied") {
		t.Errorf("no event of the hold on the bag:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"hold", "add", id, "nosuchbag"}, exitUsage},
		{[]string{"hold", "create", "--name", "x", "--reason", "y"}, exitUsage}, // no authority
		{[]string{"hold", "release", id}, exitUsage},                            // no reason
		{[]string{"hold", "show", "999"}, exitUsage},
		{[]string{"hold", "release", id, "--reason", "settled"}, 0},
		{[]string{"hold", "add", id, bags[ledger]}, exitFailed}, // released
	} {
		if _, errs, code := clitest.Run(t, dir, append(c.args, "--config", cfg)...); code != c.code {
			t.Errorf("%q: exit %d, want %d: %s", c.args, code, c.code, errs)
		}
	}
	if out, _, _ := clitest.Run(t, dir, "retention", "due", "--json", "--config", cfg); strings.Contains(out, `"held":true`) {
		t.Errorf("still held after the release:\n%s", out)
	}
	bad := withDefault(t.TempDir(), "NOPE")
	if _, errs, code := clitest.Run(t, dir, "config", "--config", bad); code != exitUsage || !strings.Contains(errs, `bag.metadata.retention "NOPE": no such schedule`) {
		t.Errorf("a default schedule that is not configured: exit %d %q", code, errs)
	}
	// The ledgers' schedule lengthened: apply computes the ledger again.
	clitest.Run(t, dir, "retention", "apply", "--config", cfg) // the first version, recorded
	os.WriteFile(cfg, []byte(strings.Replace(clitest.ReadFile(t, cfg), "period: P7Y", "period: P10Y", 1)), 0o644)
	if _, errs, code := clitest.Run(t, dir, "retention", "apply", "--config", cfg); code != 0 || !strings.Contains(errs, "1 bags computed again") {
		t.Errorf("retention apply after a change: exit %d %q", code, errs)
	}
	out, _, _ = clitest.Run(t, dir, "retention", "show", bags[ledger], "--json", "--config", cfg)
	json.Unmarshal([]byte(out), &r)
	if want := time.Now().UTC().AddDate(10, 0, 0).Format(time.DateOnly); r.Due.Format(time.DateOnly) != want {
		t.Errorf("the ledger after the change: due %s, want %s", r.Due.Format(time.DateOnly), want)
	}
	// The ledger put under the case schedule by hand: recorded, and an
	// unknown schedule refused.
	if _, errs, code := clitest.Run(t, dir, "retention", "assign", bags[ledger], "NOPE", "--reason", "x", "--config", cfg); code != exitUsage || !strings.Contains(errs, "not configured") {
		t.Errorf("assign an unknown schedule: exit %d %q", code, errs)
	}
	out, errs, code = clitest.Run(t, dir, "retention", "assign", bags[ledger], "CASE", "--reason", "it is a case file", "--by", "rm", "--json", "--config", cfg)
	if json.Unmarshal([]byte(out), &r); code != 0 || r.Schedule != "CASE" || r.Action != "review" || !r.Due.IsZero() {
		t.Errorf("assign: exit %d %q %q", code, out, errs)
	}
	if out, _, _ := clitest.Run(t, dir, "bags", "show", bags[ledger], "--json", "--config", cfg); !strings.Contains(out, "retention schedule CASE (Case files; Records policy 4.2) assigned by rm") {
		t.Errorf("no event of the assignment:\n%s", out)
	}
}

// ingestBags ingests paths with the binary, fails t unless every one is
// stored, and returns their bags by path.
func ingestBags(t *testing.T, dir, cfg string, paths ...string) map[string]string {
	t.Helper()
	out, errs, code := clitest.Run(t, dir, append([]string{"ingest", "--config", cfg}, paths...)...)
	if code != 0 {
		t.Fatalf("ingest: %d %s %s", code, out, clitest.LastLines(errs, 5))
	}
	bags := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var il ingestLine
		json.Unmarshal([]byte(l), &il)
		bags[il.Item] = il.Bag
	}
	return bags
}

// TestCPUProfile: STRONGROOM_CPUPROFILE, as the README says, makes a
// command write a CPU profile (gzipped protobuf, what go tool pprof reads)
// of its run.
func TestCPUProfile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpu.prof")
	t.Setenv("STRONGROOM_CPUPROFILE", p)
	if _, stderr, code := clitest.Run(t, t.TempDir(), "version"); code != 0 {
		t.Fatalf("version: exit %d: %s", code, stderr)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("the profile is not gzipped: %v", err)
	}
	if b, err := io.ReadAll(zr); err != nil || len(b) == 0 {
		t.Errorf("the profile: %d bytes, %v", len(b), err)
	}
}
