package e2e

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// scaleOutWait is trace_context's wait in the scale-out test.
const scaleOutWait = time.Second

// scaleOutMargin covers the queue's flush (100ms) and the send: events
// queued but not yet sent are lost by a SIGKILL too (in-memory queue).
const scaleOutMargin = 500 * time.Millisecond

const scaleOutConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  posthog:
    api_key: phc_scaleout
    endpoint: %s
    retry_on_failure:
      initial_interval: 100ms
    sending_queue:
      batch:
        flush_timeout: 100ms
    trace_context:
      attributes: [enduser.id]
      wait: %s
    spans:
      - name: api
        event: api_request
        conditions: ['span.kind == SPAN_KIND_SERVER']
        distinct_id: ['span.attributes["enduser.id"]']
      - name: work
        event: work_done
        conditions: ['span.name == "work"']
        distinct_id: ['span.attributes["enduser.id"]']
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [posthog]
  telemetry:
    metrics:
      level: none
`

// scaleOutTrace is one request's trace: a SERVER root (an event), the auth
// middleware with the user (no event), the handler, two work spans (two
// events). Its spans are sent children first, in three requests.
func scaleOutTrace(i int, now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "api")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	tid := pcommon.TraceID{byte(i >> 8), byte(i), 0x5c, 0xa1, 0xe0, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	mk := func(id, parent byte, name string) ptrace.Span {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{id, byte(i >> 8), byte(i)})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{parent, byte(i >> 8), byte(i)})
		}
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(10-id) * time.Millisecond)))
		return s
	}
	r := mk(1, 0, "GET /run")
	r.SetKind(ptrace.SpanKindServer)
	mk(2, 1, "auth").Attributes().PutStr("enduser.id", fmt.Sprintf("user-%d", i))
	mk(3, 1, "handler")
	mk(4, 3, "work")
	mk(5, 3, "work")
	return td
}

// splitByName returns the spans of td whose names are given, as a new request.
func splitByName(dst ptrace.Traces, td ptrace.Traces, names ...string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	rs := td.ResourceSpans().At(0)
	out := dst.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(out.Resource())
	ss := out.ScopeSpans().AppendEmpty()
	for _, s := range rs.ScopeSpans().At(0).Spans().All() {
		if want[s.Name()] {
			s.CopyTo(ss.Spans().AppendEmpty())
		}
	}
}

// traceRouter stands in for contrib's loadbalancing exporter with
// routing_key: traceID: it sends every span of a trace to the same backend,
// by a hash of the trace ID, and retries a backend until it accepts (as the
// SDK behind it would retry).
type traceRouter struct {
	backends []string
	mu       sync.Mutex
	accepted []routed // what each backend accepted, when
}

type routed struct {
	backend int
	at      time.Time
	traces  map[pcommon.TraceID]int // spans per trace
}

func (r *traceRouter) backendOf(id pcommon.TraceID) int {
	h := fnv.New32a()
	h.Write(id[:])
	return int(h.Sum32() % uint32(len(r.backends)))
}

func (r *traceRouter) route(t *testing.T, td ptrace.Traces) {
	parts := make([]ptrace.Traces, len(r.backends))
	counts := make([]map[pcommon.TraceID]int, len(r.backends))
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				b := r.backendOf(s.TraceID())
				if counts[b] == nil {
					parts[b], counts[b] = ptrace.NewTraces(), map[pcommon.TraceID]int{}
				}
				nrs := parts[b].ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(nrs.Resource())
				nss := nrs.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(nss.Scope())
				s.CopyTo(nss.Spans().AppendEmpty())
				counts[b][s.TraceID()]++
			}
		}
	}
	for b := range r.backends {
		if counts[b] == nil {
			continue
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			status, err := postTraces(ctx, r.backends[b], parts[b])
			cancel()
			if err == nil && status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("backend %d refused spans for 60s: status %d, %v", b, status, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		r.mu.Lock()
		r.accepted = append(r.accepted, routed{backend: b, at: time.Now(), traces: counts[b]})
		r.mu.Unlock()
	}
}

// TestTraceContextScaleOut proves the scale-out topology on loopback: a
// router hashing the trace ID over 3 collectors of ours, the spans of each
// trace split over three requests and sent children first. Every event
// carries its trace's user and none is duplicated or lost, except on the
// collector killed with SIGKILL mid-run (and restarted), which may lose the
// events of spans that reached it within the last wait (README).
func TestTraceContextScaleOut(t *testing.T) {
	bin := collectorBin(t)
	ph := posthogtest.NewServer(posthogtest.WithAPIKey("phc_scaleout"))
	srv := httptest.NewServer(ph)
	defer srv.Close()

	const nBackends, nTraces, wave = 3, 400, 8
	router := &traceRouter{}
	collectors := make([]*collector, nBackends)
	configs := make([]string, nBackends)
	for b := range nBackends {
		otlp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		router.backends = append(router.backends, otlp)
		configs[b] = filepath.Join(t.TempDir(), "config.yaml")
		cfg := fmt.Sprintf(scaleOutConfig, otlp, srv.URL, scaleOutWait)
		if err := os.WriteFile(configs[b], []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		collectors[b] = startCollectorWith(t, bin, otlp, nil, "--config", configs[b])
	}

	const victim = 1
	var killedAt time.Time
	now := time.Now().Add(-time.Minute)
	for first := 0; first < nTraces; first += wave {
		var work, middle, roots = ptrace.NewTraces(), ptrace.NewTraces(), ptrace.NewTraces()
		for i := first; i < first+wave; i++ {
			td := scaleOutTrace(i, now)
			splitByName(work, td, "work")
			splitByName(middle, td, "auth", "handler")
			splitByName(roots, td, "GET /run")
		}
		for part, td := range []ptrace.Traces{work, middle, roots} {
			if first == nTraces/2 && part == 1 {
				// Mid-run, mid-trace (the work spans of this wave are
				// held): SIGKILL one collector and start it again on the
				// same port; the router retries it until it is back.
				killedAt = time.Now()
				collectors[victim].kill(t)
				collectors[victim] = launch(t, bin, router.backends[victim], nil, "--config", configs[victim])
			}
			router.route(t, td)
			time.Sleep(30 * time.Millisecond)
		}
	}
	for b := range nBackends {
		collectors[b].stop() // SIGTERM: whatever still waits is mapped and sent
	}

	// The traces the SIGKILL may cost: those with spans the victim accepted
	// within wait (and the queue's 100ms flush) before it was killed.
	atRisk := map[pcommon.TraceID]bool{}
	riskSpans := 0
	for _, a := range router.accepted {
		if a.backend == victim && !a.at.After(killedAt) && killedAt.Sub(a.at) <= scaleOutWait+scaleOutMargin {
			for id, n := range a.traces {
				atRisk[id] = true
				riskSpans += n
			}
		}
	}

	events := ph.Events()
	seen := map[string]bool{}
	perTrace := map[string]int{}
	for _, e := range events {
		if seen[e.UUID] {
			t.Errorf("uuid %s delivered twice", e.UUID)
		}
		seen[e.UUID] = true
		traceHex, _ := e.Properties["$trace_id"].(string)
		perTrace[traceHex]++
	}
	lost, wrongUser := 0, 0
	for i := range nTraces {
		td := scaleOutTrace(i, now)
		tid := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
		user := fmt.Sprintf("user-%d", i)
		n := perTrace[tid.String()]
		bad := 0
		for _, e := range events {
			if e.Properties["$trace_id"] == tid.String() && e.DistinctID != user {
				bad++
			}
		}
		if n == 3 && bad == 0 {
			continue
		}
		if !atRisk[tid] {
			t.Errorf("trace %d (backend %d): %d of 3 events, %d without its user; its spans did not reach the killed collector in its last %s",
				i, router.backendOf(tid), n, bad, scaleOutWait)
		}
		if n > 3 {
			t.Errorf("trace %d: %d events, want at most 3", i, n)
		}
		lost += max(0, 3-n)
		wrongUser += bad
	}
	if lost > riskSpans {
		t.Errorf("lost %d events, more than the %d spans the killed collector accepted within its last %s", lost, riskSpans, scaleOutWait)
	}
	t.Logf("SIGKILL of 1 of %d collectors mid-run: %d of %d events delivered, %d lost, %d without their user, all from the %d traces (%d spans) that reached the killed collector within its last %s + %s",
		nBackends, len(events), 3*nTraces, lost, wrongUser, len(atRisk), riskSpans, scaleOutWait, scaleOutMargin)
}
