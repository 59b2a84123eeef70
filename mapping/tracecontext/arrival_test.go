package tracecontext

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// anyOrder returns the spans in any order at all: parents before children,
// children before parents, the middle first. Real traces arrive like this
// (concurrent batch exports, a first tier's concurrent consumers, services
// flushing on their own timers).
func anyOrder(r *rand.Rand, spans []sp) []sp {
	out := slices.Clone(spans)
	switch r.IntN(4) {
	case 0: // the root first, the rest shuffled
		rest := out[1:]
		r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	case 1: // parents before children
		out = childrenFirst(r, spans)
		slices.Reverse(out)
	default:
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out
}

// arrival is one request and when it arrives, after the previous one.
type arrival struct {
	td  ptrace.Traces
	gap time.Duration
	// with the previous request: pushed concurrently, at the same time.
	concurrent bool
}

// schedule splits the interleaved spans into requests, spaced by random
// gaps; no trace goes quiet for wait between two of its spans.
func schedule(r *rand.Rand, seq []tagged, wait time.Duration) []arrival {
	for maxGap := wait * 95 / 100; ; maxGap /= 2 {
		var out []arrival
		last := map[byte]time.Duration{}
		now, ok := time.Duration(0), true
		for rest := seq; len(rest) > 0; {
			n := 1 + r.IntN(min(len(rest), 4))
			a := arrival{td: ptrace.NewTraces(), concurrent: len(out) > 0 && r.IntN(4) == 0}
			if !a.concurrent {
				a.gap = time.Duration(r.Int64N(int64(maxGap)))
			}
			now += a.gap
			for _, s := range rest[:n] {
				if at, seen := last[s.trace]; seen && now-at >= wait {
					ok = false
				}
				last[s.trace] = now
				push(s.trace, s.span).ResourceSpans().MoveAndAppendTo(a.td.ResourceSpans())
			}
			out = append(out, a)
			rest = rest[n:]
		}
		if ok {
			return out
		}
	}
}

// TestArrivalOrderDoesNotMatter: traces whose spans arrive in any order,
// split into requests in any way, some pushed concurrently, each span within
// wait of the trace's previous one, give exactly the events of the same
// traces sent whole: the same events, uuids, inherited users and tenants,
// and flags.
func TestArrivalOrderDoesNotMatter(t *testing.T) {
	m := newOrderMapper(t)
	const wait = 5 * time.Second
	cfg := Config{Wait: wait}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 19))
		traces := map[byte][]sp{}
		for tr := range byte(1 + r.IntN(4)) {
			traces[tr] = randomTrace(r)
		}
		ref := newPipeline(t, m, cfg)
		for tr, spans := range traces {
			ref.push(push(tr, spans...))
		}
		ref.clock.add(2 * wait)
		ref.expire()
		ref.stop()
		want := ref.sorted()
		require.NotEmpty(t, want)

		for round := range 4 {
			seqs := map[byte][]sp{}
			for tr, spans := range traces {
				seqs[tr] = anyOrder(r, spans)
			}
			p := newPipeline(t, m, cfg)
			arrivals := schedule(r, interleave(r, seqs), wait)
			for i := 0; i < len(arrivals); {
				j := i + 1
				for j < len(arrivals) && arrivals[j].concurrent {
					j++
				}
				p.clock.add(arrivals[i].gap)
				p.expire() // the exporter's tick
				p.pushConcurrently(arrivals[i:j])
				i = j
			}
			p.clock.add(2 * wait)
			p.expire()
			p.stop()
			require.Equal(t, want, p.sorted(), "seed %d round %d", seed, round)
		}
	}
}

// pushConcurrently pushes the requests at once, each from its goroutine,
// as the receiver does with concurrent requests.
func (p *pipeline) pushConcurrently(as []arrival) {
	if len(as) == 1 {
		p.push(as[0].td)
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range as {
		wg.Go(func() {
			events := p.mapConcurrent(a.td)
			mu.Lock()
			p.events = append(p.events, events...)
			mu.Unlock()
		})
	}
	wg.Wait()
}
