package delivery

import "context"

// Reasons for EventsDropped.
const (
	// ReasonEventTooLarge: the encoded event exceeds MaxEventBytes, or PostHog
	// answered 413 to a request holding only that event.
	ReasonEventTooLarge = "event_too_large"
	// ReasonRejected: PostHog answered 400 to a request holding only that
	// event, or a 4xx that no retry can fix.
	ReasonRejected = "rejected_by_posthog"
	// ReasonUnauthorized: PostHog refused the API key (401/403).
	ReasonUnauthorized = "unauthorized"
)

// Outcomes for Request: what becomes of the request's events.
const (
	// OutcomeSuccess: PostHog accepted the request (2xx).
	OutcomeSuccess = "success"
	// OutcomeWillRetry: no answer (network error, timeout), 408, 429 or 5xx,
	// with retry_on_failure on: Send returns a retryable error, and
	// exporterhelper sends the events again after a backoff, until
	// max_elapsed_time.
	OutcomeWillRetry = "will_retry"
	// OutcomeSplit: 413 (too large) or 400 (one event refused) for a request
	// of several events: they are sent again in two halves.
	OutcomeSplit = "split"
	// OutcomeGivenUp: the events are not sent again by this exporter: 401
	// or 403 (the key), another 4xx, a 400 or 413 for a single event, or a
	// retryable failure with retry_on_failure off. Each is counted in
	// EventsDropped or by exporterhelper's send_failed metrics.
	OutcomeGivenUp = "given_up"
)

// StatusNone is the status of a request that got no answer.
const StatusNone = "none"

// Observer learns what delivery did, so the component can turn it into its
// own metrics. Calls come from concurrent Sends: implementations must be safe
// for concurrent use. Counts are per Send call (a push); a push that is
// retried after a retryable error reports its events again, sent or dropped,
// since that is what happened on the wire.
type Observer interface {
	// EventsSent counts events of a rule that PostHog acknowledged.
	EventsSent(ctx context.Context, rule string, n int64)
	// EventsDropped counts events of a rule given up on, for one of the Reason constants.
	EventsDropped(ctx context.Context, rule string, reason string, n int64)
	// Request reports one HTTP request: its Outcome constant, PostHog's
	// status ("503", or StatusNone) and body sizes (compressed equals
	// uncompressed without gzip).
	Request(ctx context.Context, outcome, status string, uncompressedBytes, compressedBytes int64)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) EventsSent(context.Context, string, int64)             {}
func (NopObserver) EventsDropped(context.Context, string, string, int64)  {}
func (NopObserver) Request(context.Context, string, string, int64, int64) {}

// tally adds up events per rule and reason over one Send, so the Observer
// gets one call per rule instead of one per event. A push usually comes from
// a handful of rules: a slice with a linear search beats a map here.
type tally struct {
	rows []tallyRow
	last int
}

type tallyRow struct {
	rule   string
	reason string // "" for sent
	n      int64
}

func (t *tally) add(rule, reason string, n int64) { //nolint:unparam // a tally adds counts; today every caller adds one event
	if t.last < len(t.rows) && t.rows[t.last].rule == rule && t.rows[t.last].reason == reason {
		t.rows[t.last].n += n
		return
	}
	for i := range t.rows {
		if t.rows[i].rule == rule && t.rows[i].reason == reason {
			t.rows[i].n += n
			t.last = i
			return
		}
	}
	t.rows = append(t.rows, tallyRow{rule: rule, reason: reason, n: n})
	t.last = len(t.rows) - 1
}

func (t *tally) report(ctx context.Context, obs Observer) {
	for _, r := range t.rows {
		if r.reason == "" {
			obs.EventsSent(ctx, r.rule, r.n)
		} else {
			obs.EventsDropped(ctx, r.rule, r.reason, r.n)
		}
	}
}

func (t *tally) reset() {
	clear(t.rows) // drop string references
	t.rows = t.rows[:0]
	t.last = 0
}
