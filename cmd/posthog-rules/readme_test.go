package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeSection returns the fenced blocks of lang in the README section
// that starts with heading, in order.
func readmeSection(t *testing.T, heading, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	require.NotEqual(t, -1, i, "README has no %q", heading)
	s = s[i+len(heading)+2:]
	if end := strings.Index(s, "\n## "); end >= 0 {
		s = s[:end]
	}
	var blocks []string
	for {
		start := strings.Index(s, "```"+lang+"\n")
		if start < 0 {
			return blocks
		}
		s = s[start+len(lang)+4:]
		end := strings.Index(s, "```")
		require.NotEqual(t, -1, end)
		blocks = append(blocks, s[:end])
		s = s[end+3:]
	}
}

// TestReadmeSendOneEventByHand posts the README's curl body, with the
// README's rule, to live mode: it makes the event the README says.
func TestReadmeSendOneEventByHand(t *testing.T) {
	rules := readmeSection(t, "### Send one event by hand", "yaml")
	require.Len(t, rules, 1)
	shells := readmeSection(t, "### Send one event by hand", "sh")
	require.Len(t, shells, 1)
	curl := shells[0]
	require.Contains(t, curl, "curl -sS http://127.0.0.1:4318/v1/logs -H 'Content-Type: application/json' -d '")
	body := curl[strings.Index(curl, "-d '")+4 : strings.LastIndex(curl, "'")]

	path := writeFile(t, t.TempDir(), "rules.yaml", rules[0])
	httpAddr, _, out, stop := startLive(t, "--config", path, "--listen", "127.0.0.1:0", "--format", "json")
	resp, err := http.Post("http://"+httpAddr+"/v1/logs", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, stop())

	reports := decodeReports(t, out.String())
	require.Len(t, reports, 1)
	rule := reports[0]["rules"].([]any)[0].(map[string]any)
	require.Equal(t, true, rule["matched"], rule)
	ev := rule["events"].([]any)[0].(map[string]any)
	assert.Equal(t, "signed_up", ev["event"])
	assert.Equal(t, "user-123", ev["distinct_id"])
	assert.Equal(t, "pro", ev["properties"].(map[string]any)["plan"])
	assert.NotContains(t, ev, "timestamp", "no time in the record: PostHog stamps it")
}
