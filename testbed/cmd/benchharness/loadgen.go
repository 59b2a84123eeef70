package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/posthogexporter/posthogexporter/internal/benchload"
)

// loadGen sends batches of spans to an OTLP/HTTP receiver at a fixed rate,
// as gzipped protobuf, from a few concurrent senders like the SDKs of a few
// service instances. Bodies are built by the senders
// (pdata + ptraceotlp marshal): no SDK between the schedule and the wire.
type loadGen struct {
	url     string // http://host:port/v1/traces
	senders int
	ids     *benchload.IDGen
	client  *http.Client
}

func newLoadGen(endpoint string, senders int, endless bool) *loadGen {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        senders,
		MaxIdleConnsPerHost: senders,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	ids := benchload.NewIDGen()
	if endless {
		ids.WithEndlessTraces(benchload.EndlessTraces)
	}
	return &loadGen{
		url:     endpoint + "/v1/traces",
		senders: senders,
		ids:     ids,
		client:  &http.Client{Transport: tr, Timeout: 15 * time.Second},
	}
}

func (g *loadGen) close() { g.client.CloseIdleConnections() }

// loadStats counts what the receiver accepted. Safe for concurrent use.
type loadStats struct {
	sent    atomic.Int64 // spans the receiver accepted
	refused atomic.Int64 // spans refused (non-2xx answer or partial success)
	failed  atomic.Int64 // requests that failed (refused or no answer)
	late    atomic.Int64 // batches sent more than 100 ms after their time

	mu       sync.Mutex
	firstErr string
}

func (s *loadStats) fail(spans int, err string) {
	s.refused.Add(int64(spans))
	s.failed.Add(1)
	s.mu.Lock()
	if s.firstErr == "" {
		s.firstErr = err
	}
	s.mu.Unlock()
}

func (s *loadStats) err() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// run sends rate spans per second for dur, on a fixed schedule: batch n is
// due at start + n*interval. When the senders cannot keep up (the receiver is
// slow to answer), batches leave late and the achieved rate falls below the
// target; run stops at most 20% after dur either way. It returns when every
// request has been answered. ctx aborts it.
func (g *loadGen) run(ctx context.Context, rate float64, dur time.Duration, st *loadStats) {
	interval := time.Duration(float64(time.Second) * float64(benchload.BatchSize) / rate)
	work := make(chan time.Time, g.senders)
	var wg sync.WaitGroup
	for i := range g.senders {
		wg.Go(func() { g.sender(uint64(i), work, st) })
	}
	defer func() {
		close(work)
		wg.Wait()
	}()

	start := time.Now()
	total := int64(dur / interval)
	hardStop := start.Add(dur + dur/5)
	for n := int64(0); n < total && ctx.Err() == nil; n++ {
		due := start.Add(time.Duration(n) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d) // at most one interval: 10 ms at 10,000 spans/s
		} else if time.Now().After(hardStop) {
			return
		}
		select {
		case work <- due:
		case <-ctx.Done():
			return
		}
	}
}

// sender builds and posts one batch per tick. Each sender owns a few batches
// (different attribute values), stamped with fresh ids before each send.
func (g *loadGen) sender(seed uint64, work <-chan time.Time, st *loadStats) {
	r := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	batches := make([]*benchload.Batch, 4)
	for i := range batches {
		batches[i] = benchload.NewBatch(r)
	}
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
	var respBuf bytes.Buffer
	for n := 0; ; n++ {
		due, ok := <-work
		if !ok {
			return
		}
		now := time.Now()
		if now.Sub(due) > 100*time.Millisecond {
			st.late.Add(1)
		}
		b := batches[n%len(batches)]
		b.Stamp(g.ids, now)
		raw, err := ptraceotlp.NewExportRequestFromTraces(b.TD).MarshalProto()
		if err != nil {
			st.fail(len(b.Spans), "marshal: "+err.Error())
			continue
		}
		zbuf.Reset()
		zw.Reset(&zbuf)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		g.post(b, zbuf.Bytes(), &respBuf, st)
	}
}

func (g *loadGen) post(b *benchload.Batch, body []byte, respBuf *bytes.Buffer, st *loadStats) {
	req, err := http.NewRequest(http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		st.fail(len(b.Spans), err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := g.client.Do(req)
	if err != nil {
		st.fail(len(b.Spans), err.Error())
		return
	}
	respBuf.Reset()
	_, _ = io.Copy(respBuf, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		st.fail(len(b.Spans), fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, respBuf.String()))
		return
	}
	er := ptraceotlp.NewExportResponse()
	if respBuf.Len() > 0 && er.UnmarshalProto(respBuf.Bytes()) == nil {
		if n := er.PartialSuccess().RejectedSpans(); n > 0 {
			// The receiver does not say which spans it refused: count the
			// whole batch as refused.
			st.fail(len(b.Spans), fmt.Sprintf("partial success: %d spans rejected: %s", n, er.PartialSuccess().ErrorMessage()))
			return
		}
	}
	st.sent.Add(int64(len(b.Spans)))
}
