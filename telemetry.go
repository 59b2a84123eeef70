package posthogexporter // import "github.com/posthogexporter/posthogexporter"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/internal/metadata"
)

// telemetryObserver turns what delivery reports into the component's metrics.
type telemetryObserver struct {
	tb *metadata.TelemetryBuilder
}

func (o *telemetryObserver) EventsSent(ctx context.Context, rule string, n int64) {
	o.tb.ExporterPosthogEventsSent.Add(ctx, n, ruleAttr(rule))
}

func (o *telemetryObserver) EventsDropped(ctx context.Context, rule, reason string, n int64) {
	o.tb.ExporterPosthogEventsDropped.Add(ctx, n, ruleReasonAttrs(rule, reason))
}

func (o *telemetryObserver) Request(ctx context.Context, outcome string, uncompressed, compressed int64) {
	o.tb.ExporterPosthogRequests.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	o.tb.ExporterPosthogRequestBytes.Add(ctx, uncompressed, formUncompressed)
	o.tb.ExporterPosthogRequestBytes.Add(ctx, compressed, formCompressed)
}

var (
	formUncompressed = metric.WithAttributeSet(attribute.NewSet(attribute.String("form", "uncompressed")))
	formCompressed   = metric.WithAttributeSet(attribute.NewSet(attribute.String("form", "compressed")))
)

func ruleAttr(rule string) metric.AddOption {
	return metric.WithAttributes(attribute.String("rule", rule))
}

func ruleReasonAttrs(rule, reason string) metric.AddOption {
	return metric.WithAttributes(attribute.String("rule", rule), attribute.String("reason", reason))
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
