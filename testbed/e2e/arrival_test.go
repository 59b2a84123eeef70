package e2e

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// arrivalConfig: trace_context carries enduser.id and tenant.id from the
// gateway's auth middleware span to every span of the trace, also the
// engine's (another service, three hops below the root).
const arrivalConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  posthog:
    api_key: phc_arrival
    endpoint: %s
    retry_on_failure:
      initial_interval: 100ms
    sending_queue:
      batch:
        flush_timeout: 100ms
    trace_context:
      attributes: [enduser.id, tenant.id]
      wait: %s
      max_wait: 30s
    spans:
      - name: api
        event: api_request
        conditions: ['span.kind == SPAN_KIND_SERVER']
        distinct_id: ['span.attributes["enduser.id"]', '"anon"']
        properties:
          tenant: span.attributes["tenant.id"]
          service: resource.attributes["service.name"]
      - name: engine
        event: engine_executed
        conditions: ['span.name == "engine.execute"']
        distinct_id: ['"engine"']
        properties:
          user_id: span.attributes["enduser.id"]
          tenant: span.attributes["tenant.id"]
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [posthog]
  telemetry:
    metrics:
      level: none
`

const (
	// arrivalSeed fixes the traces' IDs, the order of their spans and the
	// schedule; change it to explore, keep the failing one to reproduce.
	arrivalSeed uint64 = 0x0a11_0de5_2025
	arrivalWait        = time.Second
	// Every trace's spans are scheduled within arrivalWindow, the traces'
	// first spans over arrivalSpread: all is sent within about 2s, and no
	// trace has a gap near wait between two of its spans.
	arrivalWindow  = 600 * time.Millisecond
	arrivalSpread  = 1400 * time.Millisecond
	arrivalTraces  = 80
	arrivalSenders = 8
)

// The spans of the two-service trace, in tree order.
const (
	spGateway = iota // gateway SERVER, the root: api_request
	spAuth           // child of the root: enduser.id, tenant.id
	spHandler        // child of the root
	spClient         // CLIENT, child of the handler
	spEngine         // engine's SERVER, child of the CLIENT span: api_request
	spExecute        // engine.execute, child of the engine's SERVER: engine_executed
	arrivalSpanCount
)

var arrivalSpanNames = [arrivalSpanCount]string{"gateway", "auth", "handler", "client", "engine", "engine.execute"}

// arrivalTrace is one request through gateway and engine, and how its spans
// are sent: each alone, in order, at its offset from the start.
type arrivalTrace struct {
	i            int
	user, tenant string
	traceID      pcommon.TraceID
	spanIDs      [arrivalSpanCount]pcommon.SpanID
	order        []int                           // span indexes in sending order
	at           [arrivalSpanCount]time.Duration // when each span is sent
	sent, okAt   [arrivalSpanCount]time.Time     // the POST's start and its 200
}

func newArrivalTrace(rng *rand.Rand, i int) *arrivalTrace {
	tr := &arrivalTrace{i: i, user: fmt.Sprintf("user-%d", i), tenant: fmt.Sprintf("tenant-%d", i%7)}
	for k := range tr.traceID {
		tr.traceID[k] = byte(rng.UintN(256))
	}
	for s := range tr.spanIDs {
		for k := range tr.spanIDs[s] {
			tr.spanIDs[s][k] = byte(rng.UintN(256))
		}
	}
	tr.order = rng.Perm(arrivalSpanCount)
	if i%3 == 0 { // a third of the traces send their root first
		j := slices.Index(tr.order, spGateway)
		tr.order[0], tr.order[j] = tr.order[j], tr.order[0]
	}
	first := time.Duration(rng.Int64N(int64(arrivalSpread)))
	offsets := make([]time.Duration, arrivalSpanCount)
	for k := range offsets {
		offsets[k] = first + time.Duration(rng.Int64N(int64(arrivalWindow)))
	}
	slices.Sort(offsets)
	for k, s := range tr.order {
		tr.at[s] = offsets[k]
	}
	return tr
}

// span returns span s of the trace alone in a request, with its service's
// resource. The spans started at base (+ the trace's index in ms).
func (tr *arrivalTrace) span(s int, base time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	service := "gateway"
	if s >= spEngine {
		service = "engine"
	}
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("arrival-test")
	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID(tr.traceID)
	sp.SetSpanID(tr.spanIDs[s])
	parent := map[int]int{spAuth: spGateway, spHandler: spGateway, spClient: spHandler, spEngine: spClient, spExecute: spEngine}
	if p, ok := parent[s]; ok {
		sp.SetParentSpanID(tr.spanIDs[p])
	}
	start := base.Add(time.Duration(tr.i)*time.Millisecond + time.Duration(s)*time.Millisecond)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(60-10*s) * time.Millisecond)))
	attrs := sp.Attributes()
	switch s {
	case spGateway:
		sp.SetName("POST /v1/run")
		sp.SetKind(ptrace.SpanKindServer)
		attrs.PutStr("http.request.method", "POST")
		attrs.PutStr("http.route", "/v1/run")
		attrs.PutStr("url.path", "/v1/run")
		attrs.PutInt("http.response.status_code", 200)
	case spAuth:
		sp.SetName("auth")
		sp.SetKind(ptrace.SpanKindInternal)
		attrs.PutStr("enduser.id", tr.user)
		attrs.PutStr("tenant.id", tr.tenant)
	case spHandler:
		sp.SetName("handler")
		sp.SetKind(ptrace.SpanKindInternal)
	case spClient:
		sp.SetName("POST")
		sp.SetKind(ptrace.SpanKindClient)
		attrs.PutStr("http.request.method", "POST")
		attrs.PutStr("server.address", "engine")
		attrs.PutInt("http.response.status_code", 200)
	case spEngine:
		sp.SetName("POST /execute")
		sp.SetKind(ptrace.SpanKindServer)
		attrs.PutStr("http.request.method", "POST")
		attrs.PutStr("http.route", "/execute")
		attrs.PutInt("http.response.status_code", 200)
	case spExecute:
		sp.SetName("engine.execute")
		sp.SetKind(ptrace.SpanKindInternal)
	}
	return td
}

// arrivalSpan is how long the collector took to receive all of the
// trace's spans: from the first POST's start to the last one's 200. No
// gap between two of its spans can exceed it.
func (tr *arrivalTrace) arrivalSpan() time.Duration {
	first, last := tr.sent[0], tr.okAt[0]
	for s := range arrivalSpanCount {
		if tr.sent[s].Before(first) {
			first = tr.sent[s]
		}
		if tr.okAt[s].After(last) {
			last = tr.okAt[s]
		}
	}
	return last.Sub(first)
}

func (tr *arrivalTrace) describe() string {
	names := make([]string, len(tr.order))
	for k, s := range tr.order {
		names[k] = arrivalSpanNames[s]
	}
	return fmt.Sprintf("trace %d (%s, %s, %s; sent %s; received within %s)",
		tr.i, tr.traceID, tr.user, tr.tenant, strings.Join(names, ","), tr.arrivalSpan().Round(time.Millisecond))
}

// TestTraceContextAnyArrivalOrder sends 80 two-service traces at once, every
// span in its own OTLP/HTTP request, each trace's spans in a random order
// (a third root first), all interleaved by 8 concurrent senders over about
// 2s. Every event must carry its trace's user and tenant (held until the
// trace is quiet for wait), with no event lost and none duplicated.
func TestTraceContextAnyArrivalOrder(t *testing.T) {
	bin := collectorBin(t)
	ph := posthogtest.NewServer(posthogtest.WithAPIKey("phc_arrival"))
	srv := httptest.NewServer(ph)
	defer srv.Close()

	otlp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(arrivalConfig, otlp, srv.URL, arrivalWait)), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCollectorWith(t, bin, otlp, nil, "--config", config)

	t.Logf("seed %#x: %d traces, each span alone, %d senders", arrivalSeed, arrivalTraces, arrivalSenders)
	rng := rand.New(rand.NewPCG(arrivalSeed, arrivalSeed))
	traces := make([]*arrivalTrace, arrivalTraces)
	byHex := map[string]*arrivalTrace{}
	type send struct {
		tr *arrivalTrace
		s  int
	}
	var sends []send
	for i := range traces {
		traces[i] = newArrivalTrace(rng, i)
		byHex[traces[i].traceID.String()] = traces[i]
		for s := range arrivalSpanCount {
			sends = append(sends, send{traces[i], s})
		}
	}
	slices.SortStableFunc(sends, func(a, b send) int { return cmp.Compare(a.tr.at[a.s], b.tr.at[b.s]) })

	// Sender w sends sends w, w+senders, ... each at its time (or as soon
	// as its previous POST returned).
	base := time.Now().Add(-time.Minute)
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := range arrivalSenders {
		wg.Go(func() {
			for k := w; k < len(sends); k += arrivalSenders {
				tr, s := sends[k].tr, sends[k].s
				td := tr.span(s, base)
				time.Sleep(time.Until(start.Add(tr.at[s])))
				sent := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				status, err := postTraces(ctx, otlp, td)
				cancel()
				mu.Lock()
				tr.sent[s], tr.okAt[s] = sent, time.Now()
				if err != nil || status != http.StatusOK {
					failures = append(failures, fmt.Sprintf("span %s of trace %d: status %d, %v", arrivalSpanNames[s], tr.i, status, err))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sentIn := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("OTLP export refused:\n%s", strings.Join(failures, "\n"))
	}
	var widest time.Duration
	for _, tr := range traces {
		widest = max(widest, tr.arrivalSpan())
	}
	t.Logf("%d requests sent in %s; the widest trace was received within %s (wait %s)",
		len(sends), sentIn.Round(time.Millisecond), widest.Round(time.Millisecond), arrivalWait)

	want := 3 * arrivalTraces
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_, err := ph.WaitForEvents(ctx, want)
	cancel()
	if err != nil {
		t.Errorf("waiting for %d events: %v", want, err)
	}
	t.Logf("%d events %s after the first span", len(ph.Events()), time.Since(start).Round(time.Millisecond))
	c.stop() // SIGTERM: maps what still waits, drains the queue
	events := ph.Events()
	if len(events) != want {
		t.Errorf("%d events, want %d", len(events), want)
	}

	// Each trace wants one api_request of each SERVER span and one
	// engine_executed of engine.execute, with its user and tenant.
	type key struct {
		tr    *arrivalTrace
		span  string
		event string
	}
	got := map[key]int{}
	uuids := map[string]bool{}
	type problem struct {
		tr  *arrivalTrace
		msg string
	}
	var problems []problem
	bad := map[*arrivalTrace]bool{}
	report := func(tr *arrivalTrace, format string, args ...any) {
		bad[tr] = true
		problems = append(problems, problem{tr, fmt.Sprintf(format, args...)})
	}
	for _, e := range events {
		if uuids[e.UUID] {
			t.Errorf("uuid %s delivered twice: %s", e.UUID, e.Raw)
		}
		uuids[e.UUID] = true
		traceHex, _ := e.Properties["$trace_id"].(string)
		spanHex, _ := e.Properties["$span_id"].(string)
		tr := byHex[traceHex]
		if tr == nil {
			t.Errorf("event of no trace sent: %s", e.Raw)
			continue
		}
		span := "?" + spanHex
		for s, id := range tr.spanIDs {
			if id.String() == spanHex {
				span = arrivalSpanNames[s]
			}
		}
		got[key{tr, span, e.Name}]++
		tenant, _ := e.Properties["tenant"].(string)
		switch e.Name {
		case "api_request":
			if e.DistinctID != tr.user || tenant != tr.tenant {
				report(tr, "api_request of span %s: distinct_id %q, tenant %q, want %q, %q", span, e.DistinctID, tenant, tr.user, tr.tenant)
			}
		case "engine_executed":
			user, _ := e.Properties["user_id"].(string)
			if user != tr.user || tenant != tr.tenant || e.DistinctID != "engine" {
				report(tr, "engine_executed: user_id %q, tenant %q, distinct_id %q, want %q, %q, %q", user, tenant, e.DistinctID, tr.user, tr.tenant, "engine")
			}
		default:
			report(tr, "unexpected event %s", e.Raw)
		}
	}
	for _, tr := range traces {
		for _, k := range []key{{tr, "gateway", "api_request"}, {tr, "engine", "api_request"}, {tr, "engine.execute", "engine_executed"}} {
			if n := got[k]; n != 1 {
				report(tr, "%d %s events of span %s, want 1", n, k.event, k.span)
			}
			delete(got, k)
		}
	}
	for k, n := range got {
		report(k.tr, "%d %s events of span %s, want none", n, k.event, k.span)
	}
	slices.SortStableFunc(problems, func(a, b problem) int { return cmp.Compare(a.tr.i, b.tr.i) })
	const shown = 30
	for i, p := range problems {
		if i == shown {
			t.Errorf("... and %d more", len(problems)-shown)
			break
		}
		t.Errorf("%s: %s", p.tr.describe(), p.msg)
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d traces wrong (seed %#x)", len(bad), arrivalTraces, arrivalSeed)
	}
}
