// Command benchharness is the load harness behind `make bench`, in the style
// of the contrib testbed. It runs the built collector (_build/otelcol-posthog)
// under a fixed load of tl-engine-like spans over OTLP/HTTP and measures it:
//
//  1. the posthog exporter with testdata/config/tl-engine.yaml (in-memory
//     queue) at BENCH_RATE spans/s (10,000), delivering to the PostHog
//     capture stand-in (internal/posthogtest);
//  2. the baseline: the stock otlphttp exporter forwarding the same spans
//     to an OTLP/HTTP sink in this process (testdata/config/bench-otlphttp.yaml);
//  4. run 1 with the sending queue on disk (file_storage): its CPU against
//     run 1's, and the bytes it writes per second (write_bytes of
//     /proc/<pid>/io: what reaches the storage layer);
//  5. run 1 with trace_context on, as tl-engine.yaml ships it (wait 5s):
//     its CPU against run 1's. The other posthog runs use tl-engine.yaml
//     without its trace_context block (tracecontext.go). The load's spans
//     have parents that never arrive, so every span that waits does so for
//     the whole 5s: the worst case.
//  3. the maximum sustained throughput of run 1's collector with
//     GOMAXPROCS=1: rates double from BENCH_MAX_START until a step fails,
//     then a few bisection steps between the last good and first bad rate.
//
// For each run it samples the collector's CPU (utime+stime) and RSS from
// /proc every second, counts what the receiver accepted and what reached the
// sink, and checks that nothing was lost and no uuid came twice. It prints
// one Markdown table and writes it to -out (_build/bench-result.md).
//
// Settings come from the environment (durations as "30s" or plain seconds):
//
//	BENCH_DURATION      steady window of runs 1 and 2            30s
//	BENCH_WARMUP        warm-up before it (not measured)         5s
//	BENCH_RATE          spans/s of runs 1 and 2                  10000
//	BENCH_MAX_DURATION  steady window of each throughput step    12s
//	BENCH_MAX_WARMUP    warm-up of each throughput step          3s
//	BENCH_MAX_START     first throughput step, spans/s           10000
//	BENCH_MAX_CEILING   no step above this, spans/s              160000
//	BENCH_MAX_BISECT    bisection steps after the ramp           2
//	BENCH_BATCH         spans per request                        100
//	BENCH_SENDERS       concurrent requests                      16
//	BENCH_GZIP          gzip request bodies (1/0)                1
//	BENCH_DRAIN_OK      a run must deliver everything within     2s of its last request
//	BENCH_RUNS          which runs: posthog,tracecontext,otlphttp,filestorage,max   all five
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/collectortest"
)

type settings struct {
	bin, configDir, out, workDir string

	rate                   int
	warmup, duration       time.Duration
	maxWarmup, maxDuration time.Duration
	maxStart, maxCeiling   int
	bisect                 int
	batchSize, senders     int
	gzip                   bool
	drainOK                time.Duration
	runs                   map[string]bool
}

func main() {
	bin := flag.String("collector", "_build/otelcol-posthog", "collector binary")
	configDir := flag.String("config-dir", "testdata/config", "directory of tl-engine.yaml and bench-otlphttp.yaml")
	out := flag.String("out", "_build/bench-result.md", "write the result table here")
	workDir := flag.String("work", "_build/bench", "collector logs and per-second samples go here")
	flag.Parse()

	s, err := loadSettings()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchharness:", err)
		os.Exit(2)
	}
	s.bin, s.configDir, s.out, s.workDir = *bin, *configDir, *out, *workDir
	if s.bin, err = filepath.Abs(s.bin); err == nil {
		_, err = os.Stat(s.bin)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchharness: collector binary: %v (run `make build`)\n", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(s.workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "benchharness:", err)
		os.Exit(2)
	}
	// Logs and samples of an earlier run would be mistaken for this one's.
	old, _ := filepath.Glob(filepath.Join(s.workDir, "run*"))
	for _, f := range old {
		_ = os.Remove(f)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, s)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, s settings) int {
	machine := describeMachine()
	logf("machine: %s", machine.oneLine())
	var results []runResult
	code := 0
	// Runs 1, 5, 4 and 2 in this order (the report's order), as BENCH_RUNS says.
	for _, spec := range []struct {
		run string
		runSpec
	}{
		{"posthog", runSpec{label: "1", exporter: expPostHog}},
		{"tracecontext", runSpec{label: "5", exporter: expPostHog, traceContext: true}},
		{"filestorage", runSpec{label: "4", exporter: expPostHog, storage: true}},
		{"otlphttp", runSpec{label: "2", exporter: expOTLPHTTP}},
	} {
		if !s.runs[spec.run] || ctx.Err() != nil {
			continue
		}
		spec.rate, spec.warmup, spec.duration = s.rate, s.warmup, s.duration
		r := s.measure(ctx, spec.runSpec)
		results = append(results, r)
		if !r.ok {
			code = 1
		}
	}
	var best *runResult
	if s.runs["max"] && ctx.Err() == nil {
		steps := s.maxThroughput(ctx)
		results = append(results, steps...)
		for i := range steps {
			if steps[i].ok && (best == nil || steps[i].spec.rate > best.spec.rate) {
				best = &steps[i]
			}
		}
	}
	if ctx.Err() != nil {
		logf("interrupted")
		code = 130
	}
	report := formatReport(s, machine, results, best)
	fmt.Print("\n" + report)
	if code == 130 {
		fmt.Printf("\ninterrupted: %s left as it was\n", s.out)
		return code
	}
	if err := os.WriteFile(s.out, []byte(report), 0o644); err != nil {
		logf("writing %s: %v", s.out, err)
		code = max1(code)
	} else {
		fmt.Printf("\nwritten to %s (collector logs and per-second samples in %s)\n", s.out, s.workDir)
	}
	return code
}

func max1(c int) int {
	if c == 0 {
		return 1
	}
	return c
}

// maxThroughput ramps up with GOMAXPROCS=1, then bisects.
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
	for rate := s.maxStart; rate <= s.maxCeiling && ctx.Err() == nil; rate *= 2 {
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

const (
	expPostHog  = "posthog"
	expOTLPHTTP = "otlphttp"
)

type runSpec struct {
	label            string
	exporter         string
	rate             int
	warmup, duration time.Duration
	gomaxprocs       string // "" leaves the Go default (all cores)
	maxStep          bool
	storage          bool // sending_queue on file_storage
	traceContext     bool // tl-engine.yaml's trace_context on (else removed)
}

// runResult is what one run measured. CPU and rates cover the steady window
// (after warm-up, until the last request); counts cover the whole run.
type runResult struct {
	spec runSpec

	inRate, outRate float64 // spans/s accepted by the receiver; events (or spans) /s at the sink
	cpuPct          float64 // collector CPU, % of one core
	diskWrite       float64 // bytes/s the collector wrote to storage (write_bytes)
	writeCalls      float64 // bytes/s the collector passed to write calls (wchar)
	rssAvg, rssMax  float64 // MiB
	samples         int

	sent, matching, expected, received, refused, failedReqs, late, dups int64
	lost                                                                int64 // expected - received (negative: extra)
	drain                                                               time.Duration
	drained                                                             bool
	rejectedByStandin                                                   int

	harnessCPU, hostBusy float64 // % of one core; % of all cores

	ok      bool
	verdict string
	notes   []string
}

type mark struct {
	t                   time.Time
	ticks, selfTicks    int64
	writeBytes, wchar   int64
	sent, received      int64
	hostBusy, hostTotal uint64
}

func takeMark(pid int, st *loadStats, sk sink) mark {
	m := mark{t: time.Now(), sent: st.sent.Load(), received: sk.received()}
	m.ticks, _ = collectortest.CPUTicks(pid)
	m.writeBytes, m.wchar, _ = collectortest.Writes(pid)
	m.selfTicks, _ = collectortest.CPUTicks(os.Getpid())
	m.hostBusy, m.hostTotal, _ = collectortest.HostCPU()
	return m
}

// measure runs one collector under one load and checks what came out.
func (s settings) measure(ctx context.Context, spec runSpec) (res runResult) {
	res.spec = spec
	name := fmt.Sprintf("run %s: %s at %s spans/s", spec.label, spec.exporter, fmtInt(int64(spec.rate)))
	if spec.gomaxprocs != "" {
		name += ", GOMAXPROCS=" + spec.gomaxprocs
	}
	if spec.storage {
		name += ", file_storage queue"
	}
	if spec.traceContext {
		name += ", trace_context"
	}
	logf("%s: %s warm-up, %s measured", name, spec.warmup, spec.duration)
	defer func() {
		logf("%s: %s", name, res.verdict)
	}()
	fail := func(err error) runResult {
		res.verdict = "error: " + err.Error()
		return res
	}

	var sk sink
	var capture *captureSink
	var err error
	if spec.exporter == expPostHog {
		capture, err = newCaptureSink()
		sk = capture
	} else {
		sk, err = newOTLPSink()
	}
	if err != nil {
		return fail(err)
	}
	defer sk.close()

	httpAddr, err1 := freeAddr()
	grpcAddr, err2 := freeAddr()
	if err := errors.Join(err1, err2); err != nil {
		return fail(err)
	}
	var args, env []string
	switch spec.exporter {
	case expPostHog:
		config := filepath.Join(s.configDir, "tl-engine.yaml")
		if !spec.traceContext {
			if config, err = withoutTraceContext(config, s.workDir); err != nil {
				return fail(err)
			}
		}
		args = []string{
			"--config", config,
			"--set=receivers::otlp::protocols::grpc::endpoint=" + grpcAddr,
			"--set=receivers::otlp::protocols::http::endpoint=" + httpAddr,
			"--set=service::telemetry::metrics::level=none",
		}
		env = []string{"POSTHOG_API_KEY=" + benchAPIKey, "POSTHOG_HOST=" + sk.url()}
		if spec.storage {
			dir := filepath.Join(s.workDir, fmt.Sprintf("run%s-queue", spec.label))
			_ = os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fail(err)
			}
			args = append(args,
				"--set=extensions::file_storage::directory="+dir,
				"--set=service::extensions=[file_storage]",
				"--set=exporters::posthog::sending_queue::storage=file_storage")
		}
	default:
		args = []string{"--config", filepath.Join(s.configDir, "bench-otlphttp.yaml")}
		env = []string{"BENCH_OTLP_GRPC_ENDPOINT=" + grpcAddr, "BENCH_OTLP_HTTP_ENDPOINT=" + httpAddr, "BENCH_SINK_ENDPOINT=" + sk.url()}
	}
	if spec.gomaxprocs != "" {
		env = append(env, "GOMAXPROCS="+spec.gomaxprocs)
	}
	// BENCH_COLLECTOR_ARGS adds arguments to every collector, for experiments
	// ("--set=processors::batch::send_batch_size=2000"); the report names them.
	args = append(args, strings.Fields(os.Getenv("BENCH_COLLECTOR_ARGS"))...)
	slug := fmt.Sprintf("run%s-%s-%d", spec.label, spec.exporter, spec.rate)
	col, err := startCollector(ctx, s.bin, args, env, filepath.Join(s.workDir, slug+".log"))
	if err != nil {
		return fail(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = col.Stop(5 * time.Second)
		}
	}()
	if err := col.waitReady(ctx, httpAddr, 30*time.Second); err != nil {
		return fail(err)
	}
	smp := startSampler(col.Pid(), time.Second)

	lg := newLoadGen("http://"+httpAddr, s.batchSize, s.senders, s.gzip)
	defer lg.close()
	st := &loadStats{}
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		lg.run(ctx, float64(spec.rate), spec.warmup+spec.duration, st)
	}()
	select {
	case <-time.After(spec.warmup):
	case <-sendDone:
	}
	m0 := takeMark(col.Pid(), st, sk)
	<-sendDone
	m1 := takeMark(col.Pid(), st, sk)
	if ctx.Err() != nil {
		smp.stop()
		return fail(ctx.Err())
	}

	// Drain: everything the receiver accepted should reach the sink soon.
	want := st.expected.Load()
	if spec.exporter != expPostHog {
		want = st.sent.Load()
	}
	drainOK := s.drainOK
	if spec.traceContext {
		drainOK += traceContextWait // the last spans wait that long for parents that never come
	}
	drainLimit := 4 * drainOK
	for sk.received() < want && time.Since(m1.t) < drainLimit && !col.Exited() {
		time.Sleep(20 * time.Millisecond)
	}
	res.drain = time.Since(m1.t)
	delivered := sk.received() >= want
	res.drained = delivered && res.drain <= drainOK
	time.Sleep(300 * time.Millisecond) // anything beyond the expected would show up now
	samples := smp.stop()

	stopErr := col.Stop(15 * time.Second)
	stopped = true
	if stopErr != nil {
		res.notes = append(res.notes, "collector stop: "+stopErr.Error())
	}
	if col.Exited() && m1.ticks == 0 {
		return fail(fmt.Errorf("the collector died; see %s:\n%s", col.logPath, tail(col.logPath, 15)))
	}

	// Steady-window figures.
	dt := m1.t.Sub(m0.t).Seconds()
	res.inRate = float64(m1.sent-m0.sent) / dt
	res.outRate = float64(m1.received-m0.received) / dt
	res.cpuPct = float64(m1.ticks-m0.ticks) / collectortest.ClockTicks / dt * 100
	res.diskWrite = float64(m1.writeBytes-m0.writeBytes) / dt
	res.writeCalls = float64(m1.wchar-m0.wchar) / dt
	res.harnessCPU = float64(m1.selfTicks-m0.selfTicks) / collectortest.ClockTicks / dt * 100
	if m1.hostTotal > m0.hostTotal {
		res.hostBusy = float64(m1.hostBusy-m0.hostBusy) / float64(m1.hostTotal-m0.hostTotal) * 100
	}
	var sum float64
	for _, x := range samples {
		if x.t.Before(m0.t) || x.t.After(m1.t) {
			continue
		}
		mib := float64(x.rssKiB) / 1024
		sum += mib
		res.rssMax = math.Max(res.rssMax, mib)
		res.samples++
	}
	if res.samples > 0 {
		res.rssAvg = sum / float64(res.samples)
	}
	writeSamples(filepath.Join(s.workDir, slug+"-samples.csv"), samples, m0.t)

	// Counts over the whole run.
	res.sent = st.sent.Load()
	res.matching = st.matching.Load()
	res.expected = want
	res.received = sk.received()
	res.refused = st.refused.Load()
	res.failedReqs = st.failed.Load()
	res.late = st.late.Load()
	res.dups = sk.duplicates()
	res.lost = res.expected - res.received
	if capture != nil {
		res.rejectedByStandin, _ = capture.rejected()
	}

	var problems []string
	if res.refused > 0 {
		problems = append(problems, fmt.Sprintf("refused %s spans in %d requests (%s)", fmtInt(res.refused), res.failedReqs, st.err()))
	}
	if res.inRate < 0.97*float64(spec.rate) {
		p := fmt.Sprintf("behind: sent %.0f%% of the target rate", 100*res.inRate/float64(spec.rate))
		if spec.gomaxprocs == "1" && res.cpuPct < 90 {
			// With one P a saturated collector runs at ~100% of a core: it
			// waited for requests (or for a CPU) part of the time.
			p += fmt.Sprintf(" (collector at %.0f%% of its one core, so not saturated: the load generator, at %.0f%% of a core, or the machine, %.0f%% busy, was the limit)", res.cpuPct, res.harnessCPU, res.hostBusy)
		}
		problems = append(problems, p)
	}
	switch {
	case res.lost > 0:
		problems = append(problems, fmt.Sprintf("lost %s", fmtInt(res.lost)))
	case res.lost < 0:
		problems = append(problems, fmt.Sprintf("%s more than expected", fmtInt(-res.lost)))
	}
	switch {
	case res.drained:
	case delivered:
		problems = append(problems, fmt.Sprintf("backlog: delivered %.1f s after the last request", res.drain.Seconds()))
	default:
		problems = append(problems, fmt.Sprintf("backlog: not delivered %.1f s after the last request", res.drain.Seconds()))
	}
	if res.dups > 0 {
		problems = append(problems, fmt.Sprintf("%d duplicate ids", res.dups))
	}
	if res.rejectedByStandin > 0 {
		_, first := capture.rejected()
		problems = append(problems, fmt.Sprintf("capture stand-in refused %d requests (%s)", res.rejectedByStandin, first))
	}
	if spec.exporter == expPostHog && res.lost == 0 {
		if d := diffCounts(st.events(), sk.byEvent()); d != "" {
			problems = append(problems, "events per name differ: "+d)
		}
	}
	res.ok = len(problems) == 0
	res.verdict = "ok"
	if !res.ok {
		res.verdict = strings.Join(problems, "; ")
	}
	if res.late > 0 {
		res.notes = append(res.notes, fmt.Sprintf("%d batches left more than 100 ms late", res.late))
	}
	logf("%s: in %.0f spans/s, out %.0f/s, CPU %.1f%% of a core, RSS avg %.1f max %.1f MiB, disk writes %.0f KiB/s (write calls %.0f KiB/s), sent %d, expected %d, received %d, drained in %.2fs (harness %.0f%% of a core, host %.0f%% busy)",
		name, res.inRate, res.outRate, res.cpuPct, res.rssAvg, res.rssMax, res.diskWrite/1024, res.writeCalls/1024, res.sent, res.expected, res.received, res.drain.Seconds(), res.harnessCPU, res.hostBusy)
	return res
}

func diffCounts(want, got map[string]int64) string {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var d []string
	for _, k := range keys {
		if want[k] != got[k] {
			d = append(d, fmt.Sprintf("%s %d/%d", k, got[k], want[k]))
		}
	}
	return strings.Join(d, ", ")
}

func writeSamples(path string, samples []sample, t0 time.Time) {
	var b strings.Builder
	b.WriteString("seconds_from_warmup_end,cpu_ticks,rss_kib\n")
	for _, x := range samples {
		fmt.Fprintf(&b, "%.2f,%d,%d\n", x.t.Sub(t0).Seconds(), x.ticks, x.rssKiB)
	}
	_ = os.WriteFile(path, []byte(b.String()), 0o644)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// ---- settings --------------------------------------------------------------

func loadSettings() (settings, error) {
	s := settings{runs: map[string]bool{}}
	var errs []error
	dur := func(key string, def time.Duration) time.Duration {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(n * float64(time.Second))
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 30s", key, v))
			return def
		}
		return d
	}
	num := func(key string, def int) int {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number", key, v))
			return def
		}
		return n
	}
	s.duration = dur("BENCH_DURATION", 30*time.Second)
	s.warmup = dur("BENCH_WARMUP", 5*time.Second)
	s.rate = num("BENCH_RATE", 10000)
	s.maxDuration = dur("BENCH_MAX_DURATION", 12*time.Second)
	s.maxWarmup = dur("BENCH_MAX_WARMUP", 3*time.Second)
	s.maxStart = num("BENCH_MAX_START", 10000)
	s.maxCeiling = num("BENCH_MAX_CEILING", 160000)
	s.bisect = num("BENCH_MAX_BISECT", 2)
	s.batchSize = num("BENCH_BATCH", 100)
	s.senders = num("BENCH_SENDERS", 16)
	s.gzip = num("BENCH_GZIP", 1) != 0
	s.drainOK = dur("BENCH_DRAIN_OK", 2*time.Second)
	runs := os.Getenv("BENCH_RUNS")
	if runs == "" {
		runs = "posthog,tracecontext,otlphttp,filestorage,max"
	}
	for _, r := range strings.Split(runs, ",") {
		switch r = strings.TrimSpace(r); r {
		case "posthog", "tracecontext", "otlphttp", "filestorage", "max":
			s.runs[r] = true
		case "":
		default:
			errs = append(errs, fmt.Errorf("BENCH_RUNS: unknown run %q (posthog, tracecontext, otlphttp, filestorage, max)", r))
		}
	}
	if s.rate <= 0 || s.maxStart <= 0 || s.batchSize <= 0 || s.senders <= 0 {
		errs = append(errs, errors.New("BENCH_RATE, BENCH_MAX_START, BENCH_BATCH and BENCH_SENDERS must be positive"))
	}
	return s, errors.Join(errs...)
}

// command is how to reproduce this run: make bench with the BENCH_ settings
// that were changed.
func command() string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BENCH_") {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	return strings.TrimSpace(strings.Join(env, " ") + " make bench")
}

// ---- machine ---------------------------------------------------------------

type machineInfo struct {
	nproc   int
	cpu     string
	kernel  string
	goVer   string
	loadavg string
	date    string
}

func describeMachine() machineInfo {
	m := machineInfo{nproc: runtime.NumCPU(), cpu: "unknown", goVer: runtime.Version(), date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.loadavg = strings.Join(f[:3], " ")
		}
	}
	return m
}

func (m machineInfo) oneLine() string {
	return fmt.Sprintf("%d × %s (nproc %d), %s, %s, load average %s", m.nproc, m.cpu, m.nproc, m.kernel, m.goVer, m.loadavg)
}
