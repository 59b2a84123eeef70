package tracecontext

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// A held span or log record is kept encoded while it waits; decoded, it is
// the record with its resource and scope, whole.
func TestHeldRecordsComeBackWhole(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("http")
	span := ss.Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{1})
	span.SetSpanID(pcommon.SpanID{2})
	span.SetName("POST /checkout")
	span.Attributes().PutStr("enduser.id", "alice")
	span.Attributes().PutEmptySlice("http.request.header.x-posthog-session-id").AppendEmpty().SetStr("s")
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.message", "boom")

	h := newHeld(rs, ss, span)
	assert.NotNil(t, h.kept.pb, "kept encoded while it waits")
	assert.Equal(t, mapping.CopySpan(rs, ss, span), h.traces())
	assert.Nil(t, h.kept.pb, "decoded once")
	assert.Equal(t, "alice", h.span().Attributes().AsRaw()["enduser.id"])

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.SetSpanID(pcommon.SpanID{2})
	lr.Body().SetStr("rate limited")
	hl := newHeldLog(rl, sl, lr)
	assert.NotNil(t, hl.kept.pb)
	assert.Equal(t, mapping.CopyLog(rl, sl, lr), hl.logs())
	assert.Equal(t, "rate limited", hl.record().Body().AsString())
}
