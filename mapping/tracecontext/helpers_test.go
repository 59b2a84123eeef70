package tracecontext

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// sp describes a test span; ids are one byte, 0 is "no parent".
type sp struct {
	id, parent byte
	name       string
	start      int64
	attrs      map[string]string
	flags      []flagEval // feature_flag.evaluation span events
	// kind: SERVER for a root when unset. headers are put as a string
	// array each, as HTTP instrumentations record captured headers.
	kind    ptrace.SpanKind
	headers map[string]string
}

// flagEval is a flag evaluation recorded on a test span at time at.
type flagEval struct {
	key, variant string
	at           int64
}

func tid(b byte) pcommon.TraceID { return pcommon.TraceID{b, 0xee} }
func sid(b byte) pcommon.SpanID {
	if b == 0 {
		return pcommon.SpanID{}
	}
	return pcommon.SpanID{0xaa, b}
}

// push builds one request holding the spans of one trace.
func push(trace byte, spans ...sp) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "api")
	ss := rs.ScopeSpans().AppendEmpty()
	for _, s := range spans {
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(tid(trace))
		span.SetSpanID(sid(s.id))
		span.SetParentSpanID(sid(s.parent))
		span.SetName(s.name)
		if s.parent == 0 {
			span.SetKind(ptrace.SpanKindServer)
		}
		if s.kind != ptrace.SpanKindUnspecified {
			span.SetKind(s.kind)
		}
		for k, v := range s.headers {
			span.Attributes().PutEmptySlice(k).AppendEmpty().SetStr(v)
		}
		span.SetStartTimestamp(pcommon.Timestamp(1000 + s.start))
		span.SetEndTimestamp(pcommon.Timestamp(2000 + s.start))
		for k, v := range s.attrs {
			span.Attributes().PutStr(k, v)
		}
		for _, f := range s.flags {
			se := span.Events().AppendEmpty()
			se.SetName("feature_flag.evaluation")
			se.SetTimestamp(pcommon.Timestamp(1500 + f.at))
			se.Attributes().PutStr("feature_flag.key", f.key)
			se.Attributes().PutStr("feature_flag.result.variant", f.variant)
			se.Attributes().PutStr("feature_flag.provider.name", "posthog")
		}
	}
	return td
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestStage holds every span not named "middleware" that lacks a listed
// attribute.
func newTestStage(cfg Config) (*Stage, *fakeClock) {
	if cfg.Wait == 0 {
		cfg.Wait = 5 * time.Second
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Hour
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 1000
	}
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	s := newStage(cfg, nil, func(span ptrace.Span) bool { return span.Name() != "middleware" })
	s.now = clock.now
	return s, clock
}

// spansOf returns the attributes of every span of b, by span id byte, and
// whether it inherited.
func spansOf(b Batch) map[byte]map[string]any {
	out := map[byte]map[string]any{}
	if b.Len() == 0 {
		return out
	}
	for _, td := range []ptrace.Traces{b.Inherited, b.Plain} {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					id := span.SpanID()
					out[id[1]] = span.Attributes().AsRaw()
				}
			}
		}
	}
	return out
}

func merge(bs ...Batch) map[byte]map[string]any {
	out := map[byte]map[string]any{}
	for _, b := range bs {
		for k, v := range spansOf(b) {
			out[k] = v
		}
	}
	return out
}
