package posthogexporter

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/posthogexporter/posthogexporter/internal/benchload"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// BenchmarkPushTLEngine is one push as the collector under `make bench`
// makes it: a 100-span OTLP batch of the harness's load (internal/benchload,
// 10 spans matching, 11 events) through the exporter's ConsumeTraces, with
// the rules of testdata/config/tl-engine.yaml (without trace_context, as the
// harness's run 1), to encoded, gzipped PostHog batch requests posted to a
// local server that reads and discards them.
//
// queued has the shipped sending_queue, which batches events (1,000 per
// request): the collector's path. Requests leave from the queue's
// goroutine, so cpu-ns/op (the process's CPU) is the figure to read, not
// ns/op. direct has no queue: each push is mapped, encoded and sent in the
// call, one request of 11 events. Run with
//
//	go test -run '^$' -bench PushTLEngine -benchmem .
func BenchmarkPushTLEngine(b *testing.B) {
	for _, queued := range []bool{true, false} {
		name := map[bool]string{true: "queued", false: "direct"}[queued]
		b.Run(name, func(b *testing.B) { benchmarkPushTLEngine(b, queued) })
	}
}

func benchmarkPushTLEngine(b *testing.B, queued bool) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":1}`))
	}))
	b.Cleanup(srv.Close)

	cfg := loadShippedExporter(b, "tl-engine.yaml")
	cfg.APIKey = "phc_bench"
	cfg.ClientConfig.Endpoint = srv.URL
	cfg.TraceContext = configoptional.None[tracecontext.Config]()
	if !queued {
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	}
	ctx := context.Background()
	exp, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(NewFactory().Type()), cfg)
	require.NoError(b, err)
	require.NoError(b, exp.Start(ctx, componenttest.NewNopHost()))

	// A few batches, stamped once: the harness's senders also cycle through
	// a few (with fresh ids, which cost the exporter nothing more).
	r := rand.New(rand.NewPCG(1, 2))
	ids := benchload.NewIDGen()
	batches := make([]*benchload.Batch, 8)
	for i := range batches {
		batches[i] = benchload.NewBatch(r)
		batches[i].Stamp(ids, time.Now())
	}
	_, _, eventsPerPush := benchload.ExpectedEvents(int64(benchload.BatchSize))

	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		if err := exp.ConsumeTraces(ctx, batches[n%len(batches)].TD); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// Shutdown drains the queue: the last requests are part of the pushes.
	require.NoError(b, exp.Shutdown(ctx))
	cpu := float64((processCPU() - cpu0).Nanoseconds())
	b.ReportMetric(cpu/float64(n), "cpu-ns/op")
	b.ReportMetric(cpu/float64(int64(n)*eventsPerPush), "cpu-ns/event")
	b.ReportMetric(float64(requests.Load())/float64(n), "requests/op")
}
