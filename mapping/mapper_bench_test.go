package mapping

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"gopkg.in/yaml.v3"
)

// benchRules builds ten rules whose conditions look at attributes, kind, name
// and duration, as real rule sets do. The last one matches spans named
// "engine.execute" and builds a 6-property event.
func benchRules(signal string) string {
	var b strings.Builder
	if signal == "span" {
		b.WriteString("spans:\n")
		for i := range 9 {
			fmt.Fprintf(&b, `  - name: r%d
    event: e%d
    distinct_id: ['span.attributes["enduser.id"]']
    conditions: ['span.attributes["rule%d.key"] != nil and span.end_time - span.start_time > Duration("%dms")']
`, i, i, i, 100+i)
		}
		b.WriteString(`  - name: engine
    event: engine_executed
    distinct_id: ['span.attributes["enduser.id"]']
    conditions: ['span.kind == SPAN_KIND_INTERNAL and span.name == "engine.execute"']
    attributes: [engine.id, engine.type]
    properties:
      duration_ms: Milliseconds(span.end_time - span.start_time)
      status: '"success"'
`)
		return b.String()
	}
	b.WriteString("logs:\n")
	for i := range 9 {
		fmt.Fprintf(&b, `  - name: r%d
    event: e%d
    distinct_id: ['log.attributes["enduser.id"]']
    conditions: ['log.attributes["rule%d.key"] != nil and log.severity_number >= SEVERITY_NUMBER_WARN']
`, i, i, i)
	}
	b.WriteString(`  - name: rate-limit
    event: rate_limit_exceeded
    distinct_id: ['log.attributes["enduser.id"]']
    conditions: ['log.event_name == "rate_limit_exceeded"']
    attributes: [endpoint, limit, current]
    properties:
      api_key_hash: SHA256(log.attributes["api_key"])
`)
	return b.String()
}

func benchMapper(b *testing.B, signal string) *Mapper {
	var raw map[string]any
	require.NoError(b, yaml.Unmarshal([]byte(benchRules(signal)), &raw))
	cfg := NewDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(raw).Unmarshal(&cfg))
	m, err := NewMapper(&cfg, testLibrary, nopTelemetry())
	require.NoError(b, err)
	return m
}

// fifteenAttributes fills a record as an instrumented service would.
func fifteenAttributes(m pcommon.Map) {
	m.PutStr("enduser.id", "user-42")
	m.PutStr("engine.id", "engine-123")
	m.PutStr("engine.type", "data_processor")
	m.PutStr("endpoint", "/api/v1/engines/execute")
	m.PutInt("limit", 100)
	m.PutInt("current", 101)
	m.PutStr("api_key", "tl_live_abcdef")
	for i := range 8 {
		m.PutStr(fmt.Sprintf("other.attribute.%d", i), "value")
	}
}

func benchSpan(name string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tl-engine")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(name)
	span.SetKind(ptrace.SpanKindInternal)
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	start := time.Unix(1_700_000_000, 0)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(150 * time.Millisecond)))
	fifteenAttributes(span.Attributes())
	return td
}

func benchLog(eventName string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tl-engine")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventName)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0)))
	lr.Body().SetStr("rate limit exceeded")
	fifteenAttributes(lr.Attributes())
	return ld
}

// The benchmarks below report the cost of one record (one op) against ten
// rules. The Result is reused, as the exporter reuses its memory across pushes.

// benchMap maps one record per op with mapOne and hands each result to check;
// with encode, the first event is also encoded, as delivery would.
func benchMap(b *testing.B, mapOne func(*Result) error, check func(*Result) error, encode bool) {
	res := &Result{}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		if err := mapOne(res); err != nil {
			b.Fatal(err)
		}
		if err := check(res); err != nil {
			b.Fatal(err)
		}
		if encode {
			buf = res.Events[0].AppendJSON(buf[:0])
		}
	}
}

func wantEvents(n int) func(*Result) error {
	return func(res *Result) error {
		if len(res.Events) != n {
			return fmt.Errorf("want %d events, got %d", n, len(res.Events))
		}
		return nil
	}
}

func mapSpan(m *Mapper, td ptrace.Traces) func(*Result) error {
	return func(res *Result) error { return m.MapTraces(context.Background(), td, res) }
}

func mapLog(m *Mapper, ld plog.Logs) func(*Result) error {
	return func(res *Result) error { return m.MapLogs(context.Background(), ld, res) }
}

func BenchmarkMapSpanNoMatch(b *testing.B) {
	benchMap(b, mapSpan(benchMapper(b, "span"), benchSpan("cache.get")), wantEvents(0), false)
}

// BenchmarkMapSpanNoMatchFullOTTL is the same span with every condition
// evaluated by OTTL, without the prefilter: the ratio to
// BenchmarkMapSpanNoMatch is what the prefilter saves.
func BenchmarkMapSpanNoMatchFullOTTL(b *testing.B) {
	m := benchMapper(b, "span")
	m.noPrefilter = true
	benchMap(b, mapSpan(m, benchSpan("cache.get")), wantEvents(0), false)
}

func BenchmarkMapSpanOneMatch(b *testing.B) {
	benchMap(b, mapSpan(benchMapper(b, "span"), benchSpan("engine.execute")), func(res *Result) error {
		// 6 properties: 4 of the rule's, then $trace_id and $span_id (and $geoip_disable).
		if len(res.Events) != 1 || len(res.Events[0].Properties) != 4 || res.Events[0].TraceID.IsEmpty() {
			return fmt.Errorf("want 1 event with 6 properties, got %+v", res.Events)
		}
		return nil
	}, true)
}

func BenchmarkMapLogNoMatch(b *testing.B) {
	benchMap(b, mapLog(benchMapper(b, "log"), benchLog("cache_lookup")), wantEvents(0), false)
}

func BenchmarkMapLogOneMatch(b *testing.B) {
	benchMap(b, mapLog(benchMapper(b, "log"), benchLog("rate_limit_exceeded")), wantEvents(1), true)
}

// spanEventRules are the span rules of benchRules plus the span_events rules
// of the demo's configuration (exceptions and flag evaluations).
const spanEventRules = `
span_events:
  - name: exceptions
    event: $exception
    conditions: ['spanevent.name == "exception"']
  - name: flags
    event: $feature_flag_called
    conditions: ['spanevent.name == "feature_flag.evaluation"']
`

// BenchmarkMapSpanEventsNoMatch is BenchmarkMapSpanNoMatch's span with
// three events no span_events rule takes: the cost of span_events rules on
// spans that record other events.
func BenchmarkMapSpanEventsNoMatch(b *testing.B) {
	var raw map[string]any
	require.NoError(b, yaml.Unmarshal([]byte(benchRules("span")+spanEventRules), &raw))
	cfg := NewDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(raw).Unmarshal(&cfg))
	m, err := NewMapper(&cfg, testLibrary, nopTelemetry())
	require.NoError(b, err)
	td := benchSpan("cache.get")
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	for _, name := range []string{"cache.miss", "db.query", "retry"} {
		e := span.Events().AppendEmpty()
		e.SetName(name)
		e.Attributes().PutStr("detail", "x")
	}
	benchMap(b, mapSpan(m, td), wantEvents(0), false)
}
