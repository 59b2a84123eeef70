package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"

	"github.com/posthogexporter/posthogexporter"
	"github.com/posthogexporter/posthogexporter/internal/configkeys"
	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// placeholderAPIKey stands in for an api_key that is empty where this tool
// runs (typically ${env:POSTHOG_API_KEY} in CI): the rules need no key, and
// nothing is sent.
const placeholderAPIKey = "phc_posthog_rules_placeholder" //nolint:gosec // G101: a placeholder, not a credential

// loadRules reads the rules from a collector config (the exporter's section
// under `exporters:`) or from a rules file (error_mode, defaults, spans,
// logs at the top level, as in testdata/mapping). The file is resolved as the
// collector resolves it (${env:...}, ${file:...}) and unmarshalled and
// validated with the exporter's own factory and config, so a config this
// accepts is one the collector accepts, api_key aside.
func loadRules(ctx context.Context, path, exporter string) (*mapping.Config, error) {
	cfg, _, err := loadConfig(ctx, path, exporter)
	return cfg, err
}

// loadConfig is loadRules, and also the exporter's trace_context block (nil
// when it has none, and for a rules file).
func loadConfig(ctx context.Context, path, exporter string) (*mapping.Config, *tracecontext.Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + abs},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	if err != nil {
		return nil, nil, err
	}
	conf, err := resolver.Resolve(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if !conf.IsSet("exporters") {
		if exporter != "" {
			return nil, nil, fmt.Errorf("%s: --exporter %s: this is a rules file, not a collector config (it has no exporters: section)", path, exporter)
		}
		// A misspelled key is an error here as in the collector.
		if err := configkeys.Check(conf.ToStringMap(), reflect.TypeFor[mapping.Config]()); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		cfg := mapping.NewDefaultConfig()
		if err := conf.Unmarshal(&cfg); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, configkeys.Unwrap(err))
		}
		if err := cfg.Check(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return &cfg, nil, nil
	}

	factory := posthogexporter.NewFactory()
	exporters, err := conf.Sub("exporters")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: exporters: %w", path, err)
	}
	name, err := pickExporter(exporters, factory.Type(), exporter)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	section, err := exporters.Sub(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: exporters: %s: %w", path, name, err)
	}
	cfg := factory.CreateDefaultConfig().(*posthogexporter.Config)
	if err := section.Unmarshal(cfg); err != nil {
		return nil, nil, fmt.Errorf("%s: exporters: %s: %w", path, name, err)
	}
	if cfg.APIKey == "" {
		cfg.APIKey = placeholderAPIKey
	}
	if err := confmap.Validate(cfg); err != nil {
		return nil, nil, fmt.Errorf("%s: exporters: %s: %w", path, name, err)
	}
	var tc *tracecontext.Config
	if cfg.TraceContext.HasValue() {
		tc = cfg.TraceContext.Get()
	}
	return &cfg.Mapping, tc, nil
}

// pickExporter returns the key of the posthog exporter to use: the one
// named, or the only one there is.
func pickExporter(exporters *confmap.Conf, typ component.Type, want string) (string, error) {
	var found []string
	for key := range exporters.ToStringMap() {
		id := component.ID{}
		if err := id.UnmarshalText([]byte(key)); err == nil && id.Type() == typ {
			found = append(found, key)
		}
	}
	slices.Sort(found)
	if want != "" {
		if slices.Contains(found, want) {
			return want, nil
		}
		return "", fmt.Errorf("--exporter %s: no such exporter; the %s exporters are: %s", want, typ, listOrNone(found))
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("exporters: no %s exporter in this config", typ)
	case 1:
		return found[0], nil
	}
	return "", errors.New("exporters: several posthog exporters (" + strings.Join(found, ", ") + "): choose one with --exporter")
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
