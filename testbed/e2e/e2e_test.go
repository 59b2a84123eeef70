// Package e2e runs the built collector (_build/otelcol-posthog) as a user
// would: it starts it with a config, sends OTLP from the OpenTelemetry Go SDK
// (internal/demotelemetry) and checks the events that reach a local PostHog
// capture stand-in (internal/posthogtest).
//
// The collector binary is $OTELCOL_POSTHOG_BIN, default ../_build/otelcol-posthog.
// `make test` builds it first. Without it the tests skip, except under CI
// (CI set) or OTELCOL_POSTHOG_REQUIRE_BIN=1, where they fail.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/testbed/collectortest"
	"github.com/posthogexporter/posthogexporter/testbed/demotelemetry"
)

// collectorBin returns the collector binary or skips/fails the test.
func collectorBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_POSTHOG_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "_build", "otelcol-posthog")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		msg := fmt.Sprintf("collector binary %s not found (%v): run `make build`, or `make test` which builds it", abs, err)
		if os.Getenv("CI") != "" || os.Getenv("OTELCOL_POSTHOG_REQUIRE_BIN") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return abs
}

// freePort returns a port that was free a moment ago, below the kernel's
// ephemeral range (32768-60999 by default): a port from that range (":0")
// can be taken by an outgoing connection of a concurrent test between the
// check and the collector's bind.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := 20000 + mrand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects the collector's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type collector struct {
	*collectortest.Process
	t    *testing.T
	out  *syncBuffer
	otlp string
}

// startCollector starts the binary with config and waits until its OTLP/HTTP
// port (otlpHTTP, host:port) accepts connections.
func startCollector(t *testing.T, bin, config, otlpHTTP string) *collector {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return startCollectorWith(t, bin, otlpHTTP, nil, "--config", path)
}

// startCollectorWith starts the binary with args (for a shipped config with
// fixed ports: "--config", file, "--set=receivers::otlp::protocols::http::endpoint=127.0.0.1:PORT",
// "--set=service::telemetry::metrics::level=none", ...) and extra environment
// variables ("POSTHOG_HOST=..."), and waits until otlpHTTP accepts connections.
func startCollectorWith(t *testing.T, bin, otlpHTTP string, env []string, args ...string) *collector {
	t.Helper()
	c := launch(t, bin, otlpHTTP, env, args...)
	if err := c.WaitListening(context.Background(), otlpHTTP, 60*time.Second); err != nil {
		t.Fatalf("%v:\n%s", err, c.out.String())
	}
	return c
}

// launch starts the binary with args and extra environment variables, and
// makes sure the test kills it and shows its output should the test fail.
func launch(t *testing.T, bin, otlpHTTP string, env []string, args ...string) *collector {
	t.Helper()
	c := &collector{t: t, out: &syncBuffer{}, otlp: otlpHTTP}
	p, err := collectortest.Start(context.Background(), bin, args, env, c.out)
	if err != nil {
		t.Fatal(err)
	}
	c.Process = p
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			t.Logf("collector output (pid %d):\n%s", c.Pid(), c.out.String())
		}
	})
	return c
}

// stop sends SIGTERM and requires a clean exit (status 0) within 30s.
func (c *collector) stop() {
	c.t.Helper()
	if err := c.Stop(30 * time.Second); err != nil {
		c.t.Fatalf("after SIGTERM: %v", err)
	}
	for _, line := range strings.Split(c.out.String(), "\n") {
		if strings.Contains(line, "\terror\t") || strings.HasPrefix(line, "panic:") {
			c.t.Errorf("collector logged an error: %s", line)
		}
	}
}

// startShipped starts the built collector with testdata/config/<name>,
// unchanged but for its ports (and args), delivering to a new PostHog
// stand-in that accepts apiKey. It returns the collector, its OTLP/HTTP
// address and the stand-in.
func startShipped(t *testing.T, name, apiKey string, args ...string) (*collector, string, *posthogtest.Server) {
	t.Helper()
	bin := collectorBin(t)
	ph := posthogtest.NewServer(posthogtest.WithAPIKey(apiKey))
	srv := httptest.NewServer(ph)
	t.Cleanup(srv.Close)
	otlp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	config, err := filepath.Abs(filepath.Join("..", "..", "testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--config", config,
		fmt.Sprintf("--set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", freePort(t)),
		"--set=receivers::otlp::protocols::http::endpoint=" + otlp,
		"--set=service::telemetry::metrics::level=none",
	}, args...)
	c := startCollectorWith(t, bin, otlp, []string{"POSTHOG_API_KEY=" + apiKey, "POSTHOG_HOST=" + srv.URL}, args...)
	return c, otlp, ph
}

// configTemplate is a complete collector config. Its rules cover spans
// (server, internal, consumer, client), logs with an event name and logs
// matched by body, literal and default distinct_ids, both timestamp choices.
var configTemplate = template.Must(template.New("config").Parse(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.GRPCPort}}
      http:
        endpoint: 127.0.0.1:{{.HTTPPort}}
processors:
  batch:
    timeout: 100ms
exporters:
  posthog:
    api_key: phc_e2e_test
    endpoint: {{.PostHog}}
    retry_on_failure:
      initial_interval: 100ms
    trace_context:
      attributes: [enduser.id]
      wait: 10s
    defaults:
      distinct_id: ['resource.attributes["service.name"]']
      properties:
        environment: resource.attributes["deployment.environment.name"]
    spans:
      - name: api-request
        event: api_request
        conditions: ['span.kind == SPAN_KIND_SERVER']
        distinct_id: ['span.attributes["enduser.id"]', 'resource.attributes["service.name"]']
        properties:
          endpoint: span.attributes["http.route"]
          method: span.attributes["http.request.method"]
          status_code: span.attributes["http.response.status_code"]
          response_time_ms: Milliseconds(span.end_time - span.start_time)
      - name: api-error
        event: api_error
        conditions: ['span.kind == SPAN_KIND_SERVER and span.attributes["http.response.status_code"] >= 500']
        distinct_id: ['span.attributes["enduser.id"]', 'resource.attributes["service.name"]']
        properties:
          status_code: span.attributes["http.response.status_code"]
          error_type: span.attributes["error.type"]
      - name: engine-executed
        event: engine_executed
        conditions: ['span.name == "engine.execute" and span.status.code != STATUS_CODE_ERROR']
        distinct_id: ['span.attributes["enduser.id"]']
        attributes: [engine.id, engine.type]
        properties:
          duration_ms: Milliseconds(span.end_time - span.start_time)
      - name: engine-failed
        event: engine_failed
        conditions: ['span.name == "engine.execute" and span.status.code == STATUS_CODE_ERROR']
        distinct_id: ['span.attributes["enduser.id"]']
        attributes: [engine.id]
        properties:
          error_type: span.attributes["error.type"]
          error_message: span.status.message
      - name: worker-task-started
        event: worker_task_started
        conditions: ['span.kind == SPAN_KIND_CONSUMER and span.attributes["messaging.destination.name"] == "tasks"']
        timestamp: start
        attributes: [task.id, task.type]
      - name: cache-hit
        event: cache_hit
        conditions: ['span.name == "cache.get" and span.attributes["cache.hit"] == true']
        properties:
          cache_key: span.attributes["cache.key"]
          ttl: span.attributes["cache.ttl"]
      - name: cache-miss
        event: cache_miss
        conditions: ['span.name == "cache.get" and span.attributes["cache.hit"] == false']
        properties:
          cache_key: span.attributes["cache.key"]
      - name: database-query-slow
        event: database_query_slow
        conditions: ['span.attributes["db.system.name"] == "postgresql" and span.end_time - span.start_time > Duration("500ms")']
        properties:
          query_type: span.attributes["db.operation.name"]
          table_name: span.attributes["db.collection.name"]
          duration_ms: Milliseconds(span.end_time - span.start_time)
    logs:
      - name: rate-limit
        event: rate_limit_exceeded
        conditions: ['log.event_name == "rate_limit_exceeded"']
        distinct_id: ['log.attributes["enduser.id"]']
        attributes: [endpoint, limit, current]
        properties:
          api_key_hash: SHA256(log.attributes["api_key"])
      - name: pool-exhausted
        event: database_connection_pool_exhausted
        conditions: ['IsMatch(log.body, "pool exhausted")']
        properties:
          pool_size: log.attributes["db.client.connection.max"]
          active_connections: log.attributes["db.client.connection.count"]
          waiting_connections: log.attributes["db.client.connection.pending_requests"]
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [posthog]}
    logs: {receivers: [otlp], processors: [batch], exporters: [posthog]}
  telemetry:
    metrics:
      level: none
`))

func renderConfig(t *testing.T, grpcPort, httpPort int, posthogURL string) string {
	t.Helper()
	var b strings.Builder
	err := configTemplate.Execute(&b, map[string]any{"GRPCPort": grpcPort, "HTTPPort": httpPort, "PostHog": posthogURL})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCollectorEndToEnd runs the demo service's telemetry, recorded through
// the OTel Go SDK as real services record it (the caller on the auth
// middleware's span only, spans exported as they end, children first, a few
// per request), through the built collector. Engine events are identified
// by the caller of the request that ran them: trace_context gives the
// middleware span's enduser.id to every span of the trace. The events must
// all arrive while the collector runs, well before trace_context's wait.
func TestCollectorEndToEnd(t *testing.T) {
	bin := collectorBin(t)

	ph := posthogtest.NewServer()
	srv := httptest.NewServer(ph)
	defer srv.Close()

	grpcPort, httpPort := freePort(t), freePort(t)
	otlp := fmt.Sprintf("127.0.0.1:%d", httpPort)
	c := startCollector(t, bin, renderConfig(t, grpcPort, httpPort, srv.URL), otlp)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := demotelemetry.Run(ctx, demotelemetry.Config{Endpoint: "http://" + otlp, Environment: "e2e", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("sending telemetry: %v", err)
	}

	x := demotelemetry.Expected
	want := map[string]int{
		"api_request":                        x.ServerSpans,
		"api_error":                          x.ServerErrors,
		"engine_executed":                    x.EngineRuns - x.EngineFailures,
		"engine_failed":                      x.EngineFailures,
		"worker_task_started":                x.Tasks,
		"cache_hit":                          x.CacheHits,
		"cache_miss":                         x.CacheMisses,
		"database_query_slow":                x.SlowDBSpans,
		"rate_limit_exceeded":                x.RateLimitLogs,
		"database_connection_pool_exhausted": x.PoolExhaustedLogs,
	}
	total := 0
	for _, n := range want {
		total += n
	}

	// The events arrive while the collector runs (batch timeout 100ms).
	waitCtx, waitCancel := context.WithTimeout(ctx, 30*time.Second)
	defer waitCancel()
	if _, err := ph.WaitForEvents(waitCtx, total); err != nil {
		t.Errorf("waiting for %d events: %v (got %d)", total, err, len(ph.Events()))
	}
	c.stop()
	events := ph.Events() // anything flushed at shutdown counts too

	got := map[string]int{}
	for _, e := range events {
		got[e.Name]++
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("event %s: got %d, want %d", name, got[name], n)
		}
	}
	for name, n := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected event %s (%d)", name, n)
		}
	}
	if len(events) != total {
		t.Errorf("got %d events, want %d", len(events), total)
	}

	checkEvents(t, events, res)
	t.Logf("%d events from %d spans and %d log records: %v", len(events), len(res.Spans), len(res.Logs), got)
}

// checkEvents ties every event back to the span or log record it came from
// (by its $span_id property) and checks identity, timestamp and properties.
func checkEvents(t *testing.T, events []posthogtest.Event, res *demotelemetry.Result) {
	spans := map[string]sdktrace.ReadOnlySpan{}
	users := map[trace.TraceID]attribute.Value{} // the caller, from the auth middleware's span
	for _, s := range res.Spans {
		spans[s.SpanContext().SpanID().String()] = s
		for _, kv := range s.Attributes() {
			if kv.Key == "enduser.id" {
				users[s.SpanContext().TraceID()] = kv.Value
			}
		}
	}
	logs := map[string]sdklog.Record{} // by the span id of the enclosing request
	for _, r := range res.Logs {
		logs[r.SpanID().String()] = r
	}
	uuids := map[string]string{}

	for _, e := range events {
		where := fmt.Sprintf("%s (distinct_id %q)", e.Name, e.DistinctID)
		if _, err := uuid.Parse(e.UUID); err != nil {
			t.Errorf("%s: uuid %q: %v", where, e.UUID, err)
		}
		if prev, dup := uuids[e.UUID]; dup {
			t.Errorf("%s: uuid %s already used by %s", where, e.UUID, prev)
		}
		uuids[e.UUID] = e.Name
		if env := e.Properties["environment"]; env != "e2e" {
			t.Errorf("%s: environment = %v, want e2e (defaults.properties)", where, env)
		}
		if p, ok := e.Properties["$process_person_profile"]; !ok || p != false {
			t.Errorf("%s: $process_person_profile = %v, want false", where, p)
		}
		if lib, _ := e.Properties["$lib"].(string); lib == "" {
			t.Errorf("%s: no $lib", where)
		}
		ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		if err != nil {
			t.Errorf("%s: timestamp %q: %v", where, e.Timestamp, err)
			continue
		}
		spanID, _ := e.Properties["$span_id"].(string)
		traceID, _ := e.Properties["$trace_id"].(string)

		if rec, ok := logs[spanID]; ok && (e.Name == "rate_limit_exceeded" || e.Name == "database_connection_pool_exhausted") {
			if traceID != rec.TraceID().String() {
				t.Errorf("%s: $trace_id %s, want %s", where, traceID, rec.TraceID())
			}
			checkTime(t, where, ts, rec.Timestamp())
			la := map[string]attribute.Value{}
			rec.WalkAttributes(func(kv attribute.KeyValue) bool { la[string(kv.Key)] = kv.Value; return true })
			switch e.Name {
			case "rate_limit_exceeded":
				wantDistinct(t, where, e, la["enduser.id"].AsString())
				sum := sha256.Sum256([]byte(la["api_key"].AsString()))
				if h, _ := e.Properties["api_key_hash"].(string); !strings.EqualFold(h, hex.EncodeToString(sum[:])) {
					t.Errorf("%s: api_key_hash = %v, want the SHA-256 of the key", where, e.Properties["api_key_hash"])
				}
				for k, v := range e.Properties {
					if s, ok := v.(string); ok && s == la["api_key"].AsString() {
						t.Errorf("%s: property %s carries the raw API key", where, k)
					}
				}
				wantNum(t, where, e, "limit", la["limit"].AsInt64())
				wantNum(t, where, e, "current", la["current"].AsInt64())
				if e.Properties["endpoint"] != la["endpoint"].AsString() {
					t.Errorf("%s: endpoint = %v", where, e.Properties["endpoint"])
				}
			case "database_connection_pool_exhausted":
				wantDistinct(t, where, e, "tl-engine")
				wantNum(t, where, e, "pool_size", la["db.client.connection.max"].AsInt64())
				wantNum(t, where, e, "active_connections", la["db.client.connection.count"].AsInt64())
				wantNum(t, where, e, "waiting_connections", la["db.client.connection.pending_requests"].AsInt64())
			}
			continue
		}

		s, ok := spans[spanID]
		if !ok {
			t.Errorf("%s: $span_id %q matches no span sent", where, spanID)
			continue
		}
		if traceID != s.SpanContext().TraceID().String() {
			t.Errorf("%s: $trace_id %s, want %s", where, traceID, s.SpanContext().TraceID())
		}
		a := map[string]attribute.Value{}
		for _, kv := range s.Attributes() {
			a[string(kv.Key)] = kv.Value
		}
		if _, own := a["enduser.id"]; !own {
			a["enduser.id"] = users[s.SpanContext().TraceID()] // what trace_context gives the span
		}
		durMS := s.EndTime().Sub(s.StartTime()).Milliseconds()
		if e.Name == "worker_task_started" {
			checkTime(t, where, ts, s.StartTime())
		} else {
			checkTime(t, where, ts, s.EndTime())
		}
		switch e.Name {
		case "api_request", "api_error":
			user := a["enduser.id"].AsString()
			if user == "" {
				user = "tl-engine" // anonymous: falls back to service.name
			}
			wantDistinct(t, where, e, user)
			wantNum(t, where, e, "status_code", a["http.response.status_code"].AsInt64())
			if e.Name == "api_request" {
				wantNum(t, where, e, "response_time_ms", durMS)
				if e.Properties["endpoint"] != a["http.route"].AsString() || e.Properties["method"] != a["http.request.method"].AsString() {
					t.Errorf("%s: endpoint/method = %v/%v", where, e.Properties["endpoint"], e.Properties["method"])
				}
			} else if e.Properties["error_type"] != a["error.type"].AsString() {
				t.Errorf("%s: error_type = %v", where, e.Properties["error_type"])
			}
		case "engine_executed", "engine_failed":
			wantDistinct(t, where, e, a["enduser.id"].AsString())
			if e.Properties["engine.id"] != a["engine.id"].AsString() {
				t.Errorf("%s: engine.id = %v", where, e.Properties["engine.id"])
			}
			if e.Name == "engine_executed" {
				wantNum(t, where, e, "duration_ms", durMS)
			} else if e.Properties["error_type"] != "TimeoutError" || e.Properties["error_message"] != s.Status().Description {
				t.Errorf("%s: error_type/error_message = %v/%v", where, e.Properties["error_type"], e.Properties["error_message"])
			}
		case "worker_task_started":
			wantDistinct(t, where, e, "tl-engine")
			if e.Properties["task.id"] != a["task.id"].AsString() || e.Properties["task.type"] != a["task.type"].AsString() {
				t.Errorf("%s: task.id/task.type = %v/%v", where, e.Properties["task.id"], e.Properties["task.type"])
			}
		case "cache_hit", "cache_miss":
			wantDistinct(t, where, e, "tl-engine")
			if e.Properties["cache_key"] != a["cache.key"].AsString() {
				t.Errorf("%s: cache_key = %v", where, e.Properties["cache_key"])
			}
			if e.Name == "cache_hit" {
				wantNum(t, where, e, "ttl", a["cache.ttl"].AsInt64())
			} else if _, ok := e.Properties["ttl"]; ok {
				t.Errorf("%s: a miss has no ttl", where)
			}
		case "database_query_slow":
			wantDistinct(t, where, e, "tl-engine")
			wantNum(t, where, e, "duration_ms", durMS)
			if durMS <= 500 {
				t.Errorf("%s: a %d ms query is not slow", where, durMS)
			}
			if e.Properties["table_name"] != a["db.collection.name"].AsString() || e.Properties["query_type"] != a["db.operation.name"].AsString() {
				t.Errorf("%s: table_name/query_type = %v/%v", where, e.Properties["table_name"], e.Properties["query_type"])
			}
		}
	}
}

func checkTime(t *testing.T, where string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("%s: timestamp %s, want %s", where, got.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
	}
}

func wantDistinct(t *testing.T, where string, e posthogtest.Event, want string) {
	t.Helper()
	if e.DistinctID != want {
		t.Errorf("%s: distinct_id %q, want %q", where, e.DistinctID, want)
	}
}

// wantNum checks a numeric property; JSON decoders differ on number types.
func wantNum(t *testing.T, where string, e posthogtest.Event, key string, want int64) {
	t.Helper()
	var got float64
	switch v := e.Properties[key].(type) {
	case float64:
		got = v
	case int64:
		got = float64(v)
	case int:
		got = float64(v)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			t.Errorf("%s: %s = %v", where, key, v)
			return
		}
		got = f
	default:
		t.Errorf("%s: %s = %v (%T), want the number %d", where, key, v, v, want)
		return
	}
	if got != float64(want) {
		t.Errorf("%s: %s = %v, want %d", where, key, got, want)
	}
}

// runValidate runs `validate` with env added to the test's environment; an
// entry without "=" unsets that variable.
func runValidate(t *testing.T, bin, config string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "validate", "--config", config)
	cmd.Env = os.Environ()
	for _, kv := range env {
		if !strings.Contains(kv, "=") {
			cmd.Env = slices.DeleteFunc(cmd.Env, func(e string) bool { return strings.HasPrefix(e, kv+"=") })
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestValidateShippedConfigs(t *testing.T) {
	bin := collectorBin(t)
	for _, name := range []string{"demo.yaml", "tl-engine.yaml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "config", name)
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && name != "demo.yaml" {
				t.Skipf("%s does not exist yet", path)
			}
			out, err := runValidate(t, bin, path, "POSTHOG_API_KEY=phc_validate", "POSTHOG_HOST=http://127.0.0.1:1")
			if err != nil {
				t.Fatalf("validate %s: %v\n%s", path, err, out)
			}
		})
	}
}

func TestValidateRejectsBrokenRule(t *testing.T) {
	bin := collectorBin(t)
	cases := []struct{ name, rule, want string }{
		{"unparseable condition", `{name: broken-rule, event: x, conditions: ['span.kind ==']}`, "broken-rule"},
		{"unprefixed path", `{name: unprefixed-rule, event: x, conditions: ['attributes["a"] == "b"']}`, "unprefixed-rule"},
		{"no event", `{name: nameless-event, conditions: ['span.kind == SPAN_KIND_SERVER']}`, "nameless-event"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:0}
exporters:
  posthog:
    api_key: phc_x
    endpoint: http://127.0.0.1:1
    spans:
      - {name: good-rule, event: ok, conditions: ['span.kind == SPAN_KIND_SERVER']}
      - %s
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [posthog]}
`, tc.rule)
			path := filepath.Join(t.TempDir(), "broken.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runValidate(t, bin, path)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("validate accepted a broken rule (err %v):\n%s", err, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("the error does not name the rule %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestValidateRejectsConfigMistakes: mistakes that used to validate and then
// did something else (a misspelled key ignored, an endpoint that 404s, a key
// PostHog refuses) fail `validate`, with the path and the fix.
func TestValidateRejectsConfigMistakes(t *testing.T) {
	bin := collectorBin(t)
	cases := []struct{ name, exporter, want string }{
		{"misspelled rule key", `
    spans:
      - {name: r, event: e, distinct_id: ['"x"'], condition: ['span.name == "x"']}`, `spans[0].condition: unknown key; did you mean "conditions"?`},
		{"misspelled block", `
    retry_on_failur: {enabled: false}`, `retry_on_failur: unknown key; did you mean "retry_on_failure"?`},
		{"misspelled nested key", `
    sending_queue: {queue_sise: 10}`, `sending_queue.queue_sise: unknown key; did you mean "queue_size"?`},
		{"batch endpoint", `
    endpoint: https://eu.i.posthog.com/batch/`, "set endpoint: https://eu.i.posthog.com"},
		{"ftp endpoint", `
    endpoint: ftp://example.com`, "is not an http or https URL"},
		{"personal key", `
    api_key: phx_personalsecret`, "personal API key (phx_...)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exporter := tc.exporter
			if !strings.Contains(exporter, "api_key:") {
				exporter = "\n    api_key: phc_x" + exporter
			}
			cfg := `
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:0}
exporters:
  posthog:` + exporter + `
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [posthog]}
`
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runValidate(t, bin, path)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("validate accepted the mistake (err %v):\n%s", err, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("the error lacks %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, "personalsecret") {
				t.Errorf("the error prints the key:\n%s", out)
			}
		})
	}
}
