package exporter

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
)

// eventsRequest is what waits in exporterhelper's queue: PostHog events,
// already encoded, not the spans and logs they came from. Its items are
// events, its bytes their JSON, so sending_queue's sizers and batching count
// what is sent to PostHog.
//
// The events a request holds are never changed: MergeSplit builds new
// requests. A batch grows by appending to the spare capacity of its events
// slice (so that a batch of 1000 events made of 100 pushes is not copied 100
// times); only the last request MergeSplit returns has spare capacity, past
// every event another request holds, and every other slice is capped.
type eventsRequest struct {
	events []delivery.Event
	bytes  int // the sum of the events' JSON lengths
}

var _ xexporterhelper.Request = (*eventsRequest)(nil)

func newEventsRequest(events []delivery.Event) *eventsRequest {
	return newGrowableRequest(events[:len(events):len(events)])
}

// newGrowableRequest keeps the spare capacity of events, which no other
// request may use.
func newGrowableRequest(events []delivery.Event) *eventsRequest {
	r := &eventsRequest{events: events}
	for i := range events {
		r.bytes += len(events[i].JSON)
	}
	return r
}

// appendEvents appends b to a, in a's spare capacity when it has room
// (MergeSplit's receiver is the batch being built, the only holder of that
// capacity), else in a new array with room to grow.
func appendEvents(a, b []delivery.Event) []delivery.Event {
	if cap(a)-len(a) >= len(b) {
		return append(a, b...)
	}
	grown := make([]delivery.Event, 0, max(2*(len(a)+len(b)), 64))
	return append(append(grown, a...), b...)
}

// ItemsCount is the number of events.
func (r *eventsRequest) ItemsCount() int { return len(r.events) }

// BytesSize is the size of the events' JSON, what they add to a batch body.
func (r *eventsRequest) BytesSize() int { return r.bytes }

// MergeSplit appends other's events to r's and cuts the result into requests
// of at most maxSize events (sizer items) or JSON bytes (sizer bytes); 0 means
// no limit, and so does the requests sizer, for which any merge is one
// request. An event larger than maxSize bytes goes alone in its request:
// events are never dropped here (the converter already dropped those too large
// for PostHog). Events keep their order.
func (r *eventsRequest) MergeSplit(_ context.Context, maxSize int, szt exporterhelper.RequestSizerType, other xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	events := r.events
	if other != nil {
		o, ok := other.(*eventsRequest)
		if !ok {
			return nil, fmt.Errorf("posthog: cannot merge a %T into an events request", other)
		}
		if len(o.events) > 0 {
			events = appendEvents(r.events, o.events)
		}
	}
	var size func(*delivery.Event) int
	switch szt {
	case exporterhelper.RequestSizerTypeItems:
		size = func(*delivery.Event) int { return 1 }
	case exporterhelper.RequestSizerTypeBytes:
		size = func(ev *delivery.Event) int { return len(ev.JSON) }
	case exporterhelper.RequestSizerTypeRequests:
		maxSize = 0
	default:
		return nil, errors.New("posthog: unknown sizer " + szt.String())
	}
	if maxSize <= 0 {
		return []xexporterhelper.Request{newGrowableRequest(events)}, nil
	}
	var out []xexporterhelper.Request
	start, used := 0, 0
	for i := range events {
		n := size(&events[i])
		if i > start && used+n > maxSize {
			out = append(out, newEventsRequest(events[start:i]))
			start, used = i, 0
		}
		used += n
	}
	return append(out, newGrowableRequest(events[start:])), nil
}
