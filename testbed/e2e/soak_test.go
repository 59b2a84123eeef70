package e2e

// The soak test (`make soak`): the built collector under steady OTLP load
// with periodic PostHog outages, checking that memory stays bounded and that
// nothing is lost. It is not part of `make test`: it runs only with
// POSTHOG_SOAK=1.
//
// Environment (defaults from issue 6):
//
//	SOAK_DURATION      load duration, a Go duration            5m
//	SOAK_RATE          spans per second                        2000
//	SOAK_OUTAGE_EVERY  a PostHog outage starts this often      30s
//	SOAK_OUTAGE        and answers 503 for this long           5s
//	SOAK_QUEUE         memory | file (sending_queue.storage)   memory
//	SOAK_MAX_RSS_MB    fail when the collector's RSS exceeds   512
//
// One span in 10 matches no rule; every other span is one event.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/testbed/collectortest"
)

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive Go duration (30s, 5m)", name, v)
	}
	return d
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// soakSink counts what the stand-in accepts and forgets the events
// themselves, so that the test's own memory stays flat.
type soakSink struct {
	mu    sync.Mutex
	uuids map[string]uint16
	seqs  []uint8 // events per seq
	dups  int
	total int
	bad   int // events without a seq or of another name
	last  time.Time
}

func (s *soakSink) accept(e posthogtest.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.last = time.Now()
	if s.uuids[e.UUID]++; s.uuids[e.UUID] > 1 {
		s.dups++
	}
	f, ok := e.Properties["seq"].(float64)
	if !ok || e.Name != relEventName || f < 0 {
		s.bad++
		return
	}
	seq := int(f)
	for seq >= len(s.seqs) {
		s.seqs = append(s.seqs, make([]uint8, max(1024, len(s.seqs)))...)
	}
	if s.seqs[seq] < 255 {
		s.seqs[seq]++
	}
}

func (s *soakSink) counts() (total, unique, dups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.uuids), s.dups
}

func TestSoak(t *testing.T) {
	if os.Getenv("POSTHOG_SOAK") == "" {
		t.Skip("the soak test runs with POSTHOG_SOAK=1 (make soak)")
	}
	bin := collectorBin(t)
	duration := envDuration(t, "SOAK_DURATION", 5*time.Minute)
	rate := envInt(t, "SOAK_RATE", 2000)
	every := envDuration(t, "SOAK_OUTAGE_EVERY", 30*time.Second)
	outage := envDuration(t, "SOAK_OUTAGE", 5*time.Second)
	maxRSSMB := envInt(t, "SOAK_MAX_RSS_MB", 512)
	queue := os.Getenv("SOAK_QUEUE")
	if queue == "" {
		queue = "memory"
	}
	if outage >= every {
		t.Fatalf("SOAK_OUTAGE (%s) must be shorter than SOAK_OUTAGE_EVERY (%s)", outage, every)
	}

	// The stand-in, behind a switch that answers 503 during the outage windows.
	sink := &soakSink{uuids: make(map[string]uint16, rate*int(duration/time.Second))}
	ph := posthogtest.NewServer()
	ph.OnAccept(sink.accept)
	var down atomic.Bool
	var refused, requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if down.Load() {
			_, _ = io.Copy(io.Discard, r.Body)
			refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ph.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cfg := newRelConfig(t, srv.URL)
	cfg.Batch = true
	cfg.Retry = "{initial_interval: 500ms, max_interval: 5s, max_elapsed_time: 10m}"
	switch queue {
	case "memory":
		cfg.Queue = "{queue_size: 1000, num_consumers: 10}"
	case "file":
		cfg.StorageDir = t.TempDir()
		cfg.Queue = "{storage: file_storage, queue_size: 1000, num_consumers: 10}"
	default:
		t.Fatalf("SOAK_QUEUE=%q: want memory or file", queue)
	}
	c := startRel(t, bin, cfg)
	pid := c.Pid()
	rss0, _ := collectortest.RSSKiB(pid)
	cpu0, _ := collectortest.CPUTime(pid)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bg sync.WaitGroup

	// RSS every second.
	var rssMu sync.Mutex
	var rssMax, rssLast int64
	var rssSamples []int64
	bg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			kb, err := collectortest.RSSKiB(pid)
			if err != nil {
				continue
			}
			rssMu.Lock()
			rssMax, rssLast = max(rssMax, kb), kb
			rssSamples = append(rssSamples, kb)
			rssMu.Unlock()
		}
	})

	// The stand-in keeps every event; the sink has what the test needs.
	bg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
				ph.Reset()
			}
		}
	})

	// Outage windows: the first starts `every` after the load.
	start := time.Now()
	windows := 0
	bg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(time.Duration(windows+1) * every))):
			}
			if time.Since(start) >= duration {
				return
			}
			down.Store(true)
			windows++
			t.Logf("%5.0fs: PostHog down for %s", time.Since(start).Seconds(), outage)
			select {
			case <-ctx.Done():
				down.Store(false)
				return
			case <-time.After(outage):
			}
			down.Store(false)
		}
	})

	// Load: every 50ms one OTLP request of rate/20 spans, sent by a few
	// workers; a refused request is sent again, as an SDK would.
	const ticksPerSecond = 20
	perReq := max(1, rate/ticksPerSecond)
	type job struct {
		first int
		td    ptrace.Traces
		match int
	}
	jobs := make(chan job, 64)
	var sentSpans, matchingSpans, otlpRetries, lagged atomic.Int64
	var workers sync.WaitGroup
	for range 4 {
		workers.Go(func() {
			for j := range jobs {
				for {
					rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
					status, err := postTraces(rctx, c.otlp, j.td)
					rcancel()
					if err == nil && status == http.StatusOK {
						break
					}
					otlpRetries.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
				sentSpans.Add(int64(j.td.SpanCount()))
				matchingSpans.Add(int64(j.match))
			}
		})
	}
	next := 0
	tick := time.NewTicker(time.Second / ticksPerSecond)
	for time.Since(start) < duration {
		<-tick.C
		td, match := relTraces(next, perReq, 10)
		select {
		case jobs <- job{first: next, td: td, match: match}:
		default:
			lagged.Add(1)
			jobs <- job{first: next, td: td, match: match}
		}
		next += perReq
	}
	tick.Stop()
	close(jobs)
	workers.Wait()
	loadTime := time.Since(start)
	down.Store(false)

	// Everything must arrive: the last retry waits at most max_interval.
	want := int(matchingSpans.Load())
	deadline := time.Now().Add(90 * time.Second)
	for {
		total, _, _ := sink.counts()
		if total >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sink.mu.Lock()
	drained := sink.last.Sub(start) - loadTime
	sink.mu.Unlock()
	time.Sleep(2 * time.Second) // late duplicates would show here
	metrics := c.scrape(t)
	cpu1, _ := collectortest.CPUTime(pid)
	cancel()
	bg.Wait()
	c.stop()

	total, unique, dups := sink.counts()
	sink.mu.Lock()
	missing, bad := 0, sink.bad
	for seq := range next {
		if seq%10 == 9 { // noise: matches no rule
			if seq < len(sink.seqs) && sink.seqs[seq] != 0 {
				bad++
			}
			continue
		}
		if seq >= len(sink.seqs) || sink.seqs[seq] == 0 {
			missing++
		}
	}
	sink.mu.Unlock()
	rssMu.Lock()
	samples := append([]int64(nil), rssSamples...)
	maxKB, lastKB := rssMax, rssLast
	rssMu.Unlock()
	// RSS over the first and the last minute (or tenth) of the run: a leak
	// shows as growth between them.
	span := max(1, min(60, len(samples)/10))
	avg := func(s []int64) float64 {
		if len(s) == 0 {
			return 0
		}
		var sum int64
		for _, v := range s {
			sum += v
		}
		return float64(sum) / float64(len(s)) / 1024
	}
	early, late := avg(samples[:min(span, len(samples))]), avg(samples[max(0, len(samples)-span):])
	dropped, _ := metricSum(metrics, "otelcol_exporter_posthog_events_dropped", nil)
	enqFailed, _ := metricSum(metrics, "otelcol_exporter_enqueue_failed_spans", nil)
	refusedML, _ := metricSum(metrics, "otelcol_processor_refused_spans", nil)

	var b strings.Builder
	fmt.Fprintf(&b, "SOAK SUMMARY (%s queue)\n", queue)
	fmt.Fprintf(&b, "  load:       %s at %d spans/s target, %.0f spans/s achieved (%d OTLP requests of %d spans; %d re-sent after a refusal; generator lagged %d times)\n",
		loadTime.Round(time.Second), rate, float64(sentSpans.Load())/loadTime.Seconds(), next/perReq, perReq, otlpRetries.Load(), lagged.Load())
	fmt.Fprintf(&b, "  spans sent: %d, matching a rule: %d\n", sentSpans.Load(), want)
	fmt.Fprintf(&b, "  events:     expected %d, received %d, unique uuids %d, duplicates %d, missing %d, unexpected %d\n", want, total, unique, dups, missing, bad)
	fmt.Fprintf(&b, "  outages:    %d windows of %s every %s; %d of %d PostHog requests answered 503\n", windows, outage, every, refused.Load(), requests.Load())
	fmt.Fprintf(&b, "  drain:      last event %.1fs after the load ended\n", drained.Seconds())
	fmt.Fprintf(&b, "  collector:  RSS start %.0f MiB, max %.0f MiB, end %.0f MiB (mean of first %ds %.0f MiB, last %ds %.0f MiB); CPU %.2f cores on average\n",
		float64(rss0)/1024, float64(maxKB)/1024, float64(lastKB)/1024, span, early, span, late, (cpu1-cpu0).Seconds()/time.Since(start).Seconds())
	fmt.Fprintf(&b, "  metrics:    events_dropped %v, enqueue_failed_spans %v, memory_limiter refused_spans %v\n", dropped, enqFailed, refusedML)
	t.Log("\n" + b.String())
	if path := os.Getenv("SOAK_SUMMARY"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Errorf("writing %s: %v", path, err)
		}
	}

	if missing != 0 || total != want || dups != 0 || bad != 0 {
		t.Errorf("lost or extra events: expected %d, received %d, %d missing, %d duplicates, %d unexpected", want, total, missing, dups, bad)
	}
	if maxKB/1024 > int64(maxRSSMB) {
		t.Errorf("the collector's RSS reached %d MiB, over SOAK_MAX_RSS_MB=%d", maxKB/1024, maxRSSMB)
	}
	if windows == 0 {
		t.Errorf("no outage window: SOAK_DURATION (%s) is shorter than SOAK_OUTAGE_EVERY (%s)", duration, every)
	}
	assertNoSecret(t, cfg.APIKey, map[string]string{"the log": c.out.String(), "metrics": metrics})
}
