package posthogexporter

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// Bad input, end to end through the component: one poisoned record among
// good neighbours either arrives as a valid event or is dropped alone, with
// a counted reason; never a panic, never a lost neighbour, never a request
// PostHog refuses.

// badRecord is what a case may poison: the record's attributes (the rule
// takes the event name from "event", the distinct_id from "user" and copies
// "payload") and its time.
type badRecord struct {
	attrs   pcommon.Map
	setTime func(pcommon.Timestamp)
}

type badCase struct {
	name string
	// extraAttrs are copied attributes and props property expressions, with
	// "$sig" standing for the signal's context ("span" or "log").
	extraAttrs []string
	props      map[string]string
	poison     func(r badRecord)
	// drop is the reason the poisoned event is dropped for; "" means it must arrive.
	drop string
	// check looks at the poisoned event when it arrives.
	check func(t *testing.T, ev posthogtest.Event)
	// noID: the poison leaves no distinct_id. A span of a trace then takes
	// its trace's own (personless); a log record without a trace is dropped.
	noID bool
}

const (
	tenMB          = 10 << 20
	badNeighbours  = 5 // records per push; the one at badIndex is poisoned
	badIndex       = 2
	goodEventName  = "good"
	goodPayload    = "fine"
	hundredKAttrs  = 100_000
	hundredKPrefix = "attr-"
)

// nested returns a map value nested depth levels deep under key "d".
func putNestedMap(m pcommon.Map, key string, depth int) {
	cur := m.PutEmptyMap(key)
	for range depth - 1 {
		cur = cur.PutEmptyMap("d")
	}
	cur.PutStr("leaf", "x")
}

func putNestedSlice(m pcommon.Map, key string, depth int) {
	cur := m.PutEmptySlice(key)
	for range depth - 1 {
		cur = cur.AppendEmpty().SetEmptySlice()
	}
	cur.AppendEmpty().SetStr("leaf")
}

// depthOf counts the JSON containers nested in v along its first path.
func depthOf(v any) int {
	switch x := v.(type) {
	case map[string]any:
		if d, ok := x["d"]; ok {
			return 1 + depthOf(d)
		}
		return 1
	case []any:
		if len(x) > 0 {
			return 1 + depthOf(x[0])
		}
		return 1
	default:
		return 0
	}
}

// putManyAttrs adds n attributes attr-000000... without PutStr's linear
// duplicate check, which would make 100k attributes quadratic.
func putManyAttrs(m pcommon.Map, n int) {
	raw := m.AsRaw()
	for i := range n {
		raw[fmt.Sprintf("%s%06d", hundredKPrefix, i)] = "v"
	}
	_ = m.FromRaw(raw)
}

func badCases() []badCase {
	return []badCase{
		{
			name:   "10MB value copied",
			poison: func(r badRecord) { r.attrs.PutStr("payload", strings.Repeat("x", tenMB)) },
			drop:   "event_too_large",
		},
		{
			name:   "10MB invalid UTF-8 value copied",
			poison: func(r badRecord) { r.attrs.PutStr("payload", strings.Repeat("\xff", tenMB)) },
			drop:   "event_too_large",
		},
		{
			name:   "10MB value not copied",
			poison: func(r badRecord) { r.attrs.PutStr("unused", strings.Repeat("x", tenMB)) },
			check:  func(t *testing.T, ev posthogtest.Event) { assert.Equal(t, goodPayload, ev.Properties["payload"]) },
		},
		{
			name:   "10MB event name",
			poison: func(r badRecord) { r.attrs.PutStr("event", strings.Repeat("e", tenMB)) },
			drop:   "event_name_too_long",
		},
		{
			name:   "10MB distinct_id",
			poison: func(r badRecord) { r.attrs.PutStr("user", strings.Repeat("u", tenMB)) },
			drop:   "distinct_id_too_long",
		},
		{
			name:   "invalid UTF-8 event name",
			poison: func(r badRecord) { r.attrs.PutStr("event", "sign\xffup") },
			check:  func(t *testing.T, ev posthogtest.Event) { assert.Equal(t, "sign\uFFFDup", ev.Name) },
		},
		{
			name:   "invalid UTF-8 distinct_id",
			poison: func(r badRecord) { r.attrs.PutStr("user", "\xff\xfe") },
			check:  func(t *testing.T, ev posthogtest.Event) { assert.Equal(t, "\uFFFD\uFFFD", ev.DistinctID) },
		},
		{
			name:   "invalid UTF-8 value",
			poison: func(r badRecord) { r.attrs.PutStr("payload", "a\xc3(b\x00\u2028") },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, "a\uFFFD(b\x00\u2028", ev.Properties["payload"])
			},
		},
		{
			name:       "invalid UTF-8 keys",
			extraAttrs: []string{"k\xff"},
			props:      map[string]string{"all": "$sig.attributes"},
			poison: func(r badRecord) {
				r.attrs.PutStr("k\xff", "v1")
				r.attrs.PutEmptyMap("nested\xfe").PutStr("\xc3", "v2")
			},
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, "v1", ev.Properties["k\uFFFD"])
				all, ok := ev.Properties["all"].(map[string]any)
				require.True(t, ok, "all: %v", ev.Properties["all"])
				assert.Equal(t, map[string]any{"\uFFFD": "v2"}, all["nested\uFFFD"])
			},
		},
		{
			name:   "map nested 1000 levels",
			poison: func(r badRecord) { putNestedMap(r.attrs, "payload", 1000) },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, mapping.MaxNesting, depthOf(ev.Properties["payload"]), "deeper levels are cut to null")
			},
		},
		{
			name:   "slice nested 1000 levels",
			poison: func(r badRecord) { putNestedSlice(r.attrs, "payload", 1000) },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, mapping.MaxNesting, depthOf(ev.Properties["payload"]))
			},
		},
		{
			name:   "map nested 1000 levels in a whole-map property",
			props:  map[string]string{"all": "$sig.attributes"},
			poison: func(r badRecord) { putNestedMap(r.attrs, "deep", 1000) },
			check: func(t *testing.T, ev posthogtest.Event) {
				all, ok := ev.Properties["all"].(map[string]any)
				require.True(t, ok)
				assert.Equal(t, mapping.MaxNesting-1, depthOf(all["deep"]), "one level is the property itself")
			},
		},
		{
			name: "NaN and infinities as values",
			poison: func(r badRecord) {
				r.attrs.PutDouble("payload", math.NaN())
				s := r.attrs.PutEmptySlice("floats")
				for _, f := range []float64{1.5, math.Inf(1), math.Inf(-1), math.NaN()} {
					s.AppendEmpty().SetDouble(f)
				}
			},
			extraAttrs: []string{"floats"},
			check: func(t *testing.T, ev posthogtest.Event) {
				v, ok := ev.Properties["payload"]
				assert.True(t, ok)
				assert.Nil(t, v, "NaN has no JSON form: null")
				assert.Equal(t, []any{1.5, nil, nil, nil}, ev.Properties["floats"])
			},
		},
		{
			name:   "+Inf value",
			poison: func(r badRecord) { r.attrs.PutDouble("payload", math.Inf(1)) },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Contains(t, string(ev.Raw), `"payload":null`)
			},
		},
		{
			name:   "NaN distinct_id",
			poison: func(r badRecord) { r.attrs.PutDouble("user", math.NaN()) },
			drop:   "missing_distinct_id",
			noID:   true,
		},
		{
			name:   "-Inf event name",
			poison: func(r badRecord) { r.attrs.PutDouble("event", math.Inf(-1)) },
			drop:   "missing_event_name",
		},
		{
			name:   "empty event name",
			poison: func(r badRecord) { r.attrs.PutStr("event", "") },
			drop:   "missing_event_name",
		},
		{
			name:   "empty distinct_id",
			poison: func(r badRecord) { r.attrs.PutStr("user", "") },
			drop:   "missing_distinct_id",
			noID:   true,
		},
		{
			// One of PostHog's illegal ids counts as none.
			name:   "illegal distinct_id",
			poison: func(r badRecord) { r.attrs.PutStr("user", "undefined") },
			drop:   "missing_distinct_id",
			noID:   true,
		},
		{
			// PostHog cuts names to 200 characters, so two long ones could collide.
			name:   "201-character event name",
			poison: func(r badRecord) { r.attrs.PutStr("event", strings.Repeat("n", 201)) },
			drop:   "event_name_too_long",
		},
		{
			name:   "200-character event name",
			poison: func(r badRecord) { r.attrs.PutStr("event", strings.Repeat("é", 200)) },
			check:  func(t *testing.T, ev posthogtest.Event) { assert.Equal(t, strings.Repeat("é", 200), ev.Name) },
		},
		{
			name:   "201-character distinct_id",
			poison: func(r badRecord) { r.attrs.PutStr("user", strings.Repeat("u", 201)) },
			drop:   "distinct_id_too_long",
		},
		{
			name:   "zero timestamp",
			poison: func(r badRecord) { r.setTime(0) },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Empty(t, ev.Timestamp, "left out: PostHog uses its receive time")
			},
		},
		{
			name:   "max int64 nanoseconds",
			poison: func(r badRecord) { r.setTime(pcommon.Timestamp(math.MaxInt64)) },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, "2262-04-11T23:47:16.854775807Z", ev.Timestamp)
			},
		},
		{
			// pdata cannot hold 9999 (it ends in 2262): a producer converting
			// such a time wraps around; whatever it sent must still encode.
			name: "year 9999 wrapped by UnixNano",
			poison: func(r badRecord) {
				r.setTime(pcommon.NewTimestampFromTime(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)))
			},
			check: func(t *testing.T, ev posthogtest.Event) {
				_, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
				assert.NoError(t, err, ev.Timestamp)
			},
		},
		{
			name:   "max uint64 nanoseconds",
			poison: func(r badRecord) { r.setTime(pcommon.Timestamp(math.MaxUint64)) },
			check: func(t *testing.T, ev posthogtest.Event) {
				_, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
				assert.NoError(t, err, ev.Timestamp)
			},
		},
		{
			name:  "year 9999 as a property",
			props: map[string]string{"when": `Time("9999-12-31T23:59:59Z", "%Y-%m-%dT%H:%M:%SZ")`},
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, "9999-12-31T23:59:59Z", ev.Properties["when"])
			},
		},
		{
			name:   "100k attributes copied whole",
			props:  map[string]string{"all": "$sig.attributes"},
			poison: func(r badRecord) { putManyAttrs(r.attrs, hundredKAttrs) },
			drop:   "event_too_large",
		},
		{
			name:       "100k attributes, two copied",
			extraAttrs: []string{hundredKPrefix + "000007", hundredKPrefix + "099999"},
			poison:     func(r badRecord) { putManyAttrs(r.attrs, hundredKAttrs) },
			check: func(t *testing.T, ev posthogtest.Event) {
				assert.Equal(t, "v", ev.Properties[hundredKPrefix+"000007"])
				assert.Equal(t, "v", ev.Properties[hundredKPrefix+"099999"])
				assert.Less(t, len(ev.Raw), 2000)
			},
		},
	}
}

// badInputRule builds events from attributes of the signal sig.
func badInputRule(sig string, c badCase) mapping.Rule {
	r := mapping.Rule{
		Name:            "bad_" + sig,
		EventExpression: sig + `.attributes["event"]`,
		DistinctID:      []string{sig + `.attributes["user"]`},
		Attributes:      append([]string{"payload"}, c.extraAttrs...),
		Properties:      map[string]string{},
	}
	for k, v := range c.props {
		r.Properties[k] = strings.ReplaceAll(v, "$sig", sig)
	}
	return r
}

func goodAttrs(m pcommon.Map, i int) {
	m.PutStr("event", goodEventName)
	m.PutStr("user", fmt.Sprintf("user-%d", i))
	m.PutStr("payload", goodPayload)
}

func badSpans(c badCase) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range badNeighbours {
		s := spans.AppendEmpty()
		s.SetName("op")
		s.SetTraceID(pcommon.TraceID{byte(i + 1), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		s.SetSpanID(pcommon.SpanID{byte(i + 1), 1, 2, 3, 4, 5, 6, 7})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_001, 0)))
		goodAttrs(s.Attributes(), i)
		if i == badIndex && c.poison != nil {
			c.poison(badRecord{attrs: s.Attributes(), setTime: func(ts pcommon.Timestamp) {
				s.SetStartTimestamp(ts)
				s.SetEndTimestamp(ts)
			}})
		}
	}
	return td
}

func badLogs(c badCase) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range badNeighbours {
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, int64(i))))
		goodAttrs(lr.Attributes(), i)
		if i == badIndex && c.poison != nil {
			c.poison(badRecord{attrs: lr.Attributes(), setTime: func(ts pcommon.Timestamp) {
				lr.SetTimestamp(ts)
				lr.SetObservedTimestamp(ts)
			}})
		}
	}
	return ld
}

// int64Points reads a counter of the component as attribute set -> value;
// empty when it has no data.
func int64Points(t *testing.T, tel *componenttest.Telemetry, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := tel.GetMetric(name)
	if err != nil {
		return out // never recorded
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	for _, dp := range sum.DataPoints {
		out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
	}
	return out
}

func TestBadInput(t *testing.T) {
	for _, c := range badCases() {
		for _, sig := range []string{"span", "log"} {
			t.Run(c.name+"/"+sig, func(t *testing.T) {
				h := newHarness(t, func(cfg *Config) {
					cfg.Mapping.Defaults.DistinctID = nil
					cfg.Mapping.Spans = []mapping.Rule{badInputRule("span", c)}
					cfg.Mapping.Logs = []mapping.Rule{badInputRule("log", c)}
				})
				c := c // this signal's outcome
				var err error
				if sig == "span" && c.noID {
					c.drop, c.check = "", func(t *testing.T, ev posthogtest.Event) {
						assert.Len(t, ev.DistinctID, 36, "its trace's own id, a UUID")
						assert.Equal(t, false, ev.Properties["$process_person_profile"])
					}
				}
				if sig == "span" {
					err = h.traces.ConsumeTraces(context.Background(), badSpans(c))
				} else {
					err = h.logs.ConsumeLogs(context.Background(), badLogs(c))
				}
				require.NoError(t, err)
				checkBadInputOutcome(t, h, c, "bad_"+sig)
			})
		}
	}
}

func checkBadInputOutcome(t *testing.T, h *harness, c badCase, rule string) {
	t.Helper()
	for _, r := range h.capture.Requests() {
		assert.Equal(t, 200, r.Status, "every request is valid: %s", r.Response)
	}

	// Every neighbour arrives, once; the poisoned one arrives or is dropped.
	events := h.capture.Events()
	good := map[string]int{}
	var poisoned []posthogtest.Event
	for _, ev := range events {
		id := ev.DistinctID
		if ev.Name == goodEventName && id != fmt.Sprintf("user-%d", badIndex) && strings.HasPrefix(id, "user-") {
			good[id]++
			continue
		}
		poisoned = append(poisoned, ev)
	}
	for i := range badNeighbours {
		if i != badIndex {
			assert.Equal(t, 1, good[fmt.Sprintf("user-%d", i)], "neighbour user-%d", i)
		}
	}

	// A poisoned record must not flood the collector's log either.
	for _, e := range h.logged.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		assert.Less(t, len(line), 4<<10, "log line %.200q…", line)
	}

	// The other signal's rule has its series at 0 from the start.
	sent := nonZero(int64Points(t, h.tel, "otelcol_exporter_posthog_events_sent"))
	dropped := int64Points(t, h.tel, "otelcol_exporter_posthog_events_dropped")
	if c.drop == "" {
		require.Len(t, poisoned, 1, "the poisoned event arrives")
		assert.Empty(t, dropped)
		assert.Equal(t, map[string]int64{"exporter=posthog,rule=" + rule: badNeighbours}, sent)
		if c.check != nil {
			c.check(t, poisoned[0])
		}
		return
	}
	assert.Empty(t, poisoned, "the poisoned event is dropped")
	assert.Equal(t, map[string]int64{"exporter=posthog,reason=" + c.drop + ",rule=" + rule: 1}, dropped, "exactly that event is dropped, for its reason")
	assert.Equal(t, map[string]int64{"exporter=posthog,rule=" + rule: badNeighbours - 1}, sent)
}

func nonZero(points map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range points {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
