package delivery

import (
	"context"
	"encoding/json"

	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// Event is one PostHog event ready to send: encoded once, when its record
// arrived, to the JSON that goes into a batch request. It no longer refers
// to the record it came from.
type Event struct {
	// Rule names the rule that built the event, for metrics and logs.
	Rule string
	// UUID is the event's uuid, also inside JSON.
	UUID [16]byte
	// JSON is the event as PostHog's batch API takes it.
	JSON []byte
}

// Encoder turns mapped events into Events, dropping those PostHog would
// refuse for sure, whose presence would make it refuse their whole request:
// an empty name or distinct_id, or more bytes than one request may carry.
// It is safe for concurrent use.
type Encoder struct {
	maxEventBytes int
	obs           Observer
	log           *zap.Logger
	scratch       *freeList[*encodeScratch]
}

// encodeScratch is where Encode writes a push's events before copying them
// into one buffer of their exact size: the events keep that buffer (in the
// queue, until sent), so it cannot be reused, but it need not be grown
// through a series of copies either.
type encodeScratch struct {
	buf  []byte
	ends []int
}

// keptScratch: about one per concurrent push; maxKeptScratch bounds the
// memory a freak push leaves behind.
const (
	keptScratch    = 8
	maxKeptScratch = 4 << 20
)

// NewEncoder returns the Encoder matching a Sender of the same Settings.
// obs may be nil.
func NewEncoder(s Settings, obs Observer) *Encoder {
	if obs == nil {
		obs = NopObserver{}
	}
	s = s.withDefaults()
	return &Encoder{
		maxEventBytes: maxEventBytes(s), obs: obs, log: s.Logger,
		scratch: newFreeList(keptScratch, func() *encodeScratch { return new(encodeScratch) }),
	}
}

// maxEventBytes is the largest event sent: MaxEventBytes, lowered so that
// any event that passes fits a request of MaxBatchBytes on its own.
func maxEventBytes(s Settings) int {
	prefix := bodyPrefix(s.APIKey, s.HistoricalMigration)
	return max(1, min(s.MaxEventBytes, s.MaxBatchBytes-len(prefix)-len(bodySuffix)))
}

// Encode appends the events of evs that PostHog can take to dst, their JSON
// back to back in one new buffer, and counts and logs (a few per call) those
// dropped. It reads evs only during the call.
func (c *Encoder) Encode(ctx context.Context, evs []mapping.Event, dst []Event) []Event {
	sc := c.scratch.get()
	buf, ends := sc.buf[:0], sc.ends[:0]
	var (
		tl       tally
		logged   int
		unlogged int64
	)
	drop := func(ev *mapping.Event, reason, msg string, fields ...zap.Field) {
		tl.add(ev.Rule, reason, 1)
		if logged >= maxDropLogs {
			unlogged++
			return
		}
		logged++
		c.log.Warn(msg, append(fields,
			zap.String("reason", reason),
			zap.String("rule", ev.Rule),
			zap.String("event", shorten(ev.Name, maxLoggedName)),
			zap.String("uuid", string(mapping.AppendUUID(nil, ev.UUID))),
		)...)
	}
	first := len(dst)
	for i := range evs {
		ev := &evs[i]
		if ev.Name == "" || ev.DistinctID == "" {
			// PostHog refuses such an event, and its whole request with it:
			// cheaper to drop it here than to find it by bisection.
			drop(ev, ReasonRejected, "Event has an empty name or distinct_id, which PostHog refuses")
			continue
		}
		start := len(buf)
		buf = ev.AppendJSON(buf)
		if size := len(buf) - start; size > c.maxEventBytes {
			buf = buf[:start]
			drop(ev, ReasonEventTooLarge, "event larger than max_event_bytes", zap.Int("bytes", size), zap.Int("max_event_bytes", c.maxEventBytes))
			continue
		}
		dst = append(dst, Event{Rule: ev.Rule, UUID: ev.UUID})
		ends = append(ends, len(buf))
	}
	// One buffer of the exact size for the events of the push; each event
	// points at its bytes, capped so that no append through one event can
	// reach the next.
	out := make([]byte, len(buf))
	copy(out, buf)
	start := 0
	for i, end := range ends {
		dst[first+i].JSON = out[start:end:end]
		start = end
	}
	if cap(buf) <= maxKeptScratch {
		sc.buf, sc.ends = buf, ends
		c.scratch.put(sc)
	}
	tl.report(ctx, c.obs)
	if unlogged > 0 {
		c.log.Warn("More events dropped in this push than logged one by one", zap.Int64("count", unlogged))
	}
	return dst
}

// eventName reads the event name back from an Event's JSON, for logs:
// it is the second member, {"uuid":"…","event":"<name>",…}.
func eventName(ev *Event) string {
	const head = `{"uuid":"` + "00000000-0000-0000-0000-000000000000" + `","event":`
	if len(ev.JSON) <= len(head) || ev.JSON[len(head)] != '"' {
		return ""
	}
	rest := ev.JSON[len(head):]
	end := 1
	for end < len(rest) && rest[end] != '"' {
		if rest[end] == '\\' {
			end++
		}
		end++
	}
	var name string
	if end >= len(rest) || json.Unmarshal(rest[:end+1], &name) != nil {
		return ""
	}
	return name
}
