package posthogexporter

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"gopkg.in/yaml.v3"

	"github.com/posthogexporter/posthogexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "https://us.i.posthog.com", cfg.ClientConfig.Endpoint)
	assert.Equal(t, "gzip", string(cfg.ClientConfig.Compression))
	assert.Equal(t, 1, int(cfg.ClientConfig.CompressionParams.Level))
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, 1000, cfg.MaxBatchEvents)
	assert.Equal(t, 5<<20, cfg.MaxBatchBytes)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.False(t, cfg.HistoricalMigration)
	assert.Equal(t, "ignore", string(cfg.Mapping.ErrorMode))
	// Without an api_key the default config is not usable: the user must set one.
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.ErrorContains(t, err, "api_key")
}

func TestLoadFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "phc_full", string(cfg.APIKey))
	assert.Equal(t, "https://eu.i.posthog.com", cfg.ClientConfig.Endpoint)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, "none", string(cfg.ClientConfig.Compression))
	assert.True(t, cfg.HistoricalMigration)
	assert.Equal(t, 500, cfg.MaxBatchEvents)
	assert.Equal(t, 1<<20, cfg.MaxBatchBytes)
	assert.Equal(t, 4, cfg.QueueConfig.Get().NumConsumers)
	assert.Equal(t, int64(5000), cfg.QueueConfig.Get().QueueSize)
	assert.Equal(t, 10*time.Minute, cfg.RetryConfig.MaxElapsedTime)
	assert.Equal(t, "propagate", string(cfg.Mapping.ErrorMode))
	require.Len(t, cfg.Mapping.Spans, 1)
	require.Len(t, cfg.Mapping.Logs, 1)
	assert.Equal(t, "log.event_name", cfg.Mapping.Logs[0].EventExpression)
}

func TestConfigErrors(t *testing.T) {
	tests := map[string][]string{
		"no_key":          {"api_key: empty"},
		"bad_compression": {"compression", "zstd"},
		"bad_batch_bytes": {"max_batch_bytes"},
		"bad_endpoint":    {"endpoint", "us.i.posthog.com"},
		"ftp_endpoint":    {`endpoint: "ftp://example.com" is not an http or https URL`},
		"batch_endpoint": {`endpoint: "https://eu.i.posthog.com/batch/" ends in /batch/`, "404",
			"set endpoint: https://eu.i.posthog.com"},
		"capture_endpoint":       {"ends in /i/v0/e/", "set endpoint: http://localhost:8000/ingest"},
		"endpoint_with_password": {`"https://user:xxxxx@proxy.example/capture/" ends in /capture/`, "set endpoint: https://user:xxxxx@proxy.example"},
		"unparseable_endpoint":   {"endpoint: not a URL"},
		"personal_key":           {"api_key: this is a personal API key (phx_...)", "project API key (phc_...)"},
		"bad_level":              {"compression_params.level", "-2"},
		"bad_rule":               {`rule "broken" (spans[0])`, "conditions[0]", "span.name"},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range want {
				require.ErrorContains(t, err, w)
			}
			assert.NotContains(t, err.Error(), "secretpersonalkey")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// TestAPIKeyIsNeverPrinted: the key is a configopaque.String, which prints as [REDACTED].
func TestAPIKeyIsNeverPrinted(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg.APIKey), "phc_full")
}

// unmarshalYAML decodes an exporter's configuration as the collector does.
func unmarshalYAML(t *testing.T, text string) (*Config, error) {
	t.Helper()
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &raw))
	cfg := createDefaultConfig().(*Config)
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// TestUnknownKeysAreErrors: a misspelled key anywhere is an error naming its
// path and the key meant, never a setting silently ignored (a rule whose
// `condition:` is ignored matches every span).
func TestUnknownKeysAreErrors(t *testing.T) {
	const rule = "\n    event: e\n    distinct_id: ['\"x\"']\n"
	tests := map[string]struct{ yaml, want string }{
		"rule condition": {
			"spans:\n  - name: r" + rule + "    condition: ['span.name == \"x\"']\n",
			`spans[0].condition: unknown key; did you mean "conditions"?`,
		},
		"rule propertes": {
			"spans:\n  - name: r" + rule + "    propertes: {a: '\"b\"'}\n",
			`spans[0].propertes: unknown key; did you mean "properties"?`,
		},
		"rule bogus": {
			"logs:\n  - name: r" + rule + "  - name: s" + rule + "    bogus: 1\n",
			"logs[1].bogus: unknown key; valid keys here are ",
		},
		"span event rule condition": {
			"span_events:\n  - name: r" + rule + "    condition: ['spanevent.name == \"x\"']\n",
			`span_events[0].condition: unknown key; did you mean "conditions"?`,
		},
		"span_event": {
			"span_event:\n  - name: r" + rule,
			`span_event: unknown key; did you mean "span_events"?`,
		},
		"in feature_flags": {
			"feature_flags:\n  dedupe_windw: 1m\n",
			`feature_flags.dedupe_windw: unknown key; did you mean "dedupe_window"?`,
		},
		"default": {
			"default:\n  distinct_id: ['\"x\"']\n",
			`default: unknown key; did you mean "defaults"?`,
		},
		"retry_on_failur": {
			"retry_on_failur:\n  enabled: false\n",
			`retry_on_failur: unknown key; did you mean "retry_on_failure"?`,
		},
		"in defaults": {
			"defaults:\n  distinct_ids: ['\"x\"']\n",
			`defaults.distinct_ids: unknown key; did you mean "distinct_id"?`,
		},
		"in retry_on_failure": {
			"retry_on_failure:\n  max_elapsed: 1m\n",
			"retry_on_failure.max_elapsed: unknown key",
		},
		"in sending_queue": {
			"sending_queue:\n  enabled: true\n  num_consumer: 2\n",
			`sending_queue.num_consumer: unknown key; did you mean "num_consumers"?`,
		},
		"in sending_queue.batch": {
			"sending_queue:\n  batch:\n    flush_timout: 1s\n",
			`sending_queue.batch.flush_timout: unknown key; did you mean "flush_timeout"?`,
		},
		"in tls": {
			"tls:\n  insecure_skip_verfy: true\n",
			`tls.insecure_skip_verfy: unknown key; did you mean "insecure_skip_verify"?`,
		},
		"in compression_params": {
			"compression_params:\n  levl: 1\n",
			`compression_params.levl: unknown key; did you mean "level"?`,
		},
		"in trace_context": {
			"trace_context:\n  attributes: [enduser.id]\n  max_pendng: 10\n",
			`trace_context.max_pendng: unknown key; did you mean "max_pending"?`,
		},
		"trace_contex": {
			"trace_contex:\n  attributes: [enduser.id]\n",
			`trace_contex: unknown key; did you mean "trace_context"?`,
		},
		"http client key": {
			"endpiont: https://eu.i.posthog.com\n",
			`endpiont: unknown key; did you mean "endpoint"?`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := unmarshalYAML(t, "api_key: phc_test\n"+tt.yaml)
			require.NoError(t, err, "Unmarshal leaves what it finds to Validate")
			err = cfg.Validate()
			require.ErrorContains(t, err, tt.want)
			// The collector prints Validate's error after the component's
			// name, as it is: none of its decoder's layers.
			assert.NotContains(t, err.Error(), "decoding failed")
			assert.NotContains(t, err.Error(), "''")
		})
	}
}

// TestFreeFormKeysStayFree: the keys of maps (properties, set, groups,
// headers) and the squashed HTTP settings are not checked against anything.
func TestFreeFormKeysStayFree(t *testing.T) {
	cfg, err := unmarshalYAML(t, `
api_key: phc_test
endpoint: https://eu.i.posthog.com
headers: {X-Anything: yes}
tls: {insecure_skip_verify: true, ca_file: /x}
auth: {authenticator: basicauth}
sending_queue: {enabled: false, storage: file_storage, batch: {flush_timeout: 1s}}
retry_on_failure: {enabled: true, max_elapsed_time: 1m}
defaults:
  distinct_id: ['"x"']
  properties: {any.key: '"v"'}
spans:
  - name: r
    event: e
    properties: {whatever_key: '"v"'}
    set: {plan: '"p"'}
    set_once: {first: '"f"'}
    groups: {company: '"c"'}
`)
	require.NoError(t, err)
	assert.Equal(t, "https://eu.i.posthog.com", cfg.ClientConfig.Endpoint)
	assert.False(t, cfg.QueueConfig.HasValue())
	v, ok := cfg.ClientConfig.Headers.Get("X-Anything")
	assert.True(t, ok)
	assert.Equal(t, "yes", string(v))
}

// TestTraceContextConfig: no block, nothing waits; a block gets the
// defaults for what it leaves out; bad values are errors naming the key.
func TestTraceContextConfig(t *testing.T) {
	cfg, err := unmarshalYAML(t, "api_key: phc_test\n")
	require.NoError(t, err)
	assert.False(t, cfg.TraceContext.HasValue())

	cfg, err = unmarshalYAML(t, "api_key: phc_test\ntrace_context:\n  attributes: [enduser.id, tenant.id]\n")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	require.True(t, cfg.TraceContext.HasValue())
	tc := cfg.TraceContext.Get()
	assert.Equal(t, []string{"enduser.id", "tenant.id"}, tc.Attributes)
	assert.Equal(t, 7*time.Second, tc.Wait)
	assert.Equal(t, 30*time.Second, tc.MaxWait)
	assert.Equal(t, 100000, tc.MaxPending)

	for text, want := range map[string]string{
		"trace_context:\n  wait: 1s\n":                           "trace_context.attributes: empty",
		"trace_context:\n  attributes: [a, a]\n":                 `trace_context.attributes[1]: "a" is listed twice`,
		"trace_context:\n  attributes: [a]\n  wait: 0s\n":        "trace_context.wait: must be positive",
		"trace_context:\n  attributes: [a]\n  max_pending: -1\n": "trace_context.max_pending: must be positive",
		"trace_context:\n  attributes: [a]\n  max_wait: 5s\n":    "trace_context.max_wait: 5s is shorter than wait (7s)",
		"trace_context:\n  attributes: ['']\n":                   "trace_context.attributes[0]: empty attribute name",
	} {
		cfg, err := unmarshalYAML(t, "api_key: phc_test\n"+text)
		require.NoError(t, err)
		require.ErrorContains(t, confmap.Validate(cfg), want, text)
	}
}
