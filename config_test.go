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
	assert.Contains(t, err.Error(), "api_key")
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
		"bad_level":       {"compression_params.level", "-2"},
		"bad_rule":        {`rule "broken" (spans[0])`, "conditions[0]", "span.name"},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestAPIKeyIsNeverPrinted: the key is a configopaque.String, which prints as [REDACTED].
func TestAPIKeyIsNeverPrinted(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg.APIKey), "phc_full")
}
