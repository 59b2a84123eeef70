package mapping

import (
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping/internal/featureflag"
	"github.com/posthogexporter/posthogexporter/mapping/internal/stacktrace"
)

// Events the mapper builds properties for itself, because PostHog's products
// read them in shapes no rule could write: Error Tracking needs a parsed
// $exception_list, experiments need $feature_flag_called with the flag's
// response. A rule only names the event; its own properties still apply,
// and win over the built ones of the same key.
const (
	ExceptionEvent  = "$exception"
	FlagCalledEvent = "$feature_flag_called"
)

// PostHog's property keys for the built events.
const (
	ExceptionListKey        = "$exception_list"
	ExceptionFingerprintKey = "$exception_fingerprint"
	ExceptionLevelKey       = "$exception_level"
	ResponseStatusCodeKey   = "$response_status_code"
	FeatureFlagKey          = "$feature_flag"
	FeatureFlagResponseKey  = "$feature_flag_response"
	FeatureFlagReasonKey    = "$feature_flag_reason"
	FeatureFlagVersionKey   = "$feature_flag_version"
	ActiveFeatureFlagsKey   = "$active_feature_flags"
)

// OpenTelemetry's exception attributes, on a span event named "exception"
// or on a log record.
const (
	attrExceptionType    = "exception.type"
	attrExceptionMessage = "exception.message"
	attrExceptionStack   = "exception.stacktrace"
	attrExceptionEscaped = "exception.escaped"
)

// Drop reasons of the built events.
const (
	// DropDuplicateException: the same exception (type, message and stack)
	// of the same trace was already mapped in this call, recorded on another
	// span; it has the same uuid, and PostHog would keep one anyway.
	DropDuplicateException DropReason = "duplicate_exception"
	// DropMissingFlagKey: a $feature_flag_called rule matched a record with
	// no feature_flag.key.
	DropMissingFlagKey DropReason = "missing_feature_flag_key"
	// DropFlagProvider: the evaluation's provider is not one of
	// feature_flags.providers.
	DropFlagProvider DropReason = "feature_flag_provider"
	// DropFlagRepeat: the exporter already sent this (distinct_id, flag,
	// response) within feature_flags.dedupe_window. The mapper never
	// returns it (it keeps no state); the exporter counts it.
	DropFlagRepeat DropReason = "feature_flag_repeat"
)

// FlagExposure is what a $feature_flag_called event exposes: the exporter
// sends one per (distinct_id, Key, Response) and window.
type FlagExposure struct {
	Key      string
	Response any
}

// flagEvaluation reads the flag evaluation of a $feature_flag_called
// record, or says why it gives no event.
func (r *rule[K]) flagEvaluation(rec *record) (featureflag.Evaluation, DropReason) {
	e, ok := featureflag.Read(rec.attributes)
	if !ok {
		return e, DropMissingFlagKey
	}
	if len(r.providers) > 0 && !r.providers[e.Provider] {
		return e, DropFlagProvider
	}
	return e, ""
}

// flagProperties are the built properties of a $feature_flag_called event.
func flagProperties(e *featureflag.Evaluation, out []Property) []Property {
	out = append(out, Property{Key: FeatureFlagKey, Value: e.Key})
	if e.Response != nil {
		out = append(out,
			Property{Key: FeatureFlagResponseKey, Value: e.Response},
			Property{Key: featureflag.FeatureProperty(e.Key), Value: e.Response})
	}
	if e.Reason != "" {
		out = append(out, Property{Key: FeatureFlagReasonKey, Value: e.Reason})
	}
	if e.Version != "" {
		out = append(out, Property{Key: FeatureFlagVersionKey, Value: e.Version})
	}
	return out
}

// activeFlags adds $active_feature_flags, the keys of the $feature/<key>
// properties among out whose response is active, as PostHog's SDKs send
// it with the flags a user saw.
func activeFlags(out []Property) []Property {
	var active []string
	for _, p := range out {
		if key, ok := strings.CutPrefix(p.Key, featureflag.FeaturePrefix); ok && featureflag.Active(p.Value) {
			active = append(active, key)
		}
	}
	if len(active) == 0 {
		return out
	}
	slices.Sort(active)
	return append(out, Property{Key: ActiveFeatureFlagsKey, Value: active})
}

// spanFlags adds, for an event built from a span or one of its events, the
// response of every flag evaluated on that span as $feature/<key>, as
// PostHog's SDKs attach the flags a user saw to the user's events. Later
// evaluations of a key win. A span that waited for its trace (trace_context)
// also carries the flags evaluated on the other spans of its trace, in
// TraceFlagsAttribute; those of the span itself win over them.
func (r *rule[K]) spanFlags(rec *record, out []Property) []Property {
	if rec.isLog {
		return out
	}
	put := func(key string, resp any, override bool) {
		if i := slices.IndexFunc(out, func(p Property) bool { return p.Key == key }); i >= 0 {
			if override {
				out[i].Value = resp
			}
			return
		}
		out = append(out, Property{Key: key, Value: resp})
	}
	// The trace's flags first, never over a built one (a
	// $feature_flag_called's own response): the span's own win below.
	traceFlags(rec.span.Attributes(), func(key string, resp any, provider string) {
		if len(r.providers) == 0 || r.providers[provider] {
			put(featureflag.FeatureProperty(key), resp, false)
		}
	})
	for _, se := range rec.span.Events().All() {
		if se.Name() != featureflag.EventName {
			continue
		}
		e, ok := featureflag.Read(se.Attributes())
		if !ok || e.Response == nil || (len(r.providers) > 0 && !r.providers[e.Provider]) {
			continue
		}
		put(featureflag.FeatureProperty(e.Key), e.Response, true)
	}
	return out
}

// exception holds an $exception's OpenTelemetry attributes.
type exception struct {
	typ, message, stack string
	// escaped: the exception left the code that recorded it (handled:
	// false): exception.escaped, or the span that recorded it ended with
	// status ERROR (the error ended the request).
	escaped bool
	// level is $exception_level: the log record's severity, "error" for a
	// span's exception.
	level string
	// status is the request's response status code, 0 when unknown.
	status int64
}

// SpanExceptionEscaped reports whether an exception recorded as a span
// event left the code that recorded it (handled: false): exception.escaped
// is true, or the span ended with status ERROR (the error ended it).
func SpanExceptionEscaped(span ptrace.Span, se ptrace.SpanEvent) bool {
	return escapedAttribute(se.Attributes()) || span.Status().Code() == ptrace.StatusCodeError
}

// MarkExceptionEscaped records on an exception event that it escaped: the
// trace context stage makes every copy of one exception agree.
func MarkExceptionEscaped(se ptrace.SpanEvent) {
	se.Attributes().PutBool(attrExceptionEscaped, true)
}

// ExceptionKey identifies an exception across the span events that
// recorded it: its type, message and stack, as its uuid does.
func ExceptionKey(se ptrace.SpanEvent) string {
	a := se.Attributes()
	get := func(k string) string {
		if v, ok := a.Get(k); ok {
			s, _ := valueString(v)
			return s
		}
		return ""
	}
	return get(attrExceptionType) + "\x00" + get(attrExceptionMessage) + "\x00" + get(attrExceptionStack)
}

// IsExceptionEvent reports whether a span event records an exception.
func IsExceptionEvent(se ptrace.SpanEvent) bool { return se.Name() == exceptionEventName }

// exceptionEventName is the name OpenTelemetry gives a recorded exception.
const exceptionEventName = "exception"

// escapedAttribute reads exception.escaped: true as a boolean or a string.
func escapedAttribute(attrs pcommon.Map) bool {
	v, ok := attrs.Get(attrExceptionEscaped)
	return ok && (v.Type() == pcommon.ValueTypeBool && v.Bool() || v.Type() == pcommon.ValueTypeStr && strings.EqualFold(v.Str(), "true"))
}

// readException reads the exception.* attributes of the record. A log
// record without exception.message gives its body as the message: an error
// log is the exception's own description.
func readException(rec *record) exception {
	var x exception
	str := func(k string) string {
		if v, ok := rec.attributes.Get(k); ok {
			s, _ := valueString(v)
			return s
		}
		return ""
	}
	x.typ, x.message, x.stack = str(attrExceptionType), str(attrExceptionMessage), str(attrExceptionStack)
	x.escaped = escapedAttribute(rec.attributes)
	if rec.isSpanEvent {
		x.escaped = SpanExceptionEscaped(rec.span, rec.spanEvent)
	}
	if x.message == "" && rec.isLog {
		x.message, _ = valueString(rec.lr.Body())
	}
	x.level = "error"
	if rec.isLog {
		x.level = severityLevel(rec.lr.SeverityNumber())
	}
	x.status = responseStatus(rec)
	return x
}

// severityLevel is PostHog's $exception_level for a log record's severity:
// posthog-python's levels (fatal, error, warning, info, debug); error when
// the record has no severity.
func severityLevel(n plog.SeverityNumber) string {
	switch {
	case n >= plog.SeverityNumberFatal:
		return "fatal"
	case n >= plog.SeverityNumberError || n == plog.SeverityNumberUnspecified:
		return "error"
	case n >= plog.SeverityNumberWarn:
		return "warning"
	case n >= plog.SeverityNumberInfo:
		return "info"
	}
	return "debug"
}

// responseStatus is the status code of the request the exception happened
// in, as posthog-node sends it: its SERVER span's, or (trace_context) the
// trace's request's.
func responseStatus(rec *record) int64 {
	s := rec.request(requestStatusCode)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// exceptionProperties are the built properties of an $exception event:
// $exception_list from the stack, and $exception_fingerprint when there is a
// stack but it gave no frames to group by. Without any stack PostHog groups
// by type and message, as for its SDKs' exceptions without one: a
// fingerprint of the type alone would make one issue of every such error.
func exceptionProperties(x *exception, out []Property) []Property {
	items := stacktrace.BuildExceptionList(x.typ, x.message, x.stack, x.escaped)
	out = append(out, Property{Key: ExceptionListKey, Value: stacktrace.WireList(items)},
		Property{Key: ExceptionLevelKey, Value: x.level})
	if x.status != 0 {
		out = append(out, Property{Key: ResponseStatusCodeKey, Value: x.status})
	}
	if strings.TrimSpace(x.stack) == "" {
		return out
	}
	for _, it := range items {
		if it.Stacktrace != nil && len(it.Stacktrace.Frames) > 0 {
			return out
		}
	}
	return append(out, Property{Key: ExceptionFingerprintKey, Value: stacktrace.Fingerprint(x.typ, x.stack)})
}

// exceptionUUID: within a trace, the uuid of an $exception comes from the
// trace and the exception, not from the span or the rule, so that one
// exception recorded on several spans is one event, in this batch and in
// any other.
func exceptionUUID(rec *record, x *exception) ([16]byte, bool) {
	if rec.traceID.IsEmpty() {
		return [16]byte{}, false
	}
	var id [16]byte
	exceptionIdentity(rec.traceID, x.typ, x.message, x.stack, &id)
	return eventUUID(exceptionSeed, id), true
}

// addBuilt merges built properties into the event's, which are the last
// ones in arena: a key the rule already set keeps the rule's value. The
// result stays sorted by key.
func addBuilt(ev *Event, arena *[]Property, built []Property) {
	if len(built) == 0 {
		return
	}
	start := len(*arena) - len(ev.Properties)
	n := len(ev.Properties)
	for _, p := range built {
		if hasProperty((*arena)[start:start+n], p.Key) {
			continue
		}
		*arena = append(*arena, p)
	}
	props := (*arena)[start:len(*arena):len(*arena)]
	slices.SortFunc(props, func(a, b Property) int { return strings.Compare(a.Key, b.Key) })
	ev.Properties = props
}
