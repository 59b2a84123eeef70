package exporter

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
	"github.com/posthogexporter/posthogexporter/internal/tracecontext"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// With trace_context, spans that some rule could match wait, before the
// queue, for the rest of their trace (package tracecontext); once it has
// arrived (or wait passed) they are mapped with what they inherit (listed
// attributes, and the flags evaluated on the trace's spans), and their
// events queued like any others.

func newTraceContextStage(cfg tracecontext.Config, m *mapping.Mapper, out func(context.Context, tracecontext.Batch)) *tracecontext.Stage {
	return tracecontext.New(cfg, m.SpanMatcher(cfg.Attributes).MayMatch, out)
}

func (t *tracesExporter) Start(ctx context.Context, host component.Host) error {
	if err := t.Traces.Start(ctx, host); err != nil {
		return err
	}
	if t.stage != nil {
		t.stage.Start()
	}
	return nil
}

// Shutdown maps every span still waiting with what is known and queues its
// events before exporterhelper drains its queue: nothing waiting is lost.
func (t *tracesExporter) Shutdown(ctx context.Context) error {
	if t.stage != nil {
		t.consumeStopped(ctx, t.stage.Stop())
	}
	return t.Traces.Shutdown(ctx)
}

// consumeWithContext maps the spans of td that need not wait, and those of
// earlier pushes whose trace is now complete, into one request.
func (t *tracesExporter) consumeWithContext(ctx context.Context, td ptrace.Traces) error {
	skip, ready := t.stage.Process(td)
	req, err := t.e.convertTracesExcept(ctx, td, skip, ready)
	if err != nil || req.ItemsCount() == 0 {
		return err
	}
	return t.Traces.ConsumeTraces(context.WithValue(ctx, requestKey{}, req), td)
}

// consumeStopped queues the events of spans that stopped waiting outside of
// a push (wait passed, shutdown). No caller waits for the answer: a failure
// is logged; exporterhelper counts what it refused.
func (t *tracesExporter) consumeStopped(ctx context.Context, b tracecontext.Batch) {
	if b.Len() == 0 {
		return
	}
	req, err := t.e.convertTracesExcept(ctx, ptrace.NewTraces(), nil, b)
	if err == nil && req.ItemsCount() > 0 {
		err = t.Traces.ConsumeTraces(context.WithValue(ctx, requestKey{}, req), b.Plain)
	}
	if err != nil {
		t.e.warnings.warn("trace_context", "Events of spans that waited for their trace could not be queued.", zap.Error(err))
	}
}

// convertTracesExcept maps td but the spans skip names, and the spans of b,
// into one request.
func (e *posthogExporter) convertTracesExcept(ctx context.Context, td ptrace.Traces, skip func(ptrace.Span) bool, b tracecontext.Batch) (*eventsRequest, error) {
	for o, n := range b.Stopped {
		e.telemetry.spansWaited(ctx, string(o), n)
	}
	res := getResult()
	defer putResult(res)
	var events []delivery.Event
	parts := []tracesPart{{td: td, skip: skip}}
	if b.Len() > 0 {
		parts = append(parts, tracesPart{td: b.Inherited, inherited: true}, tracesPart{td: b.Plain})
	}
	for _, p := range parts {
		if p.td.SpanCount() == 0 {
			continue
		}
		if err := e.mapper.MapTracesExcept(ctx, p.td, res, p.skip); err != nil {
			return e.toRequest(ctx, res, err)
		}
		e.mapped(ctx, res)
		if p.inherited {
			for i := range res.Events {
				e.telemetry.traceContextEvents(ctx, res.Events[i].Rule)
			}
		}
		if len(res.Events) > 0 {
			events = e.encoder.Encode(ctx, res.Events, events)
		}
	}
	return newEventsRequest(events), nil
}

// tracesPart is spans to map, and whether they inherited from their trace.
type tracesPart struct {
	td        ptrace.Traces
	skip      func(ptrace.Span) bool
	inherited bool
}
