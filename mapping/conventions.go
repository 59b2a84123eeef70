package mapping

import (
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// PostHog's property keys for what its own SDKs attach to server-side events.
const (
	// TraceIDKey and SpanIDKey carry the record's trace context, as
	// posthog-python does and as PostHog's tracing product reads it.
	TraceIDKey = "$trace_id"
	SpanIDKey  = "$span_id"
	// SessionIDKey and WindowIDKey put an event into a posthog-js session
	// and its replay.
	SessionIDKey = "$session_id"
	WindowIDKey  = "$window_id"
	// IPKey, when an event has it, is located by GeoIP instead of the sender.
	IPKey = "$ip"
	// GeoIPDisableKey stops PostHog from locating an event by the address it
	// came from: the collector's, not the user's.
	GeoIPDisableKey = "$geoip_disable"
)

// Attributes the built-in conventions read, on the record first, then (for a
// span event) on its span, then on its resource. Header attributes are how HTTP server instrumentations record
// the headers posthog-js adds to a page's requests (a string array each):
// with the header's name as it is (the semantic conventions, Java, what Go
// middleware writes) or with "_" for "-" (Node's headersToSpanAttributes,
// Python's OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST).
var (
	sessionIDAttributes = []string{
		"http.request.header.x-posthog-session-id", "http.request.header.x_posthog_session_id",
		"posthog.session_id", "session.id",
	}
	windowIDAttributes = []string{
		"http.request.header.x-posthog-window-id", "http.request.header.x_posthog_window_id",
	}
	distinctIDAttributes = []string{
		"posthog.distinct_id",
		"http.request.header.x-posthog-distinct-id", "http.request.header.x_posthog_distinct_id",
		"user.id", "enduser.id",
	}
)

// MaxNameLength is the longest event name or distinct_id, in characters,
// that PostHog keeps whole: it cuts longer ones, so that two long ids can
// collide. The mapper drops such events instead.
const MaxNameLength = 200

// tooLong reports whether s has more than MaxNameLength characters.
func tooLong(s string) bool {
	return len(s) > MaxNameLength && utf8.RuneCountInString(s) > MaxNameLength
}

// Identity events: PostHog drops them when person processing is off.
const groupIdentifyEvent = "$groupidentify"

var personEvents = map[string]bool{
	"$identify":          true,
	"$create_alias":      true,
	"$merge_dangerously": true,
	groupIdentifyEvent:   true,
}

// ownedKeys are the property keys the exporter writes itself, with what to
// set instead. A rule property of one of these names is a config error.
var ownedKeys = map[string]string{
	"$lib":                    "it names the exporter; give your property another key",
	"$lib_version":            "it is the exporter's version; give your property another key",
	"$process_person_profile": "set person_profiles: true or false on the rule or under defaults",
	"$set":                    "use the rule's set (with person_profiles: true)",
	"$set_once":               "use the rule's set_once (with person_profiles: true)",
	"$groups":                 "use groups (group type -> expression for the group key)",
	GeoIPDisableKey:           "set the exporter's geoip: true to let PostHog locate events, or give the event an $ip property",
	"$group_type":             "use event: $groupidentify with one entry under groups and the group's properties under group_set",
	"$group_key":              "use event: $groupidentify with one entry under groups and the group's properties under group_set",
	"$group_set":              "use event: $groupidentify with one entry under groups and the group's properties under group_set",
}

// stringKeys are properties PostHog reads as strings: a rule's expression
// for one is stringified as a distinct_id is (an array gives its first
// element), and left out when empty.
var stringKeys = map[string]bool{SessionIDKey: true, WindowIDKey: true, IPKey: true, "$anon_distinct_id": true}

func ownedKeyErr(field, key string) error {
	return fmt.Errorf("%s[%q]: the exporter writes this key itself; %s", field, key, ownedKeys[key])
}

// firstString returns the first non-empty string among keys on attrs.
func firstString(attrs pcommon.Map, keys []string) string {
	for _, k := range keys {
		if v, ok := attrs.Get(k); ok {
			if s, ok := valueString(v); ok && s != "" {
				return s
			}
		}
	}
	return ""
}
