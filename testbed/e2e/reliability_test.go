package e2e

// Reliability of the built collector against a PostHog that fails: an outage
// with a SIGKILL in the middle, throttling, a poison event, graceful shutdown,
// a full queue and a refused API key. The data is OTLP/HTTP traces built with
// pdata, one event per span (relTraces); the capture stand-in injects the
// faults. Every test also checks that the api_key never shows in the
// collector's output or metrics.
//
// The tests run in parallel: most of their time is spent waiting. The outage
// test is in reliability_outage_test.go (build tag longtest).

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// persistentQueue and patientRetry are the config the README recommends to
// survive an outage and a restart: the queue on disk, retries without a
// deadline (small intervals keep the test short). Batching in the queue is
// on, as by default: the queue holds the events of each push, and batches
// of events are made as they leave it.
const (
	persistentQueue = "{storage: file_storage, num_consumers: 2}"
	patientRetry    = "{initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0}"
)

// TestReliabilityThrottling: PostHog answers 429 with Retry-After: 2 three
// times. The retry backoff alone would retry within 100ms; the exporter
// waits the 2s PostHog asked for each time, so the stand-in sees exactly 4
// requests, at least 2s apart, and then everything is delivered.
func TestReliabilityThrottling(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	const refusals = 3
	ph := posthogtest.NewServer()
	srv := httptest.NewServer(ph)
	defer srv.Close()
	ph.FailNext(refusals, http.StatusTooManyRequests, "2")

	cfg := newRelConfig(t, srv.URL)
	cfg.Queue = "{num_consumers: 1}"
	cfg.Retry = "{initial_interval: 50ms, max_interval: 100ms, randomization_factor: 0, max_elapsed_time: 1m}"
	c := startRel(t, bin, cfg)

	mustPost(t, c.otlp, 0, 50)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ph.WaitForEvents(ctx, 50); err != nil {
		t.Fatalf("waiting for 50 events: %v (got %d)", err, len(ph.Events()))
	}
	c.waitMetric(t, "otelcol_exporter_posthog_requests", map[string]string{"outcome": "will_retry", "status_code": "429"}, refusals, 5*time.Second)
	c.waitMetric(t, "otelcol_exporter_posthog_requests", map[string]string{"outcome": "success"}, 1, 5*time.Second)
	metrics := c.scrape(t)
	c.stop()

	reqs := ph.Requests()
	if len(reqs) != refusals+1 || countStatus(reqs, http.StatusTooManyRequests) != refusals {
		t.Errorf("%d requests (%d answered 429), want %d then one success", len(reqs), countStatus(reqs, http.StatusTooManyRequests), refusals)
	}
	var gaps []string
	for i := 1; i < len(reqs); i++ {
		gap := reqs[i].Time.Sub(reqs[i-1].Time)
		gaps = append(gaps, gap.Round(time.Millisecond).String())
		if gap < 2*time.Second {
			t.Errorf("request %d came %s after the previous one, which asked for Retry-After: 2", i+1, gap)
		}
	}
	if l := logLine(c.out.String(), "Will retry", "Throttle (2s)"); l == "" {
		t.Errorf("no retry log line names the 2s throttle")
	}
	checkDelivered(t, ph.Events(), seqRange(0, 50))
	assertNoSecret(t, cfg.APIKey, map[string]string{"the log": c.out.String(), "metrics": metrics})
	t.Logf("%d requests, gaps %s", len(reqs), strings.Join(gaps, ", "))
}

// TestReliabilityPoison: one event that PostHog refuses with 400 in a batch
// of 100. The exporter bisects the request, delivers the other 99, counts the
// refused one as dropped (rejected_by_posthog) and logs it with its uuid.
func TestReliabilityPoison(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	const poison = 42
	ph := posthogtest.NewServer()
	var poisonUUID string
	ph.RejectEvents(func(e posthogtest.Event) bool {
		return e.Properties["seq"] == float64(poison)
	})
	srv := httptest.NewServer(ph)
	defer srv.Close()

	cfg := newRelConfig(t, srv.URL)
	cfg.Retry = "{initial_interval: 100ms, max_interval: 500ms}"
	c := startRel(t, bin, cfg)

	mustPost(t, c.otlp, 0, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := ph.WaitForEvents(ctx, 99); err != nil {
		t.Fatalf("waiting for 99 events: %v (got %d)", err, len(ph.Events()))
	}
	c.waitMetric(t, "otelcol_exporter_posthog_events_dropped", map[string]string{"rule": "reliability", "reason": "rejected_by_posthog"}, 1, 10*time.Second)
	c.waitMetric(t, "otelcol_exporter_posthog_events_sent", map[string]string{"rule": "reliability"}, 99, 5*time.Second)
	metrics := c.scrape(t)
	c.stop()

	want := seqRange(0, 100)
	want = append(want[:poison], want[poison+1:]...)
	checkDelivered(t, ph.Events(), want)
	reqs := ph.Requests()
	if countStatus(reqs, http.StatusBadRequest) == 0 {
		t.Fatal("the stand-in refused nothing")
	}
	for _, r := range reqs { // the stand-in's 400 names the refused event's uuid
		if r.Status == http.StatusBadRequest && r.Events == 1 {
			_, after, _ := strings.Cut(r.Response, "uuid ")
			poisonUUID, _, _ = strings.Cut(after, ",")
		}
	}
	out := c.out.String()
	if l := logLine(out, "\twarn\t", "PostHog refused an event", "rejected_by_posthog", poisonUUID); poisonUUID == "" || l == "" {
		t.Errorf("no warning names the refused event (uuid %q)", poisonUUID)
	}
	assertNoSecret(t, cfg.APIKey, map[string]string{"the log": out, "metrics": metrics})
	t.Logf("99/100 delivered in %d requests (%d refused with 400)", len(reqs), countStatus(reqs, http.StatusBadRequest))
}

// TestReliabilityGracefulShutdownFlushes: with the in-memory queue and a
// healthy (if slow) PostHog, SIGTERM right after the data was accepted
// delivers everything still queued before the collector exits.
func TestReliabilityGracefulShutdownFlushes(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	ph := posthogtest.NewServer()
	// 250ms per request and one consumer: 10 pushes take 2.5s to drain.
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(250 * time.Millisecond)
		ph.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(slow)
	defer srv.Close()

	cfg := newRelConfig(t, srv.URL)
	cfg.Queue = "{num_consumers: 1, queue_size: 100}"
	c := startRel(t, bin, cfg)
	for i := range 10 {
		mustPost(t, c.otlp, i*20, 20)
	}
	metrics := c.scrape(t)
	queued, _ := metricSum(metrics, "otelcol_exporter_queue_size", nil)
	atTerm := len(ph.Events())
	took, err := c.terminate(t, 30*time.Second)
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if atTerm >= 200 || queued == 0 {
		t.Fatalf("the queue was empty at SIGTERM (%d events delivered, queue size %v): the test proves nothing", atTerm, queued)
	}
	checkDelivered(t, ph.Events(), seqRange(0, 200))
	if lines := errorLines(c.out.String()); len(lines) > 0 {
		t.Errorf("errors logged during a clean shutdown:\n%s", strings.Join(lines, "\n"))
	}
	assertNoSecret(t, cfg.APIKey, map[string]string{"the log": c.out.String(), "metrics": metrics})
	t.Logf("SIGTERM with %v pushes queued and %d/200 events delivered; exit after %s with all 200 delivered", queued, atTerm, took.Round(time.Millisecond))
}

// TestReliabilityGracefulShutdownPersists: with file_storage and PostHog
// down, SIGTERM ends the collector promptly, and what it could not send is
// kept on disk: the next start, with PostHog back, delivers it.
func TestReliabilityGracefulShutdownPersists(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	ph := posthogtest.NewServer()
	srv := httptest.NewServer(ph)
	defer srv.Close()
	ph.FailFor(time.Hour, http.StatusServiceUnavailable)

	cfg := newRelConfig(t, srv.URL)
	cfg.StorageDir = t.TempDir()
	cfg.Queue = persistentQueue
	cfg.Retry = patientRetry
	c1 := startRel(t, bin, cfg)
	for i := range 4 {
		mustPost(t, c1.otlp, i*50, 50)
	}
	waitUntil(t, 10*time.Second, "the exporter's first attempts", func() bool {
		return countStatus(ph.Requests(), http.StatusServiceUnavailable) >= 2
	})
	took, err := c1.terminate(t, 30*time.Second)
	if err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if took > 10*time.Second {
		t.Errorf("SIGTERM took %s with PostHog down", took)
	}
	if n := len(ph.Events()); n != 0 {
		t.Fatalf("%d events got through a 503 outage", n)
	}
	shutdownErrors := errorLines(c1.out.String())

	ph.FailFor(0, http.StatusServiceUnavailable) // PostHog is back
	c2 := c1.restart(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := ph.WaitForEvents(ctx, 200); err != nil {
		t.Fatalf("waiting for 200 events after the restart: %v (got %d)", err, len(ph.Events()))
	}
	c2.waitMetric(t, "otelcol_exporter_queue_size", nil, 0, 10*time.Second)
	metrics := c2.scrape(t)
	c2.stop()
	checkDelivered(t, ph.Events(), seqRange(0, 200))
	assertNoSecret(t, cfg.APIKey, map[string]string{"the first log": c1.out.String(), "the second log": c2.out.String(), "metrics": metrics})
	t.Logf("SIGTERM exit after %s with PostHog down; 200/200 delivered by the next start. Errors logged at the SIGTERM (the data was kept regardless):\n%s",
		took.Round(time.Millisecond), strings.Join(shutdownErrors, "\n"))
}

// TestReliabilityQueueOverflow: PostHog down and a queue of 2 requests
// (in-flight ones count) with block_on_overflow false. Pushes past the
// capacity are refused at once, counted by exporterhelper's
// otelcol_exporter_enqueue_failed_spans and logged ("Exporting failed.
// Rejecting data." with error "sending queue is full"). When PostHog is back,
// what was queued arrives.
//
// Directly behind the OTLP receiver, the refusal goes back to the client as a
// 503 (an SDK retries it). Behind the batch processor, the client already has
// its 200: the data is dropped in the collector.
func TestReliabilityQueueOverflow(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	for _, batch := range []bool{false, true} {
		name := "receiver"
		if batch {
			name = "batch processor"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ph := posthogtest.NewServer()
			srv := httptest.NewServer(ph)
			defer srv.Close()
			ph.FailFor(time.Hour, http.StatusServiceUnavailable)

			const pushes, size = 6, 10
			cfg := newRelConfig(t, srv.URL)
			cfg.Queue = "{queue_size: 2, num_consumers: 1, block_on_overflow: false}"
			cfg.Retry = patientRetry
			cfg.Batch, cfg.BatchSize = batch, size // one push per OTLP request
			c := startRel(t, bin, cfg)

			statuses := map[int]int{}
			for i := range pushes {
				td, _ := relTraces(i*size, size, 0)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				status, err := postTraces(ctx, c.otlp, td)
				cancel()
				if err != nil {
					t.Fatalf("push %d: %v", i, err)
				}
				statuses[status]++
				if i == 0 { // let the consumer take the first push
					waitUntil(t, 10*time.Second, "the first attempt", func() bool { return len(ph.Requests()) > 0 })
				}
			}
			wantStatuses := map[int]int{http.StatusOK: 2, http.StatusServiceUnavailable: pushes - 2}
			if batch {
				wantStatuses = map[int]int{http.StatusOK: pushes}
			}
			if fmt.Sprint(statuses) != fmt.Sprint(wantStatuses) {
				t.Errorf("OTLP answers %v, want %v", statuses, wantStatuses)
			}
			refused := (pushes - 2) * size
			c.waitMetric(t, "otelcol_exporter_enqueue_failed_spans", map[string]string{"exporter": "posthog"}, float64(refused), 5*time.Second)
			c.waitMetric(t, "otelcol_exporter_queue_size", nil, 2, 5*time.Second)
			out := c.out.String()
			line := logLine(out, "\terror\t", "Exporting failed. Rejecting data.", "sending queue is full")
			if line == "" {
				t.Errorf("no log line says the sending queue is full")
			}

			ph.FailFor(0, http.StatusServiceUnavailable)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := ph.WaitForEvents(ctx, 2*size); err != nil {
				t.Fatalf("waiting for %d events: %v (got %d)", 2*size, err, len(ph.Events()))
			}
			c.waitMetric(t, "otelcol_exporter_queue_size", nil, 0, 10*time.Second)
			metrics := c.scrape(t)
			_, _ = c.terminate(t, 20*time.Second)
			// The two pushes that were queued are the first two.
			checkDelivered(t, ph.Events(), seqRange(0, 2*size))
			assertNoSecret(t, cfg.APIKey, map[string]string{"the log": c.out.String(), "metrics": metrics})
			t.Logf("OTLP answers %v; otelcol_exporter_enqueue_failed_spans %d; other logs: %q", statuses, refused,
				strings.Join(otherOverflowLogs(out), " | "))
		})
	}
}

// otherOverflowLogs returns the messages of the warnings and errors other
// than exporterhelper's own, e.g. the batch processor's.
func otherOverflowLogs(out string) []string {
	var msgs []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 4 || (f[1] != "warn" && f[1] != "error") || strings.Contains(l, "Rejecting data.") {
			continue
		}
		msgs = append(msgs, f[2]+" "+f[3])
	}
	return msgs
}

// TestReliabilityUnauthorized: PostHog refuses the key (401). The exporter
// does not retry, drops and counts the events (unauthorized), and logs an
// error telling to check api_key, without printing it.
func TestReliabilityUnauthorized(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	ph := posthogtest.NewServer(posthogtest.WithAPIKey("phc_the_project_key"))
	srv := httptest.NewServer(ph)
	defer srv.Close()

	cfg := newRelConfig(t, srv.URL)
	cfg.Retry = "{initial_interval: 100ms, max_interval: 500ms}"
	c := startRel(t, bin, cfg)
	mustPost(t, c.otlp, 0, 10)
	c.waitMetric(t, "otelcol_exporter_posthog_events_dropped", map[string]string{"reason": "unauthorized"}, 10, 10*time.Second)
	// exporterhelper counts a request as failed once it is given up: at once
	// for a permanent error, only after max_elapsed_time (5 minutes) for one
	// it retries. Failed now, it will not be sent again.
	c.waitMetric(t, "otelcol_exporter_send_failed_spans", nil, 10, 10*time.Second)
	metrics := c.scrape(t)
	_, _ = c.terminate(t, 20*time.Second)

	reqs := ph.Requests()
	if len(reqs) != 1 || reqs[0].Status != http.StatusUnauthorized {
		t.Errorf("%d requests, want one, answered 401 and not retried", len(reqs))
	}
	out := c.out.String()
	line := logLine(out, "\terror\t", "check the exporter's api_key")
	if line == "" {
		t.Errorf("no error log line tells to check api_key:\n%s", out)
	}
	assertNoSecret(t, cfg.APIKey, map[string]string{"the log": out, "metrics": metrics})
	t.Logf("log: %s", line)
}

// TestUpgradeFromPdataQueue: the previous version of the exporter queued
// spans (exporterhelper's pdata requests), this one queues events. A
// file_storage queue it left (testdata/upgrade: 200 matching spans in four
// requests, written by the collector of commit fb91985) is read by the
// current collector: each entry is recognised, mapped with the current rules
// and delivered once; one line says so when the first is met, one with the
// totals at shutdown.
func TestUpgradeFromPdataQueue(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	ph := posthogtest.NewServer()
	srv := httptest.NewServer(ph)
	defer srv.Close()

	cfg := newRelConfig(t, srv.URL)
	cfg.StorageDir = t.TempDir()
	cfg.Queue = persistentQueue
	cfg.Retry = patientRetry
	old, err := os.ReadFile(filepath.Join("..", "..", "testdata", "upgrade", "pdata-queue", "exporter_posthog__traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.StorageDir, "exporter_posthog__traces"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startRel(t, bin, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ph.WaitForEvents(ctx, 200); err != nil {
		t.Fatalf("waiting for the 200 events of the old queue: %v (got %d)\n%s", err, len(ph.Events()), c.out.String())
	}
	c.waitMetric(t, "otelcol_exporter_queue_size", nil, 0, 10*time.Second)
	c.stop()
	checkDelivered(t, ph.Events(), seqRange(0, 200))
	out := c.out.String()
	if logLine(out, "queued by a previous version of this exporter") == "" {
		t.Errorf("no line says the old queue entries are mapped:\n%s", out)
	}
	summary := logLine(out, "left by a previous version")
	if !strings.Contains(summary, `"mapped_requests": 4`) || !strings.Contains(summary, `"events": 200`) || !strings.Contains(summary, `"dropped_requests": 0`) {
		t.Errorf("shutdown summary %q, want 4 requests mapped to 200 events, none dropped", summary)
	}
}
