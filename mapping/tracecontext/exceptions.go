package tracecontext

import "github.com/posthogexporter/posthogexporter/mapping"

// Instrumentations record one thrown error on several spans of a request,
// only some of them with status ERROR: Express's handler span has it, the
// router's layer span does not. The copies are one $exception (one uuid),
// so every copy must give the same event: the exception is unhandled if any
// span that recorded it says so. The stage sees every copy of its trace's
// held spans; it marks them all escaped before they are mapped.

// markUnhandled marks escaped every copy of an exception that escaped on
// one of held's spans (mapping.SpanExceptionEscaped).
func markUnhandled(held []*held) {
	var escaped map[string]bool
	for _, h := range held {
		span := h.span()
		for _, se := range span.Events().All() {
			if mapping.IsExceptionEvent(se) && mapping.SpanExceptionEscaped(span, se) {
				if escaped == nil {
					escaped = map[string]bool{}
				}
				escaped[mapping.ExceptionKey(se)] = true
			}
		}
	}
	if len(escaped) == 0 {
		return
	}
	for _, h := range held {
		for _, se := range h.span().Events().All() {
			if mapping.IsExceptionEvent(se) && escaped[mapping.ExceptionKey(se)] {
				mapping.MarkExceptionEscaped(se)
			}
		}
	}
}
