package exporter

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// With trace_context, every push goes through the stage (package
// tracecontext) instead of straight to the mapper: spans and log records
// that some rule could match wait until their trace goes quiet, then are
// mapped with what they inherit. The stage keeps no clock of its own: the
// exporter ends the waits every Tick, and at shutdown maps what still
// waits, so nothing waiting is lost. Either way the events are queued like
// any others. The traces and logs exporters of a config share one stage
// (configShare).

// waiting is the trace context stage that the exporters of one config
// share, and the goroutine that ends its waits.
type waiting struct {
	stage *tracecontext.Stage

	mu      sync.Mutex
	started []*signalExporter // exporters started: the first queues what expires
	stop    chan struct{}
	done    sync.WaitGroup
}

// start adds a started exporter; the first starts the clock.
func (w *waiting) start(s *signalExporter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = append(w.started, s)
	if len(w.started) == 1 && w.stop == nil {
		w.stop = make(chan struct{})
		w.done.Go(func() { w.expireEvery(w.stage.Tick(), w.stop) })
	}
}

// shutdown removes an exporter. The last one of the config stops the clock
// and queues the events of everything still waiting, before its queue drains.
func (w *waiting) shutdown(ctx context.Context, s *signalExporter, last bool) {
	w.mu.Lock()
	for i, o := range w.started {
		if o == s {
			w.started = append(w.started[:i], w.started[i+1:]...)
			break
		}
	}
	stop := w.stop
	w.mu.Unlock()
	if !last {
		return
	}
	if stop != nil {
		close(stop)
		w.done.Wait()
	}
	w.queueStopped(ctx, s, w.stage.MapRemaining)
}

// expireEvery queues, every tick, the events of what waited long enough.
func (w *waiting) expireEvery(tick time.Duration, stop chan struct{}) {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			w.mu.Lock()
			var s *signalExporter
			if len(w.started) > 0 {
				s = w.started[0]
			}
			w.mu.Unlock()
			if s != nil {
				w.queueStopped(context.Background(), s, w.stage.MapExpired)
			}
		}
	}
}

// queueStopped maps what stopped waiting outside of a push (wait passed,
// shutdown) and queues its events, spans' and log records' alike, in s's
// queue. No caller waits for the answer: a failure is logged;
// exporterhelper counts what it refused.
func (w *waiting) queueStopped(ctx context.Context, s *signalExporter, mapStopped func(context.Context, *mapping.Result, *mapping.Result) (tracecontext.Report, error)) {
	spans, logs := getResult(), getResult()
	defer putResult(spans)
	defer putResult(logs)
	rep, err := mapStopped(ctx, spans, logs)
	s.e.recordWaited(ctx, rep)
	req, err := s.e.toRequest(ctx, err, spans, logs)
	if err == nil && req.ItemsCount() > 0 {
		err = s.queue(ctx, req)
	}
	if err != nil {
		s.e.warnings.warn("trace_context", "Events of records that waited for their trace could not be queued.", zap.Error(err))
	}
}

// recordWaited counts the spans and log records that stopped waiting, by
// how, and the events of spans that inherited from their trace, by rule.
func (e *posthogExporter) recordWaited(ctx context.Context, rep tracecontext.Report) {
	for o, n := range rep.Stopped {
		e.telemetry.spansWaited(ctx, string(o), n)
	}
	for rule, n := range rep.Inherited {
		e.telemetry.traceContextEvents(ctx, rule, n)
	}
}

// consumeTraces maps, through the stage, the spans of td that need not
// wait and those that stop waiting now, into one request.
func (w *waiting) consumeTraces(ctx context.Context, e *posthogExporter, td ptrace.Traces) (*eventsRequest, error) {
	res := getResult()
	defer putResult(res)
	rep, err := w.stage.MapTraces(ctx, td, res)
	e.recordWaited(ctx, rep)
	return e.toRequest(ctx, err, res)
}

// consumeLogs is consumeTraces for log records.
func (w *waiting) consumeLogs(ctx context.Context, e *posthogExporter, ld plog.Logs) (*eventsRequest, error) {
	res := getResult()
	defer putResult(res)
	rep, err := w.stage.MapLogs(ctx, ld, res)
	e.recordWaited(ctx, rep)
	return e.toRequest(ctx, err, res)
}
