package delivery

import (
	"fmt"
	"net/url"

	"go.opentelemetry.io/collector/config/configopaque"

	"go.uber.org/zap"
)

// Defaults for the zero values of Settings that the exporter's configuration
// does not set. The configuration's own defaults (batch limits, endpoint) and
// its checks live in the exporter's Config alone: a Sender trusts them.
const (
	DefaultMaxEventBytes = 900_000 // as PostHog's own OTel path: PostHog refuses events near 1 MB, with their whole request
	DefaultUserAgent     = "posthogexporter"
)

// Settings tell a Sender where and how to deliver events. They come from the
// exporter's validated Config and are not checked again here.
type Settings struct {
	// Endpoint is PostHog's base URL, e.g. https://us.i.posthog.com; the
	// Sender posts to <Endpoint>/batch/. A path is kept (for proxies).
	Endpoint string
	// APIKey is the project API key (phc_...). It stays opaque (printed as
	// [REDACTED]) until it is written into a request body, the only place
	// it ever goes: never into errors or logs.
	APIKey configopaque.String
	// HistoricalMigration sends "historical_migration": true, PostHog's lane
	// for backfills.
	HistoricalMigration bool
	// Gzip compresses request bodies (Content-Encoding: gzip). The Sender does
	// it itself so it can count compressed bytes; give it a client that does
	// not compress again.
	Gzip bool
	// GzipLevel is the gzip compression level, 1 (fastest) to 9 (smallest).
	GzipLevel int
	// Retry says that exporterhelper sends again what Send returns as
	// retryable (retry_on_failure is on). It changes only the outcome that
	// requests are counted under: will_retry, or given_up.
	Retry bool
	// MaxBatchEvents caps the events of one request.
	MaxBatchEvents int
	// MaxBatchBytes caps the uncompressed body of one request.
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
	if s.MaxEventBytes <= 0 {
		s.MaxEventBytes = DefaultMaxEventBytes
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
// in a slash or has a path of its own. The endpoint is an absolute http(s)
// URL: the exporter's Config.Validate made sure of it.
func batchURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("endpoint: %w", err)
	}
	u = u.JoinPath("batch")
	u.Path += "/"
	if u.RawPath != "" {
		u.RawPath += "/"
	}
	return u.String(), nil
}
