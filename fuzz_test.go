package posthogexporter

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// fuzzRecordAttrs fills a record's attributes from fuzz input.
func fuzzRecordAttrs(m pcommon.Map, event, id, s string, n int64, f float64, raw []byte, depth uint8, big uint16) {
	m.PutStr("event", event)
	m.PutStr("id", id)
	m.PutStr("s", s)
	m.PutInt("n", n)
	m.PutDouble("f", f)
	m.PutEmptyBytes("raw").FromRaw(raw)
	if len(s) > 0 {
		m.PutStr("big", strings.Repeat(s, min(int(big), (11<<20)/len(s))))
	}
	nested := m.PutEmptyMap("m")
	for range int(depth) {
		nested.PutDouble("f", f)
		nested = nested.PutEmptyMap("deeper")
	}
	sl := m.PutEmptySlice("sl")
	sl.AppendEmpty().SetDouble(f)
	sl.AppendEmpty().SetStr(s)
}

func goodRecordAttrs(m pcommon.Map, id string) {
	m.PutStr("event", "good")
	m.PutStr("id", id)
}

// FuzzComponent pushes spans and logs made from fuzz input, between good
// neighbours, through the component to the capture stand-in: the push never
// fails, the stand-in refuses no request, both neighbours arrive, and every
// matched record is either accepted by the stand-in or counted as dropped.
func FuzzComponent(f *testing.F) {
	f.Add("op", "evt", "user", "s", int64(1), 1.5, []byte{1}, int64(1), int64(2), uint8(2), uint16(0))
	f.Add("\xff\xfe", "\xc3(", "\xff", "k\x00\"\u2028", int64(-1), math.NaN(), []byte{}, int64(0), int64(0), uint8(0), uint16(0))
	f.Add("", "", "", "", int64(math.MinInt64), math.Inf(1), []byte(nil), int64(math.MaxInt64), int64(-1), uint8(255), uint16(0))
	f.Add("n", strings.Repeat("e", 10<<10), strings.Repeat("u", 10<<10), "x", int64(0), math.Inf(-1), []byte{0xff}, int64(0), int64(math.MinInt64), uint8(70), uint16(1))
	f.Add("n", "e", "u", strings.Repeat("x", 1024), int64(0), math.Copysign(0, -1), []byte{0}, int64(1), int64(1), uint8(1), uint16(10<<10))
	f.Add("n", "e", "u", "\xff", int64(0), 1e308, []byte{0}, int64(1), int64(1), uint8(1), uint16(10<<10))

	f.Fuzz(func(t *testing.T, name, event, id, s string, n int64, fl float64, raw []byte, start, end int64, depth uint8, big uint16) {
		h := newHarness(t, func(c *Config) {
			c.Mapping.Defaults.DistinctID = nil
			c.Mapping.Spans = []mapping.Rule{{
				Name:            "fz_span",
				EventExpression: `span.attributes["event"]`,
				DistinctID:      []string{`span.attributes["id"]`, `span.name`},
				Attributes:      []string{"s", "n", "f", "raw", "m", "sl", "big"},
				Properties: map[string]string{
					"all":         "span.attributes",
					"name":        "span.name",
					"duration_ms": "Milliseconds(span.end_time - span.start_time)",
				},
			}}
			c.Mapping.Logs = []mapping.Rule{{
				Name:            "fz_log",
				EventExpression: `log.attributes["event"]`,
				DistinctID:      []string{`log.attributes["id"]`, `log.body`},
				Attributes:      []string{"s", "n", "f", "raw", "m", "sl", "big"},
				Properties:      map[string]string{"all": "log.attributes", "body": "log.body"},
			}}
		})

		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		goodRecordAttrs(spans.AppendEmpty().Attributes(), "good-0")
		span := spans.AppendEmpty()
		span.SetName(name)
		span.SetStartTimestamp(pcommon.Timestamp(start))
		span.SetEndTimestamp(pcommon.Timestamp(end))
		fuzzRecordAttrs(span.Attributes(), event, id, s, n, fl, raw, depth, big)
		goodRecordAttrs(spans.AppendEmpty().Attributes(), "good-2")

		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		goodRecordAttrs(records.AppendEmpty().Attributes(), "good-0")
		lr := records.AppendEmpty()
		lr.Body().SetStr(name)
		lr.SetTimestamp(pcommon.Timestamp(start))
		fuzzRecordAttrs(lr.Attributes(), event, id, s, n, fl, raw, depth, big)
		goodRecordAttrs(records.AppendEmpty().Attributes(), "good-2")

		require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))
		require.NoError(t, h.logs.ConsumeLogs(context.Background(), ld))

		for i, r := range h.capture.Requests() {
			require.Equal(t, 200, r.Status, "request %d: %s", i, r.Response)
		}
		events := h.capture.Events()
		good := 0
		for _, ev := range events {
			if ev.Name == "good" && strings.HasPrefix(ev.DistinctID, "good-") {
				good++
			}
		}
		// The fuzzed record may itself look like a good one.
		require.GreaterOrEqual(t, good, 4, "every neighbour arrives")

		var matched, sent, dropped int64
		for _, v := range int64Points(t, h.tel, "otelcol_exporter_posthog_records_matched") {
			matched += v
		}
		for _, v := range int64Points(t, h.tel, "otelcol_exporter_posthog_events_sent") {
			sent += v
		}
		for k, v := range int64Points(t, h.tel, "otelcol_exporter_posthog_events_dropped") {
			assert.Regexp(t, `^exporter=posthog,reason=(missing_distinct_id|missing_event_name|event_name_too_long|distinct_id_too_long|event_too_large),`, k)
			dropped += v
		}
		assert.Equal(t, int64(6), matched, "every record matches")
		assert.Equal(t, int64(len(events)), sent)
		assert.Equal(t, matched, sent+dropped, "accepted + dropped == events")
	})
}
