package e2e

import (
	"context"
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

var libVersionRE = regexp.MustCompile(`"\$lib_version":\s*"([^"]*)"`)

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
// exporter's module in it and in the README's manifest, and what the built
// collector's `components` reports.
func TestOneVersion(t *testing.T) {
	want := posthogexporter.Version
	data, err := os.ReadFile(filepath.Join("..", "..", "builder-config.yaml"))
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
	readme := readmeManifest(t)
	if v := readManifest(t, readme.text).exporterVersion(); v != "v"+want {
		t.Errorf("README.md:%d: the manifest gives %s %q, version.go says %q", readme.line, exporterModule, v, want)
	}

	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range libVersionRE.FindAllStringSubmatch(string(text), -1) {
		if m[1] != want {
			t.Errorf("README.md shows an event with $lib_version %q, version.go says %q", m[1], want)
		}
	}

	out, err := runCommand(t, collectorBin(t), "components")
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
