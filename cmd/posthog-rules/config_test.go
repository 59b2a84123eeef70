package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const twoExporters = `
exporters:
  posthog/prod:
    api_key: ${env:POSTHOG_RULES_UNSET_KEY}
    endpoint: https://eu.i.posthog.com
    defaults: {distinct_id: ['"x"']}
    spans: [{name: prod-rule, event: a}]
  posthog/staging:
    api_key: phc_x
    logs: [{name: staging-rule, event: b, distinct_id: ['"y"']}]
  otlphttp:
    endpoint: http://127.0.0.1:4318
`

func TestLoadRulesFromCollectorConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "otelcol.yaml", twoExporters)
	ctx := context.Background()

	cfg, err := loadRules(ctx, path, "posthog/prod")
	require.NoError(t, err, "an unset api_key is no obstacle: nothing is sent")
	require.Len(t, cfg.Spans, 1)
	assert.Equal(t, "prod-rule", cfg.Spans[0].Name)

	cfg, err = loadRules(ctx, path, "posthog/staging")
	require.NoError(t, err)
	assert.Equal(t, "staging-rule", cfg.Logs[0].Name)

	_, err = loadRules(ctx, path, "")
	require.ErrorContains(t, err, "several posthog exporters (posthog/prod, posthog/staging): choose one with --exporter")
	_, err = loadRules(ctx, path, "posthog/dev")
	assert.ErrorContains(t, err, "--exporter posthog/dev: no such exporter; the posthog exporters are: posthog/prod, posthog/staging")
}

// The exporter's own config validates: bad rules and limits fail as in the
// collector. (Unknown keys in the exporter's section are the exporter's
// config's business: issue 15.)
func TestLoadRulesValidates(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, tc := range []struct{ src, want string }{
		{"spanz: []\n", `spanz: unknown key; did you mean "spans"?`},
		{"exporters:\n  posthog:\n    spans: [{event: a, distinct_id: ['\"x\"'], conditions: ['span.nam == 1']}]\n", "rule spans[0]: conditions[0]"},
		{"exporters:\n  posthog:\n    max_batch_events: -1\n", "max_batch_events"},
		{"spans: [{event: a, timestamp: middle}]\n", "rule spans[0]: timestamp"},
		{"spans: [{event: a, condition: ['true']}]\n", `spans[0].condition: unknown key; did you mean "conditions"?`},
		{"exporters:\n  otlphttp: {}\n", "no posthog exporter in this config"},
	} {
		_, err := loadRules(ctx, writeFile(t, dir, "c.yaml", tc.src), "")
		assert.ErrorContains(t, err, tc.want, tc.src)
	}
}
