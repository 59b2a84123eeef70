package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// serverSpan is a SERVER span as Node's HTTP instrumentation records it:
// the URL in parts, posthog-js's headers as string arrays, no enduser.id.
func serverSpan(kind ptrace.SpanKind) ptrace.Traces {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("GET /api/status")
	s.SetKind(kind)
	s.SetTraceID(pcommon.TraceID{1, 2})
	s.SetSpanID(pcommon.SpanID{3, 4})
	a := s.Attributes()
	a.PutStr("url.scheme", "https")
	a.PutStr("server.address", "app.example.com")
	a.PutInt("server.port", 8443)
	a.PutStr("url.path", "/api/status")
	a.PutStr("url.query", "verbose=1")
	a.PutStr("http.request.method", "GET")
	a.PutStr("user_agent.original", "Mozilla/5.0")
	a.PutStr("client.address", "203.0.113.10")
	a.PutEmptySlice("http.request.header.x-posthog-distinct-id").AppendEmpty().SetStr("019a-anon-browser")
	return td
}

// A SERVER span's event carries its request as posthog-node's request
// context does, and a distinct_id chain that gives nothing falls back to
// posthog-js's distinct id header. Other spans have no request of their
// own (without trace_context).
func TestServerSpanEventsCarryTheirRequest(t *testing.T) {
	m := newTestMapper(t, `
spans:
  - name: api
    event: api_request
    distinct_id: ['span.attributes["enduser.id"]']
    properties:
      $request_method: '"OVERRIDDEN"'
`)
	res, err := mapTraces(m, serverSpan(ptrace.SpanKindServer))
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	ev := res.Events[0]
	assert.Equal(t, "019a-anon-browser", ev.DistinctID, "the request's posthog-js identity")
	props := propsOf(&ev)
	assert.Equal(t, "https://app.example.com:8443/api/status?verbose=1", props[CurrentURLKey])
	assert.Equal(t, "/api/status", props[RequestPathKey])
	assert.Equal(t, "OVERRIDDEN", props[RequestMethodKey], "the rule's own property wins")
	assert.Equal(t, "Mozilla/5.0", props[UserAgentKey])
	assert.Equal(t, "203.0.113.10", props[IPKey])
	assert.False(t, ev.GeoIPDisable, "located by the user's address")

	res, err = mapTraces(m, serverSpan(ptrace.SpanKindClient))
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, AnonymousDistinctID(pcommon.TraceID{1, 2}), res.Events[0].DistinctID, "a CLIENT span's URL is a call it made: no request, no header identity, the trace's own id")
	for _, p := range res.Events[0].Properties {
		assert.NotEqual(t, CurrentURLKey, p.Key)
	}
}
