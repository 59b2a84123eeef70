package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/pmezard/go-difflib/difflib"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter"
	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// fixtureVersion is the $lib_version of the events in fixtures: fixed, so
// that expected files do not change with every release of the exporter.
const fixtureVersion = "test"

// Files of a fixture case.
const (
	expectedFile = "events.json"
	rulesFile    = "rules.yaml"  // the rules alone (error_mode, defaults, spans, logs)
	configFile   = "config.yaml" // a collector config
)

var inputFiles = []string{"traces.yaml", "traces.json", "logs.yaml", "logs.json"}

// expected is the content of events.json: the events as PostHog receives
// them, and per rule how many records it matched and how many events it
// dropped and why. The layout of our own golden cases (testdata/mapping).
type expected struct {
	Events  []json.RawMessage           `json:"events"`
	Dropped map[string]map[string]int64 `json:"dropped,omitempty"`
	Matched map[string]int64            `json:"matched"`
}

func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "collector config or rules file `path` for the cases that have no rules.yaml or config.yaml of their own")
	exporterName := fs.String("exporter", "", "which posthog exporter of a collector config, such as posthog/prod")
	update := fs.Bool("update", false, "write each case's events.json from the current rules instead of comparing (read the diff before committing it)")
	dirs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return errors.New("no directory: name case directories, or directories of cases")
	}
	var cases []string
	for _, d := range dirs {
		found, err := findCases(d)
		if err != nil {
			return err
		}
		cases = append(cases, found...)
	}

	failed := 0
	for _, dir := range cases {
		got, err := runCase(ctx, dir, *config, *exporterName)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n  %v\n", dir, err)
		case *update:
			if err := os.WriteFile(filepath.Join(dir, expectedFile), got, 0o644); err != nil { //nolint:gosec // G306: a fixture file meant to be committed, readable like the rest of the checkout
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, expectedFile))
		default:
			diff, err := compare(dir, got)
			if err != nil {
				failed++
				fmt.Fprintf(stdout, "FAIL %s\n  %v\n", dir, err)
			} else if diff != "" {
				failed++
				fmt.Fprintf(stdout, "FAIL %s\n%s", dir, diff)
				for _, note := range caseNotes(ctx, dir, *config, *exporterName) {
					fmt.Fprintf(stdout, "  why? %s\n", note)
				}
			} else {
				fmt.Fprintf(stdout, "ok   %s\n", dir)
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d cases failed\n", failed, len(cases))
		return errFailed
	}
	if !*update {
		fmt.Fprintf(stdout, "all %d cases passed\n", len(cases))
	}
	return nil
}

// findCases returns dir if it is a case (it holds an input file), or else
// the cases among its subdirectories, sorted.
func findCases(dir string) ([]string, error) {
	if isCase(dir) {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if sub := filepath.Join(dir, e.Name()); e.IsDir() && isCase(sub) {
			out = append(out, sub)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no cases: a case is a directory with traces.yaml|json or logs.yaml|json and events.json", dir)
	}
	slices.Sort(out)
	return out, nil
}

func isCase(dir string) bool {
	for _, f := range inputFiles {
		if fileExists(filepath.Join(dir, f)) {
			return true
		}
	}
	return false
}

func fileExists(path string) bool {
	_, err := os.Stat(path) //nolint:gosec // G703: paths the user named on the command line
	return err == nil
}

// caseRules is the rules file of a case: its own, or --config.
func caseRules(dir, config string) (string, error) {
	switch {
	case fileExists(filepath.Join(dir, rulesFile)):
		return filepath.Join(dir, rulesFile), nil
	case fileExists(filepath.Join(dir, configFile)):
		return filepath.Join(dir, configFile), nil
	case config == "":
		return "", fmt.Errorf("no rules: the case has neither %s nor %s, and no --config was given", rulesFile, configFile)
	}
	return config, nil
}

// runCase maps a case's inputs with its rules, as the exporter does (one
// push per input document), and returns the expected file's content.
func runCase(ctx context.Context, dir, config, exporter string) ([]byte, error) {
	path, err := caseRules(dir, config)
	if err != nil {
		return nil, err
	}
	cfg, tc, err := loadConfig(ctx, path, exporter)
	if err != nil {
		return nil, err
	}
	m, err := mapping.NewMapper(cfg, mapping.Library{Name: posthogexporter.LibraryName, Version: fixtureVersion}, component.TelemetrySettings{Logger: zap.NewNop()})
	if err != nil {
		return nil, err
	}

	out := expected{Events: []json.RawMessage{}, Matched: map[string]int64{}}
	collect := func(res *mapping.Result) {
		for i := range res.Events {
			out.Events = append(out.Events, res.Events[i].AppendJSON(nil))
		}
		for _, s := range res.Stats {
			out.Matched[s.Rule] += s.Matched
			for reason, n := range s.Dropped {
				if out.Dropped == nil {
					out.Dropped = map[string]map[string]int64{}
				}
				if out.Dropped[s.Rule] == nil {
					out.Dropped[s.Rule] = map[string]int64{}
				}
				out.Dropped[s.Rule][string(reason)] += n
			}
		}
	}
	// With trace_context, spans go through the exporter's stage, as in the
	// collector: the case's input is the whole input, so the stage is
	// stopped at the end and what still waits is mapped with what is known.
	var stage *tracecontext.Stage
	if tc != nil {
		stage = tracecontext.New(*tc, m)
	}
	mapTraces := func(td ptrace.Traces) error {
		res := &mapping.Result{}
		var err error
		if stage != nil {
			_, err = stage.MapTraces(ctx, td, res)
		} else {
			err = m.MapTraces(ctx, td, res)
		}
		collect(res)
		return err
	}
	var hadTraces, hadLogs bool
	for _, f := range inputFiles {
		p := filepath.Join(dir, f)
		if !fileExists(p) {
			continue
		}
		t, err := readInput(p)
		if err != nil {
			return nil, err
		}
		for _, td := range t.traces {
			if err := mapTraces(td); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
		for _, ld := range t.logs {
			res := &mapping.Result{}
			var err error
			if stage != nil { // a request's log records join its trace
				_, err = stage.MapLogs(ctx, ld, res)
			} else {
				err = m.MapLogs(ctx, ld, res)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			collect(res)
		}
		hadTraces = hadTraces || len(t.traces) > 0
		hadLogs = hadLogs || len(t.logs) > 0
	}
	if stage != nil {
		spans, logs := &mapping.Result{}, &mapping.Result{}
		if _, err := stage.MapRemaining(ctx, spans, logs); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if hadTraces {
			collect(spans)
		}
		if hadLogs {
			collect(logs)
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// compare returns a unified diff of the case's events.json against got,
// both in one canonical form (sorted keys, indented), or "" when they are
// the same JSON.
func compare(dir string, got []byte) (string, error) {
	path := filepath.Join(dir, expectedFile)
	want, err := os.ReadFile(path) //nolint:gosec // G304: a fixture the user named on the command line
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s is missing: write it with --update, then check it", path)
	}
	if err != nil {
		return "", err
	}
	wantC, err := canonical(want)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	gotC, err := canonical(got)
	if err != nil {
		return "", err
	}
	if wantC == gotC {
		return "", nil
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(wantC),
		B:        difflib.SplitLines(gotC),
		FromFile: path + " (expected)",
		ToFile:   "got",
		Context:  3,
	})
}

// canonical re-indents a JSON document with sorted keys and exact numbers.
func canonical(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return buf.String(), nil
}
