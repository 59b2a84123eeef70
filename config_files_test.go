package posthogexporter

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/posthogexporter/posthogexporter/internal/metadata"
)

// loadShippedExporter reads the posthog exporter of a config file we ship.
func loadShippedExporter(t testing.TB, file string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config", file))
	require.NoError(t, err)
	sub, err := cm.Sub("exporters::posthog")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

// TestDemoRunsTheCatalogue: make demo shows the tl-engine catalogue, so the
// rules of demo.yaml must be those of tl-engine.yaml, and both must be valid.
func TestDemoRunsTheCatalogue(t *testing.T) {
	demo, catalogue := loadShippedExporter(t, "demo.yaml"), loadShippedExporter(t, "tl-engine.yaml")
	assert.Equal(t, catalogue.Mapping, demo.Mapping, "demo.yaml and tl-engine.yaml have drifted apart")
	assert.Equal(t, catalogue.TraceContext, demo.TraceContext, "demo.yaml and tl-engine.yaml: trace_context has drifted apart")
	assert.True(t, catalogue.TraceContext.HasValue(), "the catalogue gives every span its request's user (trace_context)")
	for _, cfg := range []*Config{demo, catalogue} {
		// ${env:...} is not resolved here; the collector does it (see e2e).
		cfg.APIKey = "phc_test"
		cfg.ClientConfig.Endpoint = "https://us.i.posthog.com"
		require.NoError(t, confmap.Validate(cfg))
	}
	events := map[string]bool{}
	for _, r := range append(catalogue.Mapping.Spans, catalogue.Mapping.Logs...) {
		events[r.Event] = true
	}
	for _, name := range []string{
		"engine_executed", "engine_failed", "engine_queued", "api_request", "api_error",
		"rate_limit_exceeded", "worker_task_started", "worker_task_completed", "worker_task_failed",
		"cache_hit", "cache_miss", "database_query_slow", "database_connection_pool_exhausted",
	} {
		assert.True(t, events[name], "the catalogue has no rule for %s", name)
	}
}

// TestShippedConfigsLoad: every posthog exporter of every config file we ship
// decodes with no unknown key (the key check runs in Config.Unmarshal).
func TestShippedConfigsLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "config", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	loaded := 0
	for _, file := range files {
		cm, err := confmaptest.LoadConf(file)
		require.NoError(t, err)
		exporters, err := cm.Sub("exporters")
		require.NoError(t, err)
		for id := range exporters.ToStringMap() {
			var cid component.ID
			require.NoError(t, cid.UnmarshalText([]byte(id)))
			if cid.Type() != metadata.Type {
				continue
			}
			sub, err := exporters.Sub(id)
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(createDefaultConfig()), "%s: exporters::%s", file, id)
			loaded++
		}
	}
	assert.Positive(t, loaded)
}
