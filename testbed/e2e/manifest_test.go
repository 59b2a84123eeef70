//go:build longtest

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ocbBin returns the repository's ocb (make build installs it) or skips/fails the test.
func ocbBin(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", "..", ".tools", "bin", "builder"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		msg := fmt.Sprintf("ocb %s not found (%v): run `make build`, or `make test` which installs it", abs, err)
		if os.Getenv("CI") != "" || os.Getenv("OTELCOL_POSTHOG_REQUIRE_BIN") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return abs
}

// TestDocsManifestBuilds follows the README's "Add the exporter to your own
// collector" as written: a directory with a checkout of this repository
// named posthogexporter (here a link to it) and the docs' one manifest (the
// block marked ocb-manifest, see readme_test.go), ocb run there. The
// collector it builds must list the three components and validate a config
// that uses them. The build reuses the Go caches that `make build` filled
// (same versions, same flags), so it mostly links.
func TestDocsManifestBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a collector")
	}
	ocb := ocbBin(t)
	block := docsManifest(t)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(repo, filepath.Join(dir, "posthogexporter")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "builder-config.yaml"), []byte(block.text), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ocb, "--config", "builder-config.yaml")
	cmd.Dir = dir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: ocb could not build the manifest: %v\n%s", block.where(), err, out)
	}
	t.Logf("ocb built the manifest of %s in %s", block.where(), time.Since(start).Round(time.Second))

	bin := filepath.Join(dir, "otelcol-custom", "otelcol-custom")
	out, err := runCommand(t, bin, "components")
	if err != nil {
		t.Fatalf("components: %v\n%s", err, out)
	}
	for _, want := range []string{"name: otlp", "name: debug", "name: posthog"} {
		if !strings.Contains(out, want) {
			t.Errorf("the docs' collector lacks %q:\n%s", want, out)
		}
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:4318}
exporters:
  debug: {}
  posthog:
    api_key: phc_readme
    spans:
      - {event: e, distinct_id: ['resource.attributes["service.name"]']}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [posthog, debug]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runValidate(t, bin, config); err != nil {
		t.Errorf("the docs' collector does not validate a config: %v\n%s", err, out)
	}
}
