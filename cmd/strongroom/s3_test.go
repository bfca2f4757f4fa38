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
	cfgText := strings.Replace(clitest.ReadFile(t, cfgPath), "  url: file:store\n", fmt.Sprintf(
		"  url: s3://%s/archive\n  s3:\n    endpoint: %s\n    region: us-east-1\n    secure: false\n    path_style: true\n", bucket, srv.Endpoint), 1)
	os.WriteFile(cfgPath, []byte(cfgText), 0o644)
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
