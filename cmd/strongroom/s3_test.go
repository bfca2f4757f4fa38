package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
	"github.com/strongroom-archive/strongroom/formats/testenv"

	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
)

// TestS3WithAWSCLI ingests a batch into a real MinIO and checks the result
// with the AWS CLI, an independent client: the bag is listed as a folder, a
// page carries its SHA-256 checksum, and the bag downloaded with `aws s3 cp`
// validates with `strongroom bag validate`.
func TestS3WithAWSCLI(t *testing.T) {
	aws := testenv.Tool(t, "aws")
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	bucket := srv.Bucket(false)
	dir := t.TempDir()
	cfgPath := clitest.WriteConfig(t, dir, "")
	clitest.UseS3(t, cfgPath, bucket, srv.Endpoint, "")
	for i := range 5 {
		clitest.PNG(t, filepath.Join(dir, "book-17", fmt.Sprintf("p%03d.png", i)), 40+i, 30)
	}
	out, errs, code := clitest.Run(t, dir, "ingest", "--config", cfgPath, filepath.Join(dir, "book-17"))
	if code != 0 {
		t.Fatalf("ingest: %d\n%s\n%s", code, out, clitest.LastLines(errs, 10))
	}
	var line ingestLine
	json.Unmarshal([]byte(out), &line)

	awsRun := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(context.Background(), aws, append(args, "--endpoint-url", "http://"+srv.Endpoint)...)
		cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	prefix := "archive/" + line.Bag + "/"
	ls := awsRun("s3", "ls", "--recursive", "s3://"+bucket+"/"+prefix)
	for _, want := range []string{prefix + "bagit.txt", prefix + "manifest-sha512.txt", prefix + "data/original/book-17/p004.png", prefix + "premis.xml"} {
		if !strings.Contains(ls, want) {
			t.Errorf("aws s3 ls lacks %s:\n%s", want, ls)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "book-17", "p002.png"))
	sum := sha256.Sum256(page)
	head := awsRun("s3api", "head-object", "--bucket", bucket, "--key", prefix+"data/original/book-17/p002.png", "--checksum-mode", "ENABLED")
	if !strings.Contains(head, base64.StdEncoding.EncodeToString(sum[:])) {
		t.Errorf("head-object shows no SHA-256 checksum of the page:\n%s", head)
	}
	local := filepath.Join(t.TempDir(), "bag")
	awsRun("s3", "cp", "--recursive", "--quiet", "s3://"+bucket+"/"+prefix, local)
	if out, errs, code := clitest.Run(t, dir, "bag", "validate", local); code != 0 {
		t.Errorf("downloaded bag: %d %s %s", code, out, errs)
	}
}

// TestDisposalOnObjectLock is issue 15's end-to-end check on MinIO with
// Object Lock in compliance mode and a schedule of 30 s (long tier: it
// waits for the due date): each object is
// locked until its bag's due date (not the hour retain_for says); a legal
// hold sets S3 legal hold on every object of its bag (seen with `aws
// s3api get-object-legal-hold`) and nothing of that bag can be disposed
// of; once due, a request refused to its requester and approved by
// another deletes every object and version of the other bag (listed with
// `aws s3api list-object-versions`), leaving a tombstone, a PREMIS
// deletion event and a certificate in the bucket; the release of the hold
// lifts the S3 legal hold.
func TestDisposalOnObjectLock(t *testing.T) {
	testenv.Long(t)
	aws := testenv.Tool(t, "aws")
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	bucket := srv.Bucket(true)
	dir := t.TempDir()
	cfgPath := clitest.WriteConfig(t, dir, `retention:
  schedules:
    - {code: TRIAL, title: Trial records, mandate: Test policy 1, trigger: ingested, period: PT30S, action: destroy}
`)
	clitest.UseS3(t, cfgPath, bucket, srv.Endpoint, "lock: {mode: compliance, retain_for: 1h}")
	cfgText := strings.Replace(clitest.ReadFile(t, cfgPath), "  source_organization: Test Archive\n", "  source_organization: Test Archive\n  metadata: {retention: TRIAL}\n", 1)
	os.WriteFile(cfgPath, []byte(cfgText), 0o644)
	gone, held := filepath.Join(dir, "in", "slips.png"), filepath.Join(dir, "in", "minutes.png")
	clitest.PNG(t, gone, 30, 20)
	clitest.PNG(t, held, 31, 20)
	start := time.Now()
	bags := ingestBags(t, dir, cfgPath, gone, held)
	awsRun := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append(args, "--endpoint-url", "http://"+srv.Endpoint)...)
		cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	key := func(bag, k string) string { return "archive/" + bags[bag] + "/" + k }
	var ret struct {
		Retention struct{ Mode, RetainUntilDate string }
	}
	json.Unmarshal([]byte(awsRun("s3api", "get-object-retention", "--bucket", bucket, "--key", key(gone, "bagit.txt"))), &ret)
	until, err := time.Parse(time.RFC3339, ret.Retention.RetainUntilDate)
	if err != nil || ret.Retention.Mode != "COMPLIANCE" || until.After(start.Add(time.Minute)) || until.Before(start) {
		t.Fatalf("the lock of a bag due in 30 s: %+v (%v), want compliance until about %s", ret, err, start.Add(30*time.Second))
	}
	if time.Until(until) < 5*time.Second {
		t.Fatalf("ingest took %s: too long to see a request before the due date", time.Since(start))
	}
	run := func(args ...string) (string, string, int) {
		return clitest.Run(t, dir, append(args, "--config", cfgPath)...)
	}
	if _, errs, code := run("hold", "create", "--name", "inquiry", "--reason", "ombudsman", "--authority", "ombudsman"); code != 0 {
		t.Fatalf("hold create: %s", errs)
	}
	if _, errs, code := run("hold", "add", "1", bags[held]); code != 0 {
		t.Fatalf("hold add: %s", errs)
	}
	legal := func(bag, k string) string {
		cmd := exec.Command(aws, "s3api", "get-object-legal-hold", "--bucket", bucket, "--key", key(bag, k), "--endpoint-url", "http://"+srv.Endpoint)
		cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
		b, err := cmd.CombinedOutput()
		if err != nil && strings.Contains(string(b), "NoSuchObjectLockConfiguration") {
			return "never set"
		}
		var lh struct{ LegalHold struct{ Status string } }
		if err != nil || json.Unmarshal(b, &lh) != nil {
			t.Fatalf("get-object-legal-hold: %v %s", err, b)
		}
		return lh.LegalHold.Status
	}
	if legal(held, "bagit.txt") != "ON" || legal(held, "data/original/minutes.png") != "ON" || legal(gone, "bagit.txt") == "ON" {
		t.Errorf("S3 legal hold after hold add: held bag %q/%q, other %q", legal(held, "bagit.txt"), legal(held, "data/original/minutes.png"), legal(gone, "bagit.txt"))
	}
	if _, errs, code := run("disposal", "request", bags[gone], "--reason", "TRIAL ended", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "is due on") {
		t.Errorf("a request before the due date: exit %d %q", code, errs)
	}
	time.Sleep(time.Until(until.Add(time.Second)))
	if _, errs, code := run("disposal", "request", bags[held], "--reason", "TRIAL ended", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "legal hold 1") {
		t.Errorf("a request for the held bag: exit %d %q", code, errs)
	}
	if _, errs, code := run("disposal", "request", bags[gone], "--reason", "TRIAL ended", "--by", "rm"); code != 0 {
		t.Fatalf("request: %s", errs)
	}
	if _, errs, code := run("disposal", "approve", "1", "--by", "rm"); code != exitFailed || !strings.Contains(errs, "requester") {
		t.Errorf("self-approval: exit %d %q", code, errs)
	}
	if out, errs, code := run("disposal", "approve", "1", "--by", "director"); code != 0 {
		t.Fatalf("approve: %s %s", out, errs)
	}
	versions := awsRun("s3api", "list-object-versions", "--bucket", bucket, "--prefix", "archive/"+bags[gone]+"/")
	if strings.Contains(versions, "VersionId") {
		t.Errorf("versions left of the disposed bag:\n%s", versions)
	}
	if !strings.Contains(awsRun("s3api", "list-object-versions", "--bucket", bucket, "--prefix", "archive/"+bags[held]+"/"), "bagit.txt") {
		t.Error("the held bag lost objects")
	}
	if ls := awsRun("s3", "ls", "--recursive", "s3://"+bucket+"/archive/disposal-certificates/"); !strings.Contains(ls, bags[gone]+".json") {
		t.Errorf("no certificate in the bucket:\n%s", ls)
	}
	out, _, _ := run("bags", "show", bags[gone], "--json")
	if !strings.Contains(out, `"type":"deletion"`) || !strings.Contains(out, `"approved_by":"director"`) || !strings.Contains(out, `"mandate":"Test policy 1"`) {
		t.Errorf("the disposed bag's record: no deletion event or tombstone:\n%s", out)
	}
	if _, errs, code := run("hold", "release", "1", "--reason", "closed"); code != 0 {
		t.Fatalf("hold release: %s", errs)
	}
	if got := legal(held, "bagit.txt"); got != "OFF" {
		t.Errorf("S3 legal hold after the release: %q", got)
	}
}
