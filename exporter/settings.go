package exporter

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// Defaults for the zero values of Settings.
const (
	DefaultMaxBatchEvents = 1000
	DefaultMaxBatchBytes  = 5 << 20 // well under PostHog's 20 MB /batch/ limit
	DefaultMaxEventBytes  = 900_000 // as PostHog's own OTel path: PostHog refuses events near 1 MB, with their whole request
	DefaultUserAgent      = "posthogexporter"
	DefaultGzipLevel      = 1
)

// Settings tell a Sender where and how to deliver events.
type Settings struct {
	// Endpoint is PostHog's base URL, e.g. https://us.i.posthog.com; the
	// Sender posts to <Endpoint>/batch/. A path is kept (for proxies).
	Endpoint string
	// APIKey is the project API key (phc_...). It only ever goes into request
	// bodies: never into errors or logs.
	APIKey string
	// HistoricalMigration sends "historical_migration": true, PostHog's lane
	// for backfills.
	HistoricalMigration bool
	// Gzip compresses request bodies (Content-Encoding: gzip). The Sender does
	// it itself so it can count compressed bytes; give it a client that does
	// not compress again.
	Gzip bool
	// GzipLevel is the gzip compression level, 1 (fastest) to 9 (smallest).
	// The default, 1, is the cheapest in CPU: on event batches it costs half
	// of level 6's CPU for about 10% more bytes.
	GzipLevel int
	// MaxBatchEvents caps the events of one request (default 1000).
	MaxBatchEvents int
	// MaxBatchBytes caps the uncompressed body of one request (default 5 MiB).
	MaxBatchBytes int
	// MaxEventBytes is the largest encoded event sent (default 900,000 bytes); larger
	// events are dropped as EventTooLarge. It is lowered to what fits in one
	// request of MaxBatchBytes.
	MaxEventBytes int
	// UserAgent is sent as the User-Agent header (default "posthogexporter").
	UserAgent string
	// Logger receives refusals and API key problems; nil logs nothing.
	Logger *zap.Logger
}

// withDefaults fills in zero values.
func (s Settings) withDefaults() Settings {
	if s.MaxBatchEvents <= 0 {
		s.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if s.MaxBatchBytes <= 0 {
		s.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if s.MaxEventBytes <= 0 {
		s.MaxEventBytes = DefaultMaxEventBytes
	}
	if s.GzipLevel == 0 || s.GzipLevel == -1 { // unset, or zlib's "default"
		s.GzipLevel = DefaultGzipLevel
	}
	if s.UserAgent == "" {
		s.UserAgent = DefaultUserAgent
	}
	if s.Logger == nil {
		s.Logger = zap.NewNop()
	}
	return s
}

// batchURL joins the endpoint and /batch/, whether or not the endpoint ends
// in a slash or has a path of its own.
func batchURL(endpoint string) (string, error) {
	if strings.TrimSpace(endpoint) == "" {
		return "", errors.New("endpoint is empty")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" {
		return "", fmt.Errorf("endpoint %q has no host", endpoint)
	}
	u = u.JoinPath("batch")
	u.Path += "/"
	if u.RawPath != "" {
		u.RawPath += "/"
	}
	return u.String(), nil
}
