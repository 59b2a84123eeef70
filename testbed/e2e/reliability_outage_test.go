//go:build longtest

package e2e

// The outage test lasts $POSTHOG_E2E_OUTAGE (a Go duration, default 30s):
// it runs under `make test` and CI (-tags longtest), not in a plain
// `go test ./...`.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

func outageDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("POSTHOG_E2E_OUTAGE")
	if v == "" {
		return 30 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		t.Fatalf("POSTHOG_E2E_OUTAGE=%q: want a duration of at least 1s", v)
	}
	return d
}

// TestReliabilityOutageWithRestart: PostHog answers 503 for the whole outage;
// meanwhile the collector is killed with SIGKILL and started again on the
// same file_storage directory. Data accepted by either process, whether it
// was being retried or still waiting in the queue when the kill came, arrives
// once the outage ends: every span one event, each uuid once.
func TestReliabilityOutageWithRestart(t *testing.T) {
	bin := collectorBin(t)
	t.Parallel()
	outage := outageDuration(t)

	ph := posthogtest.NewServer()
	srv := httptest.NewServer(ph)
	defer srv.Close()
	ph.FailFor(outage, http.StatusServiceUnavailable)
	outageEnd := time.Now().Add(outage)

	cfg := newRelConfig(t, srv.URL)
	cfg.StorageDir = t.TempDir()
	cfg.Queue = persistentQueue
	cfg.Retry = patientRetry
	c1 := startRel(t, bin, cfg)

	// Five pushes: two are taken by the two consumers and retried, three
	// wait in the queue.
	for i := range 5 {
		mustPost(t, c1.otlp, i*100, 100)
	}
	// Kill a third into the outage, after some retries.
	waitUntil(t, outage, "the exporter's retries", func() bool {
		return countStatus(ph.Requests(), http.StatusServiceUnavailable) >= 4 && time.Until(outageEnd) < outage*2/3
	})
	metrics1 := c1.scrape(t)
	c1.kill(t)
	if n := len(ph.Events()); n != 0 {
		t.Fatalf("%d events got through a 503 outage", n)
	}
	killedAt := time.Now()

	c2 := c1.restart(t, bin)
	for i := 5; i < 8; i++ { // the new process takes more data during the outage
		mustPost(t, c2.otlp, i*100, 100)
	}
	if time.Now().After(outageEnd) {
		t.Fatalf("the outage (%s) ended before the restart was done; make POSTHOG_E2E_OUTAGE longer", outage)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Until(outageEnd)+30*time.Second)
	defer cancel()
	if _, err := ph.WaitForEvents(ctx, 800); err != nil {
		t.Fatalf("waiting for 800 events: %v (got %d)", err, len(ph.Events()))
	}
	c2.waitMetric(t, "otelcol_exporter_queue_size", nil, 0, 10*time.Second)
	c2.waitMetric(t, "otelcol_exporter_in_flight_requests", nil, 0, 10*time.Second)
	metrics := c2.scrape(t)
	firstOK := time.Time{}
	reqs := ph.Requests()
	for _, r := range reqs {
		if r.Status == http.StatusOK {
			firstOK = r.Time
			break
		}
	}
	c2.stop()

	checkDelivered(t, ph.Events(), seqRange(0, 800))
	assertNoSecret(t, cfg.APIKey, map[string]string{"the killed collector's log": c1.out.String(), "the restarted collector's log": c2.out.String(), "metrics before the kill": metrics1, "metrics": metrics})
	t.Logf("outage %s; killed %.1fs into it; %d requests refused with 503; first delivery %.1fs after the outage ended; 800/800 events, no duplicates",
		outage, killedAt.Sub(outageEnd.Add(-outage)).Seconds(), countStatus(reqs, http.StatusServiceUnavailable), firstOK.Sub(outageEnd).Seconds())
}
