package exporter

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/internal/metadata"
)

// exporterKey is the attribute that names the exporter instance in every
// metric of this component, the key exporterhelper's own metrics use
// (otelcol_exporter_sent_items and the others), so posthog/us and posthog/eu
// in one collector are told apart, and the two can be joined.
const exporterKey = "exporter"

// telemetry turns what the exporter and delivery report into the component's
// metrics, each with the exporter's id.
type telemetry struct {
	tb       *metadata.TelemetryBuilder
	exporter attribute.KeyValue

	uncompressed, compressed metric.AddOption
	// byRule holds each rule's attribute set (exporter and rule), made
	// once: building it on every push cost allocations on every push. It
	// is passed on as a slice (opts...), which the variadic Add then does
	// not allocate. Read-only after newTelemetry.
	byRule map[string][]metric.AddOption
}

// newTelemetry records the metrics of exporter id, whose rules are named
// rules.
func newTelemetry(tb *metadata.TelemetryBuilder, id component.ID, rules ...[]string) *telemetry {
	exp := attribute.String(exporterKey, id.String())
	t := &telemetry{
		tb:           tb,
		exporter:     exp,
		uncompressed: metric.WithAttributeSet(attribute.NewSet(exp, attribute.String("form", "uncompressed"))),
		compressed:   metric.WithAttributeSet(attribute.NewSet(exp, attribute.String("form", "compressed"))),
		byRule:       map[string][]metric.AddOption{},
	}
	for _, list := range rules {
		for _, rule := range list {
			t.byRule[rule] = t.newRuleAttributes(rule)
		}
	}
	return t
}

// ruleAttributes is the attribute set of the metrics about one rule.
func (t *telemetry) ruleAttributes(rule string) []metric.AddOption {
	if o, ok := t.byRule[rule]; ok {
		return o
	}
	return t.newRuleAttributes(rule) // not a rule of the config: not expected
}

func (t *telemetry) newRuleAttributes(rule string) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(t.exporter, attribute.String("rule", rule)))}
}

// rulesAtZero starts every rule's records_matched and events_sent series at
// 0, so a rule that never matches shows as 0, not as a missing series, from
// the start (an alert on "stays at 0" needs the series).
func (t *telemetry) rulesAtZero(ctx context.Context) {
	for _, opts := range t.byRule {
		t.tb.ExporterPosthogRecordsMatched.Add(ctx, 0, opts...)
		t.tb.ExporterPosthogEventsSent.Add(ctx, 0, opts...)
	}
}

func (t *telemetry) recordsMatched(ctx context.Context, rule string, n int64) {
	t.tb.ExporterPosthogRecordsMatched.Add(ctx, n, t.ruleAttributes(rule)...)
}

func (t *telemetry) EventsSent(ctx context.Context, rule string, n int64) {
	t.tb.ExporterPosthogEventsSent.Add(ctx, n, t.ruleAttributes(rule)...)
}

func (t *telemetry) EventsDropped(ctx context.Context, rule, reason string, n int64) {
	t.tb.ExporterPosthogEventsDropped.Add(ctx, n,
		metric.WithAttributes(t.exporter, attribute.String("rule", rule), attribute.String("reason", reason)))
}

func (t *telemetry) valuesSkipped(ctx context.Context, rule, reason string, n int64) {
	t.tb.ExporterPosthogValuesSkipped.Add(ctx, n,
		metric.WithAttributes(t.exporter, attribute.String("rule", rule), attribute.String("reason", reason)))
}

func (t *telemetry) Request(ctx context.Context, outcome, status string, uncompressed, compressed int64) {
	t.tb.ExporterPosthogRequests.Add(ctx, 1, metric.WithAttributes(t.exporter, attribute.String("outcome", outcome), attribute.String("status_code", status)))
	t.tb.ExporterPosthogRequestBytes.Add(ctx, uncompressed, t.uncompressed)
	t.tb.ExporterPosthogRequestBytes.Add(ctx, compressed, t.compressed)
}

// logLimiter logs a repeated warning at most once per interval per key, so
// a rule that fails on every record does not flood the collector's log. The
// counts are in the metrics; the log says what to fix.
type logLimiter struct {
	logger   *zap.Logger
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
}

func newLogLimiter(logger *zap.Logger) *logLimiter {
	return &logLimiter{logger: logger, interval: 10 * time.Second, last: map[string]time.Time{}}
}

func (l *logLimiter) warn(key, msg string, fields ...zap.Field) {
	now := time.Now()
	l.mu.Lock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.interval {
		l.mu.Unlock()
		return
	}
	l.last[key] = now
	l.mu.Unlock()
	l.logger.Warn(msg, fields...)
}

func (t *telemetry) spansWaited(ctx context.Context, outcome string, n int64) {
	t.tb.ExporterPosthogTraceContextSpansWaited.Add(ctx, n, metric.WithAttributes(t.exporter, attribute.String("wait_outcome", outcome)))
}

func (t *telemetry) traceContextEvents(ctx context.Context, rule string, n int64) {
	t.tb.ExporterPosthogTraceContextEvents.Add(ctx, n, t.ruleAttributes(rule)...)
}
