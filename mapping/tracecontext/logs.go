package tracecontext

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// Log records join their trace: a request's rate-limit, pool-exhausted or
// handled-error log waits with the request's spans and inherits the listed
// attributes as a child of its span would, and the trace's request. Log
// records without a trace id never wait.

// heldLog is a log record waiting for its trace: a copy of it, with its
// resource and scope, and the span it was recorded in.
type heldLog struct {
	spanID pcommon.SpanID
	kept   encoded[plog.Logs] // kept encoded while it waits (encoded.go)
}

var (
	heldLogMarshaler   plog.ProtoMarshaler
	heldLogUnmarshaler plog.ProtoUnmarshaler
)

// newHeldLog keeps lr, with its resource and scope, to be released later.
func newHeldLog(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) *heldLog {
	return &heldLog{spanID: lr.SpanID(), kept: encode(mapping.CopyLog(rl, sl, lr), heldLogMarshaler.MarshalLogs)}
}

// logs is the held copy, decoded on first use.
func (h *heldLog) logs() plog.Logs {
	return h.kept.get(heldLogUnmarshaler.UnmarshalLogs,
		func(ld plog.Logs) bool { return ld.LogRecordCount() == 1 },
		func() plog.Logs {
			ld := plog.NewLogs()
			ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetSpanID(h.spanID)
			return ld
		})
}

func (h *heldLog) record() plog.LogRecord {
	return h.logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
}

// ProcessLogs holds the log records of ld that have a trace id, when some
// rule maps log records. It returns the records of ld the caller must not
// map now, and the log records that stopped waiting (MaxPending overflowed,
// or their trace is past MaxWait).
func (s *Stage) ProcessLogs(ld plog.Logs) (skip func(plog.LogRecord) bool, ready Batch) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.mapper == nil || !s.mapper.HasLogRules() {
		return nil, Batch{}
	}
	var taken map[plog.LogRecord]struct{}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if lr.TraceID().IsEmpty() {
					continue
				}
				t := s.touch(lr.TraceID(), now)
				if taken == nil {
					taken = map[plog.LogRecord]struct{}{}
				}
				taken[lr] = struct{}{}
				h := newHeldLog(rl, sl, lr)
				if t.capped {
					s.finishLog(t, h, "", t.fallbacksOf(len(s.cfg.Attributes)), &ready)
					continue
				}
				t.heldLogs = append(t.heldLogs, h)
				s.pending++
			}
		}
	}
	s.overflow(&ready)
	s.spillSpans(&ready)
	if taken == nil {
		return nil, ready
	}
	return func(lr plog.LogRecord) bool {
		_, ok := taken[lr]
		return ok
	}, ready
}

// finishLog gives a log record what a child of its span inherits and adds
// it to b.
func (s *Stage) finishLog(t *trace, h *heldLog, o Outcome, fb *fallbacks, b *Batch) {
	attrs := h.record().Attributes()
	inherited := attrs.PutEmptySlice(mapping.InheritedAttribute) // its uuid leaves these out
	for i, k := range s.cfg.Attributes {
		if _, ok := attrs.Get(k); ok {
			continue
		}
		if v, ok := t.resolveFrom(h.spanID, i, fb); ok {
			v.CopyTo(attrs.PutEmpty(k))
			inherited.AppendEmpty().SetStr(k)
		}
	}
	mapping.PutRequest(attrs, t.request(h.spanID, fb))
	b.init()
	if o != "" {
		b.Stopped[o]++
	}
	h.logs().ResourceLogs().MoveAndAppendTo(b.Logs.ResourceLogs())
}

// spillLogs moves the log records of b to the spill, for the next Expire:
// a push of spans returns spans.
func (s *Stage) spillLogs(b *Batch) {
	if b.Len() == 0 || b.Logs.LogRecordCount() == 0 {
		return
	}
	s.spill.init()
	b.Logs.ResourceLogs().MoveAndAppendTo(s.spill.Logs.ResourceLogs())
}

// spillSpans moves the spans of b to the spill: a push of logs returns log
// records.
func (s *Stage) spillSpans(b *Batch) {
	if b.Len() == 0 || b.Inherited.SpanCount()+b.Plain.SpanCount() == 0 {
		return
	}
	s.spill.init()
	b.Inherited.ResourceSpans().MoveAndAppendTo(s.spill.Inherited.ResourceSpans())
	b.Plain.ResourceSpans().MoveAndAppendTo(s.spill.Plain.ResourceSpans())
}
