package main

// The docs' "Send one event by hand" (docs/rules.md) is checked here as a
// reader would follow it: its config, its JSON bodies and its curl commands
// are taken as written, the bodies posted to live mode (which the page tells
// the reader to try first), and the events that come out must be those the
// page says.

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// docBlock is a fenced block of a doc section.
type docBlock struct {
	lang   string
	marker string // the readme-check marker on the line before the fence, if any
	text   string
}

// docSection is the text of one section of a doc file (path relative to the
// repository root): from the line that is exactly heading to the next
// heading of the same or a higher level.
type docSection struct {
	file, heading, text string
}

func readSection(t *testing.T, file, heading string) docSection {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(file)))
	require.NoError(t, err)
	level := len(heading) - len(strings.TrimLeft(heading, "#"))
	lines := strings.Split(string(b), "\n")
	start := -1
	inFence := false
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		if inFence {
			continue
		}
		if start < 0 {
			if line == heading {
				start = i
			}
			continue
		}
		if n := len(line) - len(strings.TrimLeft(line, "#")); n > 0 && n <= level && strings.HasPrefix(line[n:], " ") {
			return docSection{file, heading, strings.Join(lines[start:i], "\n")}
		}
	}
	require.NotEqual(t, -1, start, "%s has no line %q", file, heading)
	return docSection{file, heading, strings.Join(lines[start:], "\n")}
}

var docMarkerRE = regexp.MustCompile(`<!--\s*readme-check:\s*([a-z-]+)\s*-->`)

// blocks returns the section's fenced blocks of lang, in order.
func (s docSection) blocks(lang string) []docBlock {
	var out []docBlock
	lines := strings.Split(s.text, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		b := docBlock{lang: strings.TrimPrefix(lines[i], "```")}
		if i > 0 {
			if m := docMarkerRE.FindStringSubmatch(lines[i-1]); m != nil {
				b.marker = m[1]
			}
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		b.text = strings.Join(body, "\n") + "\n"
		if b.lang == lang {
			out = append(out, b)
		}
	}
	return out
}

// one returns the section's only block of lang.
func (s docSection) one(t *testing.T, lang string) docBlock {
	t.Helper()
	blocks := s.blocks(lang)
	require.Len(t, blocks, 1, "%s %q: want one ```%s block", s.file, s.heading, lang)
	return blocks[0]
}

var (
	// curlRE is the documented command: the path posted to and the body file.
	curlRE = regexp.MustCompile(`^curl -sS http://127\.0\.0\.1:4318(/v1/(?:traces|logs)) -H 'Content-Type: application/json' --data-binary @(\S+)\n$`)
	// savedAsRE names the file the section tells the reader to save its JSON as.
	savedAsRE = regexp.MustCompile("Save (?:it|the record) as `([^`]+)`")
	// sendsRE is the section's claim, one sentence:
	// "This sends `EVENT` for `DISTINCT_ID` with `key: value`, ... at TIME UTC ...".
	sendsRE    = regexp.MustCompile("(?s)This sends `([^`]+)` for `([^`]+)`(.*?)\\.(?:\\s|$)")
	codeSpanRE = regexp.MustCompile("`([^`]*)`")
	// utcRE is a time the claim gives, as "2026-01-01 00:00:00.18 UTC".
	utcRE = regexp.MustCompile(`(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\s+UTC`)
)

// claim is what a section says its record becomes.
type claim struct {
	event, distinctID string
	properties        map[string]any // JSON values: numbers are float64
	timestamp         *time.Time     // nil: the section gives no time
}

func readClaim(t *testing.T, s docSection) claim {
	t.Helper()
	m := sendsRE.FindStringSubmatch(s.text)
	require.NotNil(t, m, "%s %q: no \"This sends `event` for `distinct_id`\"", s.file, s.heading)
	c := claim{event: m[1], distinctID: m[2], properties: map[string]any{}}
	for _, span := range codeSpanRE.FindAllStringSubmatch(m[3], -1) {
		key, value, ok := strings.Cut(span[1], ": ")
		if !ok {
			continue
		}
		var v any
		require.NoError(t, yaml.Unmarshal([]byte(value), &v), span[1])
		j, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(j, &v))
		c.properties[key] = v
	}
	if tm := utcRE.FindStringSubmatch(m[3]); tm != nil {
		ts, err := time.Parse("2006-01-02 15:04:05.999999999", tm[1])
		require.NoError(t, err)
		c.timestamp = &ts
	}
	return c
}

// mergeMaps puts over on top of base, deeply for maps.
func mergeMaps(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = mergeMaps(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func yamlMap(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &m), text)
	return m
}

// sendByHand does what the section says: saves its JSON as the file it
// names, and posts it as its curl command does, to live mode run with
// config. It returns the one record's report.
func sendByHand(t *testing.T, s docSection, config string) map[string]any {
	t.Helper()
	curl := s.one(t, "sh").text
	m := curlRE.FindStringSubmatch(curl)
	require.NotNil(t, m, "%s %q: the curl command is not of the expected form:\n%s", s.file, s.heading, curl)
	urlPath, bodyFile := m[1], m[2]
	saved := savedAsRE.FindStringSubmatch(s.text)
	require.NotNil(t, saved, "%s %q: says no file to save the record as", s.file, s.heading)
	require.Equal(t, saved[1], bodyFile, "%s %q: the record is saved under another name than curl posts", s.file, s.heading)

	dir := t.TempDir()
	body := writeFile(t, dir, bodyFile, s.one(t, "json").text)
	cfg := writeFile(t, dir, "otelcol.yaml", config)

	httpAddr, _, out, stop := startLive(t, "--config", cfg, "--listen", "127.0.0.1:0", "--format", "json")
	f, err := os.Open(body)
	require.NoError(t, err)
	defer f.Close()
	resp, err := http.Post("http://"+httpAddr+urlPath, "application/json", f)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, stop())

	reports := decodeReports(t, out.String())
	require.Len(t, reports, 1, out.String())
	return reports[0]
}

// assertClaim: the report's rule matched and made exactly the claimed event.
func assertClaim(t *testing.T, report map[string]any, rule string, c claim) {
	t.Helper()
	var r map[string]any
	for _, x := range report["rules"].([]any) {
		if x.(map[string]any)["rule"] == rule {
			r = x.(map[string]any)
		}
	}
	require.NotNil(t, r, "no rule %q in %v", rule, report)
	require.Equal(t, true, r["matched"], r)
	events := r["events"].([]any)
	require.Len(t, events, 1, r)
	ev := events[0].(map[string]any)
	assert.Equal(t, c.event, ev["event"])
	assert.Equal(t, c.distinctID, ev["distinct_id"])
	props := ev["properties"].(map[string]any)
	require.NotEmpty(t, c.properties, "the docs claim no properties")
	for k, want := range c.properties {
		assert.Equal(t, want, props[k], "property %s", k)
	}
	if c.timestamp == nil {
		assert.NotContains(t, ev, "timestamp", "no time in the record: PostHog stamps it")
		return
	}
	require.Contains(t, ev, "timestamp")
	got, err := time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
	require.NoError(t, err)
	assert.True(t, c.timestamp.Equal(got), "timestamp %s, the docs say %s", got, c.timestamp)
}

// readmeMinimalConfig is the README's "A minimal config", which the span
// section builds on.
func readmeMinimalConfig(t *testing.T) string {
	t.Helper()
	return readSection(t, "README.md", "## A minimal config").one(t, "yaml").text
}

// TestDocsSendOneSpanByHand: the README's minimal config makes of the span
// of docs/rules.md "A span" the api_request the page describes.
func TestDocsSendOneSpanByHand(t *testing.T) {
	s := readSection(t, "docs/rules.md", "### A span")
	c := readClaim(t, s)
	require.Equal(t, "api_request", c.event)
	require.NotNil(t, c.timestamp, "the span's event has the span's end time")
	report := sendByHand(t, s, readmeMinimalConfig(t))
	assert.Equal(t, "span", report["record"].(map[string]any)["kind"])
	assertClaim(t, report, "api-request", c)
}

// TestDocsSendOneLogRecordByHand: the minimal config with the log rule and
// the logs pipeline of docs/rules.md "A log record" merged in (the rule under
// the posthog exporter, as the page says) makes of its record the signed_up
// event the page describes.
func TestDocsSendOneLogRecordByHand(t *testing.T) {
	s := readSection(t, "docs/rules.md", "### A log record")
	yamls := s.blocks("yaml")
	require.Len(t, yamls, 2, "the log rule and the logs pipeline")
	require.Equal(t, "exporter-fragment", yamls[0].marker, "the first block is the rule, under the posthog exporter")
	require.Equal(t, "collector-fragment", yamls[1].marker, "the second block is the logs pipeline")

	cfg := yamlMap(t, readmeMinimalConfig(t))
	cfg = mergeMaps(cfg, map[string]any{"exporters": map[string]any{"posthog": yamlMap(t, yamls[0].text)}})
	cfg = mergeMaps(cfg, yamlMap(t, yamls[1].text))
	pipelines := cfg["service"].(map[string]any)["pipelines"].(map[string]any)
	require.Contains(t, pipelines, "traces", "the logs pipeline goes beside the traces one")
	require.Contains(t, pipelines, "logs")
	config, err := yaml.Marshal(cfg)
	require.NoError(t, err)

	c := readClaim(t, s)
	require.Equal(t, "signed_up", c.event)
	report := sendByHand(t, s, string(config))
	assert.Equal(t, "log", report["record"].(map[string]any)["kind"])
	assertClaim(t, report, "by-hand", c)
	// The span rule of the minimal config does not apply to a log record.
	for _, r := range report["rules"].([]any) {
		assert.NotEqual(t, "api-request", r.(map[string]any)["rule"])
	}
}
