package posthogexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/posthogexporter/posthogexporter/internal/metadatatest"
	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// withTraceContext adds trace_context and an engine rule that reads the
// request's user.
func withTraceContext(wait time.Duration) func(*Config) {
	return func(c *Config) {
		c.TraceContext = configoptional.Some(tracecontext.Config{
			Attributes: []string{"enduser.id", "tenant.id"}, Wait: wait, MaxWait: max(wait, time.Minute), MaxPending: 1000,
		})
		c.Mapping.Spans = append(c.Mapping.Spans, mapping.Rule{
			Name:       "engine",
			Event:      "engine_executed",
			Conditions: []string{`span.name == "engine.execute"`},
			DistinctID: []string{`"engine"`},
			Properties: map[string]string{"user_id": `span.attributes["enduser.id"]`, "tenant": `span.attributes["tenant.id"]`},
		})
	}
}

// requestSpan is one span of a request's trace: the SERVER span (1), the
// auth middleware (2, with the caller), the handler (3), the engine (4).
func requestSpan(id byte) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "api")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{9, 9, 9})
	s.SetSpanID(pcommon.SpanID{id})
	start := time.Unix(1_700_000_000, int64(id)*1000)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	parent := map[byte]byte{2: 1, 3: 1, 4: 3}[id]
	if parent != 0 {
		s.SetParentSpanID(pcommon.SpanID{parent})
	}
	switch id {
	case 1:
		s.SetName("GET /run")
		s.SetKind(ptrace.SpanKindServer)
	case 2:
		s.SetName("auth")
		s.Attributes().PutStr("enduser.id", "alice")
		s.Attributes().PutStr("tenant.id", "acme")
	case 3:
		s.SetName("handler")
	case 4:
		s.SetName("engine.execute")
	}
	return td
}

// The SERVER span arrives first, the middleware span with the caller last,
// each in its own push: once the trace has gone quiet, both events carry
// the caller.
func TestTraceContextRootFirst(t *testing.T) {
	h := newHarness(t, withTraceContext(100*time.Millisecond))
	for _, id := range []byte{1, 4, 3, 2} {
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), requestSpan(id)))
	}
	require.Eventually(t, func() bool { return len(h.capture.Events()) == 2 }, 5*time.Second, 10*time.Millisecond)
	events := h.capture.Events()
	byName := map[string]int{}
	for i, ev := range events {
		byName[ev.Name] = i
	}
	api, engine := events[byName["api_request"]], events[byName["engine_executed"]]
	assert.Equal(t, "alice", api.DistinctID, "the caller, from the middleware span")
	assert.Equal(t, "alice", engine.Properties["user_id"])
	assert.Equal(t, "acme", engine.Properties["tenant"])

	metadatatest.AssertEqualExporterPosthogTraceContextSpansWaited(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(2, "wait_outcome", "quiet"), // the SERVER and engine spans; no rule may match the others
	}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogTraceContextEvents(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(1, "rule", "api"), sumPoint(1, "rule", "engine"),
	}, ignoreTime...)
}

func TestTraceContextQuietMapsWithWhatIsKnown(t *testing.T) {
	h := newHarness(t, withTraceContext(100*time.Millisecond))
	for _, id := range []byte{2, 4, 3} { // the SERVER span never comes
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), requestSpan(id)))
	}
	require.Eventually(t, func() bool { return len(h.capture.Events()) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, "alice", h.capture.Events()[0].Properties["user_id"])
	metadatatest.AssertEqualExporterPosthogTraceContextSpansWaited(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(1, "wait_outcome", "quiet"),
	}, ignoreTime...)
}

// The traces and logs exporters of one config share the stage: what waits
// is queued by the last of them to shut down, before its queue drains.
func TestTraceContextShutdownLosesNothing(t *testing.T) {
	h := newHarness(t, withTraceContext(time.Hour))
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), requestSpan(2)))
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), requestSpan(4)))
	assert.Empty(t, h.capture.Events())
	require.NoError(t, h.traces.Shutdown(context.Background()))
	assert.Empty(t, h.capture.Events(), "the logs exporter still runs: the engine span still waits")
	require.NoError(t, h.logs.Shutdown(context.Background()))
	require.Len(t, h.capture.Events(), 1)
	assert.Equal(t, "alice", h.capture.Events()[0].Properties["user_id"])
	metadatatest.AssertEqualExporterPosthogTraceContextSpansWaited(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(1, "wait_outcome", "shutdown"),
	}, ignoreTime...)
}

// A request's log record, sent to the logs exporter, waits with the spans
// the traces exporter holds, and gets the caller from the middleware span.
func TestTraceContextLogJoinsItsTrace(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		withTraceContext(100 * time.Millisecond)(c)
		c.Mapping.Logs = []mapping.Rule{{
			Name: "rate", Event: "rate_limit_exceeded",
			Conditions: []string{`log.event_name == "rate_limit_exceeded"`},
			DistinctID: []string{`log.attributes["enduser.id"]`},
		}}
	})
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTraceID(pcommon.TraceID{9, 9, 9})
	lr.SetSpanID(pcommon.SpanID{3})
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0)))
	lr.SetEventName("rate_limit_exceeded")
	require.NoError(t, h.logs.ConsumeLogs(context.Background(), ld))
	for _, id := range []byte{3, 1, 2} {
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), requestSpan(id)))
	}
	require.Eventually(t, func() bool { return len(h.capture.Events()) == 2 }, 5*time.Second, 10*time.Millisecond)
	for _, ev := range h.capture.Events() {
		assert.Equal(t, "alice", ev.DistinctID, "%s: the caller, from the middleware span", ev.Name)
	}
}

// Without trace_context nothing waits: the engine event goes at once,
// without a user.
func TestNoTraceContextNothingWaits(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		withTraceContext(time.Minute)(c)
		c.TraceContext = configoptional.None[tracecontext.Config]()
	})
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), requestSpan(4)))
	require.Len(t, h.capture.Events(), 1)
	assert.NotContains(t, h.capture.Events()[0].Properties, "user_id")
}
