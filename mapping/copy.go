package mapping

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// CopySpan copies one span, with its events, resource and scope, into
// pdata of its own: what outlives the push it came in (the trace context
// stage's held spans, the explainer's outcomes) must not point into it.
func CopySpan(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	r := td.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(r.Resource())
	r.SetSchemaUrl(rs.SchemaUrl())
	sc := r.ScopeSpans().AppendEmpty()
	ss.Scope().CopyTo(sc.Scope())
	sc.SetSchemaUrl(ss.SchemaUrl())
	span.CopyTo(sc.Spans().AppendEmpty())
	return td
}

// CopyLog is CopySpan for a log record.
func CopyLog(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) plog.Logs {
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty()
	rl.Resource().CopyTo(r.Resource())
	r.SetSchemaUrl(rl.SchemaUrl())
	sc := r.ScopeLogs().AppendEmpty()
	sl.Scope().CopyTo(sc.Scope())
	sc.SetSchemaUrl(sl.SchemaUrl())
	lr.CopyTo(sc.LogRecords().AppendEmpty())
	return ld
}
