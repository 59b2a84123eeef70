package delivery

import "go.uber.org/zap"

// item is one event of a Send and what became of it.
type item struct {
	ev    int // index in the events given to Send
	state itemState
}

type itemState uint8

const (
	pending itemState = iota
	sent
	dropped
)

// collect makes an item of every event. Events too large for one request
// are dropped here: the Encoder of the same settings keeps them out, but a
// persistent queue may hold events encoded under larger limits.
func (s *Sender) collect(st *sendState) {
	for i := range st.events {
		ev := &st.events[i]
		if size := len(ev.JSON); size > s.set.MaxEventBytes {
			st.tally.add(ev.Rule, ReasonEventTooLarge, 1)
			s.logDrop(st, ev, ReasonEventTooLarge, "event larger than max_event_bytes", zap.Int("bytes", size), zap.Int("max_event_bytes", s.set.MaxEventBytes))
			continue
		}
		st.items = append(st.items, item{ev: i})
	}
}

// nextBatch returns how many of items go into the next request: as many as
// fit MaxBatchEvents and MaxBatchBytes, and always at least one (encode made
// sure one event fits).
func (s *Sender) nextBatch(st *sendState, items []item) int {
	size := len(s.prefix) + len(bodySuffix)
	for i, it := range items {
		add := len(st.events[it.ev].JSON)
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
