package main

import (
	"context"
	"fmt"
	"math"
	"time"
)

// The runs of `make bench`: what each one starts, and how the report names it.

const (
	expPostHog  = "posthog"
	expOTLPHTTP = "otlphttp"
	// expNop is the floor: the same receiver and the nop exporter.
	expNop = "nop"
)

// runSpec is one run: a collector, its command line, and the load it gets.
type runSpec struct {
	name     string // its name in BENCH_RUNS
	label    string // its number in the report
	exporter string // expPostHog, expOTLPHTTP or expNop: which config and which sink
	variant  string // added to the report's exporter column ("file_storage queue")
	storage  bool   // sending_queue on file_storage, in a directory of its own
	// traceContext keeps tl-engine.yaml's trace_context block; the other
	// posthog runs remove it (tracecontext.go).
	traceContext bool
	// endless spreads the load over a few long-lived traces that never go
	// quiet: each waits max_wait, the trace_context worst case.
	endless bool
	// once: measured in the first round only (its figures are not
	// compared with another run's, and it is long).
	once bool
	args []string // more collector arguments ("--set=...")

	rate             int
	warmup, duration time.Duration
	gomaxprocs       string // "" leaves the Go default (all cores)
	maxStep          bool   // a step of the throughput ramp
	round            int    // which round of the fixed runs, from 1
}

// fixedRuns are measured at 10,000 spans/s for BENCH_DURATION, in this order
// (the report's), once per round: the runs of a round are taken in turn, so
// that a busy spell of the shared host falls on every run alike rather than
// on one. A new run is one more entry: a name for BENCH_RUNS, a label, the
// exporter, and what differs (variant, args).
var fixedRuns = []runSpec{
	{name: "floor", label: "0", exporter: expNop},
	{name: "posthog", label: "1", exporter: expPostHog},
	{name: "otlphttp", label: "2", exporter: expOTLPHTTP},
	{name: "filestorage", label: "4", exporter: expPostHog, variant: "file_storage queue", storage: true},
	{name: "tracecontext", label: "5", exporter: expPostHog, variant: "trace_context", traceContext: true},
	{name: "tracecontext-endless", label: "6", exporter: expPostHog, variant: "trace_context, traces that never go quiet", traceContext: true, endless: true, once: true},
}

// title is the run in the log: "run 1: posthog at 10,000 spans/s".
func (r runSpec) title() string {
	t := fmt.Sprintf("run %s: %s at %s spans/s", r.label, r.exporter, fmtInt(int64(r.rate)))
	if r.gomaxprocs != "" {
		t += ", GOMAXPROCS=" + r.gomaxprocs
	}
	if r.variant != "" {
		t += ", " + r.variant
	}
	if r.round > 0 {
		t += fmt.Sprintf(" (round %d)", r.round)
	}
	return t
}

// endlessMinDuration is the shortest window of the worst case (run 6): its
// traces reach max_wait 30 s into it and are then mapped as they go on.
const endlessMinDuration = traceContextMaxWait + 15*time.Second

// drainOK is how soon after its last request the run must have delivered
// everything: with trace_context, the last spans wait that long for
// parents that never come.
func (r runSpec) drainOK() time.Duration {
	if r.endless {
		return drainOK + traceContextMaxWait
	}
	if r.traceContext {
		return drainOK + traceContextWait
	}
	return drainOK
}

// slug names the run's files in the work directory.
func (r runSpec) slug() string {
	if r.round > 0 {
		return fmt.Sprintf("run%s-%s-%d-round%d", r.label, r.exporter, r.rate, r.round)
	}
	return fmt.Sprintf("run%s-%s-%d", r.label, r.exporter, r.rate)
}

// maxThroughput is run 3: run 1's collector with GOMAXPROCS=1 at rates
// doubling from maxStart until a step fails, then BENCH_MAX_BISECT steps
// between the last good and the first bad rate.
func (s settings) maxThroughput(ctx context.Context) []runResult {
	var out []runResult
	step := func(rate int) bool {
		r := s.measure(ctx, runSpec{
			label: fmt.Sprintf("3.%d", len(out)+1), exporter: expPostHog, rate: rate,
			warmup: s.maxWarmup, duration: s.maxDuration, gomaxprocs: "1", maxStep: true,
		})
		out = append(out, r)
		return r.ok
	}
	good, bad := 0, 0
	for rate := maxStart; rate <= maxCeiling && ctx.Err() == nil; rate *= 2 {
		if !step(rate) {
			bad = rate
			break
		}
		good = rate
	}
	if bad == 0 {
		return out // the ceiling was reached without a failure
	}
	for range s.bisect {
		mid := int(math.Round(float64(good+bad)/2/1000) * 1000)
		if mid <= good || mid >= bad || ctx.Err() != nil {
			break
		}
		if step(mid) {
			good = mid
		} else {
			bad = mid
		}
	}
	return out
}
