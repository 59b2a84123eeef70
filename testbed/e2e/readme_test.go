package e2e

// The README's YAML examples are checked here, so that they cannot rot.
//
// Every ```yaml block of ../README.md is checked. What a block is, is said by
// an HTML comment on the line just before its fence (blank lines between are
// allowed); the comment does not show on GitHub:
//
//	(no marker)                              a complete collector config, validated as is
//	<!-- readme-check: collector-fragment --> part of a collector config: merged over a
//	                                          minimal one (an otlp receiver, a posthog
//	                                          exporter with an api_key, traces and logs
//	                                          pipelines from otlp to posthog), then validated
//	<!-- readme-check: exporter-fragment -->  keys of the posthog exporter (spans:, logs:,
//	                                          defaults:, ...): placed under
//	                                          exporters::posthog of that minimal config
//	<!-- readme-check: ocb-manifest -->       an ocb manifest: built with the repository's
//	                                          ocb by TestReadmeManifestBuilds
//	<!-- readme-check: validated-by-eye -->   a config for a collector that cannot be built
//	                                          here (contrib's loadbalancing exporter): only
//	                                          parsed as YAML, checked by eye
//
// Merging is deep for maps; the block's values win. Configs are validated
// with `otelcol-posthog validate` and POSTHOG_API_KEY set, so
// ${env:POSTHOG_API_KEY} resolves. A block that fails is a test failure that
// shows the README line of its fence.

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"
)

const readmePath = "../../README.md"

// Marker kinds of readme blocks.
const (
	kindConfig            = ""
	kindCollectorFragment = "collector-fragment"
	kindExporterFragment  = "exporter-fragment"
	kindOCBManifest       = "ocb-manifest"
	kindByEye             = "validated-by-eye"
)

// readmeBlock is one ```yaml block of the README.
type readmeBlock struct {
	line int    // of the opening fence, 1-based
	kind string // the marker's kind; "" without a marker
	text string
}

var markerRE = regexp.MustCompile(`^<!--\s*readme-check:\s*([a-z-]+)\s*-->$`)

// readmeBlocks returns the README's yaml blocks with their markers.
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var blocks []readmeBlock
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		lang := strings.TrimPrefix(fence, "```")
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if lang != "yaml" && lang != "yml" {
			continue
		}
		b := readmeBlock{line: start + 1, text: strings.Join(body, "\n") + "\n"}
		for j := start - 1; j >= 0; j-- {
			prev := strings.TrimSpace(lines[j])
			if prev == "" {
				continue
			}
			if m := markerRE.FindStringSubmatch(prev); m != nil {
				b.kind = m[1]
			} else if strings.Contains(prev, "readme-check") {
				t.Errorf("README.md:%d: malformed marker %q; write <!-- readme-check: KIND -->", j+1, prev)
			}
			break
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// minimalConfig is what fragments are merged over.
func minimalConfig() map[string]any {
	pipeline := func() map[string]any {
		return map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"posthog"}}
	}
	return map[string]any{
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"http": map[string]any{"endpoint": "127.0.0.1:4318"},
		}}},
		"exporters": map[string]any{"posthog": map[string]any{"api_key": "${env:POSTHOG_API_KEY}"}},
		"service": map[string]any{"pipelines": map[string]any{
			"traces": pipeline(),
			"logs":   pipeline(),
		}},
	}
}

// merge puts over on top of base, deeply for maps.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = merge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// configOf returns the collector config a block stands for.
func configOf(b readmeBlock) (string, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(b.text), &m); err != nil {
		return "", fmt.Errorf("not YAML: %w", err)
	}
	switch b.kind {
	case kindConfig:
		return b.text, nil
	case kindCollectorFragment:
		m = merge(minimalConfig(), m)
	case kindExporterFragment:
		m = merge(minimalConfig(), map[string]any{"exporters": map[string]any{"posthog": m}})
	default:
		return "", fmt.Errorf("unknown marker kind %q (want %s, %s, %s or none)", b.kind, kindCollectorFragment, kindExporterFragment, kindOCBManifest)
	}
	out, err := yaml.Marshal(m)
	return string(out), err
}

// TestReadmeExamplesValidate: every YAML example of the README is a config
// that `otelcol-posthog validate` accepts, once placed as its marker says.
func TestReadmeExamplesValidate(t *testing.T) {
	bin := collectorBin(t)
	blocks := readmeBlocks(t)
	if len(blocks) == 0 {
		t.Fatal("no yaml blocks found in the README")
	}
	for _, b := range blocks {
		if b.kind == kindOCBManifest {
			continue
		}
		if b.kind == kindByEye {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &m); err != nil {
				t.Errorf("README.md:%d (%s): not YAML: %v", b.line, kindByEye, err)
			}
			continue
		}
		t.Run(fmt.Sprintf("README.md:%d", b.line), func(t *testing.T) {
			t.Parallel()
			cfg, err := configOf(b)
			if err != nil {
				t.Fatalf("README.md:%d: %v", b.line, err)
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runValidate(t, bin, path, "POSTHOG_API_KEY=phc_readme")
			if err != nil {
				t.Errorf("README.md:%d (%s) does not validate: %v\n%s\nconfig:\n%s", b.line, kindName(b.kind), err, out, cfg)
			}
		})
	}
}

func kindName(kind string) string {
	if kind == kindConfig {
		return "a complete config: no marker"
	}
	return kind
}

// TestReadmeMarkers: the fragment wrapper and the merge work as documented
// above, and a block with a broken rule does fail (so the test above can).
func TestReadmeMarkers(t *testing.T) {
	cfg, err := configOf(readmeBlock{kind: kindExporterFragment, text: "spans: []\n"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &m); err != nil {
		t.Fatal(err)
	}
	ph := m["exporters"].(map[string]any)["posthog"].(map[string]any)
	if ph["api_key"] != "${env:POSTHOG_API_KEY}" || ph["spans"] == nil {
		t.Errorf("exporter fragment not placed under exporters::posthog: %v", ph)
	}
	if _, err := configOf(readmeBlock{kind: "fragment", text: "a: 1\n"}); err == nil {
		t.Error("an unknown marker kind was accepted")
	}
	bin := collectorBin(t)
	cfg, err = configOf(readmeBlock{kind: kindExporterFragment, text: "spans:\n  - {event: e, distinct_id: ['\"x\"'], condition: ['span.name == \"x\"']}\n"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runValidate(t, bin, path, "POSTHOG_API_KEY=phc_readme")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "spans[0].condition: unknown key") {
		t.Errorf("a misspelled key in a fragment validated (err %v):\n%s", err, out)
	}
}

var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestReadmeStaysInTheRepository: every relative link of the README names a
// file of the repository, and the README does not send its reader to
// documents that are not in it.
func TestReadmeStaysInTheRepository(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	anchors := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[slug(strings.TrimLeft(line, "# "))] = true
		}
	}
	for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
		target := m[1]
		if strings.HasPrefix(target, "#") {
			if !anchors[target[1:]] {
				t.Errorf("README links to %s, which is no heading of the README", target)
			}
			continue
		}
		if strings.Contains(target, "://") {
			continue
		}
		path, _, _ := strings.Cut(target, "#")
		if _, err := os.Stat(filepath.Join("..", "..", path)); err != nil {
			t.Errorf("README links to %s, which is not in the repository: %v", target, err)
		}
	}
	for _, outside := range []string{"COLLECTOR.md", "POSTHOG.md", "the brief", "/work/"} {
		if strings.Contains(text, outside) {
			t.Errorf("README mentions %q, which is not part of the repository", outside)
		}
	}
}

// slug is GitHub's anchor for a heading: lower case, spaces to hyphens,
// punctuation other than hyphens and underscores left out.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readmeManifest returns the README's ocb manifest: its one block marked
// <!-- readme-check: ocb-manifest -->.
func readmeManifest(t *testing.T) readmeBlock {
	t.Helper()
	var found []readmeBlock
	for _, b := range readmeBlocks(t) {
		if b.kind == kindOCBManifest {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("README.md has %d blocks marked %s, want 1", len(found), kindOCBManifest)
	}
	return found[0]
}
