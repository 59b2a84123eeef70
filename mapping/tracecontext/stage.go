package tracecontext

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// Outcome says how a span stopped waiting.
type Outcome string

// How held spans stop waiting.
const (
	// Complete: its chain of ancestors up to a parentless span arrived.
	Complete Outcome = "complete"
	// Timeout: it waited Wait.
	Timeout Outcome = "timeout"
	// Overflow: MaxPending spans were held, or too many spans remembered,
	// and it was the oldest.
	Overflow Outcome = "overflow"
	// Shutdown: the collector stopped while it waited.
	Shutdown Outcome = "shutdown"
)

// Batch is spans that stopped waiting, ready for mapping, with what they
// inherited written into their attributes.
type Batch struct {
	// Inherited holds the spans that inherited at least one attribute,
	// Plain those that found nothing to inherit.
	Inherited, Plain ptrace.Traces
	// Stopped counts the spans by how they stopped waiting. Spans whose
	// trace was complete when they arrived did not wait: they are not counted.
	Stopped map[Outcome]int64
}

// Len is the number of spans in b.
func (b Batch) Len() int {
	if b.Stopped == nil {
		return 0
	}
	return b.Inherited.SpanCount() + b.Plain.SpanCount()
}

func (b *Batch) add(h *held, o Outcome, inherited bool) {
	if b.Stopped == nil {
		b.Inherited, b.Plain, b.Stopped = ptrace.NewTraces(), ptrace.NewTraces(), map[Outcome]int64{}
	}
	if o != "" {
		b.Stopped[o]++
	}
	to := b.Plain
	if inherited {
		to = b.Inherited
	}
	h.td.ResourceSpans().MoveAndAppendTo(to.ResourceSpans())
}

// Stage holds spans back until their trace has arrived. MapTraces is called
// with every push; the caller calls MapExpired every Tick to end the waits
// that lasted Wait, and MapRemaining at shutdown. It is safe for concurrent
// use.
type Stage struct {
	cfg    Config
	index  map[string]int
	all    uint64 // bits of every listed attribute
	mapper *mapping.Mapper
	// mayMatch tells whether some rule could match a span once it inherits
	// the listed attributes: the spans for which it is false never wait.
	mayMatch func(ptrace.Span) bool
	now      func() time.Time

	mu         sync.Mutex
	traces     map[pcommon.TraceID]*trace
	queue      []*held // held spans by arrival, done ones left in place until popped
	pending    int     // held spans not done
	touched    []touch // traces by last arrival, for forgetting them
	remembered int
	stopped    bool
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type touch struct {
	t  *trace
	at time.Time
}

// New returns the stage of cfg in front of m.
func New(cfg Config, m *mapping.Mapper) *Stage {
	return newStage(cfg, m, m.SpanMatcher(cfg.Attributes).MayMatch)
}

func newStage(cfg Config, m *mapping.Mapper, mayMatch func(ptrace.Span) bool) *Stage {
	s := &Stage{
		cfg:      cfg,
		index:    map[string]int{},
		mapper:   m,
		mayMatch: mayMatch,
		now:      time.Now,
		traces:   map[pcommon.TraceID]*trace{},
	}
	for i, a := range cfg.Attributes {
		s.index[a] = i
		s.all |= 1 << i
	}
	return s
}

// Tick is how often the caller should call MapExpired: a twentieth of Wait,
// between 5ms and 250ms, so a span waits at most that much longer than Wait.
func (s *Stage) Tick() time.Duration {
	return min(max(s.cfg.Wait/20, 5*time.Millisecond), 250*time.Millisecond)
}

// Stop returns every span still waiting, with what is known. Spans
// processed after Stop do not wait.
func (s *Stage) Stop() Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	var b Batch
	for _, h := range s.queue {
		if !h.done {
			s.finish(h, Shutdown, &b)
		}
	}
	s.queue = nil
	s.traces = map[pcommon.TraceID]*trace{}
	s.touched, s.remembered = nil, 0
	return b
}

// Pending is the number of spans waiting.
func (s *Stage) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Process remembers the spans of td. It returns the spans of td that the
// caller must not map now (they are held, or ready in the batch), and the
// spans, of this push or earlier ones, that stopped waiting: their trace is
// complete, or MaxPending overflowed.
func (s *Stage) Process(td ptrace.Traces) (skip func(ptrace.Span) bool, ready Batch) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, Batch{}
	}
	var (
		taken   map[spanKey]struct{}
		touched []*trace
	)
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				tid, sid := span.TraceID(), span.SpanID()
				if tid.IsEmpty() || sid.IsEmpty() {
					continue
				}
				t := s.remember(tid, sid, span, now)
				if len(touched) == 0 || touched[len(touched)-1] != t {
					touched = append(touched, t)
				}
				// A span that has every listed attribute waits too: its
				// trace's flag evaluations arrive with the rest of it.
				if !s.mayMatch(span) {
					continue
				}
				h := &held{trace: t, spanID: sid, td: copySpan(rs, ss, span), arrived: now}
				t.held = append(t.held, h)
				s.queue = append(s.queue, h)
				s.pending++
				if taken == nil {
					taken = map[spanKey]struct{}{}
				}
				taken[spanKey{tid, sid}] = struct{}{}
			}
		}
	}
	for _, t := range touched {
		s.touched = append(s.touched, touch{t: t, at: now})
		for _, h := range t.held {
			if !h.done && t.complete(h.spanID) {
				o := Complete
				if h.arrived.Equal(now) {
					o = "" // complete on arrival: it did not wait
				}
				s.finish(h, o, &ready)
			}
		}
		t.held = pruneDone(t.held)
	}
	s.overflow(&ready)
	if taken == nil {
		return nil, ready
	}
	return func(span ptrace.Span) bool {
		_, ok := taken[spanKey{span.TraceID(), span.SpanID()}]
		return ok
	}, ready
}

// Expire ends the wait of the spans held for Wait, and forgets traces
// nothing arrived in for Wait.
func (s *Stage) Expire() Batch {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var b Batch
	for len(s.queue) > 0 {
		h := s.queue[0]
		if !h.done && now.Sub(h.arrived) < s.cfg.Wait {
			break
		}
		if !h.done {
			s.finish(h, Timeout, &b)
		}
		s.queue[0] = nil
		s.queue = s.queue[1:]
	}
	for len(s.touched) > 0 && now.Sub(s.touched[0].at) >= s.cfg.Wait {
		tc := s.touched[0]
		s.touched[0] = touch{}
		s.touched = s.touched[1:]
		s.forget(tc, now)
	}
	return b
}

// forget drops a trace nothing arrived in for Wait, once it holds nothing.
func (s *Stage) forget(tc touch, now time.Time) {
	t := tc.t
	if s.traces[t.id] != t || t.lastSeen.After(tc.at) {
		return // forgotten already, or a later touch will come
	}
	if t.held = pruneDone(t.held); len(t.held) > 0 {
		s.touched = append(s.touched, touch{t: t, at: now})
		return
	}
	s.remembered -= len(t.nodes)
	delete(s.traces, t.id)
}

// overflow ends the wait of the oldest held spans beyond MaxPending, and
// forgets the oldest traces beyond the bound of remembered spans.
func (s *Stage) overflow(b *Batch) {
	for s.pending > s.cfg.MaxPending && len(s.queue) > 0 {
		h := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if !h.done {
			s.finish(h, Overflow, b)
		}
	}
	for s.remembered > rememberedPerPending*s.cfg.MaxPending && len(s.touched) > 0 {
		t := s.touched[0].t
		s.touched[0] = touch{}
		s.touched = s.touched[1:]
		if s.traces[t.id] != t {
			continue
		}
		for _, h := range t.held {
			if !h.done {
				s.finish(h, Overflow, b)
			}
		}
		s.remembered -= len(t.nodes)
		delete(s.traces, t.id)
	}
}

// remember records a span's parent link and listed attributes.
func (s *Stage) remember(tid pcommon.TraceID, sid pcommon.SpanID, span ptrace.Span, now time.Time) *trace {
	t := s.traces[tid]
	if t == nil {
		t = &trace{id: tid, nodes: map[pcommon.SpanID]node{}}
		s.traces[tid] = t
	}
	t.lastSeen = now
	n := node{parent: span.ParentSpanID(), start: span.StartTimestamp()}
	if n.has = s.has(span.Attributes()); n.has != 0 {
		n.vals = make([]pcommon.Value, len(s.cfg.Attributes))
		for i, k := range s.cfg.Attributes {
			if v, ok := span.Attributes().Get(k); ok {
				n.vals[i] = pcommon.NewValueEmpty()
				v.CopyTo(n.vals[i])
			}
		}
	}
	if _, seen := t.nodes[sid]; !seen {
		s.remembered++
	}
	t.rememberFlags(span)
	t.nodes[sid] = n
	return t
}

// has returns the bits of the listed attributes that m holds.
func (s *Stage) has(m pcommon.Map) uint64 {
	var bits uint64
	if m.Len() < len(s.cfg.Attributes) {
		for k := range m.All() {
			if i, ok := s.index[k]; ok {
				bits |= 1 << i
			}
		}
		return bits
	}
	for i, k := range s.cfg.Attributes {
		if _, ok := m.Get(k); ok {
			bits |= 1 << i
		}
	}
	return bits
}

// finish ends a span's wait: it inherits what its trace gives and joins b.
func (s *Stage) finish(h *held, o Outcome, b *Batch) {
	h.done = true
	s.pending--
	span := h.span()
	attrs := span.Attributes()
	inherited := false
	for i, k := range s.cfg.Attributes {
		if _, ok := attrs.Get(k); ok {
			continue
		}
		if v, ok := h.trace.resolve(h.spanID, i); ok {
			v.CopyTo(attrs.PutEmpty(k))
			inherited = true
		}
	}
	h.trace.putFlags(attrs)
	b.add(h, o, inherited)
}

func pruneDone(hs []*held) []*held {
	out := hs[:0]
	for _, h := range hs {
		if !h.done {
			out = append(out, h)
		}
	}
	clear(hs[len(out):])
	return out
}

// copySpan copies one span with its resource and scope.
func copySpan(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	r := td.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(r.Resource())
	r.SetSchemaUrl(rs.SchemaUrl())
	sc := r.ScopeSpans().AppendEmpty()
	ss.Scope().CopyTo(sc.Scope())
	sc.SetSchemaUrl(ss.SchemaUrl())
	span.CopyTo(sc.Spans().AppendEmpty())
	return td
}
