package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/posthogexporter/posthogexporter"
)

// runCmd runs the command in process and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// decodeReports reads the JSON form: one object per line.
func decodeReports(t *testing.T, out string) []map[string]any {
	t.Helper()
	var reports []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		reports = append(reports, r)
	}
	return reports
}

// goldenCases are the golden cases that expect events; those that expect a
// config error (error.txt) are the mapping package's own.
func goldenCases(t *testing.T) []string {
	all, err := filepath.Glob(filepath.Join("..", "..", "testdata", "mapping", "*", "events.json"))
	require.NoError(t, err)
	require.NotEmpty(t, all)
	dirs := make([]string, len(all))
	for i, f := range all {
		dirs[i] = filepath.Dir(f)
	}
	return dirs
}

// TestExplainGoldenCases explains the inputs of every golden case: the
// events of the matches, in order, are the golden events, as the exporter
// would send them (with this release's $lib_version, where the golden files
// say "test").
func TestExplainGoldenCases(t *testing.T) {
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			args := []string{"explain", "--format", "json", "--config", filepath.Join(dir, "rules.yaml")}
			for _, f := range []string{"traces.yaml", "logs.yaml"} {
				if fileExists(filepath.Join(dir, f)) {
					args = append(args, filepath.Join(dir, f))
				}
			}
			code, out, errOut := runCmd(t, args...)
			require.Equal(t, 0, code, errOut)

			var want expected
			b, err := os.ReadFile(filepath.Join(dir, "events.json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &want))

			var got []json.RawMessage
			matched := map[string]int64{}
			// Explained record by record, each copy of an exception shows,
			// with one uuid; the mapper sends the first of a push.
			exceptions := map[string]bool{}
			for _, r := range decodeReports(t, out) {
				for _, rule := range r["rules"].([]any) {
					rule := rule.(map[string]any)
					name := rule["rule"].(string)
					matched[name] += 0
					if rule["matched"].(bool) {
						matched[name]++
					}
					for _, ev := range rule["events"].([]any) {
						if ev := ev.(map[string]any); ev["event"] == "$exception" {
							uuid := ev["uuid"].(string)
							if exceptions[uuid] {
								continue
							}
							exceptions[uuid] = true
						}
						props := ev.(map[string]any)["properties"].(map[string]any)
						assert.Equal(t, posthogexporter.Version, props["$lib_version"])
						props["$lib_version"] = fixtureVersion
						b, err := json.Marshal(ev)
						require.NoError(t, err)
						got = append(got, b)
					}
				}
			}
			assert.Equal(t, want.Matched, matched)
			require.Len(t, got, len(want.Events))
			for i := range got {
				assert.JSONEq(t, string(want.Events[i]), string(got[i]), "event %d", i)
			}
		})
	}
}

const explainRules = `
defaults:
  distinct_id: ['span.attributes["user"]']
spans:
  - name: checkout
    event: checkout
    conditions: ['span.name == "checkout" and span.kind == SPAN_KIND_SERVER']
  - name: slow-checkout
    event: slow_checkout
    conditions:
      - span.name == "payment"
      - span.name == "checkout" and (span.kind == SPAN_KIND_SERVER and Milliseconds(span.end_time - span.start_time) > 1000)
  - name: not-anonymous
    event: x
    conditions: ['span.name == "checkout" and not (span.attributes["user"] == nil or span.attributes["user"] == "u1")']
  - name: parse
    event: x
    conditions: ['ParseJSON(span.attributes["payload"])["ok"] == true']
  - name: no-name
    event_expression: span.attributes["nobody"]
logs:
  - name: log-rule
    event: y
    distinct_id: ['"svc"']
`

const explainSpans = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},
 "scopeSpans":[{"scope":{"name":"http"},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718",
 "name":"checkout","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",
 "attributes":[{"key":"user","value":{"stringValue":"u1"}},{"key":"payload","value":{"stringValue":"{oops"}}]}]}]}]}`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestExplainJSONContract checks every field of the JSON form for a match,
// non-matches (and, or, not, parentheses, converters), an evaluation error
// and a drop.
func TestExplainJSONContract(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules.yaml", explainRules)
	in := writeFile(t, dir, "spans.json", explainSpans)
	code, out, errOut := runCmd(t, "explain", "--config", rules, "--format", "json", in)
	require.Equal(t, 0, code, errOut)
	reports := decodeReports(t, out)
	require.Len(t, reports, 1)
	r := reports[0]
	assert.Equal(t, map[string]any{
		"kind": "span", "name": "checkout",
		"trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "1112131415161718",
		"resource":   map[string]any{"service.name": "shop"},
		"attributes": map[string]any{"user": "u1", "payload": "{oops"},
	}, r["record"])

	ruleList := r["rules"].([]any)
	require.Len(t, ruleList, 5, "span rules only")
	byName := map[string]map[string]any{}
	for _, x := range ruleList {
		x := x.(map[string]any)
		assert.ElementsMatch(t, []string{"rule", "matched", "failed", "error", "events", "dropped"}, keys(x))
		byName[x["rule"].(string)] = x
	}

	m := byName["checkout"]
	assert.Equal(t, true, m["matched"])
	assert.Nil(t, m["failed"])
	assert.Nil(t, m["error"])
	assert.Nil(t, m["dropped"])
	require.Len(t, m["events"], 1)
	ev := m["events"].([]any)[0].(map[string]any)
	assert.Equal(t, "checkout", ev["event"])
	assert.Equal(t, "u1", ev["distinct_id"])

	failed := func(rule string) any { return byName[rule]["failed"] }
	assert.Equal(t, map[string]any{"condition": 1.0, "term": "Milliseconds(span.end_time - span.start_time) > 1000",
		"compared": "Milliseconds(span.end_time - span.start_time) is 250 (int), compared with 1000 (int)"}, failed("slow-checkout"))
	assert.Equal(t, map[string]any{"condition": 0.0, "term": `not (span.attributes["user"] == nil or span.attributes["user"] == "u1")`}, failed("not-anonymous"))
	for _, rule := range []string{"slow-checkout", "not-anonymous"} {
		assert.Equal(t, false, byName[rule]["matched"])
		assert.Nil(t, byName[rule]["error"])
		assert.Equal(t, []any{}, byName[rule]["events"])
		assert.Nil(t, byName[rule]["dropped"])
	}

	p := byName["parse"]
	assert.Equal(t, false, p["matched"])
	assert.Equal(t, map[string]any{"condition": 0.0, "term": `ParseJSON(span.attributes["payload"])["ok"] == true`}, p["failed"])
	assert.Contains(t, p["error"], "invalid character")

	d := byName["no-name"]
	assert.Equal(t, true, d["matched"])
	assert.Equal(t, "missing_event_name", d["dropped"])
	assert.Equal(t, []any{}, d["events"])
	assert.Nil(t, d["failed"])
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestExplainText(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules.yaml", explainRules)
	in := writeFile(t, dir, "spans.json", explainSpans)
	code, out, errOut := runCmd(t, "explain", "--config", rules, in)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 5, out)
	assert.NotContains(t, out, "\x1b[", "no colour when not on a terminal")

	// Aligned: the rule and status columns start at the same offset on every line.
	line := regexp.MustCompile(`^(span checkout \[11121314\]\s+)(\S+\s+)(match|no|error|dropped)\s+(.*)$`)
	var ruleCol, statusCol int
	for i, l := range lines {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, l)
		if i == 0 {
			ruleCol, statusCol = len(m[1]), len(m[1])+len(m[2])
		}
		assert.Len(t, m[1], ruleCol, l)
		assert.Equal(t, statusCol, len(m[1])+len(m[2]), l)
	}
	assert.Regexp(t, `checkout\s+match\s+\{"uuid":"[0-9a-f-]{36}","event":"checkout","distinct_id":"u1",`, lines[0])
	assert.Regexp(t, `slow-checkout\s+no\s+conditions\[1\]: Milliseconds\(span.end_time - span.start_time\) > 1000 is false: Milliseconds\(span.end_time - span.start_time\) is 250 \(int\), compared with 1000 \(int\)$`, lines[1])
	assert.Regexp(t, `parse\s+error\s+conditions\[0\]: ParseJSON\(span.attributes\["payload"\]\)\["ok"\] == true: .*invalid character`, lines[3])
	assert.Regexp(t, `no-name\s+dropped\s+dropped: missing_event_name$`, lines[4])

	// --only-matched and --rule filter the lines.
	code, out, _ = runCmd(t, "explain", "--config", rules, in, "--only-matched")
	require.Equal(t, 0, code)
	assert.Equal(t, 2, strings.Count(out, "\n"), out)
	code, out, _ = runCmd(t, "explain", "--config", rules, "--rule", "parse", in)
	require.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(out, "\n"), out)
	assert.Contains(t, out, " parse ")
	code, _, errOut = runCmd(t, "explain", "--config", rules, "--rule", "nope", in)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--rule nope: no such rule; the rules are: checkout, slow-checkout")
}

// TestExplainInputs reads the same spans as OTLP/JSON lines and protobuf.
func TestExplainInputs(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules.yaml", explainRules)
	t1, err := parseTelemetry("x.json", []byte(explainSpans))
	require.NoError(t, err)
	pb, err := ptraceRequest(t1).MarshalProto()
	require.NoError(t, err)
	proto := writeFile(t, dir, "spans.pb", string(pb))
	lines := writeFile(t, dir, "spans.jsonl", strings.ReplaceAll(explainSpans, "\n", "")+"\n"+strings.ReplaceAll(explainSpans, "\n", "")+"\n")
	logs := writeFile(t, dir, "logs.json", `{"resourceLogs":[{"resource":{},"scopeLogs":[{"logRecords":[{"eventName":"signup","body":{"stringValue":"hi"}}]}]}]}`)

	code, out, errOut := runCmd(t, "explain", "--config", rules, "--format", "json", "--only-matched", proto, lines, logs)
	require.Equal(t, 0, code, errOut)
	reports := decodeReports(t, out)
	require.Len(t, reports, 4)
	for _, r := range reports[:3] {
		assert.Equal(t, "checkout", r["record"].(map[string]any)["name"])
	}
	assert.Equal(t, map[string]any{"kind": "log", "name": "signup", "trace_id": "", "span_id": "", "resource": map[string]any{}, "attributes": map[string]any{}}, reports[3]["record"])

	bad := writeFile(t, dir, "metrics.json", `{"resourceMetrics":[]}`)
	code, _, errOut = runCmd(t, "explain", "--config", rules, bad)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "neither resourceSpans nor resourceLogs")
}

func ptraceRequest(t *telemetry) ptraceotlp.ExportRequest {
	return ptraceotlp.NewExportRequestFromTraces(t.traces[0])
}

// On a terminal the status word is coloured; the columns stay aligned.
func TestTextColour(t *testing.T) {
	var buf bytes.Buffer
	no := "no"
	w := &textWriter{w: &buf, color: true, ruleWidth: 4}
	require.NoError(t, w.write(&recordReport{
		Record: recordInfo{Kind: "log", body: "pool exhausted"},
		Rules: []ruleReport{
			{Rule: "a", Matched: true, Events: []json.RawMessage{[]byte(`{"event":"e"}`)}},
			{Rule: "bb", Matched: true, Dropped: &no},
			{Rule: "ccc", Failed: &failedTerm{Condition: 2, Term: "log.body == nil"}},
		},
	}))
	rec := `log "pool exhausted"` + strings.Repeat(" ", recordWidth-len(`log "pool exhausted"`)) + "  "
	assert.Equal(t, ""+
		rec+`a     `+green+"match  "+reset+`  {"event":"e"}`+"\n"+
		rec+`bb    `+yellow+"dropped"+reset+"  dropped: no\n"+
		rec+`ccc   `+dim+"no     "+reset+"  conditions[2]: log.body == nil is false\n",
		buf.String())
}

// TestVersion: posthog-rules says which exporter's mapping it runs, the
// version events carry in $lib_version.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, errOut := runCmd(t, arg)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "posthog-rules "+posthogexporter.Version+" ("+posthogexporter.LibraryName+")\n", out)
	}
}
