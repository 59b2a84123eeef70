// Package benchload is the load of `make bench` (testbed/cmd/benchharness)
// and of the push benchmark (benchmark_test.go): OTLP batches of spans as
// the tl-engine service makes them, against the rules of
// testdata/config/tl-engine.yaml. One definition, so that the benchmark
// pushes what the harness sends. It needs nothing but pdata.
package benchload

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The load: batches of spans that look like the tl-engine service under
// load (see testbed/demotelemetry for its instrumentation and
// testdata/config/tl-engine.yaml for the rules). In every 100 spans, 10
// match exactly one rule each and 90 match none, the hot path of an
// exporter that picks a few spans out of many:
//
//	matching (1 event each, 2 for the error)  not matching
//	 4 HTTP server spans   api_request     40 fast DB queries (postgresql, 1-40 ms)
//	 1 cache.get hit       cache_hit       20 internal spans (engine.plan, auth.verify_token, ...)
//	 1 cache.get miss      cache_miss      15 outgoing HTTP client spans
//	 1 engine.execute ok   engine_executed 10 redis commands (SET, HGET, EXPIRE, ...)
//	 1 engine.execute err  engine_failed    5 gRPC client calls
//	   and its exception   $exception
//	 1 slow DB query       database_query_slow
//	 1 publish engines     engine_queued
//
// Every span carries about 15 attributes. TestBatchMatchesRules checks the
// declared events against the real mapper and rules
// (testbed/cmd/benchharness).

// mixEntry is one kind of span in a batch of 100.
type mixEntry struct {
	count  int
	events []string // the events the tl-engine rules make of it
	build  func(r *rand.Rand, s ptrace.Span) (scope string, dur time.Duration)
}

var mix = []mixEntry{
	{4, []string{"api_request"}, serverSpan},
	{1, []string{"cache_hit"}, func(r *rand.Rand, s ptrace.Span) (string, time.Duration) { return cacheGet(r, s, true) }},
	{1, []string{"cache_miss"}, func(r *rand.Rand, s ptrace.Span) (string, time.Duration) { return cacheGet(r, s, false) }},
	{1, []string{"engine_executed"}, func(r *rand.Rand, s ptrace.Span) (string, time.Duration) { return engineExecute(r, s, false) }},
	{1, []string{"engine_failed", "$exception"}, func(r *rand.Rand, s ptrace.Span) (string, time.Duration) { return engineExecute(r, s, true) }},
	{1, []string{"database_query_slow"}, func(r *rand.Rand, s ptrace.Span) (string, time.Duration) { return dbQuery(r, s, true) }},
	{1, []string{"engine_queued"}, publishEngines},
	{40, nil, func(r *rand.Rand, s ptrace.Span) (string, time.Duration) { return dbQuery(r, s, false) }},
	{20, nil, internalSpan},
	{15, nil, httpClientSpan},
	{10, nil, redisCommand},
	{5, nil, grpcClientSpan},
}

// BatchSize is the spans of one request: one round of the mix (100).
var BatchSize = func() int {
	n := 0
	for _, m := range mix {
		n += m.count
	}
	return n
}()

// ExpectedEvents is what the tl-engine rules make of spans spans (whole
// batches): each batch holds the mix exactly once.
func ExpectedEvents(spans int64) (matching int64, byName map[string]int64, events int64) {
	byName = map[string]int64{}
	for _, m := range mix {
		n := spans / int64(BatchSize) * int64(m.count)
		if len(m.events) > 0 {
			matching += n
		}
		for _, ev := range m.events {
			byName[ev] += n
			events += n
		}
	}
	return matching, byName, events
}

// Batch is one request's worth of spans. The pdata is reused: before each
// send, Stamp gives every span fresh ids and times. Not safe for concurrent use.
type Batch struct {
	TD    ptrace.Traces
	Spans []ptrace.Span
	durs  []time.Duration
	roots []bool // server spans: no parent
	slots []int  // which of the batch's traces the span belongs to
}

// TracesPerBatch groups the spans of a batch into this many traces.
const TracesPerBatch = 10

// NewBatch builds one round of the mix, shuffled, grouped by
// instrumentation scope as SDKs send them.
func NewBatch(r *rand.Rand) *Batch {
	var kinds []int
	for i, m := range mix {
		for range m.count {
			kinds = append(kinds, i)
		}
	}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })

	b := &Batch{TD: ptrace.NewTraces()}
	rs := b.TD.ResourceSpans().AppendEmpty()
	resourceAttributes(r, rs.Resource().Attributes())
	scopes := map[string]ptrace.ScopeSpans{}
	for _, k := range kinds {
		s := ptrace.NewSpan()
		scope, dur := mix[k].build(r, s)
		ss, ok := scopes[scope]
		if !ok {
			ss = rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(scope)
			ss.Scope().SetVersion("1.4.2")
			scopes[scope] = ss
		}
		dst := ss.Spans().AppendEmpty()
		s.MoveTo(dst)
		b.Spans = append(b.Spans, dst)
		b.durs = append(b.durs, dur)
		b.roots = append(b.roots, dst.Kind() == ptrace.SpanKindServer)
		b.slots = append(b.slots, r.IntN(TracesPerBatch))
	}
	return b
}

// IDGen hands out trace and span ids unique within a run (a random prefix and
// a counter), so that every span is a new record with a new event uuid.
type IDGen struct {
	prefix uint64
	seq    atomic.Uint64
	// traces, when not empty, are the only trace ids handed out, in turn:
	// traces that never go quiet (the trace_context worst case).
	traces []pcommon.TraceID
	turn   atomic.Uint64
}

// EndlessTraces is how many long-lived traces the worst-case run spreads
// its spans over: each gets a span about every 100ms at 10,000 spans/s.
const EndlessTraces = 1000

// NewIDGen returns ids with a random prefix of their own.
func NewIDGen() *IDGen {
	return &IDGen{prefix: rand.Uint64() | 1} //nolint:gosec // G404: ids of test load, not secrets
}

func (g *IDGen) next() uint64 { return g.seq.Add(1) }

func (g *IDGen) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], g.prefix^(g.next()<<1))
	return id
}

// WithEndlessTraces makes g hand out n trace ids only.
func (g *IDGen) WithEndlessTraces(n int) *IDGen {
	g.traces = make([]pcommon.TraceID, n)
	for i := range g.traces {
		g.traces[i] = g.newTraceID()
	}
	return g
}

func (g *IDGen) traceID() pcommon.TraceID {
	if len(g.traces) > 0 {
		return g.traces[g.turn.Add(1)%uint64(len(g.traces))]
	}
	return g.newTraceID()
}

func (g *IDGen) newTraceID() pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], g.prefix)
	binary.BigEndian.PutUint64(id[8:], g.next())
	return id
}

// Stamp gives every span of b new ids and times ending just before now.
func (b *Batch) Stamp(ids *IDGen, now time.Time) {
	var traces [TracesPerBatch]pcommon.TraceID
	var parents [TracesPerBatch]pcommon.SpanID
	for i := range traces {
		traces[i] = ids.traceID()
		parents[i] = ids.spanID()
	}
	for i, s := range b.Spans {
		end := now.Add(-time.Duration(i) * 50 * time.Microsecond)
		s.SetTraceID(traces[b.slots[i]])
		if len(ids.traces) > 0 && s.Events().Len() > 0 {
			// An exception is one event per trace: in a trace that never
			// ends, every failed run would be the same exception.
			s.SetTraceID(ids.newTraceID())
		}
		s.SetSpanID(ids.spanID())
		if b.roots[i] {
			s.SetParentSpanID(pcommon.SpanID{})
		} else {
			s.SetParentSpanID(parents[b.slots[i]])
		}
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-b.durs[i])))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	}
}

// ---- span kinds ------------------------------------------------------------

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func ms(r *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo*1000+r.IntN((hi-lo)*1000+1)) * time.Microsecond
}

func user(r *rand.Rand) string   { return fmt.Sprintf("user-%d", 1+r.IntN(5000)) }
func engine(r *rand.Rand) string { return fmt.Sprintf("eng-%d", 1+r.IntN(100000)) }
func ip(r *rand.Rand) string     { return fmt.Sprintf("10.0.%d.%d", r.IntN(256), 1+r.IntN(254)) }

func code(r *rand.Rand, a pcommon.Map, fn, file string) {
	a.PutStr("code.function.name", fn)
	a.PutStr("code.file.path", file)
	a.PutInt("code.line.number", int64(20+r.IntN(400)))
	a.PutInt("thread.id", int64(1+r.IntN(64)))
}

func resourceAttributes(r *rand.Rand, a pcommon.Map) {
	a.PutStr("service.name", "tl-engine")
	a.PutStr("service.version", "1.4.2")
	a.PutStr("service.namespace", "tl")
	a.PutStr("service.instance.id", fmt.Sprintf("tl-engine-%08x", r.Uint32()))
	a.PutStr("deployment.environment.name", "bench")
	a.PutStr("host.name", fmt.Sprintf("ip-10-0-%d-%d", r.IntN(256), r.IntN(256)))
	a.PutStr("host.arch", "amd64")
	a.PutStr("os.type", "linux")
	a.PutInt("process.pid", int64(1000+r.IntN(30000)))
	a.PutStr("process.runtime.name", "go")
	a.PutStr("process.runtime.version", "go1.26.8")
	a.PutStr("telemetry.sdk.name", "opentelemetry")
	a.PutStr("telemetry.sdk.language", "go")
	a.PutStr("telemetry.sdk.version", "1.47.0")
}

var routes = []struct{ method, route, path string }{
	{"GET", "/api/v1/engines/{engine_id}", "/api/v1/engines/%s"},
	{"GET", "/api/v1/engines", "/api/v1/engines"},
	{"POST", "/api/v1/engines/execute", "/api/v1/engines/execute"},
	{"POST", "/api/v1/engines/{engine_id}/queue", "/api/v1/engines/%s/queue"},
	{"GET", "/api/v1/engines/{engine_id}/runs", "/api/v1/engines/%s/runs"},
	{"GET", "/api/v1/reports/usage", "/api/v1/reports/usage"},
}

// serverSpan: an HTTP request to the API that did not fail (no 5xx).
func serverSpan(r *rand.Rand, s ptrace.Span) (string, time.Duration) {
	rt := pick(r, routes...)
	path := rt.path
	if path != rt.route {
		path = fmt.Sprintf(rt.path, engine(r))
	}
	s.SetName(rt.method + " " + rt.route)
	s.SetKind(ptrace.SpanKindServer)
	a := s.Attributes()
	a.PutStr("http.request.method", rt.method)
	a.PutStr("http.route", rt.route)
	a.PutStr("url.path", path)
	a.PutStr("url.scheme", "https")
	a.PutStr("server.address", "api.tl-engine.example")
	a.PutInt("server.port", 443)
	a.PutStr("network.protocol.version", "1.1")
	a.PutStr("client.address", ip(r))
	a.PutStr("network.peer.address", ip(r))
	a.PutInt("network.peer.port", int64(30000+r.IntN(30000)))
	a.PutStr("user_agent.original", pick(r, "tl-cli/2.3.0 (linux; amd64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15", "python-requests/2.32.3"))
	a.PutInt("http.response.status_code", pick[int64](r, 200, 200, 200, 201, 202, 304, 404, 429))
	a.PutInt("http.request.body.size", int64(r.IntN(4096)))
	a.PutInt("http.response.body.size", int64(200+r.IntN(20000)))
	a.PutStr("enduser.id", user(r))
	return "tl-engine/http", ms(r, 5, 120)
}

func cacheGet(r *rand.Rand, s ptrace.Span, hit bool) (string, time.Duration) {
	s.SetName("cache.get")
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.PutStr("cache.key", "engine:"+engine(r))
	a.PutStr("cache.type", "redis")
	a.PutBool("cache.hit", hit)
	if hit {
		a.PutInt("cache.ttl", int64(1+r.IntN(3600)))
	}
	a.PutStr("db.system.name", "redis")
	a.PutStr("db.operation.name", "GET")
	a.PutStr("db.namespace", "0")
	a.PutStr("server.address", "redis.internal")
	a.PutInt("server.port", 6379)
	a.PutStr("network.peer.address", ip(r))
	a.PutInt("network.peer.port", 6379)
	code(r, a, "tl-engine/internal/cache.(*Client).Get", "/src/tl-engine/internal/cache/client.go")
	return "tl-engine/cache", ms(r, 0, 3)
}

func engineExecute(r *rand.Rand, s ptrace.Span, fail bool) (string, time.Duration) {
	id := engine(r)
	s.SetName("engine.execute")
	s.SetKind(ptrace.SpanKindInternal)
	a := s.Attributes()
	a.PutStr("engine.id", id)
	a.PutStr("engine.type", pick(r, "ml_pipeline", "data_transform", "report_builder"))
	a.PutStr("engine.version", pick(r, "3.2.0", "3.2.1", "3.3.0"))
	a.PutInt("engine.step_count", int64(1+r.IntN(40)))
	a.PutInt("engine.input.bytes", int64(r.IntN(1<<20)))
	a.PutInt("engine.output.bytes", int64(r.IntN(1<<20)))
	a.PutInt("engine.attempt", 1)
	a.PutStr("engine.region", pick(r, "eu-west-1", "us-east-1"))
	a.PutStr("enduser.id", user(r))
	a.PutBool("engine.cache_enabled", r.IntN(2) == 0)
	a.PutStr("thread.name", "engine-worker")
	code(r, a, "tl-engine/internal/engine.(*Runner).Execute", "/src/tl-engine/internal/engine/runner.go")
	if fail {
		a.PutStr("error.type", "TimeoutError")
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("engine " + id + " timed out after 30s")
		ev := s.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", "TimeoutError")
		ev.Attributes().PutStr("exception.message", "context deadline exceeded")
	}
	return "tl-engine/engine", ms(r, 50, 450)
}

var queries = []struct{ op, table, sql string }{
	{"SELECT", "engines", "SELECT id, type, owner_id, config FROM engines WHERE id = $1"},
	{"SELECT", "engine_runs", "SELECT id, status, started_at FROM engine_runs WHERE engine_id = $1 ORDER BY started_at DESC LIMIT 50"},
	{"INSERT", "engine_runs", "INSERT INTO engine_runs (engine_id, status, started_at) VALUES ($1, $2, $3)"},
	{"UPDATE", "engine_runs", "UPDATE engine_runs SET status = $1, finished_at = $2 WHERE id = $3"},
	{"SELECT", "users", "SELECT id, email, plan FROM users WHERE id = $1"},
	{"UPDATE", "reports", "UPDATE reports SET payload = $1 WHERE id = $2"},
}

func dbQuery(r *rand.Rand, s ptrace.Span, slow bool) (string, time.Duration) {
	q := pick(r, queries...)
	s.SetName(q.op + " " + q.table)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.PutStr("db.system.name", "postgresql")
	a.PutStr("db.namespace", "tl_engine")
	a.PutStr("db.operation.name", q.op)
	a.PutStr("db.collection.name", q.table)
	a.PutStr("db.query.text", q.sql)
	a.PutStr("server.address", "postgres.internal")
	a.PutInt("server.port", 5432)
	a.PutStr("network.peer.address", ip(r))
	a.PutInt("network.peer.port", 5432)
	a.PutInt("db.response.returned_rows", int64(r.IntN(50)))
	a.PutStr("db.client.connection.pool.name", "tl_engine_primary")
	code(r, a, "tl-engine/internal/store.(*Store).query", "/src/tl-engine/internal/store/store.go")
	if slow {
		return "tl-engine/db", ms(r, 600, 1500)
	}
	return "tl-engine/db", ms(r, 1, 40)
}

func publishEngines(r *rand.Rand, s ptrace.Span) (string, time.Duration) {
	s.SetName("publish engines")
	s.SetKind(ptrace.SpanKindProducer)
	a := s.Attributes()
	a.PutStr("messaging.system", "rabbitmq")
	a.PutStr("messaging.destination.name", "engines")
	a.PutStr("messaging.operation.type", "send")
	a.PutStr("messaging.operation.name", "publish")
	a.PutStr("messaging.message.id", fmt.Sprintf("msg-%016x", r.Uint64()))
	a.PutInt("messaging.message.body.size", int64(200+r.IntN(2000)))
	a.PutStr("messaging.rabbitmq.destination.routing_key", "engines.execute")
	a.PutStr("server.address", "rabbitmq.internal")
	a.PutInt("server.port", 5672)
	a.PutStr("engine.id", engine(r))
	a.PutInt("engine.priority", int64(1+r.IntN(9)))
	a.PutStr("enduser.id", user(r))
	code(r, a, "tl-engine/internal/queue.(*Publisher).Publish", "/src/tl-engine/internal/queue/publisher.go")
	return "tl-engine/messaging", ms(r, 1, 8)
}

var internalNames = []string{"engine.plan", "engine.validate", "engine.load_inputs", "auth.verify_token", "serialize response", "render report", "feature_flags.evaluate"}

func internalSpan(r *rand.Rand, s ptrace.Span) (string, time.Duration) {
	name := pick(r, internalNames...)
	s.SetName(name)
	s.SetKind(ptrace.SpanKindInternal)
	a := s.Attributes()
	a.PutStr("component", "tl-engine")
	a.PutStr("engine.id", engine(r))
	a.PutStr("enduser.id", user(r))
	a.PutInt("app.items.count", int64(r.IntN(500)))
	a.PutBool("app.cache.enabled", r.IntN(2) == 0)
	a.PutStr("app.step", name)
	a.PutInt("app.payload.bytes", int64(r.IntN(1<<16)))
	a.PutStr("app.tenant.id", fmt.Sprintf("tenant-%d", 1+r.IntN(300)))
	a.PutStr("app.region", pick(r, "eu-west-1", "us-east-1"))
	a.PutStr("thread.name", "http-handler")
	a.PutStr("code.namespace", "tl-engine/internal/api")
	code(r, a, "tl-engine/internal/api.(*Handler)."+name, "/src/tl-engine/internal/api/handler.go")
	return "tl-engine/engine", ms(r, 0, 15)
}

var clientCalls = []struct{ method, host, tmpl string }{
	{"GET", "billing.internal", "/v2/accounts/{id}/plan"},
	{"POST", "auth.internal", "/oauth2/introspect"},
	{"GET", "flags.internal", "/api/flags"},
	{"POST", "notify.internal", "/v1/messages"},
}

func httpClientSpan(r *rand.Rand, s ptrace.Span) (string, time.Duration) {
	c := pick(r, clientCalls...)
	s.SetName(c.method)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.PutStr("http.request.method", c.method)
	a.PutStr("url.full", "https://"+c.host+c.tmpl)
	a.PutStr("url.template", c.tmpl)
	a.PutStr("url.scheme", "https")
	a.PutStr("server.address", c.host)
	a.PutInt("server.port", 443)
	a.PutStr("network.protocol.version", "1.1")
	a.PutStr("network.peer.address", ip(r))
	a.PutInt("network.peer.port", 443)
	a.PutInt("http.response.status_code", pick[int64](r, 200, 200, 200, 204, 404))
	a.PutInt("http.request.body.size", int64(r.IntN(2048)))
	a.PutInt("http.response.body.size", int64(r.IntN(8192)))
	a.PutStr("user_agent.original", "Go-http-client/1.1")
	a.PutInt("http.request.resend_count", 0)
	a.PutInt("thread.id", int64(1+r.IntN(64)))
	return "tl-engine/http", ms(r, 2, 60)
}

var redisOps = []string{"SET", "HGET", "HSET", "EXPIRE", "INCR", "MGET"}

func redisCommand(r *rand.Rand, s ptrace.Span) (string, time.Duration) {
	op := pick(r, redisOps...)
	key := "engine:" + engine(r)
	s.SetName(op)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.PutStr("db.system.name", "redis")
	a.PutStr("db.operation.name", op)
	a.PutStr("db.namespace", "0")
	a.PutStr("db.query.text", op+" "+key+" ?")
	a.PutStr("cache.key", key)
	a.PutStr("server.address", "redis.internal")
	a.PutInt("server.port", 6379)
	a.PutStr("network.peer.address", ip(r))
	a.PutInt("network.peer.port", 6379)
	a.PutStr("network.transport", "tcp")
	a.PutStr("thread.name", "cache-writer")
	code(r, a, "tl-engine/internal/cache.(*Client)."+op, "/src/tl-engine/internal/cache/client.go")
	return "tl-engine/cache", ms(r, 0, 4)
}

func grpcClientSpan(r *rand.Rand, s ptrace.Span) (string, time.Duration) {
	method := pick(r, "Reserve", "Release", "Status")
	s.SetName("tl.scheduler.v1.Scheduler/" + method)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.PutStr("rpc.system", "grpc")
	a.PutStr("rpc.service", "tl.scheduler.v1.Scheduler")
	a.PutStr("rpc.method", method)
	a.PutInt("rpc.grpc.status_code", 0)
	a.PutStr("server.address", "scheduler.internal")
	a.PutInt("server.port", 50051)
	a.PutStr("network.peer.address", ip(r))
	a.PutInt("network.peer.port", 50051)
	a.PutStr("network.transport", "tcp")
	a.PutStr("network.type", "ipv4")
	a.PutStr("enduser.id", user(r))
	code(r, a, "tl-engine/internal/scheduler.(*Client)."+method, "/src/tl-engine/internal/scheduler/client.go")
	return "tl-engine/grpc", ms(r, 1, 25)
}
