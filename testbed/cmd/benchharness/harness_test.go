package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/posthogexporter/posthogexporter/internal/benchload"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// tlEngineMapper builds the mapper of testdata/config/tl-engine.yaml, the
// rules the harness runs the collector with.
func tlEngineMapper(t *testing.T) *mapping.Mapper {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("..", "..", "..", "testdata", "config", "tl-engine.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub("exporters::posthog")
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{}
	for _, k := range []string{"error_mode", "defaults", "spans", "span_events", "feature_flags", "logs"} {
		if sub.IsSet(k) {
			raw[k] = sub.Get(k)
		}
	}
	cfg := mapping.NewDefaultConfig()
	if err := confmap.NewFromStringMap(raw).Unmarshal(&cfg); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewMapper(&cfg, mapping.Library{Name: "bench", Version: "0"}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBatchMatchesRules: the events the harness expects of a batch are
// exactly what the tl-engine rules make of it; 10% of spans match; spans
// carry about 15 attributes; ids are fresh on every stamp.
func TestBatchMatchesRules(t *testing.T) {
	m := tlEngineMapper(t)
	ids := benchload.NewIDGen()
	seenSpan := map[[8]byte]bool{}
	matching, want, events := benchload.ExpectedEvents(int64(benchload.BatchSize))
	if matching != 10 || events != 11 {
		t.Errorf("a batch: %d matching spans, %d events; want 10 spans, 11 events (the failed engine run's exception too)", matching, events)
	}
	for seed := range uint64(5) {
		b := benchload.NewBatch(rand.New(rand.NewPCG(seed, 7)))
		if len(b.Spans) != 100 {
			t.Errorf("seed %d: %d spans, want 100", seed, len(b.Spans))
		}
		for round := range 2 {
			b.Stamp(ids, time.Now())
			res := &mapping.Result{}
			if err := m.MapTraces(context.Background(), b.TD, res); err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, ev := range res.Events {
				got[ev.Name]++
			}
			if d := diffCounts(want, got); d != "" {
				t.Errorf("seed %d round %d: events (got/want): %s", seed, round, d)
			}
			for i, s := range b.Spans {
				if n := s.Attributes().Len(); n < 14 || n > 16 {
					t.Errorf("span %q has %d attributes, want about 15", s.Name(), n)
				}
				if i == 0 && s.EndTimestamp() <= s.StartTimestamp() {
					t.Errorf("span %q: end %v not after start %v", s.Name(), s.EndTimestamp(), s.StartTimestamp())
				}
				id := s.SpanID()
				if seenSpan[id] {
					t.Fatalf("span id %v handed out twice", id)
				}
				seenSpan[id] = true
			}
		}
	}
}

func TestFormatTable(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 58476: "58,476", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := fmtInt(n); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", n, got, want)
		}
	}
	rows := []runResult{
		{spec: runSpec{label: "1", exporter: expPostHog, rate: 10000, round: 1}, inRate: 10003.4, outRate: 1000.2, cpuPct: 9.87, rssAvg: 45.04, rssMax: 47.2,
			sent: 350000, expected: 35000, received: 35000, ok: true, verdict: "ok"},
		{spec: runSpec{label: "0", exporter: expNop, rate: 10000, round: 1}, inRate: 10001, cpuPct: 8, rssAvg: 40, rssMax: 41,
			sent: 350000, ok: true, verdict: "ok"},
		{spec: runSpec{label: "1", exporter: expPostHog, rate: 10000, round: 2}, inRate: 10001.4, outRate: 1000.8, cpuPct: 11.13, rssAvg: 46.04, rssMax: 48.5,
			sent: 350000, expected: 35000, received: 35000, ok: true, verdict: "ok"},
		{spec: runSpec{label: "1", exporter: expPostHog, rate: 10000, round: 3}, inRate: 10002.4, outRate: 1000.4, cpuPct: 10.5, rssAvg: 45.5, rssMax: 46,
			sent: 350000, expected: 35000, received: 35000, ok: true, verdict: "ok"},
		{spec: runSpec{label: "2", exporter: expOTLPHTTP, rate: 10000, round: 1}, inRate: 9999, outRate: 9990, cpuPct: 14, rssAvg: 50, rssMax: 51,
			sent: 350000, expected: 350000, received: 349900, lost: 100, verdict: "lost 100 | x"},
		{spec: runSpec{label: "3.1", exporter: expPostHog, rate: 80000, gomaxprocs: "1"}, verdict: "error: boom"},
	}
	got := formatTable(summarize(rows), 2)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 6 {
		t.Fatalf("want a header, a rule and 4 rows, got:\n%s", got)
	}
	for i, want := range []string{
		"| 1 | posthog (tl-engine rules) | default (2) | 10,000 | 3 | 10,002 | 1,000 events | 10.5 (9.9–11.1) | 45.5 / 48.5 | 1,050,000 | 105,000 | 105,000 | 0 | ok |",
		"| 0 | nop (the floor) | default (2) | 10,000 | 1 | 10,001 | 0 spans | 8.0 (8.0–8.0) | 40.0 / 41.0 | 350,000 | 0 | 0 | 0 | ok |",
		"| 2 | otlphttp (baseline) | default (2) | 10,000 | 1 | 9,999 | 9,990 spans | 14.0 (14.0–14.0) | 50.0 / 51.0 | 350,000 | 350,000 | 349,900 | 100 | round 1: lost 100 \\| x |",
		"| 3.1 | posthog (tl-engine rules) | 1 | 80,000 | 0 | | | | | | | | | error: boom |",
	} {
		if lines[2+i] != want {
			t.Errorf("row %d:\n got %s\nwant %s", i+1, lines[2+i], want)
		}
	}
	for _, l := range lines {
		if c := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); c != 15 {
			t.Errorf("%d cells separators in %q, want 15", c, l)
		}
	}
}

// TestMedian: the middle value, or the mean of the middle two.
func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

// TestFindingsCompareMedians: the report's ratios are of the runs' medians
// over their rounds, checked against the targets.
func TestFindingsCompareMedians(t *testing.T) {
	var rows []runResult
	for round, cpu := range map[int][3]float64{1: {10, 10.8, 14}, 2: {12, 13.5, 17}, 3: {11, 11.5, 15}} {
		for i, label := range []string{"0", "1", "2"} {
			exp := map[string]string{"0": expNop, "1": expPostHog, "2": expOTLPHTTP}[label]
			rows = append(rows, runResult{spec: runSpec{label: label, exporter: exp, rate: 10000, round: round},
				cpuPct: cpu[i], rssMax: 40, ok: true, verdict: "ok"})
		}
	}
	var b strings.Builder
	writeFindings(&b, settings{runs: map[string]bool{}}, summarize(rows))
	got := b.String()
	for _, want := range []string{
		"posthog/floor **1.05×** (target ≤ 1.10×: met)",
		"(posthog − floor) / (otlphttp − floor) = **0.12** (target ≤ 0.25: met)",
		"otlphttp/floor 1.36×",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
}
