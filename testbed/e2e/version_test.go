package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/posthogexporter/posthogexporter"
)

// manifest is the part of an ocb manifest the version checks read.
type manifest struct {
	Dist struct {
		Version string `yaml:"version"`
	} `yaml:"dist"`
	Exporters []struct {
		GoMod string `yaml:"gomod"`
	} `yaml:"exporters"`
}

const exporterModule = "github.com/posthogexporter/posthogexporter"

// exporterVersion is the version the manifest gives this exporter's module.
func (m manifest) exporterVersion() string {
	for _, e := range m.Exporters {
		if mod, version, ok := strings.Cut(e.GoMod, " "); ok && mod == exporterModule {
			return version
		}
	}
	return ""
}

var (
	libVersionRE = regexp.MustCompile(`"\$lib_version":\s*"([^"]*)"`)
	libRE        = regexp.MustCompile(`"\$lib":\s*"([^"]*)"`)
)

func readManifest(t *testing.T, text string) manifest {
	t.Helper()
	var m manifest
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOneVersion: the exporter's version (version.go, sent as $lib_version
// and in the User-Agent) is the version of otelcol-posthog's manifest, of the
// exporter's module in it and in the docs' manifest, of every event the docs
// show, what the built collector's `components` reports, and what the built
// posthog-rules' --version prints.
func TestOneVersion(t *testing.T) {
	want := posthogexporter.Version
	data, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, string(data))
	if m.Dist.Version != want {
		t.Errorf("builder-config.yaml: dist.version %q, version.go says %q", m.Dist.Version, want)
	}
	if v := m.exporterVersion(); v != "v"+want {
		t.Errorf("builder-config.yaml: %s %q, version.go says %q", exporterModule, v, want)
	}
	docs := docsManifest(t)
	if v := readManifest(t, docs.text).exporterVersion(); v != "v"+want {
		t.Errorf("%s: the manifest gives %s %q, version.go says %q", docs.where(), exporterModule, v, want)
	}

	// Events shown in the docs (the sample event is in docs/events.md).
	shown := 0
	for _, name := range docFiles(t) {
		for i, line := range readMarkdown(t, name).lines {
			for _, m := range libVersionRE.FindAllStringSubmatch(line, -1) {
				shown++
				if m[1] != want {
					t.Errorf("%s:%d shows an event with $lib_version %q, version.go says %q", name, i+1, m[1], want)
				}
			}
			for _, m := range libRE.FindAllStringSubmatch(line, -1) {
				if m[1] != posthogexporter.LibraryName {
					t.Errorf("%s:%d shows an event with $lib %q, the exporter sends %q", name, i+1, m[1], posthogexporter.LibraryName)
				}
			}
		}
	}
	if shown == 0 {
		t.Error("no doc shows an event with $lib_version: the check above checked nothing")
	}

	rules := rulesBin(t)
	out, err := runCommand(t, rules, "--version")
	if err != nil {
		t.Fatalf("posthog-rules --version: %v\n%s", err, out)
	}
	if wantOut := fmt.Sprintf("posthog-rules %s (%s)\n", want, posthogexporter.LibraryName); out != wantOut {
		t.Errorf("%s --version printed %q, want %q", rules, out, wantOut)
	}

	out, err = runCommand(t, collectorBin(t), "components")
	if err != nil {
		t.Fatalf("components: %v\n%s", err, out)
	}
	var comps struct {
		BuildInfo struct {
			Version string `yaml:"version"`
		} `yaml:"buildinfo"`
		Exporters []struct {
			Name   string `yaml:"name"`
			Module string `yaml:"module"`
		} `yaml:"exporters"`
	}
	if err := yaml.Unmarshal([]byte(out), &comps); err != nil {
		t.Fatalf("components output: %v\n%s", err, out)
	}
	if comps.BuildInfo.Version != want {
		t.Errorf("components: buildinfo version %q, version.go says %q", comps.BuildInfo.Version, want)
	}
	found := false
	for _, e := range comps.Exporters {
		if e.Name == "posthog" {
			found = true
			if e.Module != exporterModule+" v"+want {
				t.Errorf("components: posthog module %q, want %q", e.Module, exporterModule+" v"+want)
			}
		}
	}
	if !found {
		t.Errorf("components lists no posthog exporter:\n%s", out)
	}
}

func runCommand(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// rulesBin returns the built posthog-rules, which `make build` puts next to
// the collector (else ../../_build/posthog-rules), or skips/fails the test.
func rulesBin(t *testing.T) string {
	t.Helper()
	candidates := []string{
		filepath.Join(filepath.Dir(collectorBin(t)), "posthog-rules"),
		filepath.Join(repoRoot, "_build", "posthog-rules"),
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			abs, err := filepath.Abs(c)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	msg := fmt.Sprintf("posthog-rules not found at %s: run `make build`", strings.Join(candidates, " or "))
	if os.Getenv("CI") != "" || os.Getenv("OTELCOL_POSTHOG_REQUIRE_BIN") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
