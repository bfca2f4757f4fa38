package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
)

// TestContainerFiles checks the Dockerfile, .dockerignore and compose.yaml
// by reading them (no container engine on the test machine): base images
// pinned to versions (Go to the one this binary was built with), a user
// that is not root, the port exposed and health-checked on /healthz, OCR
// languages a build argument, the scans and builds kept out of the build
// context; the configurations they install are valid for this binary, and
// compose's MinIO is the version the tests run.
func TestContainerFiles(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile("../../" + p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	docker := read("Dockerfile")
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	for _, want := range []string{
		"ARG GO_IMAGE=golang:" + goVersion + "-bookworm", "ARG BASE_IMAGE=debian:12-slim",
		"FROM ${GO_IMAGE} AS build", "FROM ${BASE_IMAGE}", `ARG OCR_LANGUAGES="eng osd"`,
		"USER strongroom", "EXPOSE 8080", "http://127.0.0.1:8080/healthz",
		"COPY configs/container.yaml /etc/strongroom/strongroom.yaml",
	} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile: no %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^FROM [^$]|:latest\b|^USER root`).MatchString(docker) {
		t.Error("Dockerfile: a base image not pinned by its argument, a latest tag, or root")
	}
	ignore := read(".dockerignore")
	for _, want := range []string{"var", "bin", ".git"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(ignore) {
			t.Errorf(".dockerignore does not keep %s out", want)
		}
	}
	if !strings.Contains(read("configs/container.yaml"), "listen: 0.0.0.0:8080") {
		t.Error("configs/container.yaml does not listen on the port the image exposes")
	}
	for _, cfg := range []string{"configs/container.yaml", "configs/compose.yaml"} {
		abs, _ := filepath.Abs("../../" + cfg)
		if _, errs, code := clitest.Run(t, t.TempDir(), "config", "--config", abs); code != 0 {
			t.Errorf("%s: exit %d %s", cfg, code, errs)
		}
	}
	var compose struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
			Build   any      `yaml:"build"`
		} `yaml:"services"`
	}
	text := read("compose.yaml")
	if err := yaml.Unmarshal([]byte(text), &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if s := compose.Services["strongroom"]; !strings.Contains(strings.Join(s.Volumes, " "), "./configs/compose.yaml:/etc/strongroom/strongroom.yaml") {
		t.Errorf("compose: strongroom does not read configs/compose.yaml: %v", s.Volumes)
	}
	m := regexp.MustCompile(`(?m)^minio_version=(\S+)$`).FindStringSubmatch(read("scripts/s3-servers"))
	if m == nil || !strings.Contains(text, "github.com/minio/minio@"+m[1]) {
		t.Errorf("compose's MinIO is not the version scripts/s3-servers runs (%v)", m)
	}
}
