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
)

// Evaluation is what one feature_flag.evaluation says.
type Evaluation struct {
	// Key is the flag's key: $feature_flag.
	Key string
	// Response is $feature_flag_response: the variant when the evaluation
	// names one, else the value. PostHog's SDKs send a variant's name or a
	// boolean; a value of another type (number, object) becomes its string
	// form. Nil when the evaluation recorded neither.
	Response any
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
	return e, true
}

// FeatureProperty is the property that carries key's response on PostHog
// events: "$feature/<key>".
func FeatureProperty(key string) string {
	return "$feature/" + key
}

func response(attrs pcommon.Map) any {
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
