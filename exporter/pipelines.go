package exporter

import (
	"strings"
	"sync"

	"go.uber.org/zap"
)

// The collector makes one exporter per signal of the pipelines that name
// this exporter, all from one Config, and starts them once every exporter
// is made. So at Start the exporters of a config know which signals feed
// them, and can say which rules no pipeline will ever feed: logs rules
// without a logs pipeline are a silent mistake otherwise (sending a log
// gets a 404 from the receiver, or nothing at all).

// fed records which signals' exporters were made for a config.
type fed struct {
	traces, logs bool
	warn         sync.Once
}

var made = struct {
	sync.Mutex
	m map[*Config]*fed
}{m: map[*Config]*fed{}}

// madeFor records that the exporter of one signal was made for cfg.
func madeFor(cfg *Config, traces bool) {
	made.Lock()
	defer made.Unlock()
	f := made.m[cfg]
	if f == nil {
		f = &fed{}
		made.m[cfg] = f
	}
	if traces {
		f.traces = true
	} else {
		f.logs = true
	}
}

// warnUnfedRules logs, once per config, the rules that no pipeline feeds.
func (e *posthogExporter) warnUnfedRules() {
	made.Lock()
	f := made.m[e.cfg]
	made.Unlock()
	if f == nil {
		return
	}
	f.warn.Do(func() {
		spanRules := append(e.mapper.SpanRules(), e.mapper.SpanEventRules()...)
		if !f.traces && len(spanRules) > 0 {
			e.settings.Logger.Warn("No traces pipeline sends to this exporter: its spans and span_events rules will receive nothing. Add the exporter to a traces pipeline, or remove the rules.",
				zap.String("rules", strings.Join(spanRules, ", ")))
		}
		if logRules := e.mapper.LogRules(); !f.logs && len(logRules) > 0 {
			e.settings.Logger.Warn("No logs pipeline sends to this exporter: its logs rules will receive nothing. Add the exporter to a logs pipeline, or remove the rules.",
				zap.String("rules", strings.Join(logRules, ", ")))
		}
	})
}

// forgetMade drops what madeFor recorded: at shutdown, every exporter of
// the config has started.
func forgetMade(cfg *Config) {
	made.Lock()
	delete(made.m, cfg)
	made.Unlock()
}
