package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// sink is where a collector under test delivers: the PostHog capture
// stand-in (events) or an OTLP/HTTP sink (spans).
type sink interface {
	url() string
	received() int64           // events or spans accepted so far
	duplicates() int64         // events with a uuid seen before, or spans with a span id seen before
	byEvent() map[string]int64 // events per name (nil for spans)
	close()
}

// serve serves h on a free 127.0.0.1 port.
func serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

// captureSink is internal/posthogtest's capture stand-in, which validates
// every request as PostHog does, with counters kept as events arrive.
type captureSink struct {
	srv  *posthogtest.Server
	http *http.Server
	addr string

	n    atomic.Int64
	dups atomic.Int64
	mu   sync.Mutex
	seen map[string]struct{}
	per  map[string]int64
}

const benchAPIKey = "phc_bench_harness"

func newCaptureSink() (*captureSink, error) {
	s := &captureSink{
		srv:  posthogtest.NewServer(posthogtest.WithAPIKey(benchAPIKey)),
		seen: map[string]struct{}{},
		per:  map[string]int64{},
	}
	s.srv.OnAccept(func(ev posthogtest.Event) {
		s.mu.Lock()
		if _, dup := s.seen[ev.UUID]; dup {
			s.dups.Add(1)
		}
		s.seen[ev.UUID] = struct{}{}
		s.per[ev.Name]++
		s.mu.Unlock()
		s.n.Add(1)
	})
	var err error
	s.http, s.addr, err = serve(s.srv)
	return s, err
}

func (s *captureSink) url() string       { return s.addr }
func (s *captureSink) received() int64   { return s.n.Load() }
func (s *captureSink) duplicates() int64 { return s.dups.Load() }
func (s *captureSink) close()            { _ = s.http.Close() }

func (s *captureSink) byEvent() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.per))
	for k, v := range s.per {
		out[k] = v
	}
	return out
}

// rejected counts requests the stand-in refused (4xx/5xx): the exporter
// sent something PostHog would not take.
func (s *captureSink) rejected() (n int, first string) {
	for _, r := range s.srv.Requests() {
		if r.Status/100 != 2 {
			if n == 0 {
				first = fmt.Sprintf("HTTP %d %s", r.Status, r.Response)
			}
			n++
		}
	}
	return n, first
}

// otlpSink is a minimal OTLP/HTTP traces endpoint: it counts the spans it
// receives (and repeated span ids) and answers success.
type otlpSink struct {
	http *http.Server
	addr string

	n    atomic.Int64
	dups atomic.Int64
	mu   sync.Mutex
	seen map[uint64]struct{}
	resp []byte
}

func newOTLPSink() (*otlpSink, error) {
	s := &otlpSink{seen: map[uint64]struct{}{}}
	var err error
	if s.resp, err = ptraceotlp.NewExportResponse().MarshalProto(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.handle)
	s.http, s.addr, err = serve(mux)
	return s, err
}

var gzipReaders sync.Pool

func (s *otlpSink) handle(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(r.Body)
		} else {
			err = zr.Reset(r.Body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer gzipReaders.Put(zr)
		body = zr
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(buf.Bytes()); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	td := req.Traces()
	var dups int64
	s.mu.Lock()
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				id := spans.At(k).SpanID()
				key := binary.BigEndian.Uint64(id[:])
				if _, dup := s.seen[key]; dup {
					dups++
				}
				s.seen[key] = struct{}{}
			}
		}
	}
	s.mu.Unlock()
	s.dups.Add(dups)
	s.n.Add(int64(td.SpanCount()))
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(s.resp)
}

func (s *otlpSink) url() string               { return s.addr }
func (s *otlpSink) received() int64           { return s.n.Load() }
func (s *otlpSink) duplicates() int64         { return s.dups.Load() }
func (s *otlpSink) byEvent() map[string]int64 { return nil }
func (s *otlpSink) close()                    { _ = s.http.Close() }
