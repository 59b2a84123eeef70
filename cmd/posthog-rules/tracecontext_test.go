package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// middlewareConfig is a collector config whose rules read enduser.id, which
// the telemetry records once per request on an auth middleware span.
const middlewareConfig = `
exporters:
  posthog:
    api_key: phc_x
    %TRACE_CONTEXT%
    spans:
      - name: api-request
        event: api_request
        conditions: ['span.kind == SPAN_KIND_SERVER']
        distinct_id: ['span.attributes["enduser.id"]']
      - name: engine-executed
        event: engine_executed
        conditions: ['span.name == "engine.execute"']
        distinct_id: ['"engine-7"']
        properties:
          user_id: span.attributes["enduser.id"]
`

// middlewareSpan is one OTLP/JSON document holding one span of the trace.
func middlewareSpan(id, parent, name string, kind int, attrs string) string {
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},` +
		`"scopeSpans":[{"scope":{"name":"express"},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",` +
		`"spanId":"` + id + `","parentSpanId":"` + parent + `","name":"` + name + `","kind":` + string(rune('0'+kind)) + `,` +
		`"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000","attributes":[` + attrs + `]}]}]}]}`
}

// writeMiddlewareTrace writes the middleware pattern as an SDK exports it:
// children before parents, in separate documents and files. A SERVER span
// (root) has two children: "middleware - auth", which records enduser.id,
// and the handler, whose child is engine.execute.
func writeMiddlewareTrace(t *testing.T, dir string) []string {
	t.Helper()
	return []string{
		writeFile(t, dir, "1-engine.json", middlewareSpan("d4d4d4d4d4d4d4d4", "c3c3c3c3c3c3c3c3", "engine.execute", 1, "")+"\n"),
		writeFile(t, dir, "2-request.json", strings.Join([]string{
			middlewareSpan("b2b2b2b2b2b2b2b2", "a1a1a1a1a1a1a1a1", "middleware - auth", 1, `{"key":"enduser.id","value":{"stringValue":"alice"}}`),
			middlewareSpan("c3c3c3c3c3c3c3c3", "a1a1a1a1a1a1a1a1", "request handler - /api/v1/engines", 1, ""),
		}, "\n")+"\n"),
		writeFile(t, dir, "3-server.json", middlewareSpan("a1a1a1a1a1a1a1a1", "", "GET /api/v1/engines", 2, `{"key":"http.request.method","value":{"stringValue":"GET"}}`)+"\n"),
	}
}

func middlewareConfigFile(t *testing.T, dir string, traceContext bool) string {
	t.Helper()
	tc := ""
	if traceContext {
		tc = "trace_context: {attributes: [enduser.id, tenant.id]}"
	}
	return writeFile(t, dir, "otelcol.yaml", strings.Replace(middlewareConfig, "%TRACE_CONTEXT%", tc, 1))
}

// event returns the only event of the only rule of a report.
func event(t *testing.T, r map[string]any) map[string]any {
	t.Helper()
	rules := r["rules"].([]any)
	require.Len(t, rules, 1)
	events := rules[0].(map[string]any)["events"].([]any)
	require.Len(t, events, 1)
	return events[0].(map[string]any)
}

func TestExplainTraceContext(t *testing.T) {
	for _, tc := range []struct {
		name         string
		traceContext bool
		user         any // the engine event's user_id, the API event's distinct_id
		distinctID   string
		inherited    any
	}{
		{name: "with trace_context", traceContext: true, user: "alice", distinctID: "alice", inherited: map[string]any{"enduser.id": "alice"}},
		// Without it the request is anonymous: an id of its trace's own.
		{name: "without", traceContext: false, user: nil, distinctID: mapping.AnonymousDistinctID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}), inherited: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			inputs := writeMiddlewareTrace(t, dir)
			args := append([]string{"explain", "--config", middlewareConfigFile(t, dir, tc.traceContext), "--format", "json", "--only-matched"}, inputs...)
			code, out, errOut := runCmd(t, args...)
			require.Equal(t, 0, code, errOut)
			reports := decodeReports(t, out)
			require.Len(t, reports, 2, out)

			// Input order: the engine span came first.
			engine, server := reports[0], reports[1]
			assert.Equal(t, "engine.execute", engine["record"].(map[string]any)["name"])
			props := event(t, engine)["properties"].(map[string]any)
			assert.Equal(t, tc.user, props["user_id"])
			assert.Equal(t, tc.inherited, engine["record"].(map[string]any)["inherited"])

			assert.Equal(t, "GET /api/v1/engines", server["record"].(map[string]any)["name"])
			assert.Equal(t, tc.distinctID, event(t, server)["distinct_id"])
			assert.Equal(t, tc.inherited, server["record"].(map[string]any)["inherited"])

			// The text form says what a span inherited.
			code, out, errOut = runCmd(t, append([]string{"explain", "--config", middlewareConfigFile(t, dir, tc.traceContext), "--only-matched"}, inputs...)...)
			require.Equal(t, 0, code, errOut)
			if tc.traceContext {
				assert.Equal(t, 2, strings.Count(out, `(inherited from its trace: enduser.id="alice")`), out)
			} else {
				assert.NotContains(t, out, "inherited", out)
			}
		})
	}
}

// TestTestTraceContext: a fixture case whose events rely on inheritance
// passes with trace_context in its config, and fails without it.
func TestTestTraceContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "middleware")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var lines []string
	for _, in := range writeMiddlewareTrace(t, t.TempDir()) {
		b, err := os.ReadFile(in)
		require.NoError(t, err)
		lines = append(lines, strings.TrimSpace(string(b)))
	}
	writeFile(t, dir, "traces.json", strings.Join(lines, "\n")+"\n")
	cfg := middlewareConfigFile(t, t.TempDir(), true)
	cfgText, err := os.ReadFile(cfg)
	require.NoError(t, err)
	writeFile(t, dir, configFile, string(cfgText))

	code, out, errOut := runCmd(t, "test", "--update", dir)
	require.Equal(t, 0, code, out+errOut)
	var got expected
	b, err := os.ReadFile(filepath.Join(dir, expectedFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got.Events, 2)
	users := map[string]any{}
	for _, raw := range got.Events {
		var e map[string]any
		require.NoError(t, json.Unmarshal(raw, &e))
		if e["event"] == "engine_executed" {
			users["engine_executed"] = e["properties"].(map[string]any)["user_id"]
		} else {
			users[e["event"].(string)] = e["distinct_id"]
		}
	}
	assert.Equal(t, map[string]any{"engine_executed": "alice", "api_request": "alice"}, users)

	code, out, errOut = runCmd(t, "test", dir)
	assert.Equal(t, 0, code, out+errOut)

	// The same case without trace_context: each record alone, no user.
	writeFile(t, dir, configFile, strings.Replace(string(cfgText), "trace_context: {attributes: [enduser.id, tenant.id]}", "", 1))
	code, out, _ = runCmd(t, "test", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, mapping.AnonymousDistinctID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}), "no user: the trace's own id")
}

// TestLiveTraceContext: in live mode with trace_context, the engine span,
// sent first, waits until its request's SERVER span arrives and is then
// printed with the user; a span whose trace never completes is printed
// when wait passes.
func TestLiveTraceContext(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "otelcol.yaml", strings.Replace(middlewareConfig, "%TRACE_CONTEXT%", "trace_context: {attributes: [enduser.id], wait: 1s}", 1))
	httpAddr, _, out, stop := startLive(t, "--config", cfg, "--only-matched", "--listen", "127.0.0.1:0")
	post := func(doc string) {
		t.Helper()
		resp, err := http.Post("http://"+httpAddr+"/v1/traces", "application/json", strings.NewReader(doc))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	var docs []string
	for _, in := range writeMiddlewareTrace(t, dir) {
		b, err := os.ReadFile(in)
		require.NoError(t, err)
		docs = append(docs, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	post(docs[0]) // engine.execute
	for _, d := range docs[1:] {
		post(d)
	}
	assert.NotContains(t, out.String(), "engine.execute", "the engine span waits until its trace goes quiet (1s)")
	assert.Eventually(t, func() bool { return strings.Contains(out.String(), "[d4d4d4d4]") }, 5*time.Second, 20*time.Millisecond)
	assert.Contains(t, out.String(), `"user_id":"alice"`)
	assert.Contains(t, out.String(), `"distinct_id":"alice"`)
	assert.Regexp(t, `span engine.execute \[d4d4d4d4\]\s+\(waited for its trace; inherited from its trace: enduser.id="alice"\)`, out.String())

	// An orphan engine span (its parent never arrives) is printed after wait.
	post(strings.ReplaceAll(strings.ReplaceAll(docs[0], "0102030405060708090a0b0c0d0e0f10", "ffff030405060708090a0b0c0d0e0f10"), "d4d4d4d4d4d4d4d4", "e5e5e5e5e5e5e5e5"))
	assert.Eventually(t, func() bool { return strings.Contains(out.String(), "[e5e5e5e5]") }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, stop())
	assert.Regexp(t, `span engine.execute \[e5e5e5e5\]\s+\(waited for its trace\)`, out.String())
}
