package posthogexporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/posthog/posthog-go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// These benchmarks compare, in one run, this exporter and posthog-go v1.23.1
// delivering the same 1,000 events (6 properties each) to the same local
// server. The server reads and discards bodies, so what is measured is the
// client side: for the exporter, mapping 10,000 spans of which 1,000 match,
// encoding, gzip and HTTP; for posthog-go, only its enqueue, encoding, gzip
// and HTTP of events already built for it.
//
//	go test -run '^$' -bench 'Push|PosthogGo' -benchmem .

const (
	benchSpans   = 10_000
	benchMatches = 1_000
)

// discardServer answers like PostHog after reading the whole body.
func discardServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":1}`))
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchTraces: every tenth span is an engine run that the rule turns into an
// event with 6 properties; the others are database spans with as many attributes.
func benchTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tl-engine")
	rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	start := time.Unix(1_700_000_000, 0)
	for i := range benchSpans {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i >> 16), byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
		s.SetSpanID(pcommon.SpanID{byte(i >> 16), byte(i >> 8), byte(i), 1, 2, 3, 4, 5})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(100+i%50) * time.Millisecond)))
		a := s.Attributes()
		if i%(benchSpans/benchMatches) == 0 {
			s.SetName("engine.execute")
			a.PutStr("engine.id", fmt.Sprintf("engine-%d", i))
			a.PutStr("engine.type", "data_processor")
			a.PutStr("enduser.id", fmt.Sprintf("user-%d", i%97))
		} else {
			s.SetName("SELECT engines")
			s.SetKind(ptrace.SpanKindClient)
			a.PutStr("db.system.name", "postgresql")
			a.PutStr("db.operation.name", "SELECT")
			a.PutStr("db.collection.name", "engines")
		}
	}
	return td
}

func benchRule() mapping.Rule {
	return mapping.Rule{
		Name:       "engine-executed",
		Event:      "engine_executed",
		Conditions: []string{`span.name == "engine.execute"`},
		DistinctID: []string{`span.attributes["enduser.id"]`},
		Attributes: []string{"engine.id", "engine.type"},
		Properties: map[string]string{
			"duration_ms": `Milliseconds(span.end_time - span.start_time)`,
			"status":      `"success"`,
		},
	}
}

// reportPerEvent adds events/s and allocs/event to a benchmark whose every
// op delivers benchMatches events.
// cpu-ns/event is the process's CPU time (user and system, every goroutine,
// the local server's included, alike for both) per event: the cost a
// collector host pays, which wall time hides when a client waits on timers.
func reportPerEvent(b *testing.B, run func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore := processCPU()
	startAt := time.Now()
	for b.Loop() {
		run()
	}
	elapsed := time.Since(startAt)
	cpu := processCPU() - cpuBefore
	runtime.ReadMemStats(&after)
	events := float64(b.N * benchMatches)
	b.ReportMetric(events/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// newBenchExporter builds the component as a collector would, queue off so a
// push is timed to the last byte the server receives.
func newBenchExporter(b *testing.B, url string) exporter.Traces {
	cfg := createDefaultConfig().(*Config)
	cfg.APIKey = "phc_bench"
	cfg.ClientConfig.Endpoint = url
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Mapping.Defaults.Properties = map[string]string{"environment": `resource.attributes["deployment.environment.name"]`}
	cfg.Mapping.Spans = []mapping.Rule{benchRule()}
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(NewFactory().Type()), cfg)
	require.NoError(b, err)
	require.NoError(b, exp.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// BenchmarkPushMatchingSpans: 1,000 spans that all match, each becoming an
// event with 6 properties (environment, engine.id, engine.type, duration_ms,
// status, trace_id, span_id minus nothing: see benchRule), mapped, encoded,
// gzipped and posted: the cost of one delivered event.
func BenchmarkPushMatchingSpans(b *testing.B) {
	exp := newBenchExporter(b, discardServer(b).URL)
	td := onlyMatching(benchTraces())
	require.Equal(b, benchMatches, td.SpanCount())
	b.ReportAllocs()
	reportPerEvent(b, func() {
		if err := exp.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	})
}

// onlyMatching keeps the spans the benchmark rule matches.
func onlyMatching(td ptrace.Traces) ptrace.Traces {
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool {
		return s.Name() != "engine.execute"
	})
	return td
}

// BenchmarkPush10kSpans: one push of 10,000 spans, 1,000 of which match,
// through the component as a collector builds it (queue off, so the push is
// timed to the last byte PostHog receives).
func BenchmarkPush10kSpans(b *testing.B) {
	exp := newBenchExporter(b, discardServer(b).URL)
	td := benchTraces()

	b.ReportAllocs()
	reportPerEvent(b, func() {
		if err := exp.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPosthogGo: posthog-go v1.23.1 delivering the same 1,000 events,
// built beforehand from the exporter's own mapping, with gzip as the exporter
// uses it. posthog-go has no flush but Close, so each op is a client's life.
func BenchmarkPosthogGo(b *testing.B) {
	srv := discardServer(b)
	cfg := createDefaultConfig().(*Config)
	cfg.Mapping.Defaults.Properties = map[string]string{"environment": `resource.attributes["deployment.environment.name"]`}
	cfg.Mapping.Spans = []mapping.Rule{benchRule()}
	m, err := mapping.NewMapper(&cfg.Mapping, mapping.Library{Name: "posthog-otel-collector-exporter", Version: Version}, componenttest.NewNopTelemetrySettings())
	require.NoError(b, err)
	res := &mapping.Result{}
	err = m.MapTraces(context.Background(), benchTraces(), res)
	require.NoError(b, err)
	require.Len(b, res.Events, benchMatches)
	msgs := make([]posthog.Capture, len(res.Events))
	for i, ev := range res.Events {
		props := posthog.NewProperties()
		for _, p := range ev.Properties {
			props.Set(p.Key, p.Any())
		}
		props.Set("trace_id", ev.TraceID.String())
		props.Set("span_id", ev.SpanID.String())
		props.Set("$process_person_profile", false)
		msgs[i] = posthog.Capture{
			Uuid:       string(mapping.AppendUUID(nil, ev.UUID)),
			DistinctId: ev.DistinctID,
			Event:      ev.Name,
			Timestamp:  ev.Timestamp,
			Properties: props,
		}
	}

	b.ReportAllocs()
	reportPerEvent(b, func() {
		client, err := posthog.NewWithConfig("phc_bench", posthog.Config{
			Endpoint:    srv.URL,
			Compression: posthog.CompressionGzip,
			BatchSize:   benchMatches,
			Logger:      silentLogger{},
		})
		if err != nil {
			b.Fatal(err)
		}
		for i := range msgs {
			if err := client.Enqueue(msgs[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := client.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

type silentLogger struct{}

func (silentLogger) Debugf(string, ...any) {}
func (silentLogger) Logf(string, ...any)   {}
func (silentLogger) Warnf(string, ...any)  {}
func (silentLogger) Errorf(string, ...any) {}
