package demotelemetry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestEmitScenario(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	spans := &spanRecorder{}
	logs := &logRecorder{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithResource(Resource("tl-engine", "demo")))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(logs), sdklog.WithResource(Resource("tl-engine", "demo")))
	Emit(context.Background(), tp, lp, now)

	var got struct {
		server, server5xx, web, auth, handler, engine, engineFail, publish, task, taskFail, db, slowDB, hit, miss int
	}
	// Identity is on the auth middleware's span only: a child of the server
	// span, a sibling of the handler.
	users := map[trace.TraceID]string{}
	servers := map[trace.SpanID]bool{}
	for _, s := range spans.spans() {
		if s.SpanKind() == trace.SpanKindServer {
			servers[s.SpanContext().SpanID()] = true
		}
		a := attrs(s)
		if u, ok := a["enduser.id"]; ok {
			if s.Name() != "middleware - auth" {
				t.Errorf("span %q carries enduser.id: only the auth middleware's span should", s.Name())
			}
			users[s.SpanContext().TraceID()] = u.AsString()
			if a["tenant.id"].AsString() != Tenant[u.AsString()] {
				t.Errorf("auth span: tenant.id %v for %s", a["tenant.id"], u.AsString())
			}
		}
	}
	var excs []sdktrace.Event
	flags := map[string]bool{}
	evaluations := 0
	for _, s := range spans.spans() {
		for _, ev := range s.Events() {
			if ev.Name != "feature_flag.evaluation" {
				continue
			}
			evaluations++
			ea := map[attribute.Key]attribute.Value{}
			for _, kv := range ev.Attributes {
				ea[kv.Key] = kv.Value
			}
			user := ea["feature_flag.context.id"].AsString()
			if ea["feature_flag.key"].AsString() != FlagKey || ea["feature_flag.result.variant"].AsString() != FlagVariant[user] ||
				ea["feature_flag.provider.name"].AsString() == "" || !strings.HasPrefix(s.Name(), "request handler - ") ||
				ev.Time.Before(s.StartTime()) || ev.Time.After(s.EndTime()) {
				t.Errorf("flag evaluation on %q: %v at %v", s.Name(), ea, ev.Time)
			}
			flags[user+"/"+ea["feature_flag.result.variant"].AsString()] = true
		}
		a := attrs(s)
		if s.EndTime().After(now) || !s.StartTime().Before(s.EndTime()) {
			t.Errorf("span %q: bad times %v..%v (now %v)", s.Name(), s.StartTime(), s.EndTime(), now)
		}
		switch {
		case s.SpanKind() == trace.SpanKindServer:
			got.server++
			for _, ev := range s.Events() {
				if ev.Name == "exception" {
					excs = append(excs, ev)
				}
			}
			for _, k := range []attribute.Key{"http.request.method", "http.route", "url.path", "http.response.status_code", "client.address"} {
				if _, ok := a[k]; !ok {
					t.Errorf("server span %q lacks %s", s.Name(), k)
				}
			}
			// posthog-js headers, as instrumentations record them: string arrays.
			if h, ok := a["http.request.header.x-posthog-session-id"]; ok {
				got.web++
				if h.Type() != attribute.STRINGSLICE || h.AsStringSlice()[0] != WebSessionID ||
					a["http.request.header.x-posthog-window-id"].AsStringSlice()[0] != WebWindowID ||
					a["http.request.header.x-posthog-distinct-id"].AsStringSlice()[0] != users[s.SpanContext().TraceID()] {
					t.Errorf("web request %q: headers %v", s.Name(), a)
				}
			}
			if a["http.response.status_code"].AsInt64() >= 500 {
				got.server5xx++
				if s.Status().Code != codes.Error || a["error.type"].AsString() == "" {
					t.Errorf("5xx span %q: status %v, error.type %q", s.Name(), s.Status(), a["error.type"].AsString())
				}
			} else if _, ok := a["error.type"]; ok {
				t.Errorf("non-5xx span %q has error.type", s.Name())
			}
		case s.Name() == "middleware - auth" || strings.HasPrefix(s.Name(), "request handler - "):
			if s.Name() == "middleware - auth" {
				got.auth++
			} else {
				got.handler++
			}
			if !servers[s.Parent().SpanID()] {
				t.Errorf("%q should be a child of the server span", s.Name())
			}
		case s.Name() == "engine.execute":
			got.engine++
			if s.Status().Code == codes.Error {
				got.engineFail++
				if a["error.type"].AsString() == "" || len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
					t.Errorf("failed engine span lacks error.type or exception event")
				}
				excs = append(excs, s.Events()[0])
			}
		case s.SpanKind() == trace.SpanKindProducer:
			got.publish++
			if a["messaging.system"].AsString() != "rabbitmq" || a["engine.priority"].AsInt64() != 8 {
				t.Errorf("publish span attributes: %v", a)
			}
		case s.SpanKind() == trace.SpanKindConsumer:
			got.task++
			if s.Parent().IsValid() {
				t.Errorf("task span should be a root span")
			}
			if s.Status().Code == codes.Error {
				got.taskFail++
			}
			if _, ok := a["task.retry_count"]; !ok {
				t.Errorf("task span lacks task.retry_count")
			}
		case a["db.system.name"].AsString() == "postgresql":
			got.db++
			if s.EndTime().Sub(s.StartTime()) > 500*time.Millisecond {
				got.slowDB++
			}
		case s.Name() == "cache.get":
			if a["cache.hit"].AsBool() {
				got.hit++
				if a["cache.ttl"].AsInt64() <= 0 {
					t.Errorf("cache hit without cache.ttl")
				}
			} else {
				got.miss++
			}
		default:
			t.Errorf("unexpected span %q", s.Name())
		}
	}
	e := Expected
	want := [...]int{e.ServerSpans, e.ServerErrors, e.EngineRuns, e.EngineFailures, e.EnginePublishes, e.Tasks, e.TaskFailures, e.DBSpans, e.SlowDBSpans, e.CacheHits, e.CacheMisses}
	have := [...]int{got.server, got.server5xx, got.engine, got.engineFail, got.publish, got.task, got.taskFail, got.db, got.slowDB, got.hit, got.miss}
	if want != have {
		t.Errorf("span counts: got %+v, want (in the same order) %v", got, want)
	}
	if len(excs) != e.ExceptionEvents {
		t.Errorf("%d exception span events, want %d", len(excs), e.ExceptionEvents)
	} else if fmt.Sprint(excs[0].Attributes) != fmt.Sprint(excs[1].Attributes) {
		t.Errorf("the unhandled exception differs between its spans: %v and %v", excs[0].Attributes, excs[1].Attributes)
	}
	if evaluations != e.FlagEvaluations || len(flags) != e.FlagExposures {
		t.Errorf("%d flag evaluations of %d exposures, want %d of %d", evaluations, len(flags), e.FlagEvaluations, e.FlagExposures)
	}
	if got.web != 3 {
		t.Errorf("%d requests carry the posthog-js headers, want 3 (requests 1, 2 and 5)", got.web)
	}
	if got.auth != e.AuthSpans || got.handler != e.HandlerSpans {
		t.Errorf("auth spans %d, handler spans %d; want %d and %d", got.auth, got.handler, e.AuthSpans, e.HandlerSpans)
	}
	if n := len(spans.spans()); n != e.Spans {
		t.Errorf("got %d spans, want %d", n, e.Spans)
	}

	recs := logs.records()
	if len(recs) != e.Logs {
		t.Fatalf("got %d log records, want %d", len(recs), e.Logs)
	}
	var rateLimit, pool, errorLog bool
	for _, r := range recs {
		if !r.TraceID().IsValid() || !r.SpanID().IsValid() {
			t.Errorf("log %q is not correlated with a span", r.Body().AsString())
		}
		la := map[string]attribute.Value{}
		r.WalkAttributes(func(kv attribute.KeyValue) bool { la[string(kv.Key)] = kv.Value; return true })
		switch {
		case r.EventName() == "rate_limit_exceeded":
			rateLimit = true
			if la["limit"].AsInt64() != 100 || la["current"].AsInt64() != 142 || la["api_key"].AsString() == "" || la["endpoint"].AsString() == "" {
				t.Errorf("rate limit attributes: %v", la)
			}
		case r.Severity() == otellog.SeverityError:
			errorLog = true
			if la["exception.type"].AsString() != "ConnectionRefusedError" || la["exception.stacktrace"].AsString() == "" {
				t.Errorf("error log attributes: %v", la)
			}
		case r.Body().AsString() == "database connection pool exhausted":
			pool = true
			if la["db.client.connection.max"].AsInt64() != 20 || la["db.client.connection.pending_requests"].AsInt64() != 7 ||
				la["db.client.connection.pool.name"].AsString() == "" {
				t.Errorf("pool attributes: %v", la)
			}
		}
	}
	if !rateLimit || !pool || !errorLog {
		t.Errorf("missing log records: rate limit %v, pool exhausted %v, error %v", rateLimit, pool, errorLog)
	}
}

// TestRunExportsOTLP runs the whole program against a fake OTLP/HTTP receiver.
func TestRunExportsOTLP(t *testing.T) {
	var mu sync.Mutex
	var spans, logs, requests int
	resAttrs := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		var resp proto.Message
		switch r.URL.Path {
		case "/v1/traces":
			var req coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			requests++
			for _, rs := range req.ResourceSpans {
				for _, kv := range rs.Resource.Attributes {
					resAttrs[kv.Key] = kv.Value.GetStringValue()
				}
				for _, ss := range rs.ScopeSpans {
					spans += len(ss.Spans)
				}
			}
			resp = &coltracepb.ExportTraceServiceResponse{}
		case "/v1/logs":
			var req collogspb.ExportLogsServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rl := range req.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					logs += len(sl.LogRecords)
				}
			}
			resp = &collogspb.ExportLogsServiceResponse{}
		default:
			http.NotFound(w, r)
			return
		}
		b, _ := proto.Marshal(resp)
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	defer srv.Close()

	res, err := Run(context.Background(), Config{Endpoint: srv.URL, Environment: "test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if spans != Expected.Spans || len(res.Spans) != Expected.Spans {
		t.Errorf("spans: received %d, recorded %d, want %d", spans, len(res.Spans), Expected.Spans)
	}
	if requests < Expected.Spans/exportBatch {
		t.Errorf("spans came in %d requests, want at least %d: a request's spans are split", requests, Expected.Spans/exportBatch)
	}
	if logs != Expected.Logs || len(res.Logs) != Expected.Logs {
		t.Errorf("logs: received %d, recorded %d, want %d", logs, len(res.Logs), Expected.Logs)
	}
	if resAttrs["service.name"] != "tl-engine" || resAttrs["deployment.environment.name"] != "test" {
		t.Errorf("resource attributes: %v", resAttrs)
	}
}

func TestRunBadEndpoint(t *testing.T) {
	if _, err := Run(context.Background(), Config{Endpoint: "127.0.0.1:4318"}); err == nil {
		t.Fatal("want an error for an endpoint without scheme")
	}
}
