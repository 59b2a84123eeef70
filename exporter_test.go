package posthogexporter

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/posthogexporter/posthogexporter/internal/metadatatest"
	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

const testAPIKey = "phc_component_test_key"

// harness is one exporter, built by the factory as a collector would, in
// front of a capture stand-in.
type harness struct {
	capture  *posthogtest.Server
	traces   exporter.Traces
	logs     exporter.Logs
	tel      *componenttest.Telemetry
	logged   *observer.ObservedLogs
	endpoint string // the capture stand-in's URL
}

// newHarness builds traces and logs exporters with the test rules. The queue
// is off and retries are off unless mutate turns them on, so each Consume
// call returns what the push returned.
func newHarness(t *testing.T, mutate func(*Config), opts ...posthogtest.Option) *harness {
	t.Helper()
	h := &harness{capture: posthogtest.NewServer(opts...), tel: componenttest.NewTelemetry()}
	srv := httptest.NewServer(h.capture)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })

	cfg := createDefaultConfig().(*Config)
	cfg.APIKey = testAPIKey
	cfg.ClientConfig.Endpoint = srv.URL
	h.endpoint = srv.URL
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Mapping.Defaults.DistinctID = []string{`resource.attributes["service.name"]`}
	cfg.Mapping.Spans = []mapping.Rule{{
		Name:       "api",
		Event:      "api_request",
		Conditions: []string{`span.kind == SPAN_KIND_SERVER`},
		DistinctID: []string{`span.attributes["enduser.id"]`},
		Attributes: []string{"http.route"},
	}}
	cfg.Mapping.Logs = []mapping.Rule{{
		Name:            "named",
		EventExpression: "log.event_name",
		Conditions:      []string{`log.event_name != ""`},
	}}
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	require.NoError(t, cfg.Mapping.Check())

	core, logged := observer.New(zapcore.DebugLevel)
	h.logged = logged
	set := metadatatest.NewSettings(h.tel)
	set.Logger = zap.New(core)

	f := NewFactory()
	var err error
	h.traces, err = f.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	h.logs, err = f.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.NoError(t, h.traces.Start(context.Background(), host))
	require.NoError(t, h.logs.Start(context.Background(), host))
	t.Cleanup(func() {
		assert.NoError(t, h.traces.Shutdown(context.Background()))
		assert.NoError(t, h.logs.Shutdown(context.Background()))
	})
	return h
}

// serverSpans makes n server spans, one per user "user-<i>", plus one
// internal span that no rule matches.
func serverSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "api")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		s := spans.AppendEmpty()
		s.SetName("GET /engines")
		s.SetKind(ptrace.SpanKindServer)
		s.SetTraceID(pcommon.TraceID{byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
		s.SetSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, int64(i)*1_000_000)))
		s.Attributes().PutStr("enduser.id", fmt.Sprintf("user-%d", i))
		s.Attributes().PutStr("http.route", "/engines")
	}
	internal := spans.AppendEmpty()
	internal.SetName("SELECT engines")
	internal.SetKind(ptrace.SpanKindClient)
	return td
}

// sumPoint is a data point of the harness's exporter (id "posthog"): every
// metric of the component carries the exporter's id.
func sumPoint(v int64, kv ...string) metricdata.DataPoint[int64] {
	attrs := []attribute.KeyValue{attribute.String("exporter", "posthog")}
	for i := 0; i+1 < len(kv); i += 2 {
		attrs = append(attrs, attribute.String(kv[i], kv[i+1]))
	}
	return metricdata.DataPoint[int64]{Value: v, Attributes: attribute.NewSet(attrs...)}
}

var ignoreTime = []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}

func TestTracesBecomeEvents(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(3)))

	events := h.capture.Events()
	require.Len(t, events, 3)
	for i, ev := range events {
		assert.Equal(t, "api_request", ev.Name)
		assert.Equal(t, fmt.Sprintf("user-%d", i), ev.DistinctID)
		assert.Equal(t, "/engines", ev.Properties["http.route"])
		assert.Equal(t, false, ev.Properties["$process_person_profile"])
		assert.Equal(t, "posthog-otel-collector-exporter", ev.Properties["$lib"])
		assert.Equal(t, Version, ev.Properties["$lib_version"])
	}
	reqs := h.capture.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/batch/", reqs[0].Path)
	assert.True(t, reqs[0].Gzip, "gzip is the default")
	assert.Equal(t, "posthog-otel-collector-exporter/"+Version, reqs[0].Header.Get("User-Agent"))

	// Every rule has its series from the start: "named", a logs rule, at 0.
	metadatatest.AssertEqualExporterPosthogRecordsMatched(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(3, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogEventsSent(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(3, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogRequests(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(1, "outcome", "success", "status_code", "200")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogRequestBytes(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(int64(reqs[0].UncompressedBytes), "form", "uncompressed"),
		sumPoint(int64(reqs[0].CompressedBytes), "form", "compressed"),
	}, ignoreTime...)
}

func TestLogsBecomeEvents(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ClientConfig.Compression = "none" })
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, name := range []string{"rate_limit_exceeded", "", "signup"} {
		lr := records.AppendEmpty()
		lr.SetEventName(name)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
	}
	require.NoError(t, h.logs.ConsumeLogs(context.Background(), ld))

	events := h.capture.Events()
	require.Len(t, events, 2)
	assert.Equal(t, "rate_limit_exceeded", events[0].Name)
	assert.Equal(t, "signup", events[1].Name)
	assert.Equal(t, "api", events[0].DistinctID, "defaults' distinct_id")
	assert.Equal(t, "2026-01-02T03:04:05Z", events[0].Timestamp)
	assert.False(t, h.capture.Requests()[0].Gzip, "compression: none")
}

func TestServerErrorIsRetryable(t *testing.T) {
	h := newHarness(t, nil)
	h.capture.FailNext(1, 503, "")
	err := h.traces.ConsumeTraces(context.Background(), serverSpans(2))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "503 must be retried: %v", err)
	assert.Empty(t, h.capture.Events())
	// The harness turns retry_on_failure off: this exporter gives up, and
	// the retryable error goes back to the pipeline.
	metadatatest.AssertEqualExporterPosthogRequests(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(1, "outcome", "given_up", "status_code", "503")}, ignoreTime...)
}

// TestRetryDeliversEachEventOnce: with exporterhelper's retries on, a push
// that met 503s is resent until it succeeds, with the same uuids.
func TestRetryDeliversEachEventOnce(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.RetryConfig.Enabled = true
		c.RetryConfig.InitialInterval = 10 * time.Millisecond
		c.RetryConfig.MaxInterval = 20 * time.Millisecond
	})
	h.capture.FailNext(2, 503, "")
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(5)))
	events := h.capture.Events()
	require.Len(t, events, 5)
	uuids := map[string]bool{}
	for _, ev := range events {
		uuids[ev.UUID] = true
	}
	assert.Len(t, uuids, 5)
	assert.Len(t, h.capture.Requests(), 3)
}

// TestRetryAfterIsHonoured: a 429 with Retry-After makes the next attempt
// wait at least that long, although the backoff alone would retry at once.
func TestRetryAfterIsHonoured(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.RetryConfig.Enabled = true
		c.RetryConfig.InitialInterval = 10 * time.Millisecond
		c.RetryConfig.MaxInterval = 10 * time.Millisecond
	})
	h.capture.FailNext(1, 429, "1")
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(1)))
	reqs := h.capture.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, 429, reqs[0].Status)
	assert.GreaterOrEqual(t, reqs[1].Time.Sub(reqs[0].Time), 900*time.Millisecond)
	metadatatest.AssertEqualExporterPosthogRequests(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(1, "outcome", "will_retry", "status_code", "429"),
		sumPoint(1, "outcome", "success", "status_code", "200"),
	}, ignoreTime...)
}

func TestUnauthorizedIsPermanentAndKeepsTheKeySecret(t *testing.T) {
	h := newHarness(t, nil, posthogtest.WithAPIKey("phc_some_other_project"))
	err := h.traces.ConsumeTraces(context.Background(), serverSpans(2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "401 must not be retried: %v", err)
	assert.NotContains(t, err.Error(), testAPIKey)

	errorLogs := h.logged.FilterLevelExact(zapcore.ErrorLevel).All()
	require.NotEmpty(t, errorLogs, "a 401 must be logged as an error")
	var all strings.Builder
	for _, e := range h.logged.All() {
		all.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			fmt.Fprintf(&all, " %s=%v", k, v)
		}
	}
	assert.Contains(t, all.String(), "api_key")
	assert.NotContains(t, all.String(), testAPIKey)
	metadatatest.AssertEqualExporterPosthogEventsDropped(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(2, "rule", "api", "reason", "unauthorized")}, ignoreTime...)
}

// TestPayloadTooLargeIsSplit: PostHog's 413 makes the exporter halve the
// request until the halves fit; every event arrives.
func TestPayloadTooLargeIsSplit(t *testing.T) {
	h := newHarness(t, nil, posthogtest.WithMaxBodyBytes(4000))
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(40)))
	assert.Len(t, h.capture.Events(), 40)
	var tooLarge int
	for _, r := range h.capture.Requests() {
		if r.Status == 413 {
			tooLarge++
		}
	}
	assert.Positive(t, tooLarge)
}

// TestPoisonEventIsIsolated: PostHog refuses a whole request for one bad
// event; bisection delivers the other 99 and drops exactly the refused one.
func TestPoisonEventIsIsolated(t *testing.T) {
	h := newHarness(t, nil)
	h.capture.RejectEvents(func(e posthogtest.Event) bool { return e.DistinctID == "user-42" })
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(100)))

	events := h.capture.Events()
	require.Len(t, events, 99)
	for _, ev := range events {
		assert.NotEqual(t, "user-42", ev.DistinctID)
	}
	metadatatest.AssertEqualExporterPosthogEventsSent(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(99, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogEventsDropped(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(1, "rule", "api", "reason", "rejected_by_posthog")}, ignoreTime...)
	refusals := h.logged.FilterField(zap.String("reason", "rejected_by_posthog")).All()
	require.Len(t, refusals, 1, "the refused event is logged, once")
	fields := refusals[0].ContextMap()
	assert.Equal(t, "api", fields["rule"])
	assert.NotEmpty(t, fields["uuid"])
	assert.NotEmpty(t, fields["response"], "with PostHog's message")
}

func TestOtherClientErrorIsPermanent(t *testing.T) {
	h := newHarness(t, nil)
	h.capture.FailNext(1, 404, "")
	err := h.traces.ConsumeTraces(context.Background(), serverSpans(1))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
}

// A record without a distinct_id and without a trace (to give it one of
// its own) is dropped, counted and logged.
func TestMappingDropsAreCounted(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Mapping.Spans[0].DistinctID = []string{`span.attributes["nobody"]`} })
	td := serverSpans(2)
	for _, s := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		s.SetTraceID(pcommon.TraceID{})
	}
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))
	assert.Empty(t, h.capture.Requests(), "nothing to send, no request")
	metadatatest.AssertEqualExporterPosthogRecordsMatched(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(2, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogEventsDropped(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(2, "rule", "api", "reason", "missing_distinct_id")}, ignoreTime...)
	assert.NotEmpty(t, h.logged.FilterMessageSnippet("distinct_id").All())
}

// A value of PostHog's illegal ids counts as none: the chain moves on, and
// the skip is counted per rule.
func TestIllegalDistinctIDsAreSkipped(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mapping.Spans[0].DistinctID = []string{`span.attributes["app.user"]`, `span.attributes["enduser.id"]`}
	})
	td := serverSpans(3)
	for _, s := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		s.Attributes().PutStr("app.user", "undefined") // a JavaScript client's missing user
	}
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))
	var ids []string
	for _, ev := range h.capture.Events() {
		ids = append(ids, ev.DistinctID)
	}
	assert.ElementsMatch(t, []string{"user-0", "user-1", "user-2"}, ids, "the chain moved on to enduser.id")
	metadatatest.AssertEqualExporterPosthogValuesSkipped(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(3, "rule", "api", "reason", "illegal_distinct_id"),
	}, ignoreTime...)
}

func TestPropagateFailsPermanently(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mapping.ErrorMode = "propagate"
		c.Mapping.Spans[0].Properties = map[string]string{"bad": `ParseJSON(span.attributes["http.route"])`}
	})
	err := h.traces.ConsumeTraces(context.Background(), serverSpans(1))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "rule api")
}

func TestNoRulesWarnsAtStart(t *testing.T) {
	core, logged := observer.New(zapcore.WarnLevel)
	cfg := createDefaultConfig().(*Config)
	cfg.APIKey = testAPIKey
	set := metadatatest.NewSettings(componenttest.NewTelemetry())
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.NotEmpty(t, logged.FilterMessageSnippet("send nothing").All())
}

// TestMetricsPerExporterInstance: with posthog/us and posthog/eu in one
// collector, each instance's counts carry its own id (the attribute key
// exporterhelper's metrics use), so they are not added together.
func TestMetricsPerExporterInstance(t *testing.T) {
	h := newHarness(t, nil)
	var eu exporter.Traces
	{
		set := metadatatest.NewSettings(h.tel)
		set.ID = component.MustNewIDWithName("posthog", "eu")
		cfg := createDefaultConfig().(*Config)
		cfg.APIKey = testAPIKey
		cfg.ClientConfig.Endpoint = h.endpoint
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		cfg.RetryConfig.Enabled = false
		cfg.Mapping.Spans = []mapping.Rule{{Name: "api", Event: "api_request", DistinctID: []string{`span.attributes["enduser.id"]`}, Conditions: []string{`span.kind == SPAN_KIND_SERVER`}}}
		var err error
		eu, err = NewFactory().CreateTraces(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, eu.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { assert.NoError(t, eu.Shutdown(context.Background())) })
	}
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(3)))
	require.NoError(t, eu.ConsumeTraces(context.Background(), serverSpans(2)))

	euPoint := func(v int64, kv ...string) metricdata.DataPoint[int64] {
		p := sumPoint(v, kv...)
		attrs := p.Attributes.ToSlice()
		for i := range attrs {
			if attrs[i].Key == "exporter" {
				attrs[i] = attribute.String("exporter", "posthog/eu")
			}
		}
		p.Attributes = attribute.NewSet(attrs...)
		return p
	}
	metadatatest.AssertEqualExporterPosthogEventsSent(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(3, "rule", "api"), euPoint(2, "rule", "api"), sumPoint(0, "rule", "named"),
	}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogRecordsMatched(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(3, "rule", "api"), euPoint(2, "rule", "api"), sumPoint(0, "rule", "named"),
	}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogRequests(t, h.tel, []metricdata.DataPoint[int64]{
		sumPoint(1, "outcome", "success", "status_code", "200"), euPoint(1, "outcome", "success", "status_code", "200"),
	}, ignoreTime...)
}

// TestDryRunSendsNothing: dry_run maps and counts as usual, logs the events
// (at most 10 every 10s) and sends nothing.
func TestDryRunSendsNothing(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DryRun = true })
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(25)))

	assert.Empty(t, h.capture.Requests(), "dry_run sends nothing")
	metadatatest.AssertEqualExporterPosthogRecordsMatched(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(25, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)
	metadatatest.AssertEqualExporterPosthogEventsSent(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(0, "rule", "api"), sumPoint(0, "rule", "named")}, ignoreTime...)

	logged := h.logged.FilterMessage("dry_run: event not sent to PostHog").All()
	require.Len(t, logged, 10, "at most 10 events logged per 10s")
	for _, l := range logged {
		assert.Equal(t, zapcore.InfoLevel, l.Level)
		fields := l.ContextMap()
		assert.Equal(t, "api", fields["rule"])
		assert.Contains(t, fields["event"], `"event":"api_request"`)
	}
	assert.NotEmpty(t, h.logged.FilterMessageSnippet("dry_run is on").All(), "the start says so")
}

// TestQueueBatchesEvents: with the default queue (batching on), the events
// of several pushes go to PostHog in one request; records that match no rule
// are not queued at all.
func TestQueueBatchesEvents(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.QueueConfig = createDefaultConfig().(*Config).QueueConfig
		c.QueueConfig.Get().Batch.Get().FlushTimeout = 300 * time.Millisecond
	})
	for range 5 {
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(3)))
	}
	require.Eventually(t, func() bool { return len(h.capture.Events()) == 15 }, 5*time.Second, 20*time.Millisecond)
	assert.Len(t, h.capture.Requests(), 1, "one batch of 15 events")
}

// Rules that no pipeline feeds are named at start: logs rules on an
// exporter that only a traces pipeline uses receive nothing. With both
// pipelines there is no warning.
func TestUnfedRulesWarnAtStart(t *testing.T) {
	for _, withLogs := range []bool{false, true} {
		core, logged := observer.New(zapcore.WarnLevel)
		cfg := createDefaultConfig().(*Config)
		cfg.APIKey = testAPIKey
		cfg.Mapping.Spans = []mapping.Rule{{Name: "api", Event: "api_request"}}
		cfg.Mapping.Logs = []mapping.Rule{{Name: "rate-limited", Event: "rate_limit_exceeded"}, {Name: "pool", Event: "pool_exhausted"}}
		set := metadatatest.NewSettings(componenttest.NewTelemetry())
		set.Logger = zap.New(core)
		var started []component.Component
		traces, err := NewFactory().CreateTraces(context.Background(), set, cfg)
		require.NoError(t, err)
		started = append(started, traces)
		if withLogs {
			logs, err := NewFactory().CreateLogs(context.Background(), set, cfg)
			require.NoError(t, err)
			started = append(started, logs)
		}
		for _, c := range started {
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		}
		for _, c := range started {
			require.NoError(t, c.Shutdown(context.Background()))
		}
		warned := logged.FilterMessageSnippet("No logs pipeline").All()
		if withLogs {
			assert.Empty(t, warned)
			continue
		}
		require.Len(t, warned, 1, "once per config")
		assert.Equal(t, "rate-limited, pool", warned[0].ContextMap()["rules"])
		assert.Empty(t, logged.FilterMessageSnippet("No traces pipeline").All(), "the spans rule is fed")
	}
}

// TestQueueUnitIsLogged: queue_size (the setting and exporterhelper's
// metric) is a number of pushes, events or bytes by the sizer; the start-up
// log says which.
func TestQueueUnitIsLogged(t *testing.T) {
	for sizer, unit := range map[string]string{"requests": "pushes that produced events", "items": "events", "bytes": "bytes of encoded events"} {
		t.Run(sizer, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				q := c.QueueConfig.GetOrInsertDefault()
				require.NoError(t, q.Sizer.UnmarshalText([]byte(sizer)))
			})
			logged := h.logged.FilterMessageSnippet("sending queue: queue_size counts").All()
			require.NotEmpty(t, logged)
			assert.Equal(t, "sending queue: queue_size counts "+unit+" (sizer: "+sizer+")", logged[0].Message)
		})
	}
}
