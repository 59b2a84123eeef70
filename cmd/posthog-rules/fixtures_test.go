package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyCases copies the golden cases into a temporary directory.
func copyCases(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, dir := range goldenCases(t) {
		to := filepath.Join(dst, filepath.Base(dir))
		require.NoError(t, os.MkdirAll(to, 0o755))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o644))
		}
	}
	return dst
}

func TestTestPassesOnGoldenCases(t *testing.T) {
	code, out, errOut := runCmd(t, "test", filepath.Join("..", "..", "testdata", "mapping"))
	assert.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "ok   ")
	assert.Contains(t, out, fmt.Sprintf("all %d cases passed", len(goldenCases(t))))
}

func TestTestFailsWithDiff(t *testing.T) {
	dir := copyCases(t)
	path := filepath.Join(dir, "groups", "events.json")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), `"distinct_id": "user-2"`)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), `"distinct_id": "user-2"`, `"distinct_id": "user-22"`, 1)), 0o644))

	code, out, _ := runCmd(t, "test", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAIL "+filepath.Join(dir, "groups"))
	assert.Contains(t, out, "ok   "+filepath.Join(dir, "timestamps"))
	assert.Contains(t, out, "--- "+path+" (expected)\n+++ got\n")
	assert.Contains(t, out, "\n-      \"distinct_id\": \"user-22\",\n+      \"distinct_id\": \"user-2\",\n")
	assert.Contains(t, out, fmt.Sprintf("1 of %d cases failed", len(goldenCases(t))))

	// A case given directly, and a missing expected file.
	require.NoError(t, os.Remove(filepath.Join(dir, "timestamps", "events.json")))
	code, out, _ = runCmd(t, "test", filepath.Join(dir, "timestamps"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "events.json is missing: write it with --update")
}

// TestTestUpdateRoundTrips writes every expected file from scratch: the
// result passes, and is the golden file (as JSON: the golden files were
// written when the encoder ordered trace_id and span_id differently).
func TestTestUpdateRoundTrips(t *testing.T) {
	dir := copyCases(t)
	for _, c := range goldenCases(t) {
		require.NoError(t, os.Remove(filepath.Join(dir, filepath.Base(c), "events.json")))
	}
	code, out, errOut := runCmd(t, "test", "--update", dir)
	require.Equal(t, 0, code, out+errOut)
	assert.Equal(t, len(goldenCases(t)), strings.Count(out, "wrote "))
	code, out, _ = runCmd(t, "test", dir)
	assert.Equal(t, 0, code, out)
	for _, c := range goldenCases(t) {
		want, err := os.ReadFile(filepath.Join(c, "events.json"))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, filepath.Base(c), "events.json"))
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(got), c)
	}
}

func TestTestCollectorConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "otelcol.yaml", `
exporters:
  posthog/a:
    api_key: ${env:POSTHOG_RULES_TEST_KEY}
    spans:
      - {name: all, event: seen, distinct_id: ['"${env:POSTHOG_RULES_TEST_ID}"']}
`)
	c := filepath.Join(dir, "case")
	require.NoError(t, os.MkdirAll(c, 0o755))
	writeFile(t, c, "traces.json", explainSpans)
	t.Setenv("POSTHOG_RULES_TEST_ID", "from-env")
	code, out, errOut := runCmd(t, "test", "--update", "--config", cfg, c)
	require.Equal(t, 0, code, out+errOut)
	b, err := os.ReadFile(filepath.Join(c, "events.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"distinct_id": "from-env"`)
	assert.Contains(t, string(b), `"$lib_version": "test"`)

	code, out, _ = runCmd(t, "test", c)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "no --config was given")
}

// TestTestSaysWhy: a case that fails because of a mistake in the rules says
// which, in explain's words, under its diff: the first rule of a new user,
// with a misspelled attribute in a property and one in a condition.
func TestTestSaysWhy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rules.yaml", `
spans:
  - name: checkout
    event: checkout_completed
    distinct_id: ['"u1"']
    conditions: ['span.attributes["http.route"] == "/checkout" and span.attributes["http.response.status_code"] == 200']
    properties: {amount: 'span.attributes["order.amout"]'}
  - name: typo
    event: typo_seen
    distinct_id: ['"u1"']
    conditions: ['span.attributes["http.rout"] == "/checkout"']
`)
	writeFile(t, dir, "traces.yaml", `
resourceSpans:
  - scopeSpans:
      - spans:
          - name: POST /checkout
            traceId: 5b8efff798038103d269b633813fc60c
            spanId: eee19b7ec3c1b174
            kind: 2
            startTimeUnixNano: "1700000000000000000"
            endTimeUnixNano: "1700000000100000000"
            attributes:
              - {key: http.route, value: {stringValue: /checkout}}
              - {key: http.response.status_code, value: {intValue: "200"}}
              - {key: order.amount, value: {doubleValue: 42.5}}
`)
	writeFile(t, dir, "events.json", `{"events": [], "matched": {}}`)
	code, out, _ := runCmd(t, "test", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `  why? span POST /checkout [eee19b7e]  checkout: properties.amount: span has no attribute "order.amout"; it has "order.amount"`+"\n")
	assert.Contains(t, out, `  why? span POST /checkout [eee19b7e]  typo: conditions[0]: span.attributes["http.rout"] == "/checkout" is false: span has no attribute "http.rout"; it has "http.route"`+"\n")
}
