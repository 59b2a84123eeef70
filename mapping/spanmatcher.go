package mapping

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping/internal/featureflag"
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

// TraceFlagsAttribute is the span attribute the trace context stage gives a
// span that waited for its trace: a map of flag key to
// {"response": ..., "provider": ...}, the latest evaluation of each flag
// recorded on any span of the trace. The mapper adds them as $feature/<key>
// to the span's events, as it does the flags evaluated on the span itself
// (which win). It is a map attribute, not span events: span_events rules
// do not see it, so it makes no extra $feature_flag_called.
const TraceFlagsAttribute = "posthogexporter.trace_flags"

// FlagEvaluation is one feature_flag.evaluation span event, as the trace
// context stage remembers it for the rest of the trace.
type FlagEvaluation struct {
	Key string
	// Response is a string or a bool; nil when the evaluation recorded none.
	Response any
	Provider string
}

// ReadFlagEvaluation reads a span event; ok is false when it is not a flag
// evaluation naming a flag.
func ReadFlagEvaluation(se ptrace.SpanEvent) (FlagEvaluation, bool) {
	if se.Name() != featureflag.EventName {
		return FlagEvaluation{}, false
	}
	e, ok := featureflag.Read(se.Attributes())
	if !ok {
		return FlagEvaluation{}, false
	}
	return FlagEvaluation{Key: e.Key, Response: e.Response, Provider: e.Provider}, true
}

// PutTraceFlags writes flags (by key) into attrs as TraceFlagsAttribute.
func PutTraceFlags(attrs pcommon.Map, flags map[string]FlagEvaluation) {
	if len(flags) == 0 {
		return
	}
	m := attrs.PutEmptyMap(TraceFlagsAttribute)
	m.EnsureCapacity(len(flags))
	for k, f := range flags {
		if f.Response == nil {
			continue
		}
		e := m.PutEmptyMap(k)
		switch r := f.Response.(type) {
		case bool:
			e.PutBool("response", r)
		case string:
			e.PutStr("response", r)
		default:
			continue
		}
		e.PutStr("provider", f.Provider)
	}
}

// traceFlags reads TraceFlagsAttribute.
func traceFlags(attrs pcommon.Map, each func(key string, response any, provider string)) {
	v, ok := attrs.Get(TraceFlagsAttribute)
	if !ok || v.Type() != pcommon.ValueTypeMap {
		return
	}
	for k, e := range v.Map().All() {
		if e.Type() != pcommon.ValueTypeMap {
			continue
		}
		r, ok := e.Map().Get("response")
		if !ok {
			continue
		}
		var resp any
		switch r.Type() {
		case pcommon.ValueTypeBool:
			resp = r.Bool()
		case pcommon.ValueTypeStr:
			resp = r.Str()
		default:
			continue
		}
		provider := ""
		if p, ok := e.Map().Get("provider"); ok {
			provider = p.AsString()
		}
		each(k, resp, provider)
	}
}
