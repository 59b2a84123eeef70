package exporter

import (
	"context"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// The collector makes one exporter per signal of the pipelines that name
// this exporter, all from one Config, each started and shut down on its
// own, and starts none before every one is made. What the exporters of a
// config share lives here, one per config, as otlpreceiver's signals share
// one server:
//   - which signals feed them, so that at start they can name the rules no
//     pipeline will ever feed (logs rules without a logs pipeline are a
//     silent mistake otherwise: sending a log gets a 404, or nothing);
//   - with trace_context, one stage: a request's log records must wait with
//     its spans.

// configShare is what the exporters of one config share.
type configShare struct {
	traces, logs bool     // which signals' exporters were made
	refs         int      // exporters made and not shut down
	waiting      *waiting // nil without trace_context
	warn         sync.Once
}

var shares = struct {
	sync.Mutex
	m map[*Config]*configShare
}{m: map[*Config]*configShare{}}

// joinShare records that the exporter of one signal was made for cfg, and
// returns what it shares with the others; m maps for the stage.
func joinShare(cfg *Config, traces bool, m *mapping.Mapper) *configShare {
	shares.Lock()
	defer shares.Unlock()
	s := shares.m[cfg]
	if s == nil {
		s = &configShare{}
		if cfg.TraceContext.HasValue() {
			s.waiting = &waiting{stage: tracecontext.New(*cfg.TraceContext.Get(), m)}
		}
		shares.m[cfg] = s
	}
	if traces {
		s.traces = true
	} else {
		s.logs = true
	}
	s.refs++
	return s
}

// leave records that one exporter of cfg shut down; last is whether it
// was the last one.
func (s *configShare) leave(cfg *Config) (last bool) {
	shares.Lock()
	defer shares.Unlock()
	s.refs--
	if s.refs > 0 {
		return false
	}
	if shares.m[cfg] == s {
		delete(shares.m, cfg)
	}
	return true
}

// warnUnfedRules logs, once per config, the rules that no pipeline feeds.
func (s *configShare) warnUnfedRules(e *posthogExporter) {
	s.warn.Do(func() {
		spanRules := append(e.mapper.SpanRules(), e.mapper.SpanEventRules()...)
		if !s.traces && len(spanRules) > 0 {
			e.settings.Logger.Warn("No traces pipeline sends to this exporter: its spans and span_events rules will receive nothing. Add the exporter to a traces pipeline, or remove the rules.",
				zap.String("rules", strings.Join(spanRules, ", ")))
		}
		if logRules := e.mapper.LogRules(); !s.logs && len(logRules) > 0 {
			e.settings.Logger.Warn("No logs pipeline sends to this exporter: its logs rules will receive nothing. Add the exporter to a logs pipeline, or remove the rules.",
				zap.String("rules", strings.Join(logRules, ", ")))
		}
	})
}

// signalExporter is one signal's exporter as the share sees it: its half
// of the exporter, and how to put a request into its queue.
type signalExporter struct {
	e     *posthogExporter
	cfg   *Config
	share *configShare
	queue func(context.Context, *eventsRequest) error
	once  sync.Once // shut down once
}

func newSignalExporter(e *posthogExporter, cfg *Config, traces bool, queue func(context.Context, *eventsRequest) error) *signalExporter {
	return &signalExporter{e: e, cfg: cfg, share: joinShare(cfg, traces, e.mapper), queue: queue}
}

// start: every exporter of the config is made; with trace_context, the
// first to start starts the stage's clock.
func (s *signalExporter) start() {
	s.share.warnUnfedRules(s.e)
	if w := s.share.waiting; w != nil {
		w.start(s)
	}
}

// stop leaves the share, once; with trace_context, the last exporter of
// the config queues what still waits, before its queue drains.
func (s *signalExporter) stop(ctx context.Context) {
	s.once.Do(func() {
		last := s.share.leave(s.cfg)
		if w := s.share.waiting; w != nil {
			w.shutdown(ctx, s, last)
		}
	})
}
