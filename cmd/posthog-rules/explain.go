package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter"
	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// liveReady, when set (tests), is told the addresses live mode listens on.
type liveReady func(httpAddr, grpcAddr string)

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer, ready liveReady) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "collector config (its posthog exporter's rules) or rules file `path`")
	exporterName := fs.String("exporter", "", "which posthog exporter of the collector config, such as posthog/prod (needed when there are several)")
	format := fs.String("format", "text", "output `format`: text (one line per record and rule) or json (one object per record and line)")
	onlyMatched := fs.Bool("only-matched", false, "show only the rules that matched, and only records that some rule matched")
	var rules stringList
	fs.Var(&rules, "rule", "show only this `rule` (its name, or spans[i] / logs[i] / span_events[i]); may be repeated or comma-separated")
	listen := fs.String("listen", "", "live mode: accept OTLP/HTTP on this `address` (such as 127.0.0.1:4318)")
	grpcListen := fs.String("grpc-listen", "", "live mode: accept OTLP/gRPC on this `address` (such as 127.0.0.1:4317)")
	inputs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	live := *listen != "" || *grpcListen != ""
	switch {
	case *config == "":
		return errors.New("--config is required: the collector config (or rules file) whose rules to explain")
	case live && len(inputs) > 0:
		return errors.New("give input files or --listen/--grpc-listen, not both")
	case !live && len(inputs) == 0:
		return errors.New("no input: name OTLP files (or - for stdin), or use --listen for live mode")
	}

	cfg, tc, err := loadConfig(ctx, *config, *exporterName)
	if err != nil {
		return err
	}
	x, err := mapping.NewExplainer(cfg, mapping.Library{Name: posthogexporter.LibraryName, Version: posthogexporter.Version}, component.TelemetrySettings{Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	all := slices.Concat(x.Rules(mapping.KindSpan), x.Rules(mapping.KindLog), x.Rules(mapping.KindSpanEvent))
	e := &explainer{x: x, onlyMatched: *onlyMatched}
	if len(rules) > 0 {
		e.rules = map[string]bool{}
		for _, r := range rules {
			if !slices.Contains(all, r) {
				return fmt.Errorf("--rule %s: no such rule; the rules are: %s", r, listOrNone(all))
			}
			e.rules[r] = true
		}
	}

	var w writer
	switch *format {
	case "json":
		w = newJSONWriter(stdout)
	case "text":
		width := 0
		for _, r := range all {
			width = max(width, len(r))
		}
		f, isFile := stdout.(*os.File)
		w = &textWriter{w: stdout, color: isFile && colorWanted(f), ruleWidth: width}
	default:
		return fmt.Errorf("--format %s: use text or json", *format)
	}
	var mu sync.Mutex // live mode: requests arrive concurrently
	var writeErr error
	emit := func(r *recordReport) {
		mu.Lock()
		defer mu.Unlock()
		if err := w.write(r); err != nil && writeErr == nil {
			writeErr = err
		}
	}

	if tc != nil {
		e.stage = newTraceStage(*tc, x.Mapper())
	}
	if live {
		stopExpiring := func() {}
		if e.stage != nil {
			// Spans that stop waiting when wait passes are reported as
			// the exporter maps them: on the stage's tick.
			stopExpiring = e.stage.expireEvery(func(b tracecontext.Batch) { e.released(context.Background(), b, nil, emit) })
		}
		err := serveLive(ctx, *listen, *grpcListen, e, emit, stderr, ready)
		if e.stage != nil {
			// As at the collector's shutdown: what still waits is
			// reported with what is known.
			stopExpiring()
			e.released(context.Background(), e.stage.stage.Stop(), nil, emit)
		}
		return errors.Join(err, writeErr)
	}
	var files []*telemetry
	for _, in := range inputs {
		t, err := readInput(in)
		if err != nil {
			return err
		}
		files = append(files, t)
	}
	e.files(ctx, files, emit)
	return writeErr
}

// files reports every record of the inputs, in input order. With
// trace_context, every span is first run through the stage, documents in
// order, and the stage then stopped: the whole input has arrived, so each
// span is reported with what it inherits in the collector once its trace
// has arrived.
func (e *explainer) files(ctx context.Context, files []*telemetry, emit func(*recordReport)) {
	var skips [][]func(ptrace.Span) bool // per file and traces document
	copies := map[spanKey][]releasedSpan{}
	if e.stage != nil {
		keep := func(b tracecontext.Batch) {
			released(b, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) {
				k := keyOf(span)
				copies[k] = append(copies[k], releasedSpan{rs: rs, ss: ss, span: span, inherited: e.stage.inherited(span)})
			})
		}
		for _, t := range files {
			var s []func(ptrace.Span) bool
			for _, td := range t.traces {
				skip, ready := e.stage.process(td)
				s = append(s, skip)
				keep(ready)
			}
			skips = append(skips, s)
		}
		keep(e.stage.stage.Stop())
	}
	for i, t := range files {
		for j, td := range t.traces {
			var skip func(ptrace.Span) bool
			if skips != nil {
				skip = skips[i][j]
			}
			forSpans(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) {
				k := keyOf(span)
				if c := copies[k]; skip != nil && skip(span) && len(c) > 0 {
					copies[k] = c[1:]
					e.span(ctx, c[0].rs, c[0].ss, c[0].span, spanNote{inherited: c[0].inherited}, emit)
					return
				}
				e.span(ctx, rs, ss, span, spanNote{}, emit)
			})
		}
		for _, ld := range t.logs {
			e.logs(ctx, ld, emit)
		}
	}
}

// releasedSpan is a span as the stage released it, with what it inherited.
type releasedSpan struct {
	rs        ptrace.ResourceSpans
	ss        ptrace.ScopeSpans
	span      ptrace.Span
	inherited map[string]any
}

// describeAddr names the listeners in one line for the user.
func describeAddr(httpAddr, grpcAddr string) string {
	var parts []string
	if httpAddr != "" {
		parts = append(parts, "OTLP/HTTP on http://"+httpAddr+" (/v1/traces, /v1/logs)")
	}
	if grpcAddr != "" {
		parts = append(parts, "OTLP/gRPC on "+grpcAddr)
	}
	return strings.Join(parts, " and ")
}
