package delivery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

const testKey = "phc_s3cr3t_test_key"

// recorder is an Observer that keeps everything.
type recorder struct {
	mu       sync.Mutex
	sent     map[string]int64    // rule -> n
	dropped  map[[2]string]int64 // {rule, reason} -> n
	requests []observedRequest
}

type observedRequest struct {
	outcome, status          string
	uncompressed, compressed int64
}

func newRecorder() *recorder {
	return &recorder{sent: map[string]int64{}, dropped: map[[2]string]int64{}}
}

func (r *recorder) EventsSent(_ context.Context, rule string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[rule] += n
}

func (r *recorder) EventsDropped(_ context.Context, rule, reason string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropped[[2]string{rule, reason}] += n
}

func (r *recorder) Request(_ context.Context, outcome, status string, u, c int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, observedRequest{outcome, status, u, c})
}

func (r *recorder) totalSent() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, v := range r.sent {
		n += v
	}
	return n
}

func (r *recorder) droppedFor(reason string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for k, v := range r.dropped {
		if k[1] == reason {
			n += v
		}
	}
	return n
}

func (r *recorder) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.requests {
		out = append(out, q.outcome+" "+q.status)
	}
	return out
}

// env is a Sender wired to a handler, with its observer and logs.
type env struct {
	sender  *Sender
	encoder *Encoder
	rec     *recorder
	logs    *observer.ObservedLogs
	srv     *httptest.Server
}

func newEnv(t testing.TB, h http.Handler, mod func(*Settings)) *env {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	core, logs := observer.New(zapcore.DebugLevel)
	set := testSettings(srv.URL)
	set.UserAgent = "posthogexporter-test/1.0"
	set.Logger = zap.New(core)
	if mod != nil {
		mod(&set)
	}
	rec := newRecorder()
	s, err := NewSender(srv.Client(), set, rec)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sender: s, encoder: NewEncoder(set, rec), rec: rec, logs: logs, srv: srv}
}

// send encodes events as the exporter's converter does, then sends them.
func (e *env) send(ctx context.Context, evs []mapping.Event) error {
	return e.sender.Send(ctx, e.encoder.Encode(ctx, evs, nil))
}

// testSettings are the exporter's default settings, which its Config gives
// a Sender: delivery has no defaults of its own for them.
func testSettings(endpoint string) Settings {
	return Settings{Endpoint: endpoint, APIKey: testKey, MaxBatchEvents: 1000, MaxBatchBytes: 5 << 20, GzipLevel: 1, Retry: true}
}

// uuidFor makes event i's uuid recognisable.
func uuidFor(i int) [16]byte {
	var u [16]byte
	binary.BigEndian.PutUint64(u[8:], uint64(i))
	u[6] = 0x80 // version 8
	u[8] |= 0x80
	return u
}

func uuidString(i int) string { return string(mapping.AppendUUID(nil, uuidFor(i))) }

// makeEvents builds n events with six properties, as the mapper would.
func makeEvents(n int, rule string) []mapping.Event {
	evs := make([]mapping.Event, n)
	ts := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := range evs {
		evs[i] = mapping.Event{
			Rule:       rule,
			UUID:       uuidFor(i),
			Name:       "checkout completed",
			DistinctID: fmt.Sprintf("user-%d", i),
			Timestamp:  ts.Add(time.Duration(i) * time.Millisecond),
			Properties: []mapping.Property{
				{Key: "$current_url", Value: "https://shop.example.com/checkout?step=3"},
				{Key: "amount", Value: 129.95},
				{Key: "cart_items", Value: int64(i % 7)},
				{Key: "first_order", Value: i%2 == 0},
				{Key: "http.route", Value: "/api/checkout"},
				{Key: "trace_id", Value: "5b8efff798038103d269b633813fc60c"},
			},
			Lib:        "posthogexporter",
			LibVersion: "0.1.0",
		}
	}
	return evs
}

// bodyTap records each request's decompressed body before passing it on.
type bodyTap struct {
	next   http.Handler
	mu     sync.Mutex
	bodies [][]byte
}

func (b *bodyTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	plain := raw
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			plain, _ = io.ReadAll(zr)
		}
	}
	b.mu.Lock()
	b.bodies = append(b.bodies, plain)
	b.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	b.next.ServeHTTP(w, r)
}

func (b *bodyTap) all() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.bodies...)
}

// statusSequence answers the i-th request with statuses[i] (then 200),
// passing 200s on to next.
type statusSequence struct {
	next     http.Handler
	mu       sync.Mutex
	n        int
	statuses []int
	header   http.Header
	body     string
}

func (s *statusSequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.n
	s.n++
	s.mu.Unlock()
	if i < len(s.statuses) && s.statuses[i] != 200 {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range s.header {
			w.Header()[k] = v
		}
		w.WriteHeader(s.statuses[i])
		_, _ = io.WriteString(w, s.body)
		return
	}
	s.next.ServeHTTP(w, r)
}

var _ http.Handler = (*posthogtest.Server)(nil)
