package main

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// With trace_context, explain and test run spans through the exporter's own
// stage (mapping/tracecontext), so that every span is explained or mapped
// with the attributes it inherits from its trace in the collector. Files are
// whole inputs: every document is processed in order, then the stage is
// stopped, which releases the spans still waiting with everything known, as
// the collector does at shutdown. Live mode runs the stage as the exporter
// does: spans that wait are explained when their trace arrives or wait passes.

// traceStage is the stage, and for each span it holds which listed
// attributes the span lacked when it arrived, to tell what it inherited.
type traceStage struct {
	stage *tracecontext.Stage
	attrs []string

	mu      sync.Mutex
	missing map[spanKey][][]string // several: the same span may arrive twice
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

func keyOf(span ptrace.Span) spanKey { return spanKey{span.TraceID(), span.SpanID()} }

// newTraceStage returns the exporter's stage for cfg in front of the rules
// of m, which decide as in the exporter which spans wait.
func newTraceStage(cfg tracecontext.Config, m *mapping.Mapper) *traceStage {
	return &traceStage{
		stage:   tracecontext.New(cfg, m),
		attrs:   cfg.Attributes,
		missing: map[spanKey][][]string{},
	}
}

// expireEvery gives released the spans that waited long enough, every tick
// of the stage, as the exporter does, until the returned stop is called.
func (s *traceStage) expireEvery(released func(tracecontext.Batch)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(s.stage.Tick())
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if b := s.stage.Expire(); b.Len() > 0 {
					released(b)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// process is Stage.Process, remembering what the held spans lack.
func (s *traceStage) process(td ptrace.Traces) (skip func(ptrace.Span) bool, ready tracecontext.Batch) {
	skip, ready = s.stage.Process(td)
	if skip == nil {
		return skip, ready
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if !skip(span) {
					continue
				}
				var lacks []string
				for _, a := range s.attrs {
					if _, ok := span.Attributes().Get(a); !ok {
						lacks = append(lacks, a)
					}
				}
				k := keyOf(span)
				s.missing[k] = append(s.missing[k], lacks)
			}
		}
	}
	return skip, ready
}

// inherited returns the listed attributes a released span has now that it
// lacked when it arrived, and forgets the span.
func (s *traceStage) inherited(span ptrace.Span) map[string]any {
	s.mu.Lock()
	k := keyOf(span)
	all := s.missing[k]
	var lacks []string
	if len(all) > 0 {
		lacks = all[0]
		if len(all) == 1 {
			delete(s.missing, k)
		} else {
			s.missing[k] = all[1:]
		}
	}
	s.mu.Unlock()
	var got map[string]any
	for _, a := range lacks {
		if v, ok := span.Attributes().Get(a); ok {
			if got == nil {
				got = map[string]any{}
			}
			got[a] = v.AsRaw()
		}
	}
	return got
}

// released calls f with every span of b, in the stage's order.
func released(b tracecontext.Batch, f func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span)) {
	if b.Len() > 0 {
		forSpans(b.Inherited, f)
		forSpans(b.Plain, f)
	}
}
