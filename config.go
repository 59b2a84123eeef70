package posthogexporter // import "github.com/posthogexporter/posthogexporter"

import "github.com/posthogexporter/posthogexporter/exporter"

// Config is the configuration of the posthog exporter: the HTTP client
// (endpoint, timeout, compression, headers, tls), api_key, sending_queue,
// retry_on_failure, the request limits, dry_run, trace_context and the
// rules (defaults, spans, span_events, logs). It is defined with the
// exporter, which works from it as it is; docs/configuration.md describes
// every key.
type Config = exporter.Config
