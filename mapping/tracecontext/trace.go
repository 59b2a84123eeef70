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
	// request is the request context a SERVER span records (mapping.Request).
	request map[string]string
}

// trace is what has arrived of one trace.
type trace struct {
	id    pcommon.TraceID
	nodes map[pcommon.SpanID]node
	held  []*held
	// heldLogs are the trace's log records waiting with it.
	heldLogs []*heldLog
	// first and last are when its first and latest spans arrived.
	first, last time.Time
	// capped: MaxWait passed, or it overflowed; its spans no longer wait.
	capped bool
	// forgotten: dropped from the stage (quiet, or too many remembered).
	forgotten bool
	flags     map[string]flagSeen // by flag key
}

// held is a span waiting for its trace: a copy of it, with its resource
// and scope, kept encoded while it waits (encoded.go).
type held struct {
	spanID pcommon.SpanID
	kept   encoded[ptrace.Traces]
}

var (
	heldMarshaler   ptrace.ProtoMarshaler
	heldUnmarshaler ptrace.ProtoUnmarshaler
)

// newHeld keeps span, with its resource and scope, to be released later.
func newHeld(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) *held {
	return &held{spanID: span.SpanID(), kept: encode(mapping.CopySpan(rs, ss, span), heldMarshaler.MarshalTraces)}
}

// traces is the held copy, decoded on first use.
func (h *held) traces() ptrace.Traces {
	return h.kept.get(heldUnmarshaler.UnmarshalTraces,
		func(td ptrace.Traces) bool { return td.SpanCount() == 1 },
		func() ptrace.Traces {
			td := ptrace.NewTraces()
			td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetSpanID(h.spanID)
			return td
		})
}

func (h *held) span() ptrace.Span {
	return h.traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

// resolve returns the value span id inherits for Attributes[i]: from its
// nearest ancestor that has it, else the trace's fallback for it (the
// value nearest to the root). ok is false when no span has it.
func (t *trace) resolve(id pcommon.SpanID, i int, fb *fallbacks) (pcommon.Value, bool) {
	return t.resolveFrom(t.nodes[id].parent, i, fb)
}

// resolveFrom returns the value for Attributes[i] of span id or its nearest
// ancestor that has it, else the trace's fallback: what a child of span id
// inherits.
func (t *trace) resolveFrom(id pcommon.SpanID, i int, fb *fallbacks) (pcommon.Value, bool) {
	bit := uint64(1) << i
	for hops := 0; !id.IsEmpty() && hops <= len(t.nodes); hops++ {
		n, ok := t.nodes[id]
		if !ok {
			break
		}
		if n.has&bit != 0 {
			return n.vals[i], true
		}
		id = n.parent
	}
	v := fb.attrs[i]
	return v, v != (pcommon.Value{})
}

// request resolves the request context of span id, key by key: a SERVER
// span's own, else the trace's entry request's (the SERVER span nearest the
// root that has the key). posthog-node gives every capture made while
// handling a request that request's context; a trace is the user's request
// through every service, so its entry request is the one the user made:
// the one with posthog-js's session headers, the user's address and agent.
func (t *trace) request(id pcommon.SpanID, fb *fallbacks) map[string]string {
	own := t.nodes[id].request
	if len(fb.request) == 0 {
		return own
	}
	out := make(map[string]string, len(fb.request))
	for k, v := range fb.request {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}

// fallbacks are, for a trace, what a span inherits when none of its
// ancestors has it: for each listed attribute the value of the span
// nearest to the trace's root that has it (fewest hops to a span without a
// known parent; ties by earliest start, then lowest span id), or the zero
// Value; for each request key, the value of the SERVER span nearest the
// root that has it.
type fallbacks struct {
	attrs   []pcommon.Value
	request map[string]string
}

// fallbacksOf computes the fallbacks of t for n listed attributes in one
// pass over the trace, whatever the number of spans that inherit: release
// computes them once per trace.
func (t *trace) fallbacksOf(n int) *fallbacks {
	fb := &fallbacks{attrs: make([]pcommon.Value, n)}
	best := make([]pcommon.SpanID, n)
	bestDepth := make([]int, n)
	for i := range bestDepth {
		bestDepth[i] = -1
	}
	type reqBest struct {
		id    pcommon.SpanID
		depth int
	}
	var bestReq map[string]reqBest
	depths := t.depths()
	for sid, c := range t.nodes {
		d := depths[sid]
		if d < 0 {
			continue // in a loop: no way to the root
		}
		for i := range n {
			if c.has&(1<<i) == 0 {
				continue
			}
			if bestDepth[i] < 0 || d < bestDepth[i] || d == bestDepth[i] && before(c, sid, t.nodes[best[i]], best[i]) {
				best[i], bestDepth[i], fb.attrs[i] = sid, d, c.vals[i]
			}
		}
		for k, v := range c.request {
			b, seen := bestReq[k]
			if seen && (d > b.depth || d == b.depth && !before(c, sid, t.nodes[b.id], b.id)) {
				continue
			}
			if bestReq == nil {
				bestReq, fb.request = map[string]reqBest{}, map[string]string{}
			}
			bestReq[k] = reqBest{sid, d}
			fb.request[k] = v
		}
	}
	return fb
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
