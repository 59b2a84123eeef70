package tracecontext

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// Report is what a call of the stage did besides mapping: the spans that
// stopped waiting, by how, and the events of spans that inherited at least
// one attribute, by rule. The exporter turns both into metrics.
type Report struct {
	Stopped   map[Outcome]int64
	Inherited map[string]int64
}

// MapTraces maps into res the spans of td that need not wait, and the
// spans, of this push or earlier ones, that stop waiting now (their trace
// is complete, or MaxPending overflowed). The spans that wait are copied:
// td is not kept.
func (s *Stage) MapTraces(ctx context.Context, td ptrace.Traces, res *mapping.Result) (Report, error) {
	skip, ready := s.Process(td)
	if err := s.mapper.MapTracesExcept(ctx, td, res, skip); err != nil {
		return Report{}, err
	}
	return s.mapBatch(ctx, ready, res)
}

// MapExpired maps into res the spans that have waited Wait.
func (s *Stage) MapExpired(ctx context.Context, res *mapping.Result) (Report, error) {
	return s.mapAlone(ctx, s.Expire(), res)
}

// MapRemaining stops the stage and maps into res every span still waiting,
// with what is known: at shutdown, nothing waiting is lost.
func (s *Stage) MapRemaining(ctx context.Context, res *mapping.Result) (Report, error) {
	return s.mapAlone(ctx, s.Stop(), res)
}

// mapAlone maps b into res, emptied first.
func (s *Stage) mapAlone(ctx context.Context, b Batch, res *mapping.Result) (Report, error) {
	if err := s.mapper.MapTraces(ctx, ptrace.NewTraces(), res); err != nil {
		return Report{}, err
	}
	return s.mapBatch(ctx, b, res)
}

// mapBatch adds the events of b's spans to res.
func (s *Stage) mapBatch(ctx context.Context, b Batch, res *mapping.Result) (Report, error) {
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
