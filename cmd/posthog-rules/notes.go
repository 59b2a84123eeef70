package main

import (
	"context"
	"fmt"
	"path/filepath"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	posthogexporter "github.com/posthogexporter/posthogexporter"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// caseNotes explains a failing case's records one by one and keeps what
// looks like a mistake in the rules, in explain's words: a value that reads
// an attribute the record does not have, and a false comparison of a near
// name or of two types. Records are explained on their own, without
// trace_context.
func caseNotes(ctx context.Context, dir, config, exporter string) []string {
	path, err := caseRules(dir, config)
	if err != nil {
		return nil
	}
	cfg, _, err := loadConfig(ctx, path, exporter)
	if err != nil {
		return nil
	}
	x, err := mapping.NewExplainer(cfg, mapping.Library{Name: posthogexporter.LibraryName, Version: fixtureVersion}, component.TelemetrySettings{Logger: zap.NewNop()})
	if err != nil {
		return nil
	}
	var notes []string
	keep := func(r *recordReport) {
		label := recordLabel(&r.Record)
		for _, rule := range r.Rules {
			for _, a := range rule.Absent {
				notes = append(notes, fmt.Sprintf("%s  %s: %s", label, rule.Rule, a))
			}
			if f := rule.Failed; f != nil && f.Mistake && rule.Error == nil {
				_, _, detail := describe(&rule)
				notes = append(notes, fmt.Sprintf("%s  %s: %s", label, rule.Rule, detail))
			}
		}
	}
	e := &explainer{x: x}
	for _, f := range inputFiles {
		in, err := readInput(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		for _, td := range in.traces {
			e.traces(ctx, td, keep)
		}
		for _, ld := range in.logs {
			e.logs(ctx, ld, keep)
		}
	}
	return notes
}
