package exporter

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// With trace_context, each push goes through the stage (package
// tracecontext) instead of straight to the mapper: spans that some rule
// could match wait for the rest of their trace, then are mapped with what
// they inherit. The stage keeps no clock of its own: the exporter ends the
// waits that lasted long enough every Tick, and at shutdown maps what still
// waits, so nothing waiting is lost. Either way the events are queued like
// any others.

// waitingTraces is the trace context stage of a traces exporter, and the
// goroutine that ends its waits.
type waitingTraces struct {
	stage    *tracecontext.Stage
	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

func newWaitingTraces(cfg *Config, m *mapping.Mapper) *waitingTraces {
	if !cfg.TraceContext.HasValue() {
		return nil
	}
	return &waitingTraces{stage: tracecontext.New(*cfg.TraceContext.Get(), m), stop: make(chan struct{})}
}

func (t *tracesExporter) Start(ctx context.Context, host component.Host) error {
	if err := t.Traces.Start(ctx, host); err != nil {
		return err
	}
	if w := t.waiting; w != nil {
		w.done.Go(func() { t.expireEvery(w.stage.Tick()) })
	}
	return nil
}

// expireEvery queues, every tick, the events of the spans that waited long
// enough, until Shutdown.
func (t *tracesExporter) expireEvery(tick time.Duration) {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-t.waiting.stop:
			return
		case <-ticker.C:
			t.queueStopped(context.Background(), t.waiting.stage.MapExpired)
		}
	}
}

// Shutdown maps every span still waiting with what is known and queues its
// events before exporterhelper drains its queue. The collector may call it
// more than once, and without Start.
func (t *tracesExporter) Shutdown(ctx context.Context) error {
	if w := t.waiting; w != nil {
		w.stopOnce.Do(func() {
			close(w.stop)
			w.done.Wait()
			t.queueStopped(ctx, w.stage.MapRemaining)
		})
	}
	return t.Traces.Shutdown(ctx)
}

// consumeWaiting maps, through the stage, the spans of td that need not
// wait and those of earlier pushes that stop waiting now, into one request.
func (t *tracesExporter) consumeWaiting(ctx context.Context, td ptrace.Traces) error {
	res := getResult()
	defer putResult(res)
	rep, err := t.waiting.stage.MapTraces(ctx, td, res)
	t.e.recordWaited(ctx, rep)
	req, err := t.e.toRequest(ctx, res, err)
	if err != nil || req.ItemsCount() == 0 {
		return err
	}
	return t.Traces.ConsumeTraces(context.WithValue(ctx, requestKey{}, req), td)
}

// queueStopped queues the events of spans that stopped waiting outside of
// a push (wait passed, shutdown). No caller waits for the answer: a failure
// is logged; exporterhelper counts what it refused.
func (t *tracesExporter) queueStopped(ctx context.Context, mapStopped func(context.Context, *mapping.Result) (tracecontext.Report, error)) {
	res := getResult()
	defer putResult(res)
	rep, err := mapStopped(ctx, res)
	t.e.recordWaited(ctx, rep)
	req, err := t.e.toRequest(ctx, res, err)
	if err == nil && req.ItemsCount() > 0 {
		err = t.Traces.ConsumeTraces(context.WithValue(ctx, requestKey{}, req), ptrace.NewTraces())
	}
	if err != nil {
		t.e.warnings.warn("trace_context", "Events of spans that waited for their trace could not be queued.", zap.Error(err))
	}
}

// recordWaited counts the spans that stopped waiting, by how, and the
// events of spans that inherited from their trace, by rule.
func (e *posthogExporter) recordWaited(ctx context.Context, rep tracecontext.Report) {
	for o, n := range rep.Stopped {
		e.telemetry.spansWaited(ctx, string(o), n)
	}
	for rule, n := range rep.Inherited {
		e.telemetry.traceContextEvents(ctx, rule, n)
	}
}
