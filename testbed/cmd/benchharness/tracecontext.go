package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// traceContextWait and traceContextMaxWait are trace_context's wait and
// max_wait in tl-engine.yaml (the defaults).
const (
	traceContextWait    = 7 * time.Second
	traceContextMaxWait = 30 * time.Second
)

// withoutTraceContext writes a copy of the collector config at path without
// the posthog exporter's trace_context block, into dir, and returns its path:
// runs other than 5 measure the rules alone, as before trace_context.
func withoutTraceContext(path, dir string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	exporters, _ := cfg["exporters"].(map[string]any)
	posthog, _ := exporters["posthog"].(map[string]any)
	if posthog == nil {
		return "", fmt.Errorf("%s: no exporters::posthog", path)
	}
	delete(posthog, "trace_context")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "tl-engine-without-trace-context.yaml")
	return dst, os.WriteFile(dst, out, 0o600)
}
