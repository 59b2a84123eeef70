// Package exporter is the posthog exporter. Records are mapped to PostHog
// events as they arrive (package mapping) and encoded to their final JSON at
// once, so exporterhelper's queue, batching and retries work on events; the
// pdata is released before the queue, and records that match no rule never
// reach it. Delivery (package delivery) sends the events to PostHog's batch
// API.
package exporter

import (
	"context"
	"fmt"
	"sync"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
	"github.com/posthogexporter/posthogexporter/exporter/internal/exposure"
	"github.com/posthogexporter/posthogexporter/internal/metadata"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// LibraryName is what events carry in $lib, and requests in their User-Agent.
const LibraryName = "posthog-otel-collector-exporter"

// Version of this exporter, sent in $lib_version and the User-Agent.
const Version = "0.1.0"

// posthogExporter joins the two halves: mapping turns pdata into events,
// delivery sends them. exporterhelper in between queues, batches and retries
// events.
type posthogExporter struct {
	cfg       *Config
	settings  exporter.Settings
	mapper    *mapping.Mapper
	encoder   *delivery.Encoder
	telemetry *telemetry
	warnings  *logLimiter
	upgrade   upgradeLog
	sender    *delivery.Sender
	dryRun    *dryRunLog // nil unless dry_run
	exposures *exposure.Set
}

func newPostHogExporter(cfg *Config, set exporter.Settings) (*posthogExporter, error) {
	mapper, err := mapping.NewMapper(&cfg.Mapping, mapping.Library{Name: LibraryName, Version: Version}, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &posthogExporter{
		cfg:       cfg,
		settings:  set,
		mapper:    mapper,
		telemetry: newTelemetry(tb, set.ID, mapper.SpanRules(), mapper.SpanEventRules(), mapper.LogRules()),
		warnings:  newLogLimiter(set.Logger),
		exposures: newExposures(&cfg.Mapping, nil),
	}
	e.upgrade.logger = set.Logger
	if cfg.DryRun {
		e.dryRun = newDryRunLog(set.Logger)
	}
	e.encoder = delivery.NewEncoder(e.deliverySettings(), e.telemetry)
	return e, nil
}

func (e *posthogExporter) deliverySettings() delivery.Settings {
	return delivery.Settings{
		Endpoint:            e.cfg.ClientConfig.Endpoint,
		APIKey:              e.cfg.APIKey,
		HistoricalMigration: e.cfg.HistoricalMigration,
		Gzip:                e.cfg.ClientConfig.Compression == configcompression.TypeGzip,
		GzipLevel:           int(e.cfg.ClientConfig.CompressionParams.Level),
		Retry:               e.cfg.RetryConfig.Enabled,
		MaxBatchEvents:      e.cfg.MaxBatchEvents,
		MaxBatchBytes:       e.cfg.MaxBatchBytes,
		UserAgent:           LibraryName + "/" + Version,
		Logger:              e.settings.Logger,
	}
}

func (e *posthogExporter) options(enc eventsEncoding) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client has its own timeout (the `timeout` key): as
		// otlphttpexporter does, exporterhelper's is turned off.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(e.cfg.RetryConfig),
		xexporterhelper.WithQueueBatch(queueConfig(e.cfg), xexporterhelper.QueueBatchSettings{Encoding: enc}),
	}
}

// queueConfig is the user's sending_queue with its batches bounded by
// max_batch_events (sizer items) or max_batch_bytes (sizer bytes): a batch
// never holds more than one request to PostHog may carry.
func queueConfig(cfg *Config) configoptional.Optional[exporterhelper.QueueBatchConfig] {
	q := cfg.QueueConfig
	if !q.HasValue() || !q.Get().Batch.HasValue() {
		return q
	}
	b := q.Get().Batch.Get()
	limit := int64(0)
	switch b.Sizer {
	case exporterhelper.RequestSizerTypeItems:
		limit = int64(cfg.MaxBatchEvents)
	case exporterhelper.RequestSizerTypeBytes:
		limit = int64(cfg.MaxBatchBytes)
	}
	if limit > 0 && (b.MaxSize == 0 || b.MaxSize > limit) {
		b.MaxSize = limit
		b.MinSize = min(b.MinSize, limit)
	}
	return q
}

func (e *posthogExporter) start(ctx context.Context, host component.Host) error {
	if !e.cfg.Mapping.HasRules() {
		e.settings.Logger.Warn("No spans, span_events or logs rules are configured: this exporter will send nothing to PostHog. Add rules under `spans:`, `span_events:` or `logs:`.")
	}
	if e.dryRun != nil {
		e.settings.Logger.Warn("dry_run is on: events are mapped and counted, and logged (a few every 10s), but nothing is sent to PostHog.")
	}
	logQueueUnit(e.settings.Logger, e.cfg)
	// The body is gzipped by the sender, which must see both sizes for its
	// metrics and split oversized requests; the client must not compress again.
	clientCfg := e.cfg.ClientConfig
	clientCfg.Compression = ""
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), e.settings.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("creating the HTTP client: %w", err)
	}
	sender, err := delivery.NewSender(client, e.deliverySettings(), e.telemetry)
	if err != nil {
		return err
	}
	e.sender = sender
	e.telemetry.rulesAtZero(ctx)
	return nil
}

// logQueueUnit says what exporterhelper's queue_size metric and setting
// count: the same number means pushes, events or bytes by the sizer.
func logQueueUnit(logger *zap.Logger, cfg *Config) {
	if !cfg.QueueConfig.HasValue() {
		return
	}
	q := cfg.QueueConfig.Get()
	unit := map[exporterhelper.RequestSizerType]string{
		exporterhelper.RequestSizerTypeRequests: "pushes that produced events",
		exporterhelper.RequestSizerTypeItems:    "events",
		exporterhelper.RequestSizerTypeBytes:    "bytes of encoded events",
	}[q.Sizer]
	if unit == "" {
		return
	}
	logger.Info("sending queue: queue_size counts "+unit+" (sizer: "+q.Sizer.String()+")", zap.Int64("queue_size", q.QueueSize))
}

func (e *posthogExporter) shutdown(context.Context) error {
	e.upgrade.summary()
	if e.telemetry != nil {
		e.telemetry.tb.Shutdown()
	}
	return nil
}

// push sends one batch of events: what leaves exporterhelper's queue.
func (e *posthogExporter) push(ctx context.Context, req xexporterhelper.Request) error {
	r, ok := req.(*eventsRequest)
	if !ok {
		return consumererror.NewPermanent(fmt.Errorf("posthog: unexpected request %T", req))
	}
	if e.dryRun != nil {
		e.dryRun.log(r.events)
		return nil
	}
	return e.sender.Send(ctx, r.events)
}

// Results are pooled: after a few pushes, mapping a push allocates no
// growing slices of events and properties. The events are encoded before the
// Result goes back.
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

// toRequest records what the mappings did and encodes their events into
// one request; nothing of the records is kept.
func (e *posthogExporter) toRequest(ctx context.Context, mapErr error, results ...*mapping.Result) (*eventsRequest, error) {
	if mapErr != nil {
		// error_mode: propagate. Retrying cannot make the rule evaluate.
		return nil, consumererror.NewPermanent(fmt.Errorf("mapping records to PostHog events: %w", mapErr))
	}
	n := 0
	for _, res := range results {
		n += len(res.Events)
	}
	events := make([]delivery.Event, 0, n) // the request keeps it: one allocation, not a growing series
	for _, res := range results {
		e.mapped(ctx, res)
		if len(res.Events) > 0 {
			events = e.encoder.Encode(ctx, res.Events, events)
		}
	}
	return newEventsRequest(events), nil
}

// mapped records what one mapping call did, and drops its repeated
// exposures, before its events are encoded.
func (e *posthogExporter) mapped(ctx context.Context, res *mapping.Result) {
	e.recordStats(ctx, res.Stats)
	e.dropRepeatedExposures(ctx, res)
}

func (e *posthogExporter) recordStats(ctx context.Context, stats []mapping.RuleStats) {
	for i := range stats {
		s := &stats[i]
		if s.Matched > 0 {
			e.telemetry.recordsMatched(ctx, s.Rule, s.Matched)
		}
		for reason, n := range s.Dropped {
			e.telemetry.EventsDropped(ctx, s.Rule, string(reason), n)
		}
		for reason, n := range s.Skipped {
			e.telemetry.valuesSkipped(ctx, s.Rule, string(reason), n)
		}
		if s.FirstError != nil && e.mapper.ErrorMode() == ottl.IgnoreError {
			e.warnings.warn("eval:"+s.Rule, "A rule failed to evaluate; the records it failed on produced no event from it (error_mode: ignore).",
				zap.String("rule", s.Rule),
				zap.Int64("failed_records", s.Dropped[mapping.DropEvaluationError]),
				zap.Error(s.FirstError))
		}
		for _, w := range dropWarnings {
			var n int64
			for _, r := range w.reasons {
				n += s.Dropped[r]
			}
			if n > 0 {
				e.warnings.warn(w.key+":"+s.Rule, w.message, zap.String("rule", s.Rule), zap.Int64("dropped", n))
			}
		}
	}
}

// dropWarnings say, per drop reason of the mapping, what the user can fix;
// each is logged at most once per interval per rule (warnings).
var dropWarnings = []struct {
	key     string
	reasons []mapping.DropReason
	message string
}{
	{"distinct_id", []mapping.DropReason{mapping.DropMissingDistinctID},
		"Events dropped: no expression of the distinct_id chain gave a value. Add a fallback to the rule's distinct_id."},
	{"event", []mapping.DropReason{mapping.DropMissingEventName},
		"Events dropped: event_expression gave no name."},
	{"length", []mapping.DropReason{mapping.DropEventNameTooLong, mapping.DropDistinctIDTooLong},
		"Events dropped: event name or distinct_id over 200 characters, which PostHog would cut (two long ids could collide)."},
	{"group", []mapping.DropReason{mapping.DropMissingGroupKey},
		"Events dropped: the $groupidentify rule's group key was empty."},
}
