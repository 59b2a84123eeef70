package exporter

import (
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/posthogexporter/posthogexporter/internal/tracecontext"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// Config is what the exporter needs from the component's configuration; the
// factory fills it from the user's config, which has already been validated.
type Config struct {
	Client              confighttp.ClientConfig
	Queue               configoptional.Optional[exporterhelper.QueueBatchConfig]
	Retry               configretry.BackOffConfig
	APIKey              string
	HistoricalMigration bool
	MaxBatchEvents      int
	MaxBatchBytes       int
	Mapping             *mapping.Config
	// DryRun maps and counts as usual, logs the events and sends nothing.
	DryRun bool
	// TraceContext, when not nil, holds spans until their trace has arrived
	// and gives them the trace's listed attributes.
	TraceContext *TraceContext
}

// TraceContext is the trace_context block: see package tracecontext.
type TraceContext = tracecontext.Config

// MaxTraceContextAttributes bounds trace_context.attributes.
const MaxTraceContextAttributes = tracecontext.MaxAttributes
