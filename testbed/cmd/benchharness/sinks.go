package main

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// A sink is where the collector under test delivers: the PostHog capture
// stand-in (events, one per uuid) or an OTLP/HTTP endpoint (spans, one per
// span id). Both count what arrives the same way, so that a run checks
// "nothing lost, nothing twice" whatever the exporter.
type sink struct {
	tally
	url     string
	http    *http.Server
	capture *posthogtest.Server // nil for the OTLP sink
}

const benchAPIKey = "phc_bench_harness"

// newCaptureSink serves internal/posthogtest's stand-in, which validates
// every request as PostHog does.
func newCaptureSink() (*sink, error) {
	s := &sink{capture: posthogtest.NewServer(posthogtest.WithAPIKey(benchAPIKey))}
	s.capture.OnAccept(func(ev posthogtest.Event) { s.add(ev.UUID, ev.Name) })
	return s, s.serve(s.capture)
}

// newOTLPSink serves a minimal OTLP/HTTP traces endpoint for the otlphttp
// baseline: it counts the spans and answers success.
func newOTLPSink() (*sink, error) {
	s := &sink{}
	resp, err := ptraceotlp.NewExportResponse().MarshalProto()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		if err := s.countSpans(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	})
	return s, s.serve(mux)
}

func (s *sink) serve(h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return nil
}

func (s *sink) close() { _ = s.http.Close() }

func (s *sink) countSpans(r *http.Request) error {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return err
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		return err
	}
	rss := req.Traces().ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				id := spans.At(k).SpanID()
				s.add(string(id[:]), "")
			}
		}
	}
	return nil
}

// rejected counts requests the stand-in refused (4xx/5xx): the exporter
// sent something PostHog would not take.
func (s *sink) rejected() (n int, first string) {
	if s.capture == nil {
		return 0, ""
	}
	for _, r := range s.capture.Requests() {
		if r.Status/100 != 2 {
			if n == 0 {
				first = fmt.Sprintf("HTTP %d %s", r.Status, r.Response)
			}
			n++
		}
	}
	return n, first
}

// tally counts records by id and by event name. Safe for concurrent use.
type tally struct {
	mu     sync.Mutex
	n      int64
	dups   int64
	seen   map[string]struct{}
	byName map[string]int64
}

func (t *tally) add(id, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen, t.byName = map[string]struct{}{}, map[string]int64{}
	}
	if _, dup := t.seen[id]; dup {
		t.dups++
	}
	t.seen[id] = struct{}{}
	t.n++
	if name != "" {
		t.byName[name]++
	}
}

func (t *tally) received() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

func (t *tally) duplicates() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dups
}

func (t *tally) byEvent() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.byName)
}
