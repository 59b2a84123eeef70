package posthogexporter // import "github.com/posthogexporter/posthogexporter"

import (
	"context"
	"fmt"
	"sync"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	delivery "github.com/posthogexporter/posthogexporter/exporter"
	"github.com/posthogexporter/posthogexporter/internal/metadata"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// libName is what events carry in $lib, and requests in their User-Agent.
const libName = "posthog-otel-collector-exporter"

// posthogExporter joins the two halves: mapping turns pdata into events,
// delivery sends them. exporterhelper around it does queueing and retries.
type posthogExporter struct {
	cfg       *Config
	settings  exporter.Settings
	mapper    *mapping.Mapper
	telemetry *metadata.TelemetryBuilder
	logs      *logLimiter
	sender    *delivery.Sender
}

func newPostHogExporter(cfg *Config, set exporter.Settings) (*posthogExporter, error) {
	mapper, err := mapping.NewMapper(&cfg.Mapping, mapping.Library{Name: libName, Version: Version}, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &posthogExporter{
		cfg:       cfg,
		settings:  set,
		mapper:    mapper,
		telemetry: tb,
		logs:      newLogLimiter(set.Logger),
	}, nil
}

func (e *posthogExporter) options() []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client has its own timeout (the `timeout` key): as
		// otlphttpexporter does, exporterhelper's is turned off.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(e.cfg.RetryConfig),
		exporterhelper.WithQueue(e.cfg.QueueConfig),
	}
}

func (e *posthogExporter) start(ctx context.Context, host component.Host) error {
	if !e.cfg.Mapping.HasRules() {
		e.settings.Logger.Warn("No spans or logs rules are configured: this exporter will send nothing to PostHog. Add rules under `spans:` or `logs:`.")
	}
	// The body is gzipped by the sender, which must see both sizes for its
	// metrics and split oversized requests; the client must not compress again.
	clientCfg := e.cfg.ClientConfig
	clientCfg.Compression = ""
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), e.settings.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("creating the HTTP client: %w", err)
	}
	sender, err := delivery.NewSender(client, delivery.Settings{
		Endpoint:            e.cfg.ClientConfig.Endpoint,
		APIKey:              string(e.cfg.APIKey),
		HistoricalMigration: e.cfg.HistoricalMigration,
		Gzip:                e.cfg.ClientConfig.Compression == "gzip",
		GzipLevel:           int(e.cfg.ClientConfig.CompressionParams.Level),
		MaxBatchEvents:      e.cfg.MaxBatchEvents,
		MaxBatchBytes:       e.cfg.MaxBatchBytes,
		UserAgent:           libName + "/" + Version,
		Logger:              e.settings.Logger,
	}, &telemetryObserver{tb: e.telemetry})
	if err != nil {
		return err
	}
	e.sender = sender
	return nil
}

func (e *posthogExporter) shutdown(context.Context) error {
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return nil
}

func (e *posthogExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	res := getResult()
	defer putResult(res)
	err := e.mapper.MapTraces(ctx, td, res)
	return e.deliver(ctx, res, err)
}

func (e *posthogExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	res := getResult()
	defer putResult(res)
	err := e.mapper.MapLogs(ctx, ld, res)
	return e.deliver(ctx, res, err)
}

// Results are pooled: after a few pushes, mapping a push allocates no
// growing slices of events and properties. Delivery is done with them when
// Send returns.
var resultPool = sync.Pool{New: func() any { return new(mapping.Result) }}

// maxPooledEvents keeps one huge push from pinning its memory in the pool.
const maxPooledEvents = 1 << 16

func getResult() *mapping.Result { return resultPool.Get().(*mapping.Result) }

func putResult(res *mapping.Result) {
	if cap(res.Events) > maxPooledEvents {
		return
	}
	res.Clear() // drop references into the push's pdata
	resultPool.Put(res)
}

// deliver records what the mapping did and sends its events.
func (e *posthogExporter) deliver(ctx context.Context, res *mapping.Result, mapErr error) error {
	if mapErr != nil {
		// error_mode: propagate. Retrying cannot make the rule evaluate.
		return consumererror.NewPermanent(fmt.Errorf("mapping records to PostHog events: %w", mapErr))
	}
	e.recordStats(ctx, res.Stats)
	if len(res.Events) == 0 {
		return nil
	}
	return e.sender.Send(ctx, res.Events)
}

func (e *posthogExporter) recordStats(ctx context.Context, stats []mapping.RuleStats) {
	for i := range stats {
		s := &stats[i]
		if s.Matched > 0 {
			e.telemetry.ExporterPosthogRecordsMatched.Add(ctx, s.Matched, ruleAttr(s.Rule))
		}
		for reason, n := range s.Dropped {
			e.telemetry.ExporterPosthogEventsDropped.Add(ctx, n, ruleReasonAttrs(s.Rule, string(reason)))
		}
		if s.FirstError != nil && e.mapper.ErrorMode() == ottl.IgnoreError {
			e.logs.warn("eval:"+s.Rule, "A rule failed to evaluate; the records it failed on produced no event from it (error_mode: ignore).",
				zap.String("rule", s.Rule),
				zap.Int64("failed_records", s.Dropped[mapping.DropEvaluationError]),
				zap.Error(s.FirstError))
		}
		if n := s.Dropped[mapping.DropMissingDistinctID]; n > 0 {
			e.logs.warn("distinct_id:"+s.Rule, "Events dropped: no expression of the distinct_id chain gave a value. Add a fallback to the rule's distinct_id.",
				zap.String("rule", s.Rule), zap.Int64("dropped", n))
		}
		if n := s.Dropped[mapping.DropMissingEventName]; n > 0 {
			e.logs.warn("event:"+s.Rule, "Events dropped: event_expression gave no name.",
				zap.String("rule", s.Rule), zap.Int64("dropped", n))
		}
		if n := s.Dropped[mapping.DropEventNameTooLong] + s.Dropped[mapping.DropDistinctIDTooLong]; n > 0 {
			e.logs.warn("length:"+s.Rule, "Events dropped: event name or distinct_id over 200 characters, which PostHog would cut (two long ids could collide).",
				zap.String("rule", s.Rule), zap.Int64("dropped", n))
		}
		if n := s.Dropped[mapping.DropMissingGroupKey]; n > 0 {
			e.logs.warn("group:"+s.Rule, "Events dropped: the $groupidentify rule's group key was empty.",
				zap.String("rule", s.Rule), zap.Int64("dropped", n))
		}
	}
}
