package mapping

import (
	"errors"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
)

// Config is the part of the exporter's configuration that says which spans,
// span events and log records become PostHog events, and how.
type Config struct {
	// ErrorMode says what an OTTL evaluation error does: ignore (log, rate
	// limited, and treat the record as not matching the rule), silent (the
	// same without the log) or propagate (fail the whole push).
	ErrorMode ottl.ErrorMode `mapstructure:"error_mode"`

	// GeoIP lets PostHog locate events by the address they were sent from.
	// False (the default) sends "$geoip_disable": true on every event without
	// an $ip property, as PostHog's server SDKs do: the sender is the
	// collector, and its data centre is not where the user is.
	GeoIP bool `mapstructure:"geoip"`

	// Defaults apply to every rule that does not set its own.
	Defaults Defaults `mapstructure:"defaults"`

	Spans []Rule `mapstructure:"spans"`
	Logs  []Rule `mapstructure:"logs"`
	// SpanEvents are rules on the events recorded on spans (exceptions,
	// feature flag evaluations, ...), in OTTL's span event context.
	SpanEvents []Rule `mapstructure:"span_events"`

	// FeatureFlags tunes the $feature_flag_called events rules build.
	FeatureFlags FeatureFlags `mapstructure:"feature_flags"`
}

// FeatureFlags says which flag evaluations become $feature_flag_called
// events, and how often.
type FeatureFlags struct {
	// DedupeWindow: an exposure of the same (distinct_id, flag, response)
	// is sent once per window, as PostHog's SDKs send it once per process.
	// Repeats are counted as dropped (feature_flag_repeat), not sent. 0 sends
	// every evaluation.
	DedupeWindow time.Duration `mapstructure:"dedupe_window"`
	// MaxEntries bounds the exposures remembered for DedupeWindow; when
	// full, the oldest is forgotten (and a repeat of it sent again).
	MaxEntries int `mapstructure:"max_entries"`
	// Providers, when set, keeps only evaluations whose
	// feature_flag.provider.name is one of these; the others are counted as
	// dropped (feature_flag_provider).
	Providers []string `mapstructure:"providers"`
}

// Defaults of the feature_flags block.
const (
	DefaultFlagDedupeWindow = time.Hour
	// DefaultFlagMaxEntries is posthog-go's cache of reported flags; a full
	// set holds about 21 MB (exporter/internal/exposure).
	DefaultFlagMaxEntries = 300_000
)

// Defaults are shared by every rule: distinct_id is replaced by a rule's own
// chain, properties and groups are overridden key by key.
type Defaults struct {
	DistinctID     []string          `mapstructure:"distinct_id"`
	PersonProfiles *bool             `mapstructure:"person_profiles"`
	Properties     map[string]string `mapstructure:"properties"`
	Groups         map[string]string `mapstructure:"groups"`
}

// Rule picks records with OTTL conditions and says how to build an event from them.
type Rule struct {
	// Name is optional and unique; it names the rule in errors and metrics.
	Name string `mapstructure:"name"`

	// Event is a literal event name; EventExpression an OTTL value expression.
	// Exactly one of the two is set.
	Event           string `mapstructure:"event"`
	EventExpression string `mapstructure:"event_expression"`

	// Conditions are ORed; none means every record matches.
	Conditions []string `mapstructure:"conditions"`

	// DistinctID is a fallback chain: the first expression that yields a
	// non-empty value wins. Without one here or under defaults, the built-in
	// chain reads posthog.distinct_id, http.request.header.x-posthog-distinct-id,
	// user.id and enduser.id on the record, then on its resource.
	// A $feature_flag_called rule without a chain of its own uses the
	// evaluation's feature_flag.context.id first, whatever the defaults say.
	DistinctID []string `mapstructure:"distinct_id"`

	// Timestamp, for span rules, is "start" or "end" (the default). Log
	// and span event rules use the record's own time.
	Timestamp string `mapstructure:"timestamp"`

	// Attributes and ResourceAttributes are copied as properties under their own keys.
	Attributes         []string `mapstructure:"attributes"`
	ResourceAttributes []string `mapstructure:"resource_attributes"`

	Properties     map[string]string `mapstructure:"properties"`
	PersonProfiles *bool             `mapstructure:"person_profiles"`
	Set            map[string]string `mapstructure:"set"`
	SetOnce        map[string]string `mapstructure:"set_once"`
	Groups         map[string]string `mapstructure:"groups"`

	// GroupSet (group property -> expression), with event: $groupidentify,
	// sets the properties of the rule's single group.
	GroupSet map[string]string `mapstructure:"group_set"`
}

// Timestamp choices for span rules.
const (
	TimestampStart = "start"
	TimestampEnd   = "end"
)

// DefaultErrorMode is ignore: in an exporter one bad record should not cost a
// whole batch of good ones.
const DefaultErrorMode = ottl.IgnoreError

// NewDefaultConfig returns a Config with no rules and the default error mode.
func NewDefaultConfig() Config {
	return Config{
		ErrorMode:    DefaultErrorMode,
		FeatureFlags: FeatureFlags{DedupeWindow: DefaultFlagDedupeWindow, MaxEntries: DefaultFlagMaxEntries},
	}
}

// Check parses every OTTL string of the configuration, so a bad rule fails
// at start-up and in `otelcol validate`. Each error names the rule and field.
// The exporter's Config.Validate calls it. It is not named Validate because
// the collector would then call it too, and name the error's path after this
// squashed struct ("posthog::mapping: ..."), a key no user wrote.
func (c *Config) Check() error {
	_, err := compile(c, nopTelemetry())
	return err
}

// HasRules reports whether any rule is configured: without rules the exporter sends nothing.
func (c *Config) HasRules() bool {
	return len(c.Spans)+len(c.Logs)+len(c.SpanEvents) > 0
}

var errNoEvent = errors.New(`set exactly one of "event" or "event_expression"`)
