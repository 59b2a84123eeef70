// Package demotelemetry emits the telemetry of a small, made-up "tl-engine"
// service through the OpenTelemetry Go SDK, the way a real instrumented
// service would: spans with semantic-convention attributes, a log record
// through the logs API and one through the log/slog bridge. It contains no
// analytics code: turning this telemetry into PostHog events is the
// collector's job (see testdata/config/demo.yaml and tl-engine.yaml).
//
// It is used by cmd/demoapp (`make demo`) and by the end-to-end tests.
//
// # Resource
//
//	service.name                 "tl-engine"   (Config.ServiceName)
//	service.version              "1.4.2"
//	deployment.environment.name  "demo"        (Config.Environment)
//
// # Spans (instrumentation scopes "tl-engine/http", "tl-engine/engine",
// "tl-engine/db", "tl-engine/cache", "tl-engine/worker")
//
// HTTP server span, kind SERVER, name "{method} {route}" (semconv HTTP):
//
//	http.request.method        string  "GET", "POST"
//	http.route                 string  "/api/v1/engines/{engine_id}"
//	url.path                   string  "/api/v1/engines/eng-42"
//	url.scheme                 string  "https"
//	server.address             string  "api.tl-engine.example"
//	http.response.status_code  int     200, 202, 429, 500, 503
//	user_agent.original        string  a browser's for requests from the web app, else the CLI's
//	client.address             string  the end user's address ("203.0.113.10")
//	http.request.header.x-posthog-session-id   string[]  only on requests from the web
//	http.request.header.x-posthog-window-id    string[]  app (1, 2 and 5 below), whose
//	http.request.header.x-posthog-distinct-id  string[]  posthog-js adds these headers;
//	                                   recorded as one-element string arrays, as HTTP
//	                                   server instrumentations record request headers
//	error.type                 string  only on 5xx: the status code as a string ("500", "503")
//	status                     Error on 5xx (description set), Unset otherwise
//
// Identity is recorded the way instrumented services record it: once per
// request, by the auth middleware, on its own span (kind INTERNAL, name
// "middleware - auth", a child of the HTTP server span and a sibling of the
// handler), with trace.SpanFromContext(ctx).SetAttributes. No other span of
// the request carries it; the collector's trace_context gives it to them.
//
//	enduser.id  string  "user-123"; the anonymous GET /api/v1/status has no auth span
//	tenant.id   string  the user's organisation ("acme", "globex", "initech")
//
// The handler, kind INTERNAL, name "request handler - {route}", a child of
// the HTTP server span, is the parent of the request's engine, database and
// cache spans and its log records.
//
// Engine run, kind INTERNAL, name "engine.execute" (no semconv: engine.*):
//
//	engine.id    string  "eng-42"
//	engine.type  string  "ml_pipeline", "data_transform"
//	failing run: status Error with description (the error message),
//	             error.type "TimeoutError", and an "exception" span event
//	             (exception.type, exception.message, exception.stacktrace
//	             (a Go stack), exception.escaped true); the same event, the
//	             same stack, on the request's server span: the error escaped
//	             the handler, as Express records it on both spans
//
// Engine queueing, kind PRODUCER, name "publish engines" (semconv messaging):
//
//	messaging.system               string  "rabbitmq"
//	messaging.destination.name     string  "engines"
//	messaging.operation.type       string  "send"
//	messaging.operation.name       string  "publish"
//	messaging.message.id           string
//	engine.id                      string  "eng-77"
//	engine.priority                int     8
//
// Worker task, kind CONSUMER, name "process tasks" (semconv messaging + task.*):
//
//	messaging.system               string  "rabbitmq"
//	messaging.destination.name     string  "tasks"
//	messaging.operation.type       string  "process"
//	messaging.operation.name       string  "process"
//	messaging.message.id           string
//	task.id                        string  "task-1001"
//	task.type                      string  "report_generation", "cache_warmup", "send_notification"
//	task.retry_count               int     0, 1, 2
//	failing task: status Error with description, error.type "ConnectionRefusedError";
//	              the worker handles the error and logs it (see Log records)
//
// Database client span, kind CLIENT, name "{operation} {collection}" (semconv DB):
//
//	db.system.name      string  "postgresql"
//	db.namespace        string  "tl_engine"
//	db.operation.name   string  "SELECT", "INSERT", "UPDATE"
//	db.collection.name  string  "engines", "engine_runs", "reports"
//	db.query.text       string  parameterised SQL
//	server.address      string  "postgres.internal"
//	server.port         int     5432
//	durations: most 3-12 ms; two are slow (1250 ms SELECT engine_runs,
//	           900 ms UPDATE reports), made with explicit start/end times
//
// Cache lookup, kind CLIENT, name "cache.get" (no semconv: cache.*):
//
//	cache.key   string  "engine:eng-42"
//	cache.type  string  "redis"
//	cache.hit   bool
//	cache.ttl   int     remaining TTL in seconds, only on hits
//	server.address string "redis.internal"
//
// # Log records (scope "tl-engine/ratelimit" via the logs API, "tl-engine/db"
// via the slog bridge), all emitted inside a span (trace_id/span_id set)
//
// Rate limit, logs API, event name "rate_limit_exceeded", severity WARN,
// body "rate limit exceeded":
//
//	api_key     string  the raw API key ("tlk_live_..."): a rule should hash it
//	endpoint    string  "/api/v1/engines"
//	limit       int     100
//	current     int     142
//	enduser.id  string  "user-789"
//
// Task failure, slog bridge, severity ERROR, body "task task-1003 failed: ...",
// inside the failed task's span: a handled exception, with the attributes of
// OpenTelemetry's exception conventions:
//
//	exception.type        string  "ConnectionRefusedError"
//	exception.message     string  "dial tcp 10.0.4.17:587: connect: connection refused"
//	exception.stacktrace  string  a Go stack
//	task.id               string  "task-1003"
//
// # Feature flag evaluations
//
// Requests 1, 2 (user-123) and 3 (user-456) evaluate the flag
// "new-engine-ui" through the OpenFeature Go SDK (in-memory provider,
// variant "redesign" for user-123, "control" for user-456). A hook records
// each evaluation as a "feature_flag.evaluation" event on the request's
// handler span (a child of its server span), with the semantic conventions' attributes
// (feature_flag.key, feature_flag.result.variant, feature_flag.provider.name,
// feature_flag.context.id = the user, feature_flag.result.reason).
//
// Connection pool exhausted, slog bridge (no event name), severity WARN,
// body "database connection pool exhausted" (semconv DB connection-pool
// metric names used as attribute keys):
//
//	db.system.name                        string  "postgresql"
//	db.client.connection.pool.name        string  "tl_engine_primary"
//	db.client.connection.max              int     20  (pool size)
//	db.client.connection.count            int     20  (active connections)
//	db.client.connection.pending_requests int     7   (waiting requests)
//
// # Scenario (what Emit produces; all times lie in the minute before Config.Now)
//
// Requests 1, 2 and 5 come from the web app, in one posthog-js session
// (WebSessionID, WebWindowID); the others from the CLI.
//
//	 1 POST /api/v1/engines/execute        user-123 200  flag, cache miss, SELECT engines, engine.execute eng-42 ok, INSERT engine_runs
//	 2 GET  /api/v1/engines/{engine_id}    user-123 200  flag again, cache hit (ttl 300)
//	 3 POST /api/v1/engines/{engine_id}/queue user-456 202  flag, publish engines (eng-77, priority 8)
//	 4 POST /api/v1/engines/execute        user-456 500  engine.execute eng-77 fails (TimeoutError, unhandled)
//	 5 GET  /api/v1/reports/usage          user-123 200  slow SELECT engine_runs (1250 ms), cache miss
//	 6 GET  /api/v1/engines                user-789 429  rate_limit_exceeded log
//	 7 GET  /api/v1/engines/{engine_id}/runs user-789 503 pool exhausted log
//	 8 GET  /api/v1/status                 anonymous 200
//	 9 process tasks task-1001 report_generation ok (retry 0), slow UPDATE reports (900 ms)
//	10 process tasks task-1002 cache_warmup ok (retry 1), cache hit
//	11 process tasks task-1003 send_notification fails (ConnectionRefusedError, retry 2, handled: ERROR log)
//
// Totals: 8 server spans (2 with 5xx), 7 auth middleware spans, 8 handler
// spans, 2 engine runs (1 failed), 1 publish, 3 tasks (1 failed), 6 DB spans
// (2 slow), 4 cache lookups (2 hits, 2 misses), 3 log records, 2 exception
// span events (one exception), 3 flag evaluations. See Expected.
//
// The SDK exports spans as they end, children before their parents, and Run
// sends them a few per OTLP request, so a request's spans are split over
// several requests, as a busy service's are.
package demotelemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// DefaultEndpoint is the OTLP/HTTP base URL used when Config.Endpoint is empty.
const DefaultEndpoint = "http://127.0.0.1:4318"

// The posthog-js session and window of the web app's requests (UUIDv7, as
// posthog-js makes them).
const (
	WebSessionID = "019a5f3e-8c1d-7b2a-9e4f-5d0c1a2b3c4d"
	WebWindowID  = "019a5f3e-8c1e-7f10-8a3b-6e7f8091a2b3"
)

const (
	cliUserAgent = "tl-engine-cli/2.3.0"
	webUserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)

// clientAddress is each user's address, as client.address records it.
var clientAddress = map[string]string{
	"user-123": "203.0.113.10",
	"user-456": "198.51.100.7",
	"user-789": "192.0.2.55",
	"":         "203.0.113.99",
}

// Tenant is each user's organisation, as the auth middleware records it in tenant.id.
var Tenant = map[string]string{
	"user-123": "acme",
	"user-456": "globex",
	"user-789": "initech",
}

// exportBatch is how many spans the SDK sends per OTLP request: small, so
// that a request's spans arrive at the collector in several requests.
const exportBatch = 3

// Counts of what Emit produces, for tests and the demo summary.
var Expected = struct {
	ServerSpans, ServerErrors        int // HTTP server spans; those with a 5xx
	AuthSpans, HandlerSpans          int // the auth middleware's spans (with the user); the handlers'
	EngineRuns, EngineFailures       int // engine.execute spans; failed ones
	EnginePublishes                  int // publish engines spans
	Tasks, TaskFailures              int // process tasks spans; failed ones
	DBSpans, SlowDBSpans             int // postgresql spans; those over 500 ms
	CacheHits, CacheMisses           int // cache.get spans
	RateLimitLogs, PoolExhaustedLogs int
	ErrorLogs                        int // ERROR records with exception.* (handled exceptions)
	ExceptionEvents, Exceptions      int // "exception" span events; distinct exceptions among them
	FlagEvaluations, FlagExposures   int // feature_flag.evaluation events; distinct (user, flag, variant)
	Spans, Logs                      int // totals
}{
	ServerSpans: 8, ServerErrors: 2,
	AuthSpans: 7, HandlerSpans: 8,
	EngineRuns: 2, EngineFailures: 1,
	EnginePublishes: 1,
	Tasks:           3, TaskFailures: 1,
	DBSpans: 6, SlowDBSpans: 2,
	CacheHits: 2, CacheMisses: 2,
	RateLimitLogs: 1, PoolExhaustedLogs: 1,
	ErrorLogs:       1,
	ExceptionEvents: 2, Exceptions: 1,
	FlagEvaluations: 3, FlagExposures: 2,
	Spans: 8 + 7 + 8 + 2 + 1 + 3 + 6 + 4, Logs: 3,
}

// Config configures Run.
type Config struct {
	// Endpoint is the OTLP/HTTP base URL (traces go to <Endpoint>/v1/traces,
	// logs to <Endpoint>/v1/logs). Default DefaultEndpoint.
	Endpoint string
	// ServiceName and Environment set service.name and
	// deployment.environment.name. Defaults "tl-engine" and "demo".
	ServiceName string
	Environment string
	// Now anchors the scenario: every span ends before it. Default time.Now().
	Now time.Time
	// Timeout bounds the export (retries included). Default 20s.
	Timeout time.Duration
}

// Result is what Run emitted, as the SDK recorded it.
type Result struct {
	Spans []sdktrace.ReadOnlySpan
	Logs  []sdklog.Record
}

// Run builds OTLP/HTTP exporters and SDK providers for cfg, emits the
// scenario, flushes everything and shuts the providers down. It returns
// what was emitted; an error means some telemetry may not have been
// delivered.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "tl-engine"
	}
	if cfg.Environment == "" {
		cfg.Environment = "demo"
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("invalid OTLP endpoint %q: want http(s)://host:port", cfg.Endpoint)
	}
	base := u.JoinPath("/").String() // ends with "/"

	traceExp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(base+"v1/traces"),
		otlptracehttp.WithTimeout(cfg.Timeout),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled: true, InitialInterval: 200 * time.Millisecond,
			MaxInterval: 2 * time.Second, MaxElapsedTime: cfg.Timeout,
		}))
	if err != nil {
		return nil, fmt.Errorf("trace exporter: %w", err)
	}
	logExp, err := otlploghttp.New(ctx,
		otlploghttp.WithEndpointURL(base+"v1/logs"),
		otlploghttp.WithTimeout(cfg.Timeout),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{
			Enabled: true, InitialInterval: 200 * time.Millisecond,
			MaxInterval: 2 * time.Second, MaxElapsedTime: cfg.Timeout,
		}))
	if err != nil {
		return nil, fmt.Errorf("log exporter: %w", err)
	}

	res := Resource(cfg.ServiceName, cfg.Environment)
	spanRec := &spanRecorder{}
	logRec := &logRecorder{}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(spanRec),
		sdktrace.WithBatcher(traceExp, sdktrace.WithMaxExportBatchSize(exportBatch)),
	)
	lp := sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		sdklog.WithProcessor(logRec),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp)),
	)

	Emit(ctx, tp, lp, cfg.Now)

	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout+5*time.Second)
	defer cancel()
	errs := errors.Join(
		wrap("flush traces", tp.ForceFlush(flushCtx)),
		wrap("flush logs", lp.ForceFlush(flushCtx)),
		wrap("shut down tracer provider", tp.Shutdown(flushCtx)),
		wrap("shut down logger provider", lp.Shutdown(flushCtx)),
	)
	return &Result{Spans: spanRec.spans(), Logs: logRec.records()}, errs
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Resource is the demo service's resource.
func Resource(serviceName, environment string) *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(serviceName),
		semconv.ServiceVersion("1.4.2"),
		semconv.DeploymentEnvironmentNameKey.String(environment),
	)
}

// Emit produces the scenario described in the package documentation through
// tp and lp. Every span ends before now. It neither flushes nor shuts down.
func Emit(ctx context.Context, tp trace.TracerProvider, lp otellog.LoggerProvider, now time.Time) {
	e := &emitter{
		http:   tp.Tracer("tl-engine/http"),
		engine: tp.Tracer("tl-engine/engine"),
		db:     tp.Tracer("tl-engine/db"),
		cache:  tp.Tracer("tl-engine/cache"),
		worker: tp.Tracer("tl-engine/worker"),
		rl:     lp.Logger("tl-engine/ratelimit"),
		slog:   slog.New(otelslog.NewHandler("tl-engine/db", otelslog.WithLoggerProvider(lp))),
	}
	flags, closeFlags := newFlags(ctx)
	defer closeFlags()
	e.flags = flags
	// Lay the scenario out over the minute before now, one step per request.
	t := now.Add(-60 * time.Second)
	next := func() time.Time { t = t.Add(4 * time.Second); return t }

	// 1: a successful engine run.
	e.request(ctx, next(), req{method: "POST", route: "/api/v1/engines/execute", path: "/api/v1/engines/execute", user: "user-123", status: 200, dur: 180 * time.Millisecond, web: true},
		func(ctx context.Context, t0 time.Time) {
			e.evaluateFlag(ctx, t0.Add(1*time.Millisecond), "user-123")
			e.cacheGet(ctx, t0.Add(2*time.Millisecond), "engine:eng-42:config", false, 0)
			e.query(ctx, t0.Add(4*time.Millisecond), 8*time.Millisecond, "SELECT", "engines", "SELECT id, type, config FROM engines WHERE id = $1")
			e.engineRun(ctx, t0.Add(15*time.Millisecond), 155*time.Millisecond, "eng-42", "ml_pipeline", nil)
			e.query(ctx, t0.Add(171*time.Millisecond), 5*time.Millisecond, "INSERT", "engine_runs", "INSERT INTO engine_runs (engine_id, status, duration_ms) VALUES ($1, $2, $3)")
		})
	// 2: engine details from the cache.
	e.request(ctx, next(), req{method: "GET", route: "/api/v1/engines/{engine_id}", path: "/api/v1/engines/eng-42", user: "user-123", status: 200, dur: 6 * time.Millisecond, web: true},
		func(ctx context.Context, t0 time.Time) {
			e.evaluateFlag(ctx, t0.Add(500*time.Microsecond), "user-123") // the same exposure again
			e.cacheGet(ctx, t0.Add(1*time.Millisecond), "engine:eng-42", true, 300)
		})
	// 3: an engine run queued on RabbitMQ.
	e.request(ctx, next(), req{method: "POST", route: "/api/v1/engines/{engine_id}/queue", path: "/api/v1/engines/eng-77/queue", user: "user-456", status: 202, dur: 14 * time.Millisecond},
		func(ctx context.Context, t0 time.Time) {
			e.evaluateFlag(ctx, t0.Add(500*time.Microsecond), "user-456")
			e.query(ctx, t0.Add(1*time.Millisecond), 4*time.Millisecond, "SELECT", "engines", "SELECT id, type, config FROM engines WHERE id = $1")
			e.publish(ctx, t0.Add(6*time.Millisecond), 5*time.Millisecond, "eng-77", 8)
		})
	// 4: a failing engine run: the engine span fails, the request answers
	// 500. The error escapes the handler: it is recorded, with its stack, on
	// the engine span and again on the server span, as Express records a
	// thrown error on each span it passes through.
	timeout := &failure{errType: "TimeoutError", msg: "engine eng-77 exceeded its execution budget of 400ms", stack: string(debug.Stack()), escaped: true}
	e.request(ctx, next(), req{method: "POST", route: "/api/v1/engines/execute", path: "/api/v1/engines/execute", user: "user-456", status: 500, dur: 420 * time.Millisecond, unhandled: timeout},
		func(ctx context.Context, t0 time.Time) {
			e.engineRun(ctx, t0.Add(10*time.Millisecond), 400*time.Millisecond, "eng-77", "data_transform", timeout)
		})
	// 5: a report backed by a slow query.
	e.request(ctx, next(), req{method: "GET", route: "/api/v1/reports/usage", path: "/api/v1/reports/usage", user: "user-123", status: 200, dur: 1290 * time.Millisecond, web: true},
		func(ctx context.Context, t0 time.Time) {
			e.cacheGet(ctx, t0.Add(1*time.Millisecond), "report:usage:user-123", false, 0)
			e.query(ctx, t0.Add(3*time.Millisecond), 1250*time.Millisecond, "SELECT", "engine_runs",
				"SELECT engine_id, count(*), avg(duration_ms) FROM engine_runs WHERE user_id = $1 GROUP BY engine_id")
		})
	// 6: rate limited.
	e.request(ctx, next(), req{method: "GET", route: "/api/v1/engines", path: "/api/v1/engines", user: "user-789", status: 429, dur: 2 * time.Millisecond},
		func(ctx context.Context, t0 time.Time) {
			e.rateLimited(ctx, t0.Add(1*time.Millisecond), "tlk_live_9f8e7d6c5b4a3210", "/api/v1/engines", 100, 142, "user-789")
		})
	// 7: the connection pool is exhausted, the request answers 503.
	e.request(ctx, next(), req{method: "GET", route: "/api/v1/engines/{engine_id}/runs", path: "/api/v1/engines/eng-42/runs", user: "user-789", status: 503, dur: 5 * time.Millisecond},
		func(ctx context.Context, _ time.Time) {
			e.slog.WarnContext(ctx, "database connection pool exhausted",
				slog.String(string(semconv.DBSystemNameKey), "postgresql"),
				slog.String(string(semconv.DBClientConnectionPoolNameKey), "tl_engine_primary"),
				slog.Int("db.client.connection.max", 20),
				slog.Int("db.client.connection.count", 20),
				slog.Int("db.client.connection.pending_requests", 7),
			)
		})
	// 8: an anonymous health check (no enduser.id).
	e.request(ctx, next(), req{method: "GET", route: "/api/v1/status", path: "/api/v1/status", status: 200, dur: 1 * time.Millisecond}, nil)

	// 9-11: worker tasks consumed from RabbitMQ.
	e.task(ctx, next(), 2400*time.Millisecond, "task-1001", "report_generation", 0, nil,
		func(ctx context.Context, t0 time.Time) {
			e.query(ctx, t0.Add(1200*time.Millisecond), 900*time.Millisecond, "UPDATE", "reports",
				"UPDATE reports SET payload = $1, generated_at = now() WHERE id = $2")
		})
	e.task(ctx, next(), 35*time.Millisecond, "task-1002", "cache_warmup", 1, nil,
		func(ctx context.Context, t0 time.Time) {
			e.cacheGet(ctx, t0.Add(2*time.Millisecond), "engine:eng-77", true, 120)
			e.query(ctx, t0.Add(5*time.Millisecond), 3*time.Millisecond, "SELECT", "engines", "SELECT id, type, config FROM engines WHERE id = $1")
		})
	e.task(ctx, next(), 3050*time.Millisecond, "task-1003", "send_notification", 2,
		&failure{errType: "ConnectionRefusedError", msg: "dial tcp 10.0.4.17:587: connect: connection refused", stack: string(debug.Stack())}, nil)
}

type emitter struct {
	http, engine, db, cache, worker trace.Tracer
	rl                              otellog.Logger
	slog                            *slog.Logger
	flags                           *openfeature.Client
}

type req struct {
	method, route, path, user string
	status                    int
	dur                       time.Duration
	// web: the request comes from the web app, whose posthog-js adds its headers.
	web bool
	// unhandled: an error that escaped the handler, recorded on the server span too.
	unhandled *failure
}

// failure is an error: its type and message, the stack it was thrown
// with, and whether it escaped the span that records it.
type failure struct {
	errType, msg, stack string
	escaped             bool
}

func (e *emitter) request(ctx context.Context, start time.Time, r req, children func(context.Context, time.Time)) {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(r.method),
		semconv.HTTPRoute(r.route),
		semconv.URLPath(r.path),
		semconv.URLScheme("https"),
		semconv.ServerAddress("api.tl-engine.example"),
		semconv.ClientAddress(clientAddress[r.user]),
	}
	if r.web {
		// As an HTTP server instrumentation records the request headers it
		// is told to capture: one string array per header.
		attrs = append(attrs,
			semconv.UserAgentOriginal(webUserAgent),
			attribute.StringSlice("http.request.header.x-posthog-session-id", []string{WebSessionID}),
			attribute.StringSlice("http.request.header.x-posthog-window-id", []string{WebWindowID}),
			attribute.StringSlice("http.request.header.x-posthog-distinct-id", []string{r.user}),
		)
	} else {
		attrs = append(attrs, semconv.UserAgentOriginal(cliUserAgent))
	}
	ctx, span := e.http.Start(ctx, r.method+" "+r.route,
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if r.user != "" {
		e.authenticate(ctx, start.Add(100*time.Microsecond), r.user)
	}
	hctx, handler := e.http.Start(ctx, "request handler - "+r.route, trace.WithTimestamp(start.Add(500*time.Microsecond)))
	if children != nil {
		children(hctx, start)
	}
	handler.End(trace.WithTimestamp(start.Add(r.dur - 100*time.Microsecond)))
	span.SetAttributes(semconv.HTTPResponseStatusCode(r.status))
	if r.unhandled != nil {
		span.AddEvent("exception", trace.WithTimestamp(start.Add(r.dur)), trace.WithAttributes(r.unhandled.attributes()...))
	}
	if r.status >= 500 {
		span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprint(r.status)))
		span.SetStatus(codes.Error, fmt.Sprintf("HTTP %d", r.status))
	}
	span.End(trace.WithTimestamp(start.Add(r.dur)))
}

// authenticate is the auth middleware: it learns who calls and records it on
// the span active at that moment, its own, as services do.
func (e *emitter) authenticate(ctx context.Context, start time.Time, user string) {
	ctx, span := e.http.Start(ctx, "middleware - auth", trace.WithTimestamp(start))
	trace.SpanFromContext(ctx).SetAttributes(semconv.EnduserID(user), attribute.String("tenant.id", Tenant[user]))
	span.End(trace.WithTimestamp(start.Add(300 * time.Microsecond)))
}

func (e *emitter) engineRun(ctx context.Context, start time.Time, dur time.Duration, id, typ string, f *failure) {
	_, span := e.engine.Start(ctx, "engine.execute", trace.WithTimestamp(start),
		trace.WithAttributes(
			attribute.String("engine.id", id),
			attribute.String("engine.type", typ),
		))
	end := start.Add(dur)
	if f != nil {
		fail(span, f, end)
	} else {
		span.SetStatus(codes.Ok, "")
	}
	span.End(trace.WithTimestamp(end))
}

func (e *emitter) publish(ctx context.Context, start time.Time, dur time.Duration, engineID string, priority int) {
	_, span := e.engine.Start(ctx, "publish engines", trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(start),
		trace.WithAttributes(
			semconv.MessagingSystemRabbitMQ,
			semconv.MessagingDestinationName("engines"),
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("publish"),
			semconv.MessagingMessageID("msg-"+engineID+"-1"),
			attribute.String("engine.id", engineID),
			attribute.Int("engine.priority", priority),
		))
	span.End(trace.WithTimestamp(start.Add(dur)))
}

func (e *emitter) task(ctx context.Context, start time.Time, dur time.Duration, id, typ string, retries int, f *failure, children func(context.Context, time.Time)) {
	ctx, span := e.worker.Start(ctx, "process tasks", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(start),
		trace.WithAttributes(
			semconv.MessagingSystemRabbitMQ,
			semconv.MessagingDestinationName("tasks"),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingMessageID("msg-"+id),
			attribute.String("task.id", id),
			attribute.String("task.type", typ),
			attribute.Int("task.retry_count", retries),
		))
	if children != nil {
		children(ctx, start)
	}
	end := start.Add(dur)
	if f != nil {
		// The worker catches the error, logs it and marks the task failed:
		// a handled exception, in an ERROR log record.
		rec := slog.NewRecord(end, slog.LevelError, "task "+id+" failed: "+f.msg, 0)
		rec.AddAttrs(
			slog.String(string(semconv.ExceptionTypeKey), f.errType),
			slog.String(string(semconv.ExceptionMessageKey), f.msg),
			slog.String(string(semconv.ExceptionStacktraceKey), f.stack),
			slog.String("task.id", id))
		_ = e.slog.Handler().Handle(ctx, rec) // at the scenario's time, which slog.Log cannot set
		span.SetAttributes(semconv.ErrorTypeKey.String(f.errType))
		span.SetStatus(codes.Error, f.msg)
	} else {
		span.SetStatus(codes.Ok, "")
	}
	span.End(trace.WithTimestamp(end))
}

func fail(span trace.Span, f *failure, at time.Time) {
	span.SetAttributes(semconv.ErrorTypeKey.String(f.errType))
	span.AddEvent("exception", trace.WithTimestamp(at), trace.WithAttributes(f.attributes()...))
	span.SetStatus(codes.Error, f.msg)
}

// attributes are the exception's, as span.RecordError records them.
func (f *failure) attributes() []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.ExceptionType(f.errType), semconv.ExceptionMessage(f.msg)}
	if f.stack != "" {
		attrs = append(attrs, semconv.ExceptionStacktrace(f.stack))
	}
	if f.escaped {
		attrs = append(attrs, attribute.Bool("exception.escaped", true))
	}
	return attrs
}

func (e *emitter) query(ctx context.Context, start time.Time, dur time.Duration, op, table, sql string) {
	_, span := e.db.Start(ctx, op+" "+table, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start),
		trace.WithAttributes(
			semconv.DBSystemNamePostgreSQL,
			semconv.DBNamespace("tl_engine"),
			semconv.DBOperationName(op),
			semconv.DBCollectionName(table),
			semconv.DBQueryText(sql),
			semconv.ServerAddress("postgres.internal"),
			semconv.ServerPort(5432),
		))
	span.End(trace.WithTimestamp(start.Add(dur)))
}

func (e *emitter) cacheGet(ctx context.Context, start time.Time, key string, hit bool, ttl int) {
	attrs := []attribute.KeyValue{
		attribute.String("cache.key", key),
		attribute.String("cache.type", "redis"),
		attribute.Bool("cache.hit", hit),
		semconv.ServerAddress("redis.internal"),
	}
	if hit {
		attrs = append(attrs, attribute.Int("cache.ttl", ttl))
	}
	_, span := e.cache.Start(ctx, "cache.get", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(start.Add(700 * time.Microsecond)))
}

func (e *emitter) rateLimited(ctx context.Context, at time.Time, apiKey, endpoint string, limit, current int, user string) {
	var rec otellog.Record
	rec.SetEventName("rate_limit_exceeded")
	rec.SetTimestamp(at)
	rec.SetObservedTimestamp(at)
	rec.SetSeverity(otellog.SeverityWarn)
	rec.SetSeverityText("WARN")
	rec.SetBody(attribute.StringValue("rate limit exceeded"))
	rec.AddAttributes(
		attribute.String("api_key", apiKey),
		attribute.String("endpoint", endpoint),
		attribute.Int("limit", limit),
		attribute.Int("current", current),
		attribute.String("enduser.id", user),
	)
	e.rl.Emit(ctx, rec)
}

// spanRecorder keeps every ended span.
type spanRecorder struct {
	mu sync.Mutex
	s  []sdktrace.ReadOnlySpan
}

func (r *spanRecorder) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *spanRecorder) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	r.s = append(r.s, s)
	r.mu.Unlock()
}
func (r *spanRecorder) Shutdown(context.Context) error   { return nil }
func (r *spanRecorder) ForceFlush(context.Context) error { return nil }
func (r *spanRecorder) spans() []sdktrace.ReadOnlySpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), r.s...)
}

// logRecorder keeps a copy of every emitted log record.
type logRecorder struct {
	mu sync.Mutex
	r  []sdklog.Record
}

func (r *logRecorder) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (r *logRecorder) OnEmit(_ context.Context, rec *sdklog.Record) error {
	r.mu.Lock()
	r.r = append(r.r, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) Shutdown(context.Context) error   { return nil }
func (r *logRecorder) ForceFlush(context.Context) error { return nil }
func (r *logRecorder) records() []sdklog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sdklog.Record(nil), r.r...)
}
