package exporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/internal/metadata"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// evaluation is one span recording one OpenFeature evaluation of "new-ui"
// for user u.
func evaluation(u string) ptrace.Traces {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("GET /")
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{1})
	e := s.Events().AppendEmpty()
	e.SetName("feature_flag.evaluation")
	e.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000))
	e.Attributes().PutStr("feature_flag.key", "new-ui")
	e.Attributes().PutStr("feature_flag.result.variant", "a")
	e.Attributes().PutStr("feature_flag.context.id", u)
	return td
}

// TestExposureWindowExpires: the exporter lets one $feature_flag_called per
// exposure through in dedupe_window, on its clock: a repeat within the
// window is dropped, the same exposure after it is sent again.
func TestExposureWindowExpires(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Mapping.FeatureFlags.DedupeWindow = time.Minute
	cfg.Mapping.SpanEvents = []mapping.Rule{{
		Name:       "flags",
		Event:      mapping.FlagCalledEvent,
		Conditions: []string{`spanevent.name == "feature_flag.evaluation"`},
	}}
	e, err := newPostHogExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	e.exposures = newExposures(&cfg.Mapping, func() time.Time { return now })

	sent := func() int {
		req, err := e.convertTraces(context.Background(), evaluation("u1"))
		require.NoError(t, err)
		return req.ItemsCount()
	}
	assert.Equal(t, 1, sent(), "the first exposure")
	now = now.Add(59 * time.Second)
	assert.Equal(t, 0, sent(), "a repeat within the window")
	now = now.Add(time.Minute)
	assert.Equal(t, 1, sent(), "the window has ended")
}
