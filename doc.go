// Package posthogexporter is an OpenTelemetry Collector exporter that turns
// selected spans and log records into PostHog product-analytics events, by
// rules written in the collector's configuration.
//
// The data path: pdata -> mapping (rules, OTTL) -> events -> exporter (batch
// requests, HTTP) -> PostHog.
//
// internal/metadata and documentation.md are generated from metadata.yaml
// by mdatagen: run `make generate`.
package posthogexporter // import "github.com/posthogexporter/posthogexporter"
