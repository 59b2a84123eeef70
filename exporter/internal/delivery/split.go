package delivery

import "go.uber.org/zap"

// item is one encoded event: its bytes are st.enc[start:end].
type item struct {
	start, end int
	ev         int // index in the events given to Send
	state      itemState
}

type itemState uint8

const (
	pending itemState = iota
	sent
	dropped
)

// encode writes every event once into st.enc and records where each one is.
// Events PostHog would refuse for sure (too large, no name or distinct_id) are
// dropped here: with them, PostHog would refuse the rest of their request.
func (s *Sender) encode(st *sendState) {
	for i := range st.events {
		ev := &st.events[i]
		if ev.Name == "" || ev.DistinctID == "" {
			// PostHog refuses such an event, and its whole request with it:
			// cheaper to drop it here than to find it by bisection.
			st.tally.add(ev.Rule, ReasonRejected, 1)
			s.logDrop(st, ev, ReasonRejected, "Event has an empty name or distinct_id, which PostHog refuses")
			continue
		}
		start := len(st.enc)
		st.enc = ev.AppendJSON(st.enc)
		if size := len(st.enc) - start; size > s.set.MaxEventBytes {
			st.enc = st.enc[:start]
			st.tally.add(ev.Rule, ReasonEventTooLarge, 1)
			s.logDrop(st, ev, ReasonEventTooLarge, "event larger than max_event_bytes", zap.Int("bytes", size), zap.Int("max_event_bytes", s.set.MaxEventBytes))
			continue
		}
		st.items = append(st.items, item{start: start, end: len(st.enc), ev: i})
	}
}

// nextBatch returns how many of items go into the next request: as many as
// fit MaxBatchEvents and MaxBatchBytes, and always at least one (encode made
// sure one event fits).
func (s *Sender) nextBatch(items []item) int {
	size := len(s.prefix) + len(bodySuffix)
	for i, it := range items {
		add := it.end - it.start
		if i > 0 {
			add++ // the comma
			if i >= s.set.MaxBatchEvents || size+add > s.set.MaxBatchBytes {
				return i
			}
		}
		size += add
	}
	return len(items)
}
