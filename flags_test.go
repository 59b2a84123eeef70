package posthogexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/posthogexporter/posthogexporter/internal/metadatatest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// flagHarness has one span_events rule for OpenFeature's evaluations, with
// the given feature_flags settings.
func flagHarness(t *testing.T, flags mapping.FeatureFlags) *harness {
	return newHarness(t, func(c *Config) {
		c.Mapping.FeatureFlags = flags
		c.Mapping.SpanEvents = []mapping.Rule{{
			Name:       "flags",
			Event:      mapping.FlagCalledEvent,
			Conditions: []string{`spanevent.name == "feature_flag.evaluation"`},
		}}
	})
}

// evaluations makes one span per (user, variant), each recording an
// evaluation of the flag "new-ui" as OpenFeature's hook does.
func evaluations(pairs ...[2]string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "api")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i, p := range pairs {
		s := spans.AppendEmpty()
		s.SetName("GET /")
		s.SetTraceID(pcommon.TraceID{byte(i + 1), 7})
		s.SetSpanID(pcommon.SpanID{byte(i + 1), 7})
		e := s.Events().AppendEmpty()
		e.SetName("feature_flag.evaluation")
		e.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
		e.Attributes().PutStr("feature_flag.key", "new-ui")
		e.Attributes().PutStr("feature_flag.result.variant", p[1])
		e.Attributes().PutStr("feature_flag.provider.name", "posthog")
		e.Attributes().PutStr("feature_flag.context.id", p[0])
	}
	return td
}

func exposures(h *harness) [][3]any {
	var out [][3]any
	for _, ev := range h.capture.Events() {
		out = append(out, [3]any{ev.DistinctID, ev.Properties["$feature_flag"], ev.Properties["$feature_flag_response"]})
	}
	return out
}

// One $feature_flag_called per (distinct_id, flag, response) in the window,
// across pushes; a new response is a new exposure. Repeats are counted as
// dropped, not sent.
func TestFlagExposuresAreSentOncePerWindow(t *testing.T) {
	h := flagHarness(t, mapping.FeatureFlags{DedupeWindow: time.Hour, MaxEntries: 100})
	ctx := context.Background()
	require.NoError(t, h.traces.ConsumeTraces(ctx, evaluations([2]string{"u1", "a"}, [2]string{"u1", "a"}, [2]string{"u2", "a"})))
	require.NoError(t, h.traces.ConsumeTraces(ctx, evaluations([2]string{"u1", "a"}, [2]string{"u1", "b"})))
	assert.Equal(t, [][3]any{{"u1", "new-ui", "a"}, {"u2", "new-ui", "a"}, {"u1", "new-ui", "b"}}, exposures(h))
	metadatatest.AssertEqualExporterPosthogEventsDropped(t, h.tel,
		[]metricdata.DataPoint[int64]{sumPoint(2, "rule", "flags", "reason", "feature_flag_repeat")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogEventsSent(t, h.tel,
		[]metricdata.DataPoint[int64]{sumPoint(3, "rule", "flags"), sumPoint(0, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)
}

// The set is bounded: past max_entries the oldest exposure is forgotten
// (and sent again when it repeats), never more remembered.
func TestFlagExposuresAreBounded(t *testing.T) {
	h := flagHarness(t, mapping.FeatureFlags{DedupeWindow: time.Hour, MaxEntries: 2})
	ctx := context.Background()
	require.NoError(t, h.traces.ConsumeTraces(ctx, evaluations([2]string{"u1", "a"}, [2]string{"u2", "a"}, [2]string{"u3", "a"})))
	require.NoError(t, h.traces.ConsumeTraces(ctx, evaluations([2]string{"u3", "a"}, [2]string{"u1", "a"})))
	assert.Equal(t, [][3]any{{"u1", "new-ui", "a"}, {"u2", "new-ui", "a"}, {"u3", "new-ui", "a"}, {"u1", "new-ui", "a"}}, exposures(h),
		"u3 is still remembered; u1, the oldest, was forgotten when u3 came")
}

// dedupe_window: 0 sends every evaluation.
func TestFlagDedupeOff(t *testing.T) {
	h := flagHarness(t, mapping.FeatureFlags{})
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), evaluations([2]string{"u1", "a"}, [2]string{"u1", "a"})))
	assert.Len(t, exposures(h), 2)
}

// feature_flags.providers keeps the evaluations of the providers named.
func TestFlagProvidersFilter(t *testing.T) {
	h := flagHarness(t, mapping.FeatureFlags{DedupeWindow: time.Hour, Providers: []string{"flagd"}})
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), evaluations([2]string{"u1", "a"})))
	assert.Empty(t, exposures(h))
	metadatatest.AssertEqualExporterPosthogEventsDropped(t, h.tel,
		[]metricdata.DataPoint[int64]{sumPoint(1, "rule", "flags", "reason", "feature_flag_provider")}, ignoreTime...)
}
