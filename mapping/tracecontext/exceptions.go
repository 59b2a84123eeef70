package tracecontext

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Instrumentations record one thrown error on several spans of a request,
// only some of them with status ERROR: Express's handler span has it, the
// router's layer span does not. The copies are one $exception (one uuid),
// so every copy must give the same event: the exception is unhandled if any
// span that recorded it says so. The stage sees every copy of its trace's
// held spans; it marks them all escaped before they are mapped.

const (
	exceptionEvent  = "exception"
	attrEscaped     = "exception.escaped"
	attrExcType     = "exception.type"
	attrExcMessage  = "exception.message"
	attrExcStack    = "exception.stacktrace"
	exceptionKeySep = "\x00"
)

// markUnhandled sets exception.escaped on every copy of an exception that
// escaped on one of held's spans: recorded as escaped, or on a span that
// ended with status ERROR.
func markUnhandled(held []*held) {
	var escaped map[string]bool
	for _, h := range held {
		span := h.span()
		for _, se := range span.Events().All() {
			if se.Name() == exceptionEvent && (span.Status().Code() == ptrace.StatusCodeError || isEscaped(se)) {
				if escaped == nil {
					escaped = map[string]bool{}
				}
				escaped[exceptionKey(se)] = true
			}
		}
	}
	if len(escaped) == 0 {
		return
	}
	for _, h := range held {
		for _, se := range h.span().Events().All() {
			if se.Name() == exceptionEvent && escaped[exceptionKey(se)] {
				se.Attributes().PutBool(attrEscaped, true)
			}
		}
	}
}

func isEscaped(se ptrace.SpanEvent) bool {
	v, ok := se.Attributes().Get(attrEscaped)
	return ok && strings.EqualFold(v.AsString(), "true")
}

// exceptionKey identifies an exception across the spans that recorded it.
func exceptionKey(se ptrace.SpanEvent) string {
	a := se.Attributes()
	get := func(k string) string {
		if v, ok := a.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	return get(attrExcType) + exceptionKeySep + get(attrExcMessage) + exceptionKeySep + get(attrExcStack)
}
