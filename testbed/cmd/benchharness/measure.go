package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/benchload"
	"github.com/posthogexporter/posthogexporter/testbed/collectortest"
)

// One run, measured: start a sink and a collector, send the load, let the
// collector drain, stop it, then compare what was sent with what arrived.

// runResult is what one run measured. CPU and rates cover the steady window
// (after warm-up, until the last request); counts cover the whole run.
type runResult struct {
	spec runSpec

	inRate, outRate float64 // spans/s accepted by the receiver; events (or spans) /s at the sink
	cpuPct          float64 // collector CPU, % of one core
	diskWrite       float64 // bytes/s the collector wrote to storage (write_bytes)
	writeCalls      float64 // bytes/s the collector passed to write calls (wchar)
	rssAvg, rssMax  float64 // MiB

	sent, matching, expected, received, dups int64
	lost                                     int64 // expected - received (negative: extra)
	rejectedByStandin                        int   // requests the capture stand-in refused

	harnessCPU, hostBusy float64 // % of one core; % of all cores

	ok      bool
	verdict string // "ok", what went wrong, or "error: ..." when the run could not be measured
	notes   []string
}

// mark is the counters at one instant; a window's figures are the
// differences between two marks.
type mark struct {
	t                   time.Time
	ticks, selfTicks    int64
	writeBytes, wchar   int64
	sent, received      int64
	hostBusy, hostTotal uint64
}

func takeMark(pid int, st *loadStats, sk *sink) mark {
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
	logf("%s: %s warm-up, %s measured", spec.title(), spec.warmup, spec.duration)
	defer func() { logf("%s: %s", spec.title(), res.verdict) }()
	fail := func(err error) runResult {
		res.verdict = "error: " + err.Error()
		return res
	}

	newSink := newCaptureSink
	if spec.exporter != expPostHog { // the nop exporter's stays empty
		newSink = newOTLPSink
	}
	sk, err := newSink()
	if err != nil {
		return fail(err)
	}
	defer sk.close()
	col, err := s.startCollector(ctx, spec, sk.url)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = col.Stop(5 * time.Second) }()

	st, m0, m1, samples := sendLoad(ctx, spec, col, sk)
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	want := st.sent.Load() // otlphttp forwards every span
	matching, wantByName, events := benchload.ExpectedEvents(want)
	switch spec.exporter {
	case expPostHog:
		want = events
	case expNop:
		want = 0 // it delivers nothing
	}
	drain, delivered := waitDelivered(sk, want, m1.t, col, spec.drainOK())
	time.Sleep(300 * time.Millisecond) // anything beyond the expected would show up now
	if err := col.Stop(15 * time.Second); err != nil {
		res.notes = append(res.notes, "collector stop: "+err.Error())
	}
	if m1.ticks == 0 {
		return fail(col.withLog(fmt.Errorf("the collector died")))
	}

	res.window(m0, m1, samples)
	writeSamples(filepath.Join(s.workDir, spec.slug()+"-samples.csv"), samples, m0.t)
	res.sent, res.matching, res.expected = st.sent.Load(), matching, want
	res.received, res.dups = sk.received(), sk.duplicates()
	res.lost = res.expected - res.received
	res.judge(st, sk, wantByName, drain, delivered)
	if n := st.late.Load(); n > 0 {
		res.notes = append(res.notes, fmt.Sprintf("%d batches left more than 100 ms late", n))
	}
	logf("%s: in %.0f spans/s, out %.0f/s, CPU %.1f%% of a core, RSS avg %.1f max %.1f MiB, disk writes %.0f KiB/s (write calls %.0f KiB/s), sent %d, expected %d, received %d, drained in %.2fs (harness %.0f%% of a core, host %.0f%% busy)",
		spec.title(), res.inRate, res.outRate, res.cpuPct, res.rssAvg, res.rssMax, res.diskWrite/1024, res.writeCalls/1024, res.sent, res.expected, res.received, drain.Seconds(), res.harnessCPU, res.hostBusy)
	return res
}

// sendLoad sends spec's load to the collector. It marks the counters at the
// end of the warm-up and after the last request, and reads the collector's
// CPU and RSS every second in between: RSS has no counter to difference like
// CPU time, so its average and peak need readings.
func sendLoad(ctx context.Context, spec runSpec, col *collector, sk *sink) (st *loadStats, m0, m1 mark, samples []sample) {
	lg := newLoadGen("http://"+col.httpAddr, senders, spec.endless)
	defer lg.close()
	st = &loadStats{}
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		lg.run(ctx, float64(spec.rate), spec.warmup+spec.duration, st)
	}()
	warm := time.After(spec.warmup)
	every := time.NewTicker(time.Second)
	defer every.Stop()
	m0 = takeMark(col.Pid(), st, sk)
	for {
		if x, err := readSample(col.Pid()); err == nil {
			samples = append(samples, x)
		}
		select {
		case <-warm:
			m0 = takeMark(col.Pid(), st, sk)
		case <-every.C:
		case <-sendDone:
			return st, m0, takeMark(col.Pid(), st, sk), samples
		}
	}
}

// waitDelivered waits (up to 4× the run's drainOK) until the sink has want
// records, and says how long that took.
func waitDelivered(sk *sink, want int64, lastRequest time.Time, col *collector, ok time.Duration) (time.Duration, bool) {
	for sk.received() < want && time.Since(lastRequest) < 4*ok && !col.Exited() {
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(lastRequest), sk.received() >= want
}

// window sets the steady-window figures: rates, CPU and writes between the
// two marks, memory from the samples taken between them.
func (r *runResult) window(m0, m1 mark, samples []sample) {
	dt := m1.t.Sub(m0.t).Seconds()
	r.inRate = float64(m1.sent-m0.sent) / dt
	r.outRate = float64(m1.received-m0.received) / dt
	r.cpuPct = float64(m1.ticks-m0.ticks) / collectortest.ClockTicks / dt * 100
	r.diskWrite = float64(m1.writeBytes-m0.writeBytes) / dt
	r.writeCalls = float64(m1.wchar-m0.wchar) / dt
	r.harnessCPU = float64(m1.selfTicks-m0.selfTicks) / collectortest.ClockTicks / dt * 100
	if m1.hostTotal > m0.hostTotal {
		r.hostBusy = float64(m1.hostBusy-m0.hostBusy) / float64(m1.hostTotal-m0.hostTotal) * 100
	}
	var sum float64
	var n int
	for _, x := range samples {
		if x.t.Before(m0.t) || x.t.After(m1.t) {
			continue
		}
		mib := float64(x.rssKiB) / 1024
		sum += mib
		r.rssMax = math.Max(r.rssMax, mib)
		n++
	}
	if n > 0 {
		r.rssAvg = sum / float64(n)
	}
}

// judge sets ok and the verdict: the run passes when the receiver refused
// nothing, at least 97% of the target rate was sent, every expected record
// arrived once within drainOK of the last request, the stand-in accepted
// every request, and the events per name are those the rules make.
func (r *runResult) judge(st *loadStats, sk *sink, wantByName map[string]int64, drain time.Duration, delivered bool) {
	spec := r.spec
	var problems []string
	if refused := st.refused.Load(); refused > 0 {
		problems = append(problems, fmt.Sprintf("refused %s spans in %d requests (%s)", fmtInt(refused), st.failed.Load(), st.err()))
	}
	if r.inRate < 0.97*float64(spec.rate) {
		p := fmt.Sprintf("behind: sent %.0f%% of the target rate", 100*r.inRate/float64(spec.rate))
		if spec.gomaxprocs == "1" && r.cpuPct < 90 {
			// With one P a saturated collector runs at ~100% of a core: it
			// waited for requests (or for a CPU) part of the time.
			p += fmt.Sprintf(" (collector at %.0f%% of its one core, so not saturated: the load generator, at %.0f%% of a core, or the machine, %.0f%% busy, was the limit)", r.cpuPct, r.harnessCPU, r.hostBusy)
		}
		problems = append(problems, p)
	}
	switch {
	case r.lost > 0:
		problems = append(problems, "lost "+fmtInt(r.lost))
	case r.lost < 0:
		problems = append(problems, fmtInt(-r.lost)+" more than expected")
	}
	switch {
	case delivered && drain <= spec.drainOK():
	case delivered:
		problems = append(problems, fmt.Sprintf("backlog: delivered %.1f s after the last request", drain.Seconds()))
	default:
		problems = append(problems, fmt.Sprintf("backlog: not delivered %.1f s after the last request", drain.Seconds()))
	}
	if r.dups > 0 {
		problems = append(problems, fmt.Sprintf("%d duplicate ids", r.dups))
	}
	var first string
	if r.rejectedByStandin, first = sk.rejected(); r.rejectedByStandin > 0 {
		problems = append(problems, fmt.Sprintf("capture stand-in refused %d requests (%s)", r.rejectedByStandin, first))
	}
	if spec.exporter == expPostHog && r.lost == 0 {
		if d := diffCounts(wantByName, sk.byEvent()); d != "" {
			problems = append(problems, "events per name differ: "+d)
		}
	}
	r.ok = len(problems) == 0
	r.verdict = "ok"
	if !r.ok {
		r.verdict = strings.Join(problems, "; ")
	}
}

// diffCounts lists the names whose counts differ, as "name got/want".
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
