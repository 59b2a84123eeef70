package tracecontext

import (
	"bytes"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// node is what is remembered of every span of a trace: its parent link,
// its start time and the listed attributes it has.
type node struct {
	parent pcommon.SpanID
	start  pcommon.Timestamp
	has    uint64          // bit i: the span has Attributes[i]
	vals   []pcommon.Value // Attributes[i] when has bit i; nil when has is 0
}

// trace is what has arrived of one trace.
type trace struct {
	id    pcommon.TraceID
	nodes map[pcommon.SpanID]node
	held  []*held
	// first and last are when its first and latest spans arrived.
	first, last time.Time
	// capped: MaxWait passed, or it overflowed; its spans no longer wait.
	capped bool
	flags  map[string]flagSeen // by flag key
}

// held is a span waiting for its trace: a copy of it, with its resource
// and scope.
type held struct {
	spanID pcommon.SpanID
	td     ptrace.Traces
}

func (h *held) span() ptrace.Span {
	return h.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

// resolve returns the value span id inherits for Attributes[i]: from its
// nearest ancestor that has it, else the trace's fallback for it (the
// value nearest to the root). ok is false when no span has it.
func (t *trace) resolve(id pcommon.SpanID, i int, fallbacks []pcommon.Value) (pcommon.Value, bool) {
	bit := uint64(1) << i
	n := t.nodes[id]
	for hops := 0; !n.parent.IsEmpty() && hops <= len(t.nodes); hops++ {
		p, ok := t.nodes[n.parent]
		if !ok {
			break
		}
		if p.has&bit != 0 {
			return p.vals[i], true
		}
		n = p
	}
	v := fallbacks[i]
	return v, v != (pcommon.Value{})
}

// fallbacks returns, for each of the n listed attributes, the value of the
// span nearest to the trace's root that has it (fewest hops to a span
// without a known parent; ties by earliest start, then lowest span id), or
// the zero Value. It takes one pass over the trace, whatever the number of
// spans that inherit: release computes it once per trace.
func (t *trace) fallbacks(n int) []pcommon.Value {
	out := make([]pcommon.Value, n)
	best := make([]pcommon.SpanID, n)
	bestDepth := make([]int, n)
	for i := range bestDepth {
		bestDepth[i] = -1
	}
	depths := t.depths()
	for sid, c := range t.nodes {
		d := depths[sid]
		if c.has == 0 || d < 0 {
			continue // nothing to give, or in a loop: no way to the root
		}
		for i := range n {
			if c.has&(1<<i) == 0 {
				continue
			}
			if bestDepth[i] < 0 || d < bestDepth[i] || d == bestDepth[i] && before(c, sid, t.nodes[best[i]], best[i]) {
				best[i], bestDepth[i], out[i] = sid, d, c.vals[i]
			}
		}
	}
	return out
}

// depths returns every span's number of parent hops to a span whose parent
// has not arrived (or that has none); -1 when its chain loops. Each span is
// walked once.
func (t *trace) depths() map[pcommon.SpanID]int {
	d := make(map[pcommon.SpanID]int, len(t.nodes))
	onPath := map[pcommon.SpanID]bool{}
	var path []pcommon.SpanID
	for id := range t.nodes {
		if _, ok := d[id]; ok {
			continue
		}
		path, cur, base := path[:0], id, 0
		clear(onPath)
		for {
			if v, ok := d[cur]; ok { // known: the path hangs below it
				base = v
				if v >= 0 {
					base = v + 1
				}
				break
			}
			if onPath[cur] { // a loop
				base = -1
				break
			}
			onPath[cur] = true
			path = append(path, cur)
			p := t.nodes[cur].parent
			if _, ok := t.nodes[p]; p.IsEmpty() || !ok { // cur is a top
				break
			}
			cur = p
		}
		for i := len(path) - 1; i >= 0; i-- {
			d[path[i]] = base
			if base >= 0 {
				base++
			}
		}
	}
	return d
}

// before orders spans at the same depth: earliest start, then lowest id.
func before(a node, aID pcommon.SpanID, b node, bID pcommon.SpanID) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	return bytes.Compare(aID[:], bID[:]) < 0
}

// flagSeen is the latest evaluation of a flag on any span of the trace.
type flagSeen struct {
	eval mapping.FlagEvaluation
	at   pcommon.Timestamp
	span pcommon.SpanID
	seq  int // event index on the span: ties on one span
}

// rememberFlags records the flag evaluations recorded on span. The latest
// evaluation of a key wins (ties: highest span id, then latest event on the
// span), so that the result does not depend on the order spans arrive in.
func (t *trace) rememberFlags(span ptrace.Span) {
	for i, se := range span.Events().All() {
		e, ok := mapping.ReadFlagEvaluation(se)
		if !ok || e.Response == nil {
			continue
		}
		f := flagSeen{eval: e, at: se.Timestamp(), span: span.SpanID(), seq: i}
		if old, ok := t.flags[e.Key]; ok && !f.after(old) {
			continue
		}
		if t.flags == nil {
			t.flags = map[string]flagSeen{}
		}
		t.flags[e.Key] = f
	}
}

func (f flagSeen) after(o flagSeen) bool {
	if f.at != o.at {
		return f.at > o.at
	}
	if c := bytes.Compare(f.span[:], o.span[:]); c != 0 {
		return c > 0
	}
	return f.seq >= o.seq // the same span again: its newest copy wins
}

// putFlags gives a span that stopped waiting the flags of its trace.
func (t *trace) putFlags(attrs pcommon.Map) {
	if len(t.flags) == 0 {
		return
	}
	flags := make(map[string]mapping.FlagEvaluation, len(t.flags))
	for k, f := range t.flags {
		flags[k] = f.eval
	}
	mapping.PutTraceFlags(attrs, flags)
}
