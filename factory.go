package posthogexporter // import "github.com/posthogexporter/posthogexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	phexporter "github.com/posthogexporter/posthogexporter/exporter"
	"github.com/posthogexporter/posthogexporter/internal/metadata"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// Version of this exporter, sent in $lib_version and the User-Agent.
const Version = phexporter.Version

// LibraryName is what events carry in $lib, and requests in their User-Agent.
const LibraryName = phexporter.LibraryName

// NewFactory returns the factory of the posthog exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = defaultEndpoint
	client.Timeout = 30 * time.Second
	client.Compression = configcompression.TypeGzip
	client.CompressionParams.Level = defaultGzipLevel
	return &Config{
		ClientConfig:   client,
		QueueConfig:    configoptional.Some(defaultQueueConfig()),
		RetryConfig:    configretry.NewDefaultBackOffConfig(),
		MaxBatchEvents: defaultMaxBatchEvents,
		MaxBatchBytes:  defaultMaxBatchBytes,
		TraceContext: configoptional.Default(TraceContextConfig{
			Wait:       defaultTraceContextWait,
			MaxPending: defaultTraceContextMaxPending,
		}),
		Mapping: mapping.NewDefaultConfig(),
	}
}

// defaultQueueConfig is exporterhelper's queue with batching on, as the
// collector's batching RFC makes it for exporters: batches of events (the
// queue holds events, not spans), up to max_batch_events, flushed at least
// every second. No batch processor is needed in front of this exporter.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	b := q.Batch.GetOrInsertDefault()
	b.FlushTimeout = defaultFlushTimeout
	b.Sizer = exporterhelper.RequestSizerTypeItems
	b.MinSize = defaultMaxBatchEvents
	b.MaxSize = defaultMaxBatchEvents
	return q
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	return phexporter.NewTraces(ctx, set, exporterConfig(cfg.(*Config)))
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	return phexporter.NewLogs(ctx, set, exporterConfig(cfg.(*Config)))
}

// exporterConfig is what the exporter needs of the user's configuration.
func exporterConfig(c *Config) phexporter.Config {
	return phexporter.Config{
		Client:              c.ClientConfig,
		Queue:               c.QueueConfig,
		Retry:               c.RetryConfig,
		APIKey:              string(c.APIKey),
		HistoricalMigration: c.HistoricalMigration,
		MaxBatchEvents:      c.MaxBatchEvents,
		MaxBatchBytes:       c.MaxBatchBytes,
		Mapping:             &c.Mapping,
		DryRun:              c.DryRun,
		TraceContext:        traceContextConfig(c),
	}
}

// traceContextConfig is nil when trace_context is not set: nothing waits.
func traceContextConfig(c *Config) *phexporter.TraceContext {
	if !c.TraceContext.HasValue() {
		return nil
	}
	tc := c.TraceContext.Get()
	return &phexporter.TraceContext{Attributes: tc.Attributes, Wait: tc.Wait, MaxPending: tc.MaxPending}
}
