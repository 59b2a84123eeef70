package mapping

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestParsePlainAttr(t *testing.T) {
	for expr, want := range map[string]plainAttr{
		`span.attributes["http.route"]`:         {key: "http.route", ok: true},
		` resource.attributes["service.name"] `: {key: "service.name", resource: true, ok: true},
		`log.attributes["a"]`:                   {},         // another context's path
		`span.attributes["a\"b"]`:               {},         // escapes are left to OTTL
		`span.attributes["a"]["b"]`:             {},         // an index into the value
		`Concat([span.attributes["a"]], "")`:    {},         // a converter
		`span.attributes["a"] != nil`:           {},         // not one value
		`span.attributes[""]`:                   {ok: true}, // OTTL reads it too
	} {
		assert.Equal(t, want, parsePlainAttr(expr, "span"), expr)
	}
	assert.Equal(t, plainAttr{key: "k", ok: true}, parsePlainAttr(`spanevent.attributes["k"]`, signalSpanEvent))
}

// plainAttrRules read every kind of value through plain attribute
// expressions: properties, keys PostHog reads as strings, and distinct_id.
const plainAttrRules = `
defaults:
  properties:
    service: resource.attributes["service.name"]
    res_map: resource.attributes["m"]
spans:
  - name: plain
    event: seen
    distinct_id: ['span.attributes["missing"]', 'span.attributes["empty"]', 'span.attributes["id"]']
    properties: &props
      s: span.attributes["s"]
      i: span.attributes["i"]
      d: span.attributes["d"]
      b: span.attributes["b"]
      m: span.attributes["m"]
      l: span.attributes["l"]
      raw: span.attributes["raw"]
      empty: span.attributes["empty"]
      missing: span.attributes["missing"]
      $ip: span.attributes["i"]
      $session_id: span.attributes["s"]
      $window_id: span.attributes["m"]
span_events:
  - name: event
    event: event_seen
    distinct_id: ['spanevent.attributes["id"]', 'resource.attributes["service.name"]']
    properties:
      s: spanevent.attributes["s"]
      d: spanevent.attributes["d"]
logs:
  - name: log
    event: log_seen
    distinct_id: ['log.attributes["id"]']
    properties:
      s: log.attributes["s"]
      m: log.attributes["m"]
      service: resource.attributes["service.name"]
`

// putAllKinds gives attrs one attribute of every kind; id is a number, so
// that distinct_id stringifies it.
func putAllKinds(attrs pcommon.Map) {
	attrs.PutStr("s", "not-a-session")
	attrs.PutInt("i", 42)
	attrs.PutDouble("d", 2.5)
	attrs.PutBool("b", true)
	m := attrs.PutEmptyMap("m")
	m.PutStr("k", "v")
	m.PutEmptySlice("nested").AppendEmpty().SetInt(1)
	l := attrs.PutEmptySlice("l")
	l.AppendEmpty().SetStr("x")
	l.AppendEmpty().SetDouble(1e21)
	attrs.PutEmptyBytes("raw").FromRaw([]byte{0xca, 0xfe})
	attrs.PutEmpty("empty")
	attrs.PutInt("id", 7)
}

// withoutPlainAttrs makes m evaluate every expression with OTTL.
func withoutPlainAttrs(m *Mapper) {
	for _, r := range m.rules.spans {
		clearPlainAttrs(r)
	}
	for _, r := range m.rules.spanEvents {
		clearPlainAttrs(r)
	}
	for _, r := range m.rules.logs {
		clearPlainAttrs(r)
	}
}

func clearPlainAttrs[K any](r *rule[K]) {
	for i := range r.properties {
		r.properties[i].attr = plainAttr{}
	}
	for i := range r.distinctID {
		r.distinctID[i].attr = plainAttr{}
	}
}

// TestPlainAttrIsOTTL: reading a plain attribute expression without OTTL
// makes exactly the events OTTL's value makes, for every kind of value.
func TestPlainAttrIsOTTL(t *testing.T) {
	fast := newTestMapper(t, plainAttrRules)
	slow := newTestMapper(t, plainAttrRules)
	withoutPlainAttrs(slow)
	require.True(t, fast.rules.spans[0].distinctID[2].attr.ok, "the rules must use plain reads")

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putAllKinds(rs.Resource().Attributes())
	rs.Resource().Attributes().PutStr("service.name", "svc")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{1})
	span.SetSpanID(pcommon.SpanID{2})
	putAllKinds(span.Attributes())
	ev := span.Events().AppendEmpty()
	ev.Attributes().PutDouble("d", math.Copysign(0, -1))
	ev.Attributes().PutStr("s", "é\u2028")
	assertSameResults(t, fast, slow, func(m *Mapper, res *Result) error { return m.MapTraces(context.Background(), td, res) })

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc")
	putAllKinds(rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes())
	assertSameResults(t, fast, slow, func(m *Mapper, res *Result) error { return m.MapLogs(context.Background(), ld, res) })
}
