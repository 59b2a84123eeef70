// Package posthogtest is an in-process stand-in for PostHog's capture
// endpoint, for tests and demos. It validates requests the way PostHog's
// capture service does (see validate.go), records what it accepted, and can be
// told to fail: a queue of canned answers, a failure window, and a predicate
// that refuses chosen events with a 400 for their whole request, like
// PostHog's legacy pipeline does.
//
// Server is an http.Handler: serve it with httptest.NewServer(s) in tests or
// http.ListenAndServe in a demo. All methods are safe for concurrent use.
package posthogtest

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Event is one event the server accepted.
type Event struct {
	UUID       string // as sent, or a random one when the event had none (PostHog makes one too)
	Name       string // "event"
	DistinctID string // "distinct_id", stringified like PostHog does for numbers
	Timestamp  string // "timestamp" as sent; empty when absent
	// Properties decoded with encoding/json (numbers are float64); use Raw for
	// exact numbers.
	Properties map[string]any
	// HistoricalMigration is the request's historical_migration flag.
	HistoricalMigration bool
	// Raw is the event's JSON as it was in the request.
	Raw json.RawMessage
}

// Request records one HTTP request the server answered.
type Request struct {
	Time   time.Time
	Method string
	Path   string // without the query
	Status int    // the status the server answered
	// Response is the body the server answered with.
	Response string
	// Events is how many events the body held, valid or not (0 when it did
	// not parse).
	Events int
	// CompressedBytes is the body's size on the wire; UncompressedBytes its
	// size after gunzip (equal when the body was not compressed).
	CompressedBytes   int
	UncompressedBytes int
	Gzip              bool
	// HistoricalMigration is the body's historical_migration flag.
	HistoricalMigration bool
	// Header is a copy of the request's headers (User-Agent, Content-Encoding…).
	Header http.Header
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey makes the server answer 401 to any other project API key (by
// default any key that PostHog's own checks accept is fine).
func WithAPIKey(key string) Option {
	return func(s *Server) { s.apiKey = key }
}

// WithMaxBodyBytes changes the 20 MB (decompressed) limit of /batch/, e.g. to
// test 413 handling with small bodies. Other routes keep their 2 MB limit
// unless it is larger than this one.
func WithMaxBodyBytes(n int) Option {
	return func(s *Server) { s.maxBatchBytes = n }
}

// WithClock gives the server the clock FailFor measures with (tests of
// the server itself; time.Now by default).
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// Server is the capture stand-in. Create it with NewServer.
type Server struct {
	apiKey        string
	maxBatchBytes int
	now           func() time.Time

	mu        sync.Mutex
	events    []Event
	requests  []Request
	changed   chan struct{} // closed and replaced whenever events are accepted
	failures  []failure
	failUntil time.Time
	failFor   int
	reject    func(Event) bool

	// onAccept runs outside mu, under acceptMu, so callbacks see events in
	// acceptance order and may call back into the Server.
	acceptMu sync.Mutex
	onAccept func(Event)
}

type failure struct {
	status     int
	retryAfter string
}

// NewServer returns a Server that accepts every valid request.
func NewServer(opts ...Option) *Server {
	s := &Server{
		maxBatchBytes: BatchBodyLimit,
		now:           time.Now,
		changed:       make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// FailNext makes the next n requests fail with status (after their body has
// been read), with a Retry-After header when retryAfter is not empty. Calls
// queue up: FailNext(1, 503, ""); FailNext(1, 429, "2") fails the next request
// with 503 and the one after with 429.
func (s *Server) FailNext(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, retryAfter: retryAfter})
	}
}

// FailFor makes every request fail with status for the duration d from now
// (after the queue of FailNext answers, which comes first).
func (s *Server) FailFor(d time.Duration, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failUntil = s.now().Add(d)
	s.failFor = status
}

// RejectEvents makes the server refuse, with a 400 naming the event, every
// request that holds an event for which refuse returns true: the whole request
// is lost, as with PostHog's legacy pipeline. nil turns refusals off.
func (s *Server) RejectEvents(refuse func(Event) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = refuse
}

// OnAccept sets a function called with each accepted event, in order, before
// the request is answered. It must not block for long.
func (s *Server) OnAccept(f func(Event)) {
	s.acceptMu.Lock()
	defer s.acceptMu.Unlock()
	s.onAccept = f
}

// Events returns a copy of the events accepted so far, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Requests returns a copy of the requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// WaitForEvents waits until at least n events were accepted and returns them
// all, or returns those accepted so far with ctx's error.
func (s *Server) WaitForEvents(ctx context.Context, n int) ([]Event, error) {
	for {
		s.mu.Lock()
		if len(s.events) >= n {
			evs := append([]Event(nil), s.events...)
			s.mu.Unlock()
			return evs, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Events(), ctx.Err()
		}
	}
}

// Reset forgets recorded events and requests and pending failures; options,
// the refusal predicate and the OnAccept callback stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
	s.requests = nil
	s.failures = nil
	s.failUntil = time.Time{}
}

// nextFailure pops the programmed answer for this request, if any.
func (s *Server) nextFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return f, true
	}
	if s.now().Before(s.failUntil) {
		return failure{status: s.failFor}, true
	}
	return failure{}, false
}

func (s *Server) refusal() func(Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reject
}

func (s *Server) record(r Request, accepted []Event) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	if len(accepted) > 0 {
		s.events = append(s.events, accepted...)
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
}

func (s *Server) notify(accepted []Event) {
	if len(accepted) == 0 {
		return
	}
	s.acceptMu.Lock()
	defer s.acceptMu.Unlock()
	if s.onAccept == nil {
		return
	}
	for _, ev := range accepted {
		s.onAccept(ev)
	}
}
