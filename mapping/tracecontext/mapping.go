package tracecontext

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// Report is what a call of the stage did besides mapping: the spans and log
// records that stopped waiting, by how, and the events of spans that
// inherited at least one attribute, by rule. The exporter turns both into
// metrics.
type Report struct {
	Stopped   map[Outcome]int64
	Inherited map[string]int64
}

// MapTraces maps into res the spans of td that need not wait, and the
// spans, of this push or earlier ones, that stop waiting now (MaxPending
// overflowed, or their trace is past MaxWait). The spans that wait are
// copied: td is not kept.
func (s *Stage) MapTraces(ctx context.Context, td ptrace.Traces, res *mapping.Result) (Report, error) {
	skip, ready := s.Process(td)
	if err := s.mapper.MapTracesExcept(ctx, td, res, skip); err != nil {
		return Report{}, err
	}
	return s.mapSpans(ctx, ready, res)
}

// MapLogs maps into res the log records of ld that need not wait (those
// without a trace id), and the log records that stop waiting now.
func (s *Stage) MapLogs(ctx context.Context, ld plog.Logs, res *mapping.Result) (Report, error) {
	skip, ready := s.ProcessLogs(ld)
	if err := s.mapper.MapLogsExcept(ctx, ld, res, skip); err != nil {
		return Report{}, err
	}
	if ready.Len() == 0 {
		return Report{}, nil
	}
	return Report{Stopped: ready.Stopped}, s.mapper.AppendLogs(ctx, ready.Logs, res)
}

// MapExpired maps the traces that went quiet or passed MaxWait: their spans
// into spans, their log records into logs (both emptied first).
func (s *Stage) MapExpired(ctx context.Context, spans, logs *mapping.Result) (Report, error) {
	return s.mapAlone(ctx, s.Expire(), spans, logs)
}

// MapRemaining stops the stage and maps every span and log record still
// waiting, with what is known: at shutdown, nothing waiting is lost.
func (s *Stage) MapRemaining(ctx context.Context, spans, logs *mapping.Result) (Report, error) {
	return s.mapAlone(ctx, s.Stop(), spans, logs)
}

// mapAlone maps b into spans and logs, emptied first.
func (s *Stage) mapAlone(ctx context.Context, b Batch, spans, logs *mapping.Result) (Report, error) {
	if err := s.mapper.MapTraces(ctx, ptrace.NewTraces(), spans); err != nil {
		return Report{}, err
	}
	rep, err := s.mapSpans(ctx, b, spans)
	if err := s.mapper.MapLogs(ctx, plog.NewLogs(), logs); err != nil {
		return rep, err
	}
	if b.Len() > 0 {
		err = errors.Join(err, s.mapper.AppendLogs(ctx, b.Logs, logs))
	}
	return rep, err
}

// mapSpans adds the events of b's spans to res.
func (s *Stage) mapSpans(ctx context.Context, b Batch, res *mapping.Result) (Report, error) {
	rep := Report{Stopped: b.Stopped}
	if b.Len() == 0 {
		return rep, nil
	}
	n := len(res.Events)
	if err := s.mapper.AppendTraces(ctx, b.Inherited, res); err != nil {
		return rep, err
	}
	for i := n; i < len(res.Events); i++ {
		if rep.Inherited == nil {
			rep.Inherited = map[string]int64{}
		}
		rep.Inherited[res.Events[i].Rule]++
	}
	return rep, s.mapper.AppendTraces(ctx, b.Plain, res)
}
