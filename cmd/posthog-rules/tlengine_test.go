package main

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/posthogexporter/posthogexporter/testbed/demotelemetry"
)

var (
	tlEngineConfig   = filepath.Join("..", "..", "testdata", "config", "tl-engine.yaml")
	tlEngineFixtures = filepath.Join("..", "..", "testdata", "config", "tl-engine-fixtures")

	writeFixtures = flag.Bool("write-tl-engine-fixtures", false,
		"rewrite the telemetry of testdata/config/tl-engine-fixtures from the demo service (new trace ids: every case changes), then its events.json")
	writeNewFixtures = flag.Bool("write-new-tl-engine-fixtures", false,
		"as -write-tl-engine-fixtures, but only the cases that have no directory yet")
)

// The catalogue of testdata/config/tl-engine.yaml.
var catalogue = []string{
	"engine_executed", "engine_failed", "engine_queued",
	"api_request", "api_error",
	"worker_task_started", "worker_task_completed", "worker_task_failed",
	"cache_hit", "cache_miss", "database_query_slow",
	"rate_limit_exceeded", "database_connection_pool_exhausted",
	"exception", "feature_flag_called", // $exception, $feature_flag_called
}

// TestTLEngineFixtures runs the fixture tests of the tl-engine rules (as
// `make test` also does with the built command) and checks that together
// they expect every event of the catalogue.
func TestTLEngineFixtures(t *testing.T) {
	if *writeFixtures || *writeNewFixtures {
		writeTLEngineFixtures(t, *writeNewFixtures)
	}
	code, out, errOut := runCmd(t, "test", "--config", tlEngineConfig, tlEngineFixtures)
	require.Equal(t, 0, code, out+errOut)

	seen := map[string]bool{}
	cases, err := findCases(tlEngineFixtures)
	require.NoError(t, err)
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(c, expectedFile))
		require.NoError(t, err)
		var exp struct {
			Events []struct {
				Event string `json:"event"`
			} `json:"events"`
		}
		require.NoError(t, jsonUnmarshal(b, &exp))
		for _, e := range exp.Events {
			seen[strings.TrimPrefix(e.Event, "$")] = true
		}
		// Each case is named for the event it is about.
		assert.True(t, seen[filepath.Base(c)], "case %s expects no %s event", c, filepath.Base(c))
	}
	for _, name := range catalogue {
		assert.True(t, seen[name], "no fixture expects %s", name)
	}
}

// writeTLEngineFixtures records the demo service's telemetry through the
// OTel SDK and writes, per catalogue event, the records that produce it;
// with onlyNew, only for the cases that have no directory yet.
func writeTLEngineFixtures(t *testing.T, onlyNew bool) {
	var mu sync.Mutex
	traces := ptrace.NewTraces()
	logs := plog.NewLogs()
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/v1/traces":
			req := ptraceotlp.NewExportRequest()
			assert.NoError(t, req.UnmarshalProto(body))
			req.Traces().ResourceSpans().MoveAndAppendTo(traces.ResourceSpans())
		case "/v1/logs":
			req := plogotlp.NewExportRequest()
			assert.NoError(t, req.UnmarshalProto(body))
			req.Logs().ResourceLogs().MoveAndAppendTo(logs.ResourceLogs())
		}
	}))
	defer srv.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, err := demotelemetry.Run(t.Context(), demotelemetry.Config{Endpoint: srv.URL, Now: now})
	require.NoError(t, err)

	// Cases in inheritCases keep the request as the service sent it: identity
	// only on the auth middleware's span, inherited through trace_context.
	raw := ptrace.NewTraces()
	traces.CopyTo(raw)
	giveTraceIdentity(traces)

	str := func(m pcommon.Map, k string) string {
		if v, ok := m.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	spanCases := map[string]func(ptrace.Span) bool{
		"engine_executed": func(s ptrace.Span) bool {
			return s.Name() == "engine.execute" && s.Status().Code() != ptrace.StatusCodeError
		},
		"engine_failed": func(s ptrace.Span) bool {
			return s.Name() == "engine.execute" && s.Status().Code() == ptrace.StatusCodeError
		},
		"engine_queued": func(s ptrace.Span) bool { return s.Kind() == ptrace.SpanKindProducer },
		// The anonymous request: distinct_id is an id of its trace's own.
		"api_request": func(s ptrace.Span) bool {
			return s.Kind() == ptrace.SpanKindServer && str(s.Attributes(), "url.path") == "/api/v1/status"
		},
		"api_error": func(s ptrace.Span) bool {
			return s.Kind() == ptrace.SpanKindServer && str(s.Attributes(), "http.response.status_code") == "500"
		},
		"worker_task_started":   func(s ptrace.Span) bool { return str(s.Attributes(), "task.id") == "task-1001" },
		"worker_task_completed": func(s ptrace.Span) bool { return str(s.Attributes(), "task.id") == "task-1002" },
		"worker_task_failed":    func(s ptrace.Span) bool { return str(s.Attributes(), "task.id") == "task-1003" },
		"cache_hit": func(s ptrace.Span) bool {
			return s.Name() == "cache.get" && str(s.Attributes(), "cache.hit") == "true" && str(s.Attributes(), "cache.key") == "engine:eng-42"
		},
		"cache_miss": func(s ptrace.Span) bool {
			return s.Name() == "cache.get" && str(s.Attributes(), "cache.hit") == "false" && str(s.Attributes(), "cache.key") == "engine:eng-42:config"
		},
		// The slow SELECT and a fast INSERT on the same table: only one event.
		"database_query_slow": func(s ptrace.Span) bool { return str(s.Attributes(), "db.collection.name") == "engine_runs" },
		// The unhandled exception, recorded on the engine span and on the
		// request's server span: one $exception.
		"exception": func(s ptrace.Span) bool {
			for _, e := range s.Events().All() {
				if e.Name() == "exception" {
					return true
				}
			}
			return false
		},
		// The three evaluations of the flag, two of them the same exposure.
		"feature_flag_called": func(s ptrace.Span) bool {
			for _, e := range s.Events().All() {
				if e.Name() == "feature_flag.evaluation" {
					return true
				}
			}
			return false
		},
	}
	logCases := map[string]func(plog.LogRecord) bool{
		"rate_limit_exceeded":                func(l plog.LogRecord) bool { return l.EventName() == "rate_limit_exceeded" },
		"database_connection_pool_exhausted": func(l plog.LogRecord) bool { return str(l.Attributes(), "db.client.connection.pool.name") != "" },
		// The handled exception, logged at ERROR.
		"exception": func(l plog.LogRecord) bool { return l.SeverityNumber() >= plog.SeverityNumberError },
	}
	existing := map[string]bool{}
	if onlyNew {
		cases, err := findCases(tlEngineFixtures)
		require.NoError(t, err)
		for _, c := range cases {
			existing[filepath.Base(c)] = true
		}
	}
	for name, keep := range spanCases {
		if existing[name] {
			continue
		}
		td := ptrace.NewTraces()
		traces.CopyTo(td)
		if inheritCases[name] {
			raw.CopyTo(td)
			keep = withRequest(raw, keep)
		}
		td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				ss.Spans().RemoveIf(func(s ptrace.Span) bool { return !keep(s) })
				return ss.Spans().Len() == 0
			})
			return rs.ScopeSpans().Len() == 0
		})
		require.Positive(t, td.SpanCount(), name)
		dir := filepath.Join(tlEngineFixtures, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, golden.WriteTracesToFile(filepath.Join(dir, "traces.yaml"), td))
	}
	for name, keep := range logCases {
		if existing[name] {
			continue
		}
		ld := plog.NewLogs()
		logs.CopyTo(ld)
		ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
				sl.LogRecords().RemoveIf(func(l plog.LogRecord) bool { return !keep(l) })
				return sl.LogRecords().Len() == 0
			})
			return rl.ScopeLogs().Len() == 0
		})
		require.Positive(t, ld.LogRecordCount(), name)
		dir := filepath.Join(tlEngineFixtures, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, golden.WriteLogsToFile(filepath.Join(dir, "logs.yaml"), ld))
	}
	code, out, errOut := runCmd(t, "test", "--update", "--config", tlEngineConfig, tlEngineFixtures)
	require.Equal(t, 0, code, out+errOut)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// inheritCases are the fixture cases recorded without giveTraceIdentity:
// they hold the request's spans that give the case's span its identity
// (see withRequest), and rely on trace_context as the collector does.
var inheritCases = map[string]bool{"engine_executed": true}

// withRequest widens keep to the ancestors of the spans it keeps, and the
// spans of their traces that carry enduser.id (the auth middleware's).
func withRequest(td ptrace.Traces, keep func(ptrace.Span) bool) func(ptrace.Span) bool {
	type key struct {
		trace pcommon.TraceID
		span  pcommon.SpanID
	}
	parent := map[key]pcommon.SpanID{}
	var kept []key
	identity := map[key]bool{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				k := key{s.TraceID(), s.SpanID()}
				parent[k] = s.ParentSpanID()
				if keep(s) {
					kept = append(kept, k)
				}
				if _, ok := s.Attributes().Get("enduser.id"); ok {
					identity[k] = true
				}
			}
		}
	}
	want := map[key]bool{}
	traces := map[pcommon.TraceID]bool{}
	for _, k := range kept {
		traces[k.trace] = true
		for !want[k] {
			want[k] = true
			p, ok := parent[k]
			if !ok || p.IsEmpty() {
				break
			}
			k = key{k.trace, p}
		}
	}
	for k := range identity {
		if traces[k.trace] {
			want[k] = true
		}
	}
	return func(s ptrace.Span) bool { return want[key{s.TraceID(), s.SpanID()}] }
}

// giveTraceIdentity writes each trace's enduser.id and tenant.id (which the
// demo records once per request, on its auth middleware's span) into every
// span of the trace that lacks them, as trace_context does in the collector.
// The fixtures were recorded so when posthog-rules saw one record at a time;
// it now runs trace_context too, and a record's own value wins, so the
// events are the same either way.
func giveTraceIdentity(td ptrace.Traces) {
	keys := []string{"enduser.id", "tenant.id"}
	identity := map[pcommon.TraceID]map[string]string{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				for _, k := range keys {
					if v, ok := s.Attributes().Get(k); ok {
						if identity[s.TraceID()] == nil {
							identity[s.TraceID()] = map[string]string{}
						}
						identity[s.TraceID()][k] = v.AsString()
					}
				}
			}
		}
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				for k, v := range identity[s.TraceID()] {
					if _, ok := s.Attributes().Get(k); !ok {
						s.Attributes().PutStr(k, v)
					}
				}
			}
		}
	}
}
