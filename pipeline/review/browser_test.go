package review

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
)

// webDriver speaks just enough of the W3C WebDriver protocol to drive a
// real headless Chromium through chromedriver (both Debian packages).
type webDriver struct {
	t       *testing.T
	base    string
	session string
}

const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// wdError is an error answer of the WebDriver server: its "error" code
// (e.g. "stale element reference", "no such element") and message.
type wdError struct {
	status      int
	code, msg   string
	method, uri string
}

func (e *wdError) Error() string {
	return fmt.Sprintf("webdriver %s %s: %d %s: %s", e.method, e.uri, e.status, e.code, e.msg)
}

// call sends one command and returns its answer or the error.
func (d *webDriver) call(method, path string, body any) (map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webdriver %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("webdriver %s %s: %d, answer: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode != 200 {
		e := &wdError{status: resp.StatusCode, method: method, uri: path}
		if v, ok := out["value"].(map[string]any); ok {
			e.code, _ = v["error"].(string)
			e.msg, _ = v["message"].(string)
		}
		return nil, e
	}
	return out, nil
}

// do is call for commands that must not fail.
func (d *webDriver) do(method, path string, body any) map[string]any {
	d.t.Helper()
	out, err := d.call(method, path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// transient reports whether err may pass on a second try: the element was
// replaced (a page re-rendered or navigated between finding it and using
// it) or is not there yet (a navigation still under way).
func transient(err error) bool {
	var e *wdError
	return errors.As(err, &e) && (e.code == "stale element reference" || e.code == "no such element")
}

// waitFor is how long an element may take to appear or settle; generous,
// since on a loaded machine a form post and its redirect take seconds, and
// a test that passes returns as soon as the page is there.
const waitFor = 20 * time.Second

// retry runs f until it succeeds, fails for good, or waitFor passes.
func (d *webDriver) retry(what string, f func() error) {
	d.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		err := f()
		if err == nil {
			return
		}
		if !transient(err) || time.Now().After(deadline) {
			d.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *webDriver) s(path string) string { return "/session/" + d.session + path }

func (d *webDriver) open(u string) { d.do("POST", d.s("/url"), map[string]any{"url": u}) }

func (d *webDriver) findErr(css string) (string, error) {
	out, err := d.call("POST", d.s("/element"), map[string]any{"using": "css selector", "value": css})
	if err != nil {
		return "", err
	}
	v, _ := out["value"].(map[string]any)
	id, _ := v[elementKey].(string)
	if id == "" {
		return "", fmt.Errorf("webdriver: no element id for %q in %v", css, out)
	}
	return id, nil
}

func (d *webDriver) find(css string) string {
	d.t.Helper()
	var id string
	d.retry("find "+css, func() (err error) { id, err = d.findErr(css); return err })
	return id
}

// onElement finds css and sends it a command, again from the finding when
// the element went stale in between.
func (d *webDriver) onElement(css, method, sub string, body any) map[string]any {
	d.t.Helper()
	var out map[string]any
	d.retry(method+" "+css+sub, func() error {
		id, err := d.findErr(css)
		if err != nil {
			return err
		}
		out, err = d.call(method, d.s("/element/"+id+sub), body)
		return err
	})
	return out
}

func (d *webDriver) typeInto(css, text string) {
	d.onElement(css, "POST", "/value", map[string]any{"text": text})
}

func (d *webDriver) click(css string) { d.onElement(css, "POST", "/click", map[string]any{}) }

func (d *webDriver) attribute(css, name string) string {
	v, _ := d.onElement(css, "GET", "/attribute/"+name, nil)["value"].(string)
	return v
}

// waitText waits until the element's text is want (a form post and its
// redirect may still be under way), and returns the last text seen. Any
// error on the way (the element missing or replaced meanwhile) only means
// "not yet".
func (d *webDriver) waitText(css, want string) string {
	var got string
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := d.call("POST", d.s("/elements"), map[string]any{"using": "css selector", "value": css})
		if err != nil {
			continue
		}
		if v, _ := out["value"].([]any); len(v) == 1 {
			id, _ := v[0].(map[string]any)[elementKey].(string)
			if out, err := d.call("GET", d.s("/element/"+id+"/text"), nil); err == nil {
				if t, ok := out["value"].(string); ok {
					got = t
				}
			}
		}
		if got == want {
			break
		}
	}
	return got
}

func (d *webDriver) source() string { return d.do("GET", d.s("/source"), nil)["value"].(string) }

func (d *webDriver) screenshot(path string) {
	raw, _ := base64.StdEncoding.DecodeString(d.do("GET", d.s("/screenshot"), nil)["value"].(string))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	driver, browser := testenv.Tool(t, "chromedriver"), testenv.Tool(t, "chromium")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	d := &webDriver{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(d.base + "/status"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chromedriver did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
		"--user-data-dir=" + t.TempDir()}
	v := d.do("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome", "goog:chromeOptions": map[string]any{"binary": browser, "args": args}}}})["value"].(map[string]any)
	d.session = v["sessionId"].(string)
	// Finding an element waits up to 1 s for it (a page still loading),
	// then returns to retry, which waits up to waitFor in all.
	d.do("POST", d.s("/timeouts"), map[string]any{"implicit": 1000, "pageLoad": 60000})
	t.Cleanup(func() { http.DefaultClient.Do(mustReq("DELETE", d.base+d.s(""))) })
	return d
}

func mustReq(method, u string) *http.Request { r, _ := http.NewRequest(method, u, nil); return r }

// TestReviewPageInBrowser: a reviewer signs in, sees the alert, acknowledges
// it with a note, and sees its state change, in a real headless Chromium.
// STRONGROOM_SCREENSHOTS=DIR keeps the screenshots.
func TestReviewPageInBrowser(t *testing.T) {
	srv, _ := newServer(t)
	d := startBrowser(t)
	shots := os.Getenv("STRONGROOM_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	d.open(srv.URL + "/alerts")
	if !strings.Contains(d.source(), "Sign in with your strongroom API token") {
		t.Fatal("not sent to sign in")
	}
	d.typeInto("input[name=token]", "reviewer-token")
	d.click("form.login button[type=submit]")
	if got := d.waitText("#open-alerts", "1"); got != "1" {
		t.Fatalf("overview shows %q open alerts", got)
	}
	if got := d.waitText("#items-done", "1"); got != "1" {
		t.Fatalf("overview shows %q items ingested", got)
	}
	d.screenshot(filepath.Join(shots, "overview.png"))
	d.open(srv.URL + "/alerts")
	if got := d.waitText("#alert-1 .badge", "open"); got != "open" {
		t.Fatalf("alert state shown: %q", got)
	}
	d.typeInto("form[action='/alerts/1/ack'] input[name=note]", "checking the tape copy")
	d.screenshot(filepath.Join(shots, "alerts.png"))
	d.click("form[action='/alerts/1/ack'] button")
	if got := d.waitText("#alert-1 .badge", "acknowledged"); got != "acknowledged" {
		t.Fatalf("after acknowledging, the page shows %q", got)
	}
	d.open(srv.URL + "/alerts/1")
	if src := d.source(); !strings.Contains(src, "checking the tape copy") || !strings.Contains(src, "ana") {
		t.Error("the alert's history lacks who and the note")
	}
	d.open(srv.URL + "/bags/bag-1")
	d.screenshot(filepath.Join(shots, "bag.png"))
	if !strings.Contains(d.source(), "p001.tif") {
		t.Error("bag page lacks its files")
	}
}
