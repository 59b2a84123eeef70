// Package featureflag reads the feature flag evaluations OpenFeature's
// OpenTelemetry hooks record, for PostHog's $feature_flag_called events.
package featureflag

import "go.opentelemetry.io/collector/pdata/pcommon"

// EventName is the name OpenTelemetry's semantic conventions give a flag
// evaluation recorded as a span event or a log record.
const EventName = "feature_flag.evaluation"

// Attribute names of the semantic conventions, and the older spellings
// hooks still send.
const (
	AttrKey         = "feature_flag.key"
	AttrVariant     = "feature_flag.result.variant"
	AttrVariantOld  = "feature_flag.variant"
	AttrValue       = "feature_flag.result.value"
	AttrProvider    = "feature_flag.provider.name"
	AttrProviderOld = "feature_flag.provider_name"
	AttrContextID   = "feature_flag.context.id"
	AttrReason      = "feature_flag.result.reason"
	AttrVersion     = "feature_flag.version"
)

// Evaluation is what one feature_flag.evaluation says.
type Evaluation struct {
	// Key is the flag's key: $feature_flag.
	Key string
	// Response is $feature_flag_response: a JSON boolean when the value is
	// a boolean (OpenFeature names a boolean flag's variants "on" and
	// "off", which PostHog's experiments would read as variants), else the
	// variant, else the value. PostHog's SDKs send a variant's name or a
	// boolean; a value of another type (number, object) becomes its string
	// form. Nil when the evaluation recorded neither.
	Response any
	// Reason and Version become $feature_flag_reason and
	// $feature_flag_version, as PostHog's SDKs send them; empty when not
	// recorded.
	Reason, Version string
	// Provider is the OpenFeature provider's name, for feature_flags.providers.
	Provider string
	// ContextID is the evaluation context's targeting key: the distinct_id
	// PostHog's SDKs would have used, unless the rule sets one.
	ContextID string
}

// Read reads an evaluation's attributes. ok is false when they name no flag.
func Read(attrs pcommon.Map) (e Evaluation, ok bool) {
	e.Key = str(attrs, AttrKey)
	if e.Key == "" {
		return Evaluation{}, false
	}
	e.Response = response(attrs)
	e.Provider = str(attrs, AttrProvider)
	if e.Provider == "" {
		e.Provider = str(attrs, AttrProviderOld)
	}
	e.ContextID = str(attrs, AttrContextID)
	e.Reason = str(attrs, AttrReason)
	e.Version = str(attrs, AttrVersion)
	return e, true
}

// FeaturePrefix starts the property that carries a flag's response.
const FeaturePrefix = "$feature/"

// FeatureProperty is the property that carries key's response on PostHog
// events: "$feature/<key>".
func FeatureProperty(key string) string {
	return FeaturePrefix + key
}

// Active reports whether a response counts the flag as active, as
// PostHog's SDKs fill $active_feature_flags: any response but false.
func Active(response any) bool {
	switch r := response.(type) {
	case bool:
		return r
	case string:
		return r != "" && r != "false"
	}
	return response != nil
}

func response(attrs pcommon.Map) any {
	if v, ok := attrs.Get(AttrValue); ok && v.Type() == pcommon.ValueTypeBool {
		return v.Bool()
	}
	for _, name := range [...]string{AttrVariant, AttrVariantOld} {
		if v := str(attrs, name); v != "" {
			return v
		}
	}
	v, ok := attrs.Get(AttrValue)
	if !ok {
		return nil
	}
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeEmpty:
		return nil
	default:
		return v.AsString() // strings as they are; numbers, objects and bytes as text
	}
}

// str reads a string attribute; a non-string one is read as its text, as
// hooks in some languages record ids as numbers.
func str(attrs pcommon.Map, name string) string {
	v, ok := attrs.Get(name)
	if !ok || v.Type() == pcommon.ValueTypeEmpty {
		return ""
	}
	return v.AsString()
}
