package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
)

// serveWith starts `strongroom serve` with cfg and returns its log and a
// stop (SIGTERM, or SIGKILL with kill).
func serveWith(t *testing.T, dir, cfg, name string) (log func() string, stop func(kill bool)) {
	t.Helper()
	cmd := exec.Command(clitest.Bin, "serve", "--config", cfg)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log = func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	stopped := false
	stop = func(kill bool) {
		if stopped {
			return
		}
		stopped = true
		if kill {
			cmd.Process.Kill()
		} else {
			cmd.Process.Signal(syscall.SIGTERM)
		}
		cmd.Wait()
		logf.Close()
	}
	t.Cleanup(func() { stop(false) })
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log(), "strongroom serving"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", clitest.LastLines(log(), 10))
		}
	}
	return log, stop
}

// TestServeRoles: a process runs only the roles its config gives it: one
// without intake leaves the hot folder alone; one with intake takes the
// folder's role and its files. Killed with SIGKILL and started again, it
// takes the role at once (its old self is known gone on this machine), not
// after the lease lapses. An unknown role is a configuration error.
func TestServeRoles(t *testing.T) {
	dir := t.TempDir()
	noIntake := clitest.WriteConfig(t, dir, "roles: [stages, audit]\n")
	os.Rename(noIntake, filepath.Join(dir, "no-intake.yaml"))
	noIntake = filepath.Join(dir, "no-intake.yaml")
	log, stop := serveWith(t, dir, noIntake, "no-intake")
	clitest.PNG(t, filepath.Join(dir, "hot", "p1.png"), 40, 30)
	time.Sleep(3 * time.Second)
	if _, err := os.Stat(filepath.Join(dir, "hot", "p1.png")); err != nil || strings.Contains(log(), "item taken") {
		t.Fatalf("a process without the intake role took from the hot folder: %v\n%s", err, clitest.LastLines(log(), 10))
	}
	stop(false)

	withIntake := clitest.WriteConfig(t, dir, "roles: [intake, stages]\n")
	stored := func(name string, within time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, "done", name)); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not stored within %s", name, within)
			}
		}
	}
	log, stop = serveWith(t, dir, withIntake, "intake")
	stored("p1.png", 30*time.Second)
	if !strings.Contains(log(), `msg="role taken" role=intake:`) {
		t.Errorf("no role taken in the log:\n%s", clitest.LastLines(log(), 10))
	}
	stop(true) // kill -9: the role's lease is left behind
	log, _ = serveWith(t, dir, withIntake, "restarted")
	start := time.Now()
	clitest.PNG(t, filepath.Join(dir, "hot", "p2.png"), 40, 30)
	stored("p2.png", 30*time.Second)
	if took := time.Since(start); took > 10*time.Second || !strings.Contains(log(), "its holder is gone; taking it") {
		t.Errorf("after a kill -9, the hot folder was watched again after %s:\n%s", took, clitest.LastLines(log(), 10))
	}

	bad := clitest.WriteConfig(t, dir, "roles: [intake, ocr-only]\n")
	if _, errs, code := clitest.Run(t, dir, "config", "check", "--config", bad); code != exitUsage || !strings.Contains(errs, `roles: "ocr-only" is not a role`) {
		t.Errorf("an unknown role: exit %d %s", code, errs)
	}
}
