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
	id       pcommon.TraceID
	nodes    map[pcommon.SpanID]node
	held     []*held
	lastSeen time.Time
	flags    map[string]flagSeen // by flag key
}

// held is a span waiting for its trace: a copy of it, with its resource
// and scope.
type held struct {
	trace   *trace
	spanID  pcommon.SpanID
	td      ptrace.Traces
	arrived time.Time
	done    bool
}

func (h *held) span() ptrace.Span {
	return h.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

// complete reports whether the span's chain of ancestors up to a parentless
// span has arrived. A chain that loops (bad input) never ends: it counts as
// complete, since nothing more can arrive to help.
func (t *trace) complete(id pcommon.SpanID) bool {
	n, ok := t.nodes[id]
	if !ok {
		return false
	}
	for hops := 0; !n.parent.IsEmpty(); hops++ {
		if hops > len(t.nodes) {
			return true
		}
		if n, ok = t.nodes[n.parent]; !ok {
			return false
		}
	}
	return true
}

// depth is the number of parent hops from id to a span whose parent has
// not arrived (or that has none); -1 when the chain loops.
func (t *trace) depth(id pcommon.SpanID) int {
	n := t.nodes[id]
	hops := 0
	for !n.parent.IsEmpty() {
		p, ok := t.nodes[n.parent]
		if !ok {
			return hops
		}
		hops++
		if hops > len(t.nodes) {
			return -1
		}
		n = p
	}
	return hops
}

// resolve returns the value span id inherits for Attributes[i]: from its
// nearest ancestor that has it, else from the span nearest to the trace's
// root that has it (fewest hops to a span without a known parent; ties by
// earliest start, then lowest span id). ok is false when no span has it.
func (t *trace) resolve(id pcommon.SpanID, i int) (pcommon.Value, bool) {
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
	var (
		best      pcommon.SpanID
		bestDepth = -1
		found     bool
	)
	for sid, c := range t.nodes {
		if c.has&bit == 0 || sid == id {
			continue
		}
		d := t.depth(sid)
		if d < 0 {
			continue // in a loop: no way to the root
		}
		if !found || d < bestDepth || d == bestDepth && before(c, sid, t.nodes[best], best) {
			best, bestDepth, found = sid, d, true
		}
	}
	if !found {
		return pcommon.Value{}, false
	}
	return t.nodes[best].vals[i], true
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
