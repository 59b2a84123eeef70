package mapping

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Event is one PostHog event: what one rule built from one span or log record.
//
// Property values are what OTTL returned: string, int64, float64, bool,
// []byte, time.Time, time.Duration, pcommon.Map, pcommon.Slice, pcommon.Value,
// or a slice or map of those. A pcommon.Map or pcommon.Slice may point into the
// pdata the event came from, so encode events (AppendJSON) before that pdata is
// released or changed. A nil value never appears: the mapper leaves the key out.
type Event struct {
	// Rule names the rule that built the event: its name, or "spans[3]" when it has none.
	Rule string

	// UUID is derived from the record and the rule, so a redelivered event
	// carries the same uuid and PostHog deduplicates it.
	UUID [16]byte

	Name       string
	DistinctID string

	// Timestamp is when the event happened. Zero means the record had no time:
	// the encoder leaves "timestamp" out and PostHog uses the time it receives it.
	Timestamp time.Time

	// Properties are the rule's own properties and copied attributes, with
	// unique keys, sorted by key. Keys the exporter owns ($lib, $lib_version,
	// $process_person_profile, $set, $set_once, $groups, $geoip_disable,
	// $group_type, $group_key, $group_set) never appear here: the encoder
	// writes those from the fields below.
	Properties []Property

	// TraceID and SpanID become the $trace_id and $span_id properties (hex),
	// unless empty. The mapper leaves them empty when a rule sets a property
	// of that name itself.
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID

	// SessionID and WindowID become $session_id and $window_id, unless
	// empty. The mapper leaves them empty when a rule sets those keys itself.
	SessionID string
	WindowID  string
	// InvalidSessionID is a session id that is not a UUIDv7: PostHog would
	// make no session of it, so it is sent as the plain property session_id.
	InvalidSessionID string

	// GeoIPDisable sends "$geoip_disable": true, so that PostHog does not
	// locate the event by the collector's address.
	GeoIPDisable bool

	// PersonProfiles false sends "$process_person_profile": false.
	PersonProfiles bool
	// Set and SetOnce become $set and $set_once; only filled when PersonProfiles is true.
	Set     []Property
	SetOnce []Property
	// Groups becomes $groups (group type -> group key); left out when empty.
	Groups []Property

	// GroupIdentify makes a $groupidentify event of the one group in Groups:
	// $group_type and $group_key instead of $groups, and GroupSet as $group_set.
	GroupIdentify bool
	GroupSet      []Property

	// Lib and LibVersion become $lib and $lib_version.
	Lib        string
	LibVersion string

	// Exposure, on a $feature_flag_called event, is the flag and response
	// it exposes the user to: the exporter sends one per distinct_id,
	// flag and response in feature_flags.dedupe_window. Nil otherwise.
	Exposure *FlagExposure

	// exception: the uuid is the trace's exception's (exceptionUUID).
	exception bool
	// anonymous: the distinct_id is the trace's own id (anonymousID), sent
	// personless.
	anonymous bool
	// skipped are the values the rule read but did not use.
	skipped skipBits
	// trace is the record's trace id, whatever $trace_id the rule sends.
	trace pcommon.TraceID
}

// Property is one key and its value in an event's properties.
type Property struct {
	Key   string
	Value any
	// Raw is an attribute copied as it is, used when Value is nil. Copied
	// attributes travel this way because putting them in an interface would
	// cost an allocation each.
	Raw pcommon.Value
}

// Any returns the property's value as OTTL would: Value, or Raw's Go value.
func (p *Property) Any() any {
	if p.Value != nil || p.Raw == (pcommon.Value{}) {
		return p.Value
	}
	return attributeValue(p.Raw)
}
