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

// Targets of issue 7 for run 1.
const (
	targetCPUPct = 15.0
	targetRSSMiB = 100.0
)

// formatReport renders the results as Markdown: the table, what it says about
// the targets, and how and where it was measured.
func formatReport(s settings, m machineInfo, results []runResult) string {
	var b strings.Builder
	b.WriteString("### `make bench` result\n\n")
	b.WriteString(formatTable(results, m.nproc))
	b.WriteString("\n")
	writeFindings(&b, s, results)
	b.WriteString("\nHow it was measured:\n\n")
	writeMethod(&b, s, m, results)
	return b.String()
}

// measured reports whether r ran to the end (it may have failed its checks).
func (r *runResult) measured() bool {
	return r != nil && r.verdict != "" && !strings.HasPrefix(r.verdict, "error")
}

// writeFindings compares run 1 with the targets, the baseline (run 2) and
// the queue on disk (run 4), and gives the maximum throughput (run 3).
func writeFindings(b *strings.Builder, s settings, results []runResult) {
	var ph, base, disk, tc, endless, best, firstBad *runResult
	for i := range results {
		r := &results[i]
		switch r.spec.label {
		case "1":
			ph = r
		case "2":
			base = r
		case "4":
			disk = r
		case "5":
			tc = r
		case "6":
			endless = r
		}
		if r.spec.maxStep && r.ok && (best == nil || r.spec.rate > best.spec.rate) {
			best = r
		}
	}
	for i := range results {
		r := &results[i]
		if r.spec.maxStep && !r.ok && (firstBad == nil || r.spec.rate < firstBad.spec.rate) && (best == nil || r.spec.rate > best.spec.rate) {
			firstBad = r
		}
	}
	if ph.measured() {
		fmt.Fprintf(b, "- **Run 1 against the targets** (%s spans/s, %d%% matching): CPU %.1f%% of a core (target ≤ %.0f%%: %s), RSS max %.1f MiB (≤ %.0f MiB: %s), nothing lost and uuids unique: %s.\n",
			fmtInt(int64(ph.spec.rate)), pct(ph.matching, ph.sent), ph.cpuPct, targetCPUPct, met(ph.cpuPct <= targetCPUPct),
			ph.rssMax, targetRSSMiB, met(ph.rssMax <= targetRSSMiB), met(ph.lost == 0 && ph.dups == 0 && ph.rejectedByStandin == 0))
	}
	if ph != nil && base.measured() && base.cpuPct > 0 {
		fmt.Fprintf(b, "- **Against the baseline** (otlphttp forwarding the same spans): %.2f× its CPU (%.1f%% vs %.1f%% of a core), RSS max %.1f vs %.1f MiB.\n",
			ph.cpuPct/base.cpuPct, ph.cpuPct, base.cpuPct, ph.rssMax, base.rssMax)
	}
	if ph != nil && disk.measured() && ph.cpuPct > 0 {
		fmt.Fprintf(b, "- **Queue on disk** (run 4, `sending_queue.storage: file_storage`): %.2f× the CPU of the in-memory queue (%.1f%% vs %.1f%% of a core); it wrote %.1f KiB/s to storage (write_bytes of /proc/<pid>/io; the in-memory run %.1f KiB/s), and passed %.1f KiB/s to write calls (wchar: files and sockets; the in-memory run %.1f KiB/s, its network writes).\n",
			disk.cpuPct/ph.cpuPct, disk.cpuPct, ph.cpuPct, disk.diskWrite/1024, ph.diskWrite/1024, disk.writeCalls/1024, ph.writeCalls/1024)
	}
	if ph != nil && tc.measured() && ph.cpuPct > 0 {
		fmt.Fprintf(b, "- **trace_context** (run 5, as shipped: `wait: 7s`, `max_wait: 30s`; every waiting span waits until its trace goes quiet): %.2f× the CPU of run 1 (%.1f%% vs %.1f%% of a core; target ≤ 1.25×: %s), RSS max %.1f MiB (≤ 150 MiB: %s), nothing lost and uuids unique: %s.\n",
			tc.cpuPct/ph.cpuPct, tc.cpuPct, ph.cpuPct, met(tc.cpuPct <= 1.25*ph.cpuPct), tc.rssMax, met(tc.rssMax <= 150),
			met(tc.lost == 0 && tc.dups == 0 && tc.rejectedByStandin == 0))
	}
	if ph != nil && endless.measured() && ph.cpuPct > 0 {
		fmt.Fprintf(b, "- **trace_context, worst case** (run 6: the same spans spread over %d traces that never go quiet, so each waits max_wait, 30s, then maps its later spans at once): %.2f× the CPU of run 1 (%.1f%% vs %.1f%% of a core), RSS max %.1f MiB, nothing lost and uuids unique: %s.\n",
			benchload.EndlessTraces, endless.cpuPct/ph.cpuPct, endless.cpuPct, ph.cpuPct, endless.rssMax,
			met(endless.lost == 0 && endless.dups == 0 && endless.rejectedByStandin == 0))
	}
	if !s.runs["max"] {
		return
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
func writeMethod(b *strings.Builder, s settings, m machineInfo, results []runResult) {
	var how []string
	if s.runs["posthog"] || s.runs["otlphttp"] {
		how = append(how, fmt.Sprintf("runs 1-2: %s warm-up + %s measured at %s spans/s", s.warmup, s.duration, fmtInt(rate)))
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
	fmt.Fprintf(b, "- Load (testbed/cmd/benchharness): OTLP/HTTP protobuf (gzip), %d spans per request, %d concurrent senders, on a fixed schedule. Spans of a tl-engine-like service with about 15 attributes each: in every 100, 10 match one tl-engine rule each (4 HTTP server requests, 2 cache lookups, 2 engine runs, 1 slow query, 1 queued engine; the failed engine run's exception event also makes an $exception) and 90 match none (40 fast SQL queries, 20 internal spans, 15 HTTP client calls, 10 redis commands, 5 gRPC calls). Every span has fresh ids.\n",
		benchload.BatchSize, senders)
	b.WriteString("- Collector: `_build/otelcol-posthog`. posthog: `testdata/config/tl-engine.yaml` (OTLP receiver, no processor, in-memory sending queue batching events, gzip), without its `trace_context` block except in runs 5 and 6 (as shipped: `wait: 7s`, `max_wait: 30s`; the load's spans name parents that never arrive, so each span that waits, the matching ones without `enduser.id`, waits until its trace has been quiet for 7 s), ports set with `--set`, delivering to the PostHog capture stand-in (internal/posthogtest, which validates requests as PostHog does). otlphttp: `testdata/config/bench-otlphttp.yaml` (same receiver, no processor, otlphttp exporter with its defaults and default queue) delivering to an OTLP/HTTP sink. Collector metrics off; everything on 127.0.0.1.\n")
	b.WriteString("- CPU: the collector's utime+stime from /proc/<pid>/stat over the measured window, as % of one core. RSS: VmRSS from /proc/<pid>/status every second in that window. spans/s in: spans the receiver accepted (2xx) per second; out/s: events (posthog) or spans (otlphttp) the sink received per second. sent, expected, received and lost count the whole run including warm-up; lost = expected − received after the collector's graceful shutdown.\n")
	var cond []string
	for _, r := range results {
		if !r.measured() {
			continue
		}
		cond = append(cond, fmt.Sprintf("%s: harness %.0f%% of a core, host %.0f%% busy", r.spec.label, r.harnessCPU, r.hostBusy))
	}
	if len(cond) > 0 {
		fmt.Fprintf(b, "- Competition for the CPU (the harness runs the load generator and the sinks on the same machine; host = all %d cores): %s.\n", m.nproc, strings.Join(cond, "; "))
	}
	for _, r := range results {
		for _, n := range r.notes {
			fmt.Fprintf(b, "- Run %s: %s\n", r.spec.label, n)
		}
	}
}

// formatTable renders one row per run.
func formatTable(results []runResult, nproc int) string {
	var b strings.Builder
	b.WriteString("| run | exporter | GOMAXPROCS | target spans/s | spans/s in | out/s | CPU % of a core | RSS avg / max MiB | sent (spans) | expected out | received | lost | result |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range results {
		exp := "posthog (tl-engine rules)"
		if r.spec.variant != "" {
			exp += ", " + r.spec.variant
		}
		unit := "events"
		if r.spec.exporter == expOTLPHTTP {
			exp = "otlphttp (baseline)"
			unit = "spans"
		}
		procs := fmt.Sprintf("default (%d)", nproc)
		if r.spec.gomaxprocs != "" {
			procs = r.spec.gomaxprocs
		}
		if strings.HasPrefix(r.verdict, "error") {
			msg, _, _ := strings.Cut(r.verdict, "\n") // the log's tail was printed while running
			fmt.Fprintf(&b, "| %s | %s | %s | %s | | | | | | | | | %s |\n",
				r.spec.label, exp, procs, fmtInt(int64(r.spec.rate)), mdEscape(strings.TrimSuffix(msg, ":")))
			continue
		}
		result := r.verdict
		if r.ok {
			result = "ok"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s %s | %.1f | %.1f / %.1f | %s | %s | %s | %s | %s |\n",
			r.spec.label, exp, procs, fmtInt(int64(r.spec.rate)),
			fmtInt(int64(r.inRate+0.5)), fmtInt(int64(r.outRate+0.5)), unit,
			r.cpuPct, r.rssAvg, r.rssMax,
			fmtInt(r.sent), fmtInt(r.expected), fmtInt(r.received), fmtInt(r.lost),
			mdEscape(result))
	}
	return b.String()
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
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
