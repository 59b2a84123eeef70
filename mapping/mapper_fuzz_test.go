package mapping

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"gopkg.in/yaml.v3"
)

// fuzzRules exercise every kind of value source on whatever the fuzzer puts in
// the records: names and ids taken from attributes, copied attributes, OTTL
// converters that can fail.
const fuzzRules = `
error_mode: ignore
defaults:
  distinct_id: ['span.attributes["id"]', 'span.attributes["n"]', 'span.name']
spans:
  - name: named
    event_expression: span.attributes["event"]
    attributes: [s, n, f, b, m, raw]
    properties:
      duration_ms: Milliseconds(span.end_time - span.start_time)
      parsed: ParseJSON(span.attributes["s"])
    person_profiles: true
    groups:
      g: span.attributes["s"]
  - name: all
    event: span_seen
    timestamp: start
    conditions: ['span.attributes["n"] > 10', 'IsMatch(span.name, "a")']
    person_profiles: true
    set:
      s: span.attributes["s"]
logs:
  - name: logs
    event_expression: log.event_name
    distinct_id: ['log.attributes["id"]', 'log.body']
    attributes: [s, n, f]
`

func fuzzMapper(t *testing.T) *Mapper {
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(fuzzRules), &raw))
	cfg := NewDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(&cfg))
	m, err := NewMapper(&cfg, testLibrary, nopTelemetry())
	require.NoError(t, err)
	return m
}

// FuzzMap builds traces and logs from random input and maps them: no panic,
// and every event has a name, a distinct_id, a valid uuid, and encodes to valid JSON.
func FuzzMap(f *testing.F) {
	f.Add("op", "evt", "user", "s", int64(1), 1.5, true, []byte{1, 2}, int64(1), int64(2), 2)
	f.Add("", "", "", "{\"a\":1}", int64(11), math.NaN(), false, []byte{}, int64(0), int64(0), 0)
	f.Add("a\xff\xfe", "\x00", "\xc3\x28", "\u2028", int64(-1), math.Inf(1), true, []byte{0xff}, int64(-5), int64(1<<62), 40)
	m := fuzzMapper(&testing.T{})
	f.Fuzz(func(t *testing.T, name, event, id, s string, n int64, fl float64, b bool, raw []byte, start, end int64, depth int) {
		td := ptrace.NewTraces()
		span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName(name)
		span.SetStartTimestamp(pcommon.Timestamp(start))
		span.SetEndTimestamp(pcommon.Timestamp(end))
		fill(span.Attributes(), event, id, s, n, fl, b, raw, depth)

		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetEventName(event)
		lr.Body().SetStr(name)
		lr.SetTimestamp(pcommon.Timestamp(start))
		fill(lr.Attributes(), event, id, s, n, fl, b, raw, depth)

		tres := &Result{}
		err := m.MapTraces(context.Background(), td, tres)
		require.NoError(t, err)
		lres := &Result{}
		err = m.MapLogs(context.Background(), ld, lres)
		require.NoError(t, err)
		for _, res := range []*Result{tres, lres} {
			for i := range res.Events {
				checkEvent(t, &res.Events[i])
			}
		}
	})
}

func fill(m pcommon.Map, event, id, s string, n int64, fl float64, b bool, raw []byte, depth int) {
	m.PutStr("event", event)
	m.PutStr("id", id)
	m.PutStr("s", s)
	m.PutInt("n", n)
	m.PutDouble("f", fl)
	m.PutBool("b", b)
	m.PutEmptyBytes("raw").FromRaw(raw)
	nested := m.PutEmptyMap("m")
	for i := 0; i < depth%100; i++ {
		nested.PutStr("s", s)
		nested = nested.PutEmptyMap("deeper")
	}
}

func checkEvent(t *testing.T, ev *Event) {
	t.Helper()
	require.NotEmpty(t, ev.Name)
	require.NotEmpty(t, ev.DistinctID)
	require.Regexp(t, uuidV5, string(AppendUUID(nil, ev.UUID)))
	out := ev.AppendJSON(nil)
	require.True(t, json.Valid(out), "invalid JSON: %q", out)
	var decoded struct {
		UUID       string `json:"uuid"`
		Event      string `json:"event"`
		DistinctID string `json:"distinct_id"`
	}
	require.NoError(t, json.Unmarshal(out, &decoded))
	require.NotEmpty(t, decoded.Event)
	require.NotEmpty(t, decoded.DistinctID)
}
