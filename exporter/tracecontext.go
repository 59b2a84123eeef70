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
// any others.
//
// The collector makes a traces and a logs exporter of one ID, each started
// and shut down on its own; a request's log records must wait with its
// spans, so both share one stage, as otlpreceiver's signals share one
// server: one waiting per component config.

// waiting is the trace context stage that the exporters of one config
// share, and the goroutine that ends its waits.
type waiting struct {
	cfg   *Config
	stage *tracecontext.Stage

	mu      sync.Mutex
	refs    int               // exporters made and not shut down
	started []*signalExporter // exporters started: the first queues what expires
	stop    chan struct{}
	done    sync.WaitGroup
}

// signalExporter is what the stage needs of a traces or logs exporter: its
// half of the exporter, and how to put a request into its queue.
type signalExporter struct {
	e     *posthogExporter
	queue func(context.Context, *eventsRequest) error
	once  sync.Once // shut down once
}

var shared = struct {
	sync.Mutex
	m map[*Config]*waiting
}{m: map[*Config]*waiting{}}

// acquireWaiting returns the waiting of cfg, nil without trace_context.
func acquireWaiting(cfg *Config, m *mapping.Mapper) *waiting {
	if !cfg.TraceContext.HasValue() {
		return nil
	}
	shared.Lock()
	defer shared.Unlock()
	w := shared.m[cfg]
	if w == nil {
		w = &waiting{cfg: cfg, stage: tracecontext.New(*cfg.TraceContext.Get(), m)}
		shared.m[cfg] = w
	}
	w.refs++
	return w
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

// shutdown removes an exporter. The last one stops the clock and queues
// the events of everything still waiting, before its queue drains.
func (w *waiting) shutdown(ctx context.Context, s *signalExporter) {
	s.once.Do(func() {
		w.mu.Lock()
		for i, o := range w.started {
			if o == s {
				w.started = append(w.started[:i], w.started[i+1:]...)
				break
			}
		}
		w.refs--
		last, stop := w.refs == 0, w.stop
		w.mu.Unlock()
		if !last {
			return
		}
		shared.Lock()
		if shared.m[w.cfg] == w {
			delete(shared.m, w.cfg)
		}
		shared.Unlock()
		if stop != nil {
			close(stop)
			w.done.Wait()
		}
		w.queueStopped(ctx, s, w.stage.MapRemaining)
	})
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
