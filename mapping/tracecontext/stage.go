package tracecontext

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// Outcome says how a trace's held spans stopped waiting.
type Outcome string

// How held spans stop waiting. The stage decides by time, never by which
// spans have arrived: spans do not arrive children first (concurrent batch
// exports, a first tier's concurrent consumers, services flushing on their
// own timers), so no arrival proves that a trace is whole.
const (
	// Quiet: no span of the trace arrived for Wait.
	Quiet Outcome = "quiet"
	// MaxWait: MaxWait passed since the trace's first span; its later
	// spans are mapped as they arrive, with what is known.
	MaxWait Outcome = "max_wait"
	// Overflow: MaxPending spans were held, or too many spans remembered,
	// and the trace was the oldest.
	Overflow Outcome = "overflow"
	// Shutdown: the collector stopped while they waited.
	Shutdown Outcome = "shutdown"
)

// Batch is spans and log records that stopped waiting, ready for mapping,
// with what they inherited written into their attributes.
type Batch struct {
	// Inherited holds the spans that inherited at least one attribute,
	// Plain those that found nothing to inherit.
	Inherited, Plain ptrace.Traces
	// Logs holds the log records.
	Logs plog.Logs
	// Stopped counts the spans and log records by how they stopped
	// waiting. Those of a trace past MaxWait are mapped as they arrive:
	// they are not counted.
	Stopped map[Outcome]int64
}

// Len is the number of spans and log records in b.
func (b Batch) Len() int {
	if b.Stopped == nil {
		return 0
	}
	return b.Inherited.SpanCount() + b.Plain.SpanCount() + b.Logs.LogRecordCount()
}

func (b *Batch) init() {
	if b.Stopped == nil {
		b.Inherited, b.Plain, b.Logs, b.Stopped = ptrace.NewTraces(), ptrace.NewTraces(), plog.NewLogs(), map[Outcome]int64{}
	}
}

// merge moves o into b.
func (b *Batch) merge(o *Batch) {
	if o.Len() == 0 {
		return
	}
	b.init()
	o.Inherited.ResourceSpans().MoveAndAppendTo(b.Inherited.ResourceSpans())
	o.Plain.ResourceSpans().MoveAndAppendTo(b.Plain.ResourceSpans())
	o.Logs.ResourceLogs().MoveAndAppendTo(b.Logs.ResourceLogs())
	for k, n := range o.Stopped {
		b.Stopped[k] += n
	}
	*o = Batch{}
}

func (b *Batch) add(h *held, o Outcome, inherited bool) {
	b.init()
	if o != "" {
		b.Stopped[o]++
	}
	to := b.Plain
	if inherited {
		to = b.Inherited
	}
	h.traces().ResourceSpans().MoveAndAppendTo(to.ResourceSpans())
}

// Stage holds spans back until their trace has gone quiet. MapTraces is
// called with every push; the caller calls MapExpired every Tick to map
// the traces that went quiet (or passed MaxWait), and MapRemaining at
// shutdown. It is safe for concurrent use.
type Stage struct {
	cfg    Config
	index  map[string]int
	mapper *mapping.Mapper
	// mayMatch tells whether some rule could match a span once it inherits
	// the listed attributes: the spans for which it is false never wait.
	mayMatch func(ptrace.Span) bool
	now      func() time.Time

	mu      sync.Mutex
	traces  map[pcommon.TraceID]*trace
	touched []touch  // traces by arrival of their spans, for Quiet
	byFirst []*trace // traces by their first span, for MaxWait and Overflow
	// forgottenInFirst counts the forgotten traces byFirst still holds.
	forgottenInFirst int
	pending          int // spans and log records held
	remembered       int // spans remembered, held or not
	stopped          bool
	// spill is what stopped waiting during a call that cannot return it
	// (log records overflowed by a push of spans, spans by a push of logs):
	// the next Expire returns it.
	spill Batch
}

// touch is a push that brought spans of t at time at; t is quiet once its
// last touch is Wait old.
type touch struct {
	t  *trace
	at time.Time
}

// New returns the stage of cfg in front of m.
func New(cfg Config, m *mapping.Mapper) *Stage {
	return newStage(cfg, m, m.SpanMatcher(cfg.Attributes).MayMatch)
}

func newStage(cfg Config, m *mapping.Mapper, mayMatch func(ptrace.Span) bool) *Stage {
	if cfg.MaxWait < cfg.Wait {
		cfg.MaxWait = cfg.Wait // Check refuses it; tests may leave it out
	}
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
	}
	return s
}

// Tick is how often the caller should call MapExpired: a twentieth of Wait,
// between 5ms and 250ms, so a trace waits at most that much longer than Wait.
func (s *Stage) Tick() time.Duration {
	return min(max(s.cfg.Wait/20, 5*time.Millisecond), 250*time.Millisecond)
}

// Pending is the number of spans waiting.
func (s *Stage) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Process remembers the spans of td and holds those some rule may match.
// It returns the spans of td that the caller must not map now (they are
// held, or ready in the batch), and the spans that stopped waiting:
// MaxPending overflowed, or their trace is past MaxWait.
func (s *Stage) Process(td ptrace.Traces) (skip func(ptrace.Span) bool, ready Batch) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, Batch{}
	}
	var taken map[spanKey]struct{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				tid, sid := span.TraceID(), span.SpanID()
				if tid.IsEmpty() || sid.IsEmpty() {
					continue
				}
				t := s.remember(tid, sid, span, now)
				if !s.mayMatch(span) {
					continue
				}
				if taken == nil {
					taken = map[spanKey]struct{}{}
				}
				taken[spanKey{tid, sid}] = struct{}{}
				h := newHeld(rs, ss, span)
				if t.capped {
					s.finish(t, h, "", t.fallbacksOf(len(s.cfg.Attributes)), &ready)
					continue
				}
				t.held = append(t.held, h)
				s.pending++
			}
		}
	}
	s.overflow(&ready)
	s.spillLogs(&ready)
	if taken == nil {
		return nil, ready
	}
	return func(span ptrace.Span) bool {
		_, ok := taken[spanKey{span.TraceID(), span.SpanID()}]
		return ok
	}, ready
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// Expire ends the wait of the traces that went quiet, forgetting them, and
// of those past MaxWait.
func (s *Stage) Expire() Batch {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var b Batch
	b.merge(&s.spill)
	for len(s.byFirst) > 0 && now.Sub(s.byFirst[0].first) >= s.cfg.MaxWait {
		t := s.popFirst()
		if s.traces[t.id] == t && !t.capped {
			s.release(t, MaxWait, &b)
			t.capped = true
		}
	}
	for len(s.touched) > 0 && now.Sub(s.touched[0].at) >= s.cfg.Wait {
		if t := s.popTouched(); t != nil {
			s.release(t, Quiet, &b)
			s.forget(t)
		}
	}
	return b
}

// Stop returns every span still waiting, with what is known. Spans
// processed after Stop do not wait.
func (s *Stage) Stop() Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	var b Batch
	b.merge(&s.spill)
	// In the order the traces began, so that the same input gives the same
	// batch (posthog-rules test compares it).
	traces := make([]*trace, 0, len(s.traces))
	for _, t := range s.traces {
		traces = append(traces, t)
	}
	slices.SortFunc(traces, func(a, b *trace) int {
		if c := a.first.Compare(b.first); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	for _, t := range traces {
		s.release(t, Shutdown, &b)
	}
	s.traces = map[pcommon.TraceID]*trace{}
	s.touched, s.byFirst, s.remembered, s.forgottenInFirst = nil, nil, 0, 0
	return b
}

// overflow ends the wait of the oldest traces while more than MaxPending
// spans are held, and forgets the least recently seen traces while more
// than rememberedPerPending times MaxPending spans are remembered.
func (s *Stage) overflow(b *Batch) {
	for s.pending > s.cfg.MaxPending && len(s.byFirst) > 0 {
		t := s.popFirst()
		if s.traces[t.id] == t && len(t.held)+len(t.heldLogs) > 0 {
			s.release(t, Overflow, b)
			t.capped = true
		}
	}
	for s.remembered > rememberedPerPending*s.cfg.MaxPending && len(s.touched) > 0 {
		if t := s.popTouched(); t != nil {
			s.release(t, Overflow, b)
			s.forget(t)
		}
	}
}

func (s *Stage) popFirst() *trace {
	t := s.byFirst[0]
	s.byFirst[0] = nil
	s.byFirst = s.byFirst[1:]
	if t.forgotten {
		s.forgottenInFirst--
	}
	return t
}

// popTouched pops the oldest touch: its trace if that was the trace's last
// touch, nil if the trace was touched again since, or is forgotten.
func (s *Stage) popTouched() *trace {
	tc := s.touched[0]
	s.touched[0] = touch{}
	s.touched = s.touched[1:]
	if t := tc.t; s.traces[t.id] == t && !t.last.After(tc.at) {
		return t
	}
	return nil
}

// remember records a span's parent link and listed attributes, and that
// its trace was touched now.
func (s *Stage) remember(tid pcommon.TraceID, sid pcommon.SpanID, span ptrace.Span, now time.Time) *trace {
	t := s.touch(tid, now)
	n := node{parent: span.ParentSpanID(), start: span.StartTimestamp(), request: mapping.Request(span)}
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

// touch returns the trace of tid, new or not, and records that something of
// it arrived now.
func (s *Stage) touch(tid pcommon.TraceID, now time.Time) *trace {
	t := s.traces[tid]
	if t == nil {
		t = &trace{id: tid, nodes: map[pcommon.SpanID]node{}, first: now}
		s.traces[tid] = t
		s.byFirst = append(s.byFirst, t)
	}
	if !t.last.Equal(now) { // one touch per trace per instant
		s.touched = append(s.touched, touch{t: t, at: now})
	}
	t.last = now
	return t
}

// forget drops a trace: a span of it that arrives later starts it anew.
// byFirst may still point at it until its MaxWait passes: what it held is
// dropped now, and byFirst is compacted once most of it is forgotten.
func (s *Stage) forget(t *trace) {
	s.remembered -= len(t.nodes)
	delete(s.traces, t.id)
	t.nodes, t.flags, t.held, t.heldLogs = nil, nil, nil, nil
	t.forgotten = true
	if s.forgottenInFirst++; s.forgottenInFirst > 1024 && s.forgottenInFirst > len(s.byFirst)/2 {
		live := s.byFirst[:0]
		for _, t := range s.byFirst {
			if !t.forgotten {
				live = append(live, t)
			}
		}
		clear(s.byFirst[len(live):])
		s.byFirst, s.forgottenInFirst = live, 0
	}
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

// release ends the wait of every span t holds.
func (s *Stage) release(t *trace, o Outcome, b *Batch) {
	if len(t.held)+len(t.heldLogs) == 0 {
		return
	}
	fb := t.fallbacksOf(len(s.cfg.Attributes))
	markUnhandled(t.held)
	for _, h := range t.held {
		s.finish(t, h, o, fb, b)
	}
	for _, h := range t.heldLogs {
		s.finishLog(t, h, o, fb, b)
	}
	s.pending -= len(t.held) + len(t.heldLogs)
	clear(t.held)
	t.held = t.held[:0]
	clear(t.heldLogs)
	t.heldLogs = t.heldLogs[:0]
}

// finish gives a span what it inherits from its trace (the listed
// attributes, the request context, the flags) and adds it to b.
func (s *Stage) finish(t *trace, h *held, o Outcome, fb *fallbacks, b *Batch) {
	span := h.span()
	attrs := span.Attributes()
	inherited := false
	for i, k := range s.cfg.Attributes {
		if _, ok := attrs.Get(k); ok {
			continue
		}
		if v, ok := t.resolve(h.spanID, i, fb); ok {
			v.CopyTo(attrs.PutEmpty(k))
			inherited = true
		}
	}
	mapping.PutRequest(attrs, t.request(h.spanID, fb))
	t.putFlags(attrs)
	b.add(h, o, inherited)
}
