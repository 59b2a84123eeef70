// Command benchharness is the load harness behind `make bench`, in the style
// of the contrib testbed. It runs the built collector (_build/otelcol-posthog)
// under a fixed load of tl-engine-like spans over OTLP/HTTP (internal/benchload)
// and measures it:
//
//  0. the floor: the same OTLP receiver and the core nop exporter
//     (testdata/config/bench-nop.yaml), receiving and decoding alone;
//  1. the posthog exporter with testdata/config/tl-engine.yaml (in-memory
//     queue) at 10,000 spans/s, delivering to the PostHog capture stand-in
//     (internal/posthogtest);
//  2. the baseline: the stock otlphttp exporter forwarding the same spans
//     to an OTLP/HTTP sink in this process (testdata/config/bench-otlphttp.yaml);
//  4. run 1 with the sending queue on disk (file_storage): its CPU against
//     run 1's, and the bytes it writes per second;
//  5. run 1 with trace_context on, as tl-engine.yaml ships it: its CPU
//     against run 1's. The other posthog runs use tl-engine.yaml without
//     its trace_context block (tracecontext.go). The load's spans have
//     parents that never arrive, so every span that waits does so for the
//     whole wait;
//  6. run 5 with the spans spread over traces that never go quiet (first
//     round only);
//  3. the maximum sustained throughput of run 1's collector with
//     GOMAXPROCS=1: rates double from 10,000 spans/s until a step fails,
//     then a few bisection steps between the last good and first bad rate.
//
// Runs 0, 1, 2, 4 and 5 are taken in turn, BENCH_ROUNDS times (0, 1, 2, 4,
// 5, 0, 1, 2, ...), and the report gives their medians and the ratios of
// the medians: on a shared host a busy spell then falls on every run alike.
//
// For each run it samples the collector's CPU (utime+stime) and RSS from
// /proc every second, counts what the receiver accepted and what reached the
// sink, and checks that nothing was lost and no uuid came twice. It prints
// one Markdown table and writes it to -out (_build/bench-result.md).
//
// Settings come from the environment (durations as "30s" or plain seconds):
//
//	BENCH_DURATION        steady window of each fixed-rate run       15s
//	                      (run 6 takes at least 45s: max_wait + 15s)
//	BENCH_WARMUP          warm-up before it (not measured)           5s
//	BENCH_ROUNDS          rounds of the fixed-rate runs              3
//	BENCH_MAX_DURATION    steady window of each throughput step      12s
//	BENCH_MAX_WARMUP      warm-up of each throughput step            3s
//	BENCH_MAX_BISECT      bisection steps after the ramp             2
//	BENCH_RUNS            which runs: floor,posthog,otlphttp,filestorage,tracecontext,tracecontext-endless,max   all
//	BENCH_COLLECTOR_ARGS  extra arguments for every collector        none
//
// The runs are the table fixedRuns (runs.go) and the throughput ramp.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The load's shape and a run's pass criteria: fixed, so that every `make
// bench` measures the same thing.
const (
	rate       = 10000           // spans/s of the fixed-rate runs
	maxStart   = 10000           // first throughput step, spans/s
	maxCeiling = 160000          // no throughput step above this, spans/s
	senders    = 16              // concurrent requests
	drainOK    = 2 * time.Second // a run must deliver everything within this of its last request
)

type settings struct {
	bin, configDir, out, workDir string

	warmup, duration       time.Duration
	maxWarmup, maxDuration time.Duration
	bisect                 int
	rounds                 int             // BENCH_ROUNDS
	runs                   map[string]bool // BENCH_RUNS
	collectorArgs          []string        // BENCH_COLLECTOR_ARGS
}

func main() {
	bin := flag.String("collector", "_build/otelcol-posthog", "collector binary")
	configDir := flag.String("config-dir", "testdata/config", "directory of tl-engine.yaml, bench-otlphttp.yaml and bench-nop.yaml")
	out := flag.String("out", "_build/bench-result.md", "write the result table here")
	workDir := flag.String("work", "_build/bench", "collector logs and per-second samples go here")
	flag.Parse()

	s, err := loadSettings()
	if err != nil {
		fail(err)
	}
	s.configDir, s.out, s.workDir = *configDir, *out, *workDir
	if s.bin, err = filepath.Abs(*bin); err == nil {
		_, err = os.Stat(s.bin)
	}
	if err != nil {
		fail(fmt.Errorf("collector binary: %w (run `make build`)", err))
	}
	if err := os.MkdirAll(s.workDir, 0o755); err != nil {
		fail(err)
	}
	// Logs and samples of an earlier run would be mistaken for this one's.
	old, _ := filepath.Glob(filepath.Join(s.workDir, "run*"))
	for _, f := range old {
		_ = os.RemoveAll(f)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, s)
	stop() // before os.Exit, which skips deferred calls
	os.Exit(code)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchharness:", err)
	os.Exit(2)
}

// run measures the runs BENCH_RUNS asks for, prints the report and writes it
// to s.out. Its result is the exit code: 1 when a fixed-rate run failed (a
// throughput step failing is how the ramp ends), 130 when interrupted.
func run(ctx context.Context, s settings) int {
	machine := describeMachine()
	logf("machine: %s", machine.oneLine())
	results := s.fixedRounds(ctx)
	code := 0
	for _, r := range results {
		if !r.ok {
			code = 1
		}
	}
	if s.runs["max"] && ctx.Err() == nil {
		results = append(results, s.maxThroughput(ctx)...)
	}
	report := formatReport(s, machine, results)
	fmt.Print("\n" + report)
	if ctx.Err() != nil {
		logf("interrupted")
		fmt.Printf("\ninterrupted: %s left as it was\n", s.out)
		return 130
	}
	if err := os.WriteFile(s.out, []byte(report), 0o644); err != nil {
		logf("writing %s: %v", s.out, err)
		return 1
	}
	fmt.Printf("\nwritten to %s (collector logs and per-second samples in %s)\n", s.out, s.workDir)
	return code
}

// fixedRounds measures the fixed runs BENCH_RUNS asks for, BENCH_ROUNDS
// times, taking them in turn: floor, posthog, otlphttp, ..., floor, posthog,
// otlphttp, ...
func (s settings) fixedRounds(ctx context.Context) []runResult {
	var results []runResult
	for round := 1; round <= s.rounds; round++ {
		for _, spec := range fixedRuns {
			if !s.runs[spec.name] || spec.once && round > 1 || ctx.Err() != nil {
				continue
			}
			spec.rate, spec.warmup, spec.duration, spec.round = rate, s.warmup, s.duration, round
			if spec.endless {
				// The worst case is traces held until max_wait: a window
				// shorter than that would measure only their filling up.
				spec.duration = max(spec.duration, endlessMinDuration)
			}
			results = append(results, s.measure(ctx, spec))
		}
	}
	return results
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func loadSettings() (settings, error) {
	var errs []error
	dur := func(key string, def time.Duration) time.Duration {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 30s", key, v))
			return def
		}
		return d
	}
	s := settings{
		duration:      dur("BENCH_DURATION", 15*time.Second),
		warmup:        dur("BENCH_WARMUP", 5*time.Second),
		rounds:        3,
		maxDuration:   dur("BENCH_MAX_DURATION", 12*time.Second),
		maxWarmup:     dur("BENCH_MAX_WARMUP", 3*time.Second),
		bisect:        2,
		runs:          map[string]bool{},
		collectorArgs: strings.Fields(os.Getenv("BENCH_COLLECTOR_ARGS")),
	}
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("BENCH_ROUNDS=%q: want a whole number, at least 1", v))
		}
		s.rounds = max(n, 1)
	}
	if v := os.Getenv("BENCH_MAX_BISECT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("BENCH_MAX_BISECT=%q: want a whole number", v))
		}
		s.bisect = n
	}
	var known []string
	for _, r := range fixedRuns {
		known = append(known, r.name)
	}
	known = append(known, "max")
	for _, r := range strings.Split(os.Getenv("BENCH_RUNS"), ",") {
		s.runs[strings.TrimSpace(r)] = true
	}
	if len(s.runs) == 1 && s.runs[""] {
		for _, r := range known {
			s.runs[r] = true
		}
	}
	delete(s.runs, "")
	for r := range s.runs {
		if !slices.Contains(known, r) {
			errs = append(errs, fmt.Errorf("BENCH_RUNS: unknown run %q (%s)", r, strings.Join(known, ", ")))
		}
	}
	return s, errors.Join(errs...)
}
