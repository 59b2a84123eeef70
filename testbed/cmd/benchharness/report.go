package main

// The report: one Markdown table, then what it means and how it was
// measured, so that a number pasted into the README carries its conditions.

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/benchload"
)

// Targets at 10,000 spans/s: the exporter's cost against the floor (the
// nop exporter) and the otlphttp baseline, the queue on disk against the
// in-memory queue, trace_context against none, and memory.
const (
	targetOverFloor       = 1.10 // posthog / floor
	targetShareOfOTLPHTTP = 0.25 // (posthog - floor) / (otlphttp - floor)
	targetDiskRatio       = 1.15 // file_storage / in-memory queue
	targetQueueWritesKiB  = 9194 // bytes passed to write calls with file_storage, KiB/s
	targetTraceContext    = 1.25 // trace_context / without
	targetRSSMiB          = 100.0
	targetRSSTraceCtxMiB  = 150.0
)

// formatReport renders the results as Markdown: the table of the runs'
// medians over their rounds, what it says about the targets, and how and
// where it was measured.
func formatReport(s settings, m machineInfo, results []runResult) string {
	runs := summarize(results)
	var b strings.Builder
	b.WriteString("### `make bench` result\n\n")
	b.WriteString(formatTable(runs, m.nproc))
	b.WriteString("\n")
	writeFindings(&b, s, runs)
	b.WriteString("\nHow it was measured:\n\n")
	writeMethod(&b, s, m, runs)
	return b.String()
}

// measured reports whether r ran to the end (it may have failed its checks).
func (r *runResult) measured() bool {
	return r != nil && r.verdict != "" && !strings.HasPrefix(r.verdict, "error")
}

// byLabel finds the runs the findings compare.
func byLabel(runs []runSummary, label string) *runSummary {
	for i := range runs {
		if runs[i].spec.label == label {
			return &runs[i]
		}
	}
	return nil
}

// perRound applies f to the rounds of a and b taken in the same round.
func perRound(a, b *runSummary, f func(a, b *runResult) float64) []string {
	var out []string
	for i := range a.rounds {
		for j := range b.rounds {
			if a.rounds[i].spec.round == b.rounds[j].spec.round {
				out = append(out, fmt.Sprintf("%.2f", f(&a.rounds[i], &b.rounds[j])))
			}
		}
	}
	return out
}

func ratio(a, b *runResult) float64 {
	if b.cpuPct == 0 {
		return 0
	}
	return a.cpuPct / b.cpuPct
}

// intact: nothing lost, no uuid twice, nothing refused by the stand-in, in
// every round.
func (s *runSummary) intact() bool {
	for _, r := range s.rounds {
		if r.lost != 0 || r.dups != 0 || r.rejectedByStandin != 0 {
			return false
		}
	}
	return len(s.errors) == 0
}

// writeFindings compares the runs' medians with the targets.
func writeFindings(b *strings.Builder, s settings, runs []runSummary) {
	floor, ph, base := byLabel(runs, "0"), byLabel(runs, "1"), byLabel(runs, "2")
	writeCostFindings(b, floor, ph, base)
	writeQueueFindings(b, ph, byLabel(runs, "4"))
	writeTraceContextFindings(b, ph, byLabel(runs, "5"), byLabel(runs, "6"))
	if s.runs["max"] {
		writeMaxFindings(b, runs)
	}
}

// writeCostFindings: the exporter against the floor and against otlphttp.
func writeCostFindings(b *strings.Builder, floor, ph, base *runSummary) {
	if ph.measured() {
		fmt.Fprintf(b, "- **posthog** (run 1, %s spans/s, %d%% matching, median of %d rounds): CPU %.1f%% of a core, RSS max %.1f MiB (< %.0f MiB: %s), nothing lost and uuids unique in every round: %s.\n",
			fmtInt(int64(ph.spec.rate)), matchingPct(), len(ph.rounds), ph.cpuPct,
			ph.rssMax, targetRSSMiB, met(ph.rssMax < targetRSSMiB), met(ph.intact()))
	}
	if !floor.measured() || floor.cpuPct <= 0 {
		return
	}
	if ph.measured() {
		fmt.Fprintf(b, "- **Against the floor** (run 0: the same receiver and the nop exporter, %.1f%% of a core): posthog/floor **%.2f×** (target ≤ %.2f×: %s); per round %s.\n",
			floor.cpuPct, ph.cpuPct/floor.cpuPct, targetOverFloor, met(ph.cpuPct <= targetOverFloor*floor.cpuPct),
			strings.Join(perRound(ph, floor, ratio), ", "))
	}
	if base.measured() {
		fmt.Fprintf(b, "- **otlphttp** (run 2, forwarding every span): %.1f%% of a core, otlphttp/floor %.2f×, RSS max %.1f MiB.\n",
			base.cpuPct, base.cpuPct/floor.cpuPct, base.rssMax)
	}
	if ph.measured() && base.measured() && base.cpuPct > floor.cpuPct {
		share := func(p, f, o *runResult) float64 { return (p.cpuPct - f.cpuPct) / (o.cpuPct - f.cpuPct) }
		var rounds []string
		for i := range ph.rounds {
			r := ph.rounds[i].spec.round
			f, o := roundOf(floor, r), roundOf(base, r)
			if f != nil && o != nil && o.cpuPct > f.cpuPct {
				rounds = append(rounds, fmt.Sprintf("%.2f", share(&ph.rounds[i], f, o)))
			}
		}
		v := (ph.cpuPct - floor.cpuPct) / (base.cpuPct - floor.cpuPct)
		fmt.Fprintf(b, "- **What the exporter adds, against what otlphttp adds**: (posthog − floor) / (otlphttp − floor) = **%.2f** (target ≤ %.2f: %s); per round %s.\n",
			v, targetShareOfOTLPHTTP, met(v <= targetShareOfOTLPHTTP), strings.Join(rounds, ", "))
	}
}

func roundOf(s *runSummary, round int) *runResult {
	for i := range s.rounds {
		if s.rounds[i].spec.round == round {
			return &s.rounds[i]
		}
	}
	return nil
}

// writeQueueFindings: the queue on file_storage against the in-memory one.
func writeQueueFindings(b *strings.Builder, ph, disk *runSummary) {
	if !ph.measured() || !disk.measured() || ph.cpuPct <= 0 {
		return
	}
	fmt.Fprintf(b, "- **Queue on disk** (run 4, `sending_queue.storage: file_storage`): %.2f× the CPU of the in-memory queue (%.1f%% vs %.1f%% of a core; target ≤ %.2f×: %s; per round %s). It passed %s KiB/s to write calls (wchar: files and sockets; target ≤ %s KiB/s: %s; the in-memory run %s KiB/s, its network writes), of which %s KiB/s reached storage (write_bytes, which follows the kernel's writeback). RSS max %.1f MiB; nothing lost: %s.\n",
		disk.cpuPct/ph.cpuPct, disk.cpuPct, ph.cpuPct, targetDiskRatio, met(disk.cpuPct <= targetDiskRatio*ph.cpuPct), strings.Join(perRound(disk, ph, ratio), ", "),
		fmtInt(int64(disk.writeCalls/1024)), fmtInt(targetQueueWritesKiB), met(disk.writeCalls/1024 <= targetQueueWritesKiB), fmtInt(int64(ph.writeCalls/1024)),
		fmtInt(int64(disk.diskWrite/1024)), disk.rssMax, met(disk.intact()))
}

// writeTraceContextFindings: trace_context against none, and its worst case.
func writeTraceContextFindings(b *strings.Builder, ph, tc, endless *runSummary) {
	if ph.measured() && tc.measured() && ph.cpuPct > 0 {
		fmt.Fprintf(b, "- **trace_context** (run 5, as shipped: `wait: 7s`, `max_wait: 30s`; every waiting span waits until its trace goes quiet): %.2f× the CPU of run 1 (%.1f%% vs %.1f%% of a core; target ≤ %.2f×: %s; per round %s), RSS max %.1f MiB (< %.0f MiB: %s), nothing lost and uuids unique: %s.\n",
			tc.cpuPct/ph.cpuPct, tc.cpuPct, ph.cpuPct, targetTraceContext, met(tc.cpuPct <= targetTraceContext*ph.cpuPct), strings.Join(perRound(tc, ph, ratio), ", "),
			tc.rssMax, targetRSSTraceCtxMiB, met(tc.rssMax < targetRSSTraceCtxMiB), met(tc.intact()))
	}
	if ph.measured() && endless.measured() && ph.cpuPct > 0 {
		fmt.Fprintf(b, "- **trace_context, worst case** (run 6, one round: the same spans spread over %d traces that never go quiet, so each waits max_wait, 30s, then maps its later spans at once): %.2f× the CPU of run 1 (%.1f%% vs %.1f%% of a core), RSS max %.1f MiB, nothing lost and uuids unique: %s.\n",
			benchload.EndlessTraces, endless.cpuPct/ph.cpuPct, endless.cpuPct, ph.cpuPct, endless.rssMax, met(endless.intact()))
	}
}

// writeMaxFindings: the maximum throughput of run 3's ramp.
func writeMaxFindings(b *strings.Builder, runs []runSummary) {
	var best, firstBad *runSummary
	for i := range runs {
		r := &runs[i]
		if r.spec.maxStep && r.ok && (best == nil || r.spec.rate > best.spec.rate) {
			best = r
		}
	}
	for i := range runs {
		r := &runs[i]
		if r.spec.maxStep && !r.ok && (firstBad == nil || r.spec.rate < firstBad.spec.rate) && (best == nil || r.spec.rate > best.spec.rate) {
			firstBad = r
		}
	}
	if best == nil {
		b.WriteString("- **Maximum sustained throughput, GOMAXPROCS=1**: no step passed.\n")
		return
	}
	fmt.Fprintf(b, "- **Maximum sustained throughput, GOMAXPROCS=1** (run %s): **%s spans/s in, %s events/s out**, at %.0f%% of a core and %.1f MiB RSS max.",
		best.spec.label, fmtInt(int64(best.inRate)), fmtInt(int64(best.outRate)), best.cpuPct, best.rssMax)
	if firstBad != nil {
		fmt.Fprintf(b, " The next step tried, %s spans/s (run %s), failed: %s.", fmtInt(int64(firstBad.spec.rate)), firstBad.spec.label, firstBad.verdict)
	} else {
		fmt.Fprintf(b, " No step up to the ceiling, %s spans/s, failed.", fmtInt(maxCeiling))
	}
	b.WriteString(" A step passes when the receiver refused nothing, at least 97% of the target rate was sent, nothing was lost and everything was delivered within " + drainOK.String() + " of the last request.\n")
}

// writeMethod says how and where the numbers were measured, and how busy the
// machine was, so that a reader can rerun them and judge them.
func writeMethod(b *strings.Builder, s settings, m machineInfo, runs []runSummary) {
	var how []string
	if len(runs) > 0 && !runs[0].spec.maxStep {
		how = append(how, fmt.Sprintf("fixed-rate runs: %d rounds taken in turn, each run %s warm-up + %s measured at %s spans/s", s.rounds, s.warmup, s.duration, fmtInt(rate)))
	}
	if s.runs["max"] {
		how = append(how, fmt.Sprintf("throughput steps: %s + %s each", s.maxWarmup, s.maxDuration))
	}
	fmt.Fprintf(b, "- Command: `%s` (%s).\n", command(), strings.Join(how, "; "))
	if len(s.collectorArgs) > 0 {
		fmt.Fprintf(b, "- Extra collector arguments (BENCH_COLLECTOR_ARGS): `%s`.\n", os.Getenv("BENCH_COLLECTOR_ARGS"))
	}
	fmt.Fprintf(b, "- Machine: %d × %s (nproc %d), %s, %s; load average %s at the start; %s.\n",
		m.nproc, m.cpu, m.nproc, m.kernel, m.goVer, m.loadavg, m.date)
	fmt.Fprintf(b, "- Load (testbed/cmd/benchharness, internal/benchload): OTLP/HTTP protobuf (gzip), %d spans per request, %d concurrent senders, on a fixed schedule. Spans of a tl-engine-like service with about 15 attributes each: in every 100, 10 match one tl-engine rule each (4 HTTP server requests, 2 cache lookups, 2 engine runs, 1 slow query, 1 queued engine; the failed engine run's exception event also makes an $exception) and 90 match none (40 fast SQL queries, 20 internal spans, 15 HTTP client calls, 10 redis commands, 5 gRPC calls). Every span has fresh ids.\n",
		benchload.BatchSize, senders)
	b.WriteString("- Collector: `_build/otelcol-posthog`, the same binary for every run. floor: `testdata/config/bench-nop.yaml` (the same OTLP receiver, no processor, the core nop exporter). posthog: `testdata/config/tl-engine.yaml` (OTLP receiver, no processor, in-memory sending queue batching events, gzip), without its `trace_context` block except in runs 5 and 6 (as shipped: `wait: 7s`, `max_wait: 30s`; the load's spans name parents that never arrive, so each span that waits, the matching ones without `enduser.id`, waits until its trace has been quiet for 7 s), ports set with `--set`, delivering to the PostHog capture stand-in (internal/posthogtest, which validates requests as PostHog does). otlphttp: `testdata/config/bench-otlphttp.yaml` (same receiver, no processor, otlphttp exporter with its defaults and default queue) delivering to an OTLP/HTTP sink. Collector metrics off; everything on 127.0.0.1.\n")
	b.WriteString("- CPU: the collector's utime+stime from /proc/<pid>/stat over the measured window, as % of one core; the table gives the median of the rounds and, in brackets, the lowest and highest. Ratios are of the medians. RSS: VmRSS from /proc/<pid>/status every second in that window (avg: median of the rounds' averages; max: the highest reading of any round). spans/s in: spans the receiver accepted (2xx) per second; out/s: events (posthog) or spans (otlphttp) the sink received per second. sent, expected, received and lost add up every round, warm-ups included; lost = expected − received after the collector's graceful shutdown.\n")
	var cond []string
	for i := range runs {
		if r := &runs[i]; r.measured() {
			cond = append(cond, fmt.Sprintf("%s: harness %.0f%% of a core, host %.0f%% busy", r.spec.label, r.harnessCPU, r.hostBusy))
		}
	}
	if len(cond) > 0 {
		fmt.Fprintf(b, "- Competition for the CPU (medians; the harness runs the load generator and the sinks on the same machine; host = all %d cores): %s.\n", m.nproc, strings.Join(cond, "; "))
	}
	for _, run := range runs {
		for _, r := range run.rounds {
			for _, n := range r.notes {
				fmt.Fprintf(b, "- Run %s: %s%s\n", r.spec.label, roundName(r), n)
			}
		}
	}
}

// formatTable renders one row per run: medians over its rounds.
func formatTable(runs []runSummary, nproc int) string {
	var b strings.Builder
	b.WriteString("| run | exporter | GOMAXPROCS | target spans/s | rounds | spans/s in | out/s | CPU % of a core: median (min–max) | RSS avg / max MiB | sent (spans) | expected out | received | lost | result |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for i := range runs {
		r := &runs[i]
		exp, unit := r.spec.exporterName()
		procs := fmt.Sprintf("default (%d)", nproc)
		if r.spec.gomaxprocs != "" {
			procs = r.spec.gomaxprocs
		}
		if !r.measured() {
			msg, _, _ := strings.Cut(r.verdict, "\n") // the log's tail was printed while running
			fmt.Fprintf(&b, "| %s | %s | %s | %s | 0 | | | | | | | | | %s |\n",
				r.spec.label, exp, procs, fmtInt(int64(r.spec.rate)), mdEscape(strings.TrimSuffix(msg, ":")))
			continue
		}
		lo, hi := r.cpuRange()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s %s | %.1f (%.1f–%.1f) | %.1f / %.1f | %s | %s | %s | %s | %s |\n",
			r.spec.label, exp, procs, fmtInt(int64(r.spec.rate)), len(r.rounds),
			fmtInt(int64(r.inRate+0.5)), fmtInt(int64(r.outRate+0.5)), unit,
			r.cpuPct, lo, hi, r.rssAvg, r.rssMax,
			fmtInt(r.sent), fmtInt(r.expected), fmtInt(r.received), fmtInt(r.lost),
			mdEscape(r.verdict))
	}
	return b.String()
}

// exporterName is the report's exporter column, and what out/s counts.
func (r runSpec) exporterName() (name, unit string) {
	switch r.exporter {
	case expOTLPHTTP:
		return "otlphttp (baseline)", "spans"
	case expNop:
		return "nop (the floor)", "spans"
	}
	name = "posthog (tl-engine rules)"
	if r.variant != "" {
		name += ", " + r.variant
	}
	return name, "events"
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// matchingPct is the share of the load's spans that match a rule.
func matchingPct() int64 {
	matching, _, _ := benchload.ExpectedEvents(int64(benchload.BatchSize))
	return pct(matching, int64(benchload.BatchSize))
}

func pct(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return (100*a + b/2) / b
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// fmtInt writes n with thousands separators: 10000 -> "10,000".
func fmtInt(n int64) string {
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
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

// machineInfo is what the report says about the machine: the numbers only
// mean something beside it.
type machineInfo struct {
	nproc                             int
	cpu, kernel, goVer, loadavg, date string
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
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.loadavg = strings.Join(f[:3], " ")
		}
	}
	return m
}

func (m machineInfo) oneLine() string {
	return fmt.Sprintf("%d × %s (nproc %d), %s, %s, load average %s", m.nproc, m.cpu, m.nproc, m.kernel, m.goVer, m.loadavg)
}
