package main

import (
	"slices"
	"strings"
)

// runSummary is one run over its rounds: the medians of its rates, CPU and
// writes, the largest RSS, and the counts of every round added up. A run
// passes when every round did.
type runSummary struct {
	spec   runSpec
	rounds []runResult // the rounds that could be measured

	inRate, outRate, cpuPct float64 // medians
	diskWrite, writeCalls   float64 // medians, bytes/s
	rssAvg, rssMax          float64 // median of the averages; the largest reading
	harnessCPU, hostBusy    float64 // medians

	sent, expected, received, lost, dups int64 // sums over the rounds

	ok      bool
	verdict string   // "ok", or each failed round's verdict
	errors  []string // rounds that could not be measured
}

// summarize groups results by run label, in the order they first appear.
func summarize(results []runResult) []runSummary {
	var out []runSummary
	index := map[string]int{}
	for _, r := range results {
		i, seen := index[r.spec.label]
		if !seen {
			i = len(out)
			index[r.spec.label] = i
			spec := r.spec
			spec.round = 0
			out = append(out, runSummary{spec: spec, ok: true})
		}
		out[i].add(r)
	}
	for i := range out {
		out[i].finish()
	}
	return out
}

func (s *runSummary) add(r runResult) {
	if !r.measured() {
		s.ok = false
		s.errors = append(s.errors, r.verdict)
		return
	}
	s.rounds = append(s.rounds, r)
	s.sent += r.sent
	s.expected += r.expected
	s.received += r.received
	s.lost += r.lost
	s.dups += r.dups
	s.rssMax = max(s.rssMax, r.rssMax)
	if !r.ok {
		s.ok = false
	}
}

func (s *runSummary) finish() {
	med := func(f func(*runResult) float64) float64 {
		xs := make([]float64, len(s.rounds))
		for i := range s.rounds {
			xs[i] = f(&s.rounds[i])
		}
		return median(xs)
	}
	s.inRate = med(func(r *runResult) float64 { return r.inRate })
	s.outRate = med(func(r *runResult) float64 { return r.outRate })
	s.cpuPct = med(func(r *runResult) float64 { return r.cpuPct })
	s.diskWrite = med(func(r *runResult) float64 { return r.diskWrite })
	s.writeCalls = med(func(r *runResult) float64 { return r.writeCalls })
	s.rssAvg = med(func(r *runResult) float64 { return r.rssAvg })
	s.harnessCPU = med(func(r *runResult) float64 { return r.harnessCPU })
	s.hostBusy = med(func(r *runResult) float64 { return r.hostBusy })
	var bad []string
	for _, r := range s.rounds {
		if !r.ok {
			bad = append(bad, roundName(r)+r.verdict)
		}
	}
	bad = append(bad, s.errors...)
	s.verdict = "ok"
	if len(bad) > 0 {
		s.verdict = strings.Join(bad, "; ")
	}
}

// measured reports whether at least one round could be measured.
func (s *runSummary) measured() bool { return s != nil && len(s.rounds) > 0 }

// cpuRange is the lowest and highest CPU of the rounds.
func (s *runSummary) cpuRange() (lo, hi float64) {
	for i, r := range s.rounds {
		if i == 0 || r.cpuPct < lo {
			lo = r.cpuPct
		}
		hi = max(hi, r.cpuPct)
	}
	return lo, hi
}

func roundName(r runResult) string {
	if r.spec.round == 0 {
		return ""
	}
	return "round " + fmtInt(int64(r.spec.round)) + ": "
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
