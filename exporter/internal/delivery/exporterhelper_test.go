package delivery

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// TestExporterhelperHonoursRetryAfter runs the Sender under the collector's
// own retry logic: after a 429 with Retry-After, the retry waits for it, not
// for the (much shorter) backoff; after a 401, nothing is retried.
func TestExporterhelperHonoursRetryAfter(t *testing.T) {
	ph := posthogtest.NewServer()
	e := newEnv(t, ph, nil)
	evs := makeEvents(3, "r")

	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = 10 * time.Millisecond
	retry.MaxInterval = 20 * time.Millisecond
	retry.MaxElapsedTime = 10 * time.Second
	exp, err := exporterhelper.NewLogs(context.Background(), exportertest.NewNopSettings(component.MustNewType("posthog")), struct{}{},
		func(ctx context.Context, _ plog.Logs) error { return e.send(ctx, evs) },
		exporterhelper.WithRetry(retry))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()

	ph.FailNext(1, http.StatusTooManyRequests, "1")
	if err := exp.ConsumeLogs(context.Background(), plog.NewLogs()); err != nil {
		t.Fatal(err)
	}
	reqs := ph.Requests()
	if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
		t.Fatalf("requests %+v", reqs)
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < time.Second {
		t.Errorf("retried after %v, before the 1s Retry-After", gap)
	}
	if len(ph.Events()) != 3 {
		t.Errorf("%d events", len(ph.Events()))
	}

	ph.Reset()
	ph.FailNext(1, http.StatusUnauthorized, "")
	if err := exp.ConsumeLogs(context.Background(), plog.NewLogs()); err == nil {
		t.Fatal("a 401 should fail the push")
	}
	if n := len(ph.Requests()); n != 1 {
		t.Errorf("%d requests: a 401 must not be retried", n)
	}
}
