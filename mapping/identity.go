package mapping

import (
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// PostHog's illegal distinct_ids (BARE_CASE_INSENSITIVE_ILLEGAL_IDS and the
// case-sensitive ones of its ingestion): capture accepts them, but every
// event sent with one is one user, so all anonymous traffic would count as
// a single user in unique users, funnels and retention.
var (
	illegalIDsFold  = []string{"anonymous", "guest", "distinctid", "distinct_id", "id", "not_authenticated", "email", "undefined", "true", "false"}
	illegalIDsExact = []string{"[object Object]", "NaN", "None", "none", "null", "0"}
)

// IllegalDistinctID reports whether PostHog treats id as no identity.
func IllegalDistinctID(id string) bool {
	for _, s := range illegalIDsExact {
		if id == s {
			return true
		}
	}
	for _, s := range illegalIDsFold {
		if strings.EqualFold(id, s) {
			return true
		}
	}
	return false
}

// SkipReason says why a value a rule read was not used.
type SkipReason string

// Values skipped, counted per rule.
const (
	// SkipIllegalDistinctID: a distinct_id expression gave one of PostHog's
	// illegal ids; the chain moved on.
	SkipIllegalDistinctID SkipReason = "illegal_distinct_id"
	// SkipInvalidSessionID: the session id is not a UUIDv7, which alone
	// makes a session in PostHog; it is sent as session_id instead.
	SkipInvalidSessionID SkipReason = "invalid_session_id"
)

// skipBits are the skips of one event, counted into its rule's stats.
type skipBits uint8

const (
	skippedIllegalID skipBits = 1 << iota
	skippedSession
)

// InvalidSessionKey holds a session id that is not a UUIDv7: kept for the
// analyst, but not as $session_id, which would link to no session.
const InvalidSessionKey = "session_id"

// validSessionID reports whether id is a UUIDv7: PostHog's sessions table
// keeps version-7 UUIDs only.
func validSessionID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && len(id) == 36 && u.Version() == 7 && u.Variant() == uuid.RFC4122
}

// anonymousNamespace keeps anonymous ids apart from event uuids.
var anonymousNamespace = uuidSeed("anonymous", "trace")

// AnonymousDistinctID is the identity of an anonymous request: a name-based UUID of
// its trace id, the same for every event of the trace and on every retry
// (so event uuids stay deterministic), and shared with no other request.
// posthog-node gives each anonymous capture a fresh UUIDv7 instead.
func AnonymousDistinctID(trace pcommon.TraceID) string {
	return uuid.UUID(eventUUID(anonymousNamespace, trace)).String()
}
