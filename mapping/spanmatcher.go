package mapping

import (
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SpanMatcher answers, before a span's trace has arrived, whether some span
// rule could match the span once attributes it inherits from its trace are
// added to it. It is what the exporter's trace context stage asks to decide
// which spans must wait for their trace.
type SpanMatcher struct {
	m *Mapper
	// inherited: bits of the inherited keys that some condition requires.
	inherited uint64
}

// SpanMatcher returns the matcher for spans that may inherit the given
// attribute keys.
func (m *Mapper) SpanMatcher(inherited []string) *SpanMatcher {
	sm := &SpanMatcher{m: m}
	for _, k := range inherited {
		sm.inherited |= m.rules.spanAttrs.bits[k] // read only: the index is complete after compile
	}
	return sm
}

// MayMatch reports whether some span rule could match span, with any of the
// inherited keys added to its attributes, or some span_events rule one of
// its events. It answers from what the
// conditions plainly require (see prefilter.go): false means no rule can
// match whatever the span inherits; true means some rule may.
func (sm *SpanMatcher) MayMatch(span ptrace.Span) bool {
	// A span_events rule may read the span's attributes (an $exception's
	// distinct_id): a span with events waits too when there are such
	// rules. Spans with events are few (exceptions, mostly).
	if len(sm.m.rules.spanEvents) > 0 && span.Events().Len() > 0 {
		return true
	}
	rules := sm.m.rules.spans
	if len(rules) == 0 {
		return false
	}
	ix := sm.m.rules.spanAttrs
	rec := record{attributes: span.Attributes(), span: span}
	rec.mask = ix.present(span.Attributes()) | sm.inherited
	rec.hasMask = true
	for _, r := range rules {
		if len(r.conditions) == 0 {
			return true
		}
		for i := range r.filters {
			if r.filters[i].pass(&rec, ix) {
				return true
			}
		}
	}
	return false
}
