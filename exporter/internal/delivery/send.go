// Package delivery delivers mapping.Events to PostHog's batch API.
//
// A Sender encodes each event once, packs the events into requests within
// the configured limits, and turns PostHog's answers into what the collector's
// exporterhelper understands: nil when every event was delivered or given up
// on for good (413/400 isolation drops only the offending events), a plain
// error for retryable failures, a throttle error when PostHog asked for a
// delay, and a permanent error when nothing will get through (bad key,
// unexpected 4xx).
//
// Retries are the exporterhelper's job and cover the whole push. Events a
// retried push had already delivered are sent again; that is safe because
// each event's uuid is derived from its source record, and PostHog
// deduplicates events with the same uuid.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// maxDropLogs bounds the dropped events logged one by one per Send; the
// rest are summed up in one line.
const maxDropLogs = 5

// maxBisectRequests bounds the extra requests spent per batch isolating
// events PostHog refuses with 400. One bad event among 1000 costs about 20
// requests, five about 80; when the budget is spent (a 400 for everything,
// say, from a proxy), the remaining refused parts are dropped whole instead of
// costing a request per event.
const maxBisectRequests = 128

// Sender delivers events to PostHog. It is safe for concurrent use.
type Sender struct {
	client *http.Client
	set    Settings
	obs    Observer
	log    *zap.Logger
	url    string
	prefix []byte
	now    func() time.Time // for Retry-After dates; replaced in tests

	states      *freeList[*sendState]
	gzipWriters *freeList[*gzip.Writer] // of the configured level
}

// NewSender returns a Sender posting through client, which carries the
// timeouts, TLS and proxy settings (use one without compression when
// s.Gzip is set). obs may be nil. The settings come from a validated
// configuration and are not checked again.
func NewSender(client *http.Client, s Settings, obs Observer) (*Sender, error) {
	if client == nil {
		return nil, errors.New("posthog: nil http.Client")
	}
	u, err := batchURL(s.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("posthog: %w", err)
	}
	if obs == nil {
		obs = NopObserver{}
	}
	s = s.withDefaults()
	prefix := bodyPrefix(s.APIKey, s.HistoricalMigration)
	// Any event that passes MaxEventBytes must fit a request on its own.
	s.MaxEventBytes = maxEventBytes(s)
	return &Sender{
		client:      client,
		set:         s,
		obs:         obs,
		log:         s.Logger,
		url:         u,
		prefix:      prefix,
		now:         time.Now,
		states:      newFreeList(keptBodies, func() *sendState { return new(sendState) }),
		gzipWriters: newGzipWriters(s.GzipLevel),
	}, nil
}

// sendState is the scratch space of one Send, pooled so that steady traffic
// does not allocate per event.
type sendState struct {
	events []Event
	items  []item
	raw    []byte // uncompressed body when gzip is on
	tally  tally

	bisectBudget    int
	permanentReason string
	logged          int   // drops logged one by one
	unlogged        int64 // drops past maxDropLogs
	unauthorized    bool  // the key problem was logged
}

// Send delivers events and returns nil, a retryable error, a throttle error
// (exporterhelper.NewThrottleRetry) or a permanent error
// (consumererror.NewPermanent). It reads events only during the call.
func (s *Sender) Send(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	st := s.states.get()
	st.events = events
	defer s.putState(st)

	s.collect(st)
	var err error
	for items := st.items; len(items) > 0 && err == nil; {
		n := s.nextBatch(st, items)
		st.bisectBudget = maxBisectRequests
		err = s.sendBatch(ctx, st, items[:n])
		items = items[n:]
	}
	if err != nil && consumererror.IsPermanent(err) {
		// The exporterhelper drops the whole push: count what never got through.
		for i := range st.items {
			if it := &st.items[i]; it.state == pending {
				it.state = dropped
				st.tally.add(st.events[it.ev].Rule, st.permanentReason, 1)
			}
		}
	}
	st.tally.report(ctx, s.obs)
	if st.unlogged > 0 {
		s.log.Warn("More events dropped in this push than logged one by one", zap.Int64("count", st.unlogged))
	}
	return err
}

func (s *Sender) putState(st *sendState) {
	st.events = nil
	st.items = st.items[:0]
	st.tally.reset()
	st.permanentReason = ""
	st.logged, st.unlogged, st.unauthorized = 0, 0, false
	if cap(st.raw) > 64<<20 {
		return // let a freak push's buffers go
	}
	s.states.put(st)
}

// sendBatch posts items as one request and acts on the answer, splitting the
// request when PostHog finds it too large or refuses part of it.
func (s *Sender) sendBatch(ctx context.Context, st *sendState, items []item) error {
	resp, err := s.post(ctx, st, items)
	if err != nil {
		return err
	}
	switch classify(resp.status) {
	case classSuccess:
		for i := range items {
			items[i].state = sent
			st.tally.add(st.events[items[i].ev].Rule, "", 1)
		}
		return nil

	case classRetryable:
		err := fmt.Errorf("posthog: HTTP %d for %d events%s", resp.status, len(items), quoted(resp.message))
		if resp.retryAfter > 0 {
			return exporterhelper.NewThrottleRetry(err, resp.retryAfter)
		}
		return err

	case classUnauthorized:
		if !st.unauthorized {
			st.unauthorized = true
			s.log.Error("PostHog refused the API key: check the exporter's api_key setting "+
				"(it must be a project API key, phc_..., not a personal API key). Events are dropped until it is fixed.",
				zap.Int("status", resp.status), zap.String("endpoint", s.url), zap.String("response", resp.message))
		}
		st.permanentReason = ReasonUnauthorized
		return consumererror.NewPermanent(fmt.Errorf("posthog: HTTP %d: API key refused, check api_key", resp.status))

	case classTooLarge:
		if len(items) == 1 {
			s.drop(st, &items[0], ReasonEventTooLarge, "PostHog refused an event as too large", resp)
			return nil
		}
		return s.split(ctx, st, items)

	case classBadRequest:
		if len(items) == 1 {
			s.drop(st, &items[0], ReasonRejected, "PostHog refused an event", resp)
			return nil
		}
		// PostHog refuses a whole request for one bad event: bisect to find
		// it and deliver the others.
		if st.bisectBudget < 2 {
			for i := range items {
				s.drop(st, &items[i], ReasonRejected, "PostHog refused a request; too many refusals in this push to isolate them", resp)
			}
			return nil
		}
		st.bisectBudget -= 2
		return s.split(ctx, st, items)

	default:
		st.permanentReason = ReasonRejected
		return consumererror.NewPermanent(fmt.Errorf("posthog: HTTP %d for %d events, not retryable%s", resp.status, len(items), quoted(resp.message)))
	}
}

// split delivers items in two halves, stopping at the first error.
func (s *Sender) split(ctx context.Context, st *sendState, items []item) error {
	mid := len(items) / 2
	if err := s.sendBatch(ctx, st, items[:mid]); err != nil {
		return err
	}
	return s.sendBatch(ctx, st, items[mid:])
}

// post sends one request. An error means there was no answer.
func (s *Sender) post(ctx context.Context, st *sendState, items []item) (response, error) {
	b, raw, err := s.buildBody(st, items)
	if err != nil {
		return response{}, fmt.Errorf("posthog: building request: %w", err)
	}
	wire := len(b.buf)
	req, err := s.newRequest(ctx, b)
	if err != nil {
		b.release()
		return response{}, fmt.Errorf("posthog: building request: %w", err)
	}
	httpResp, err := s.client.Do(req)
	b.release() // the transport holds its own references until it is done
	if err != nil {
		s.obs.Request(ctx, s.outcomeOf(st, 0, len(items)), StatusNone, int64(raw), int64(wire))
		return response{}, fmt.Errorf("posthog: sending %d events: %w", len(items), err)
	}
	resp := s.readResponse(httpResp)
	s.obs.Request(ctx, s.outcomeOf(st, resp.status, len(items)), strconv.Itoa(resp.status), int64(raw), int64(wire))
	return resp, nil
}

// drop gives up on one event and logs it while the per-Send budget lasts.
func (s *Sender) drop(st *sendState, it *item, reason, msg string, resp response) {
	it.state = dropped
	ev := &st.events[it.ev]
	st.tally.add(ev.Rule, reason, 1)
	s.logDrop(st, ev, reason, msg, zap.Int("status", resp.status), zap.String("response", resp.message))
}

func (s *Sender) logDrop(st *sendState, ev *Event, reason, msg string, fields ...zap.Field) {
	if st.logged >= maxDropLogs {
		st.unlogged++
		return
	}
	st.logged++
	s.log.Warn(msg, append(fields,
		zap.String("reason", reason),
		zap.String("rule", ev.Rule),
		zap.String("event", shorten(eventName(ev), maxLoggedName)),
		zap.String("uuid", string(mapping.AppendUUID(nil, ev.UUID))),
	)...)
}

// maxLoggedName bounds the event name quoted in a log line: a name built
// from a record can be megabytes long, which is often why it was dropped.
const maxLoggedName = 200

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// quoted formats a response message for an error.
func quoted(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
