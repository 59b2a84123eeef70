package posthogexporter // import "github.com/posthogexporter/posthogexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	phexporter "github.com/posthogexporter/posthogexporter/exporter"
	"github.com/posthogexporter/posthogexporter/internal/metadata"
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
	return phexporter.NewDefaultConfig()
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	return phexporter.NewTraces(ctx, set, cfg.(*Config))
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	return phexporter.NewLogs(ctx, set, cfg.(*Config))
}
