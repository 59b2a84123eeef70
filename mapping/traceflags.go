package mapping

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping/internal/featureflag"
)

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
