package exporter

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/posthogexporter/posthogexporter/internal/configkeys"
	"github.com/posthogexporter/posthogexporter/internal/envref"
	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// Limits of PostHog's capture service and of this exporter's requests.
const (
	// postHogMaxBodyBytes is what PostHog's /batch/ accepts after decompression.
	postHogMaxBodyBytes = 20 << 20
	// envelopeBytes is room for the request's own keys around the events.
	envelopeBytes = 64 << 10

	defaultEndpoint       = "https://us.i.posthog.com"
	defaultMaxBatchEvents = 1000
	defaultMaxBatchBytes  = 5 << 20
	defaultFlushTimeout   = time.Second
	// defaultGzipLevel is the cheapest in CPU: on event batches it costs half
	// of level 6's CPU for about 10% more bytes.
	defaultGzipLevel = 1
)

// Config is the configuration of the posthog exporter.
type Config struct {
	// ClientConfig is the HTTP client: endpoint, timeout, compression,
	// headers, tls, proxy_url, ... PostHog accepts gzip or no compression.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`

	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// APIKey is the PostHog project API key (phc_...).
	APIKey configopaque.String `mapstructure:"api_key"`

	// HistoricalMigration marks requests as a backfill of old events.
	HistoricalMigration bool `mapstructure:"historical_migration"`

	// MaxBatchEvents and MaxBatchBytes bound one batch request: the events of
	// one push are split into requests of at most this many events and
	// uncompressed bytes.
	MaxBatchEvents int `mapstructure:"max_batch_events"`
	MaxBatchBytes  int `mapstructure:"max_batch_bytes"`

	// DryRun maps and counts records as usual but sends nothing to PostHog:
	// each event is logged instead (at info, at most 10 every 10s), so a new
	// rule can be tried in production without touching PostHog's data.
	DryRun bool `mapstructure:"dry_run"`

	// TraceContext, when set, gives every span the listed attributes of its
	// trace (such as enduser.id on a middleware span) before the rules run,
	// holding spans back until their trace has arrived.
	TraceContext configoptional.Optional[tracecontext.Config] `mapstructure:"trace_context"`

	// Mapping holds error_mode, defaults and the spans and logs rules.
	Mapping mapping.Config `mapstructure:",squash"`

	// decodeErr is what Unmarshal found wrong, for Validate to report.
	decodeErr error

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultConfig is the configuration a user's empty posthog block gets:
// PostHog US, gzip at the cheapest level, a queue that batches events, and
// no rules.
func NewDefaultConfig() *Config {
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
		TraceContext: configoptional.Default(tracecontext.Config{
			Wait:       tracecontext.DefaultWait,
			MaxWait:    tracecontext.DefaultMaxWait,
			MaxPending: tracecontext.DefaultMaxPending,
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

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal refuses every key that no field of Config takes, at any depth,
// before decoding. The collector's decoder cannot: squashing
// confighttp.ClientConfig, which has its own Unmarshal, makes it ignore
// unused keys in the whole configuration, so a misspelled `condition:` would
// leave a rule matching every record.
//
// What it finds wrong, Validate reports, which the collector calls next: an
// error returned here would reach the user inside three layers of the
// collector's decoder and a stray empty quoted name, while Validate's errors read
// "exporters::posthog: spans[0].condition: unknown key; ...".
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	c.decodeErr = nil
	if err := configkeys.Check(conf.ToStringMap(), reflect.TypeFor[Config]()); err != nil {
		c.decodeErr = err
		return nil
	}
	if err := conf.Unmarshal(c); err != nil {
		c.decodeErr = configkeys.Unwrap(err)
	}
	return nil
}

// Validate checks what the collector cannot: the key, the endpoint, the
// request limits, PostHog's compression, the trace_context block and the
// rules. It is the one gate: nothing after it checks the config again.
func (c *Config) Validate() error {
	if c.decodeErr != nil {
		// The rest of the config was not decoded: checking it would only add
		// errors about keys the user did set.
		return c.decodeErr
	}
	var errs []error
	if err := validateAPIKey(string(c.APIKey)); err != nil {
		errs = append(errs, err)
	}
	if err := validateEndpoint(c.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	}
	switch c.ClientConfig.Compression {
	case "", "none", configcompression.TypeGzip:
	default:
		errs = append(errs, fmt.Errorf("compression: PostHog accepts gzip or none, not %q", c.ClientConfig.Compression))
	}
	if lvl := c.ClientConfig.CompressionParams.Level; c.ClientConfig.Compression == configcompression.TypeGzip && (lvl < 1 || lvl > 9) {
		errs = append(errs, fmt.Errorf("compression_params.level: %d is not a gzip level from 1 (fastest, the default) to 9 (smallest)", lvl))
	}
	if c.TraceContext.HasValue() {
		if err := c.TraceContext.Get().Check(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MaxBatchEvents <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_events: must be positive, got %d", c.MaxBatchEvents))
	}
	if limit := postHogMaxBodyBytes - envelopeBytes; c.MaxBatchBytes <= 0 || c.MaxBatchBytes > limit {
		errs = append(errs, fmt.Errorf("max_batch_bytes: must be between 1 and %d (PostHog refuses bodies over 20 MB), got %d", limit, c.MaxBatchBytes))
	}
	if err := c.Mapping.Check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateAPIKey refuses an empty key and a personal API key, which PostHog's
// capture API answers with 401. The key itself is never printed.
func validateAPIKey(key string) error {
	switch {
	case key == "":
		if u, ok := envref.Find("posthog", "api_key"); ok {
			return fmt.Errorf("api_key: %s; set it to your PostHog project API key (phc_...) in the collector's environment", u.Describe())
		}
		return errors.New("api_key: empty; set it to your PostHog project API key (phc_...), for example api_key: ${env:POSTHOG_API_KEY}")
	case strings.HasPrefix(key, "phx_"):
		return errors.New("api_key: this is a personal API key (phx_...), which PostHog refuses for sending events (401); " +
			"use the project API key (phc_...) from your project's settings in PostHog")
	}
	return nil
}

// ingestionPaths are PostHog's capture endpoints. The exporter appends
// /batch/ to the endpoint itself, so an endpoint ending in one of these would
// send every request to a path that does not exist.
var ingestionPaths = []string{"/batch", "/capture", "/i/v0/e", "/e", "/track", "/engage"}

// validateEndpoint wants an absolute http(s) URL of a PostHog host (or a
// proxy in front of one), not of one of its capture endpoints.
func validateEndpoint(endpoint string) error {
	if endpoint == "" {
		if u, ok := envref.Find("posthog", "endpoint"); ok {
			return fmt.Errorf("endpoint: %s; set it to your PostHog host, such as https://us.i.posthog.com, or remove endpoint for that default", u.Describe())
		}
		return errors.New("endpoint: empty; set it to your PostHog host, such as https://us.i.posthog.com or https://eu.i.posthog.com")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		// Not url.Error's own text: it quotes the URL, password included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("endpoint: not a URL (%w); set it to your PostHog host, such as https://us.i.posthog.com", err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("endpoint: %q is not an http or https URL of a PostHog host, such as https://us.i.posthog.com", u.Redacted())
	}
	path := strings.TrimRight(u.Path, "/")
	for _, p := range ingestionPaths {
		if strings.HasSuffix(path, p) {
			base := *u
			base.Path = strings.TrimSuffix(path, p)
			base.RawPath = ""
			return fmt.Errorf("endpoint: %q ends in %s/, but the exporter appends /batch/ itself, so every request would fail with 404; set endpoint: %s",
				u.Redacted(), p, base.Redacted())
		}
	}
	return nil
}
