package mapping

import (
	"context"
	"fmt"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// DropReason says why a matched record produced no event.
type DropReason string

// Reasons the mapper drops an event. The exporter adds its own delivery reasons.
const (
	DropMissingDistinctID DropReason = "missing_distinct_id"
	DropMissingEventName  DropReason = "missing_event_name"
	DropEvaluationError   DropReason = "evaluation_error"
	// DropEventNameTooLong and DropDistinctIDTooLong: over MaxNameLength
	// characters, which PostHog would cut (two long ids could then collide).
	DropEventNameTooLong  DropReason = "event_name_too_long"
	DropDistinctIDTooLong DropReason = "distinct_id_too_long"
	// DropMissingGroupKey: a $groupidentify rule's group key was empty.
	DropMissingGroupKey DropReason = "missing_group_key"
)

// Library names the sender of the events in $lib and $lib_version.
type Library struct {
	Name    string
	Version string
}

// Mapper turns spans and log records into PostHog events by the configured
// rules. It is safe for concurrent use; it does no I/O.
type Mapper struct {
	rules     *compiled
	errorMode ottl.ErrorMode
	lib       Library
	// noPrefilter evaluates every condition in full; tests compare both ways.
	noPrefilter bool
}

// NewMapper parses the rules of cfg; it fails as Config.Validate does.
func NewMapper(cfg *Config, lib Library, set component.TelemetrySettings) (*Mapper, error) {
	c, err := compile(cfg, set)
	if err != nil {
		return nil, err
	}
	return &Mapper{rules: c, errorMode: cfg.ErrorMode, lib: lib}, nil
}

// SpanRules and LogRules name the rules of each signal, in config order, as
// Result.Stats and Event.Rule name them.
func (m *Mapper) SpanRules() []string { return ruleIDs(m.rules.spans) }
func (m *Mapper) LogRules() []string  { return ruleIDs(m.rules.logs) }

func ruleIDs[K any](rules []*rule[K]) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.id
	}
	return out
}

// Result is what one call of MapTraces or MapLogs produced.
type Result struct {
	Events []Event
	// Stats has one entry per rule of the signal, in config order.
	Stats []RuleStats

	// arena holds the property lists of Events.
	arena []Property
}

// RuleStats counts, for one rule, the records it matched and the events it
// dropped, with the first evaluation error for the log.
type RuleStats struct {
	Rule    string
	Matched int64
	Dropped map[DropReason]int64
	// FirstError is the first OTTL evaluation error of this call, nil if none.
	FirstError error
}

func (s *RuleStats) drop(reason DropReason, err error) {
	if s.Dropped == nil {
		s.Dropped = map[DropReason]int64{}
	}
	s.Dropped[reason]++
	if reason == DropEvaluationError && s.FirstError == nil {
		s.FirstError = err
	}
}

// ErrorMode returns the configured error mode, so the caller knows whether to log FirstError.
func (m *Mapper) ErrorMode() ottl.ErrorMode { return m.errorMode }

// Clear drops the events, and with them their references into the pdata
// they came from, keeping the memory for the next call. A caller that
// pools Results clears them before putting them back.
func (r *Result) Clear() {
	clear(r.Events)
	r.Events = r.Events[:0]
	clear(r.arena)
	r.arena = r.arena[:0]
}

// reset empties res for a new call, keeping its memory.
func resetResult[K any](res *Result, rules []*rule[K]) {
	res.Clear()
	if cap(res.Stats) < len(rules) {
		res.Stats = make([]RuleStats, len(rules))
	}
	res.Stats = res.Stats[:len(rules)]
	for i, r := range rules {
		res.Stats[i] = RuleStats{Rule: r.id}
	}
}

// MapTraces evaluates every span rule against every span, into res (emptied
// first, so one Result can serve many calls). With error_mode propagate, the
// first evaluation error is returned and res must not be sent.
func (m *Mapper) MapTraces(ctx context.Context, td ptrace.Traces, res *Result) error {
	return m.MapTracesExcept(ctx, td, res, nil)
}

// MapTracesExcept maps as MapTraces does, passing over the spans for which
// skip (when not nil) returns true: the spans the exporter holds back to map
// later, once their trace has arrived.
func (m *Mapper) MapTracesExcept(ctx context.Context, td ptrace.Traces, res *Result, skip func(ptrace.Span) bool) error {
	resetResult(res, m.rules.spans)
	if len(m.rules.spans) == 0 {
		return nil
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if skip != nil && skip(span) {
					continue
				}
				rec := record{
					attributes:         span.Attributes(),
					resourceAttributes: rs.Resource().Attributes(),
					traceID:            span.TraceID(),
					spanID:             span.SpanID(),
					start:              timeOf(span.StartTimestamp()),
					end:                timeOf(span.EndTimestamp()),
					rs:                 rs,
					ss:                 ss,
					span:               span,
				}
				tCtx := ottlspan.NewTransformContext(rs, ss, span)
				err := applyRules(ctx, m, m.rules.spans, m.rules.spanAttrs, tCtx, &rec, res)
				tCtx.Close()
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// MapLogs evaluates every log rule against every log record, as MapTraces does for spans.
func (m *Mapper) MapLogs(ctx context.Context, ld plog.Logs, res *Result) error {
	resetResult(res, m.rules.logs)
	if len(m.rules.logs) == 0 {
		return nil
	}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				t := lr.Timestamp()
				if t == 0 {
					t = lr.ObservedTimestamp()
				}
				rec := record{
					attributes:         lr.Attributes(),
					resourceAttributes: rl.Resource().Attributes(),
					traceID:            lr.TraceID(),
					spanID:             lr.SpanID(),
					start:              timeOf(t),
					end:                timeOf(t),
					isLog:              true,
					rl:                 rl,
					sl:                 sl,
					lr:                 lr,
				}
				tCtx := ottllog.NewTransformContext(rl, sl, lr)
				err := applyRules(ctx, m, m.rules.logs, m.rules.logAttrs, tCtx, &rec, res)
				tCtx.Close()
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// applyRules runs every rule against one record. A rule's failure touches
// only that rule's event for this record, unless error_mode is propagate.
func applyRules[K any](ctx context.Context, m *Mapper, rules []*rule[K], ix *attrIndex, tCtx K, rec *record, res *Result) error {
	if m.noPrefilter {
		ix = nil
	}
	for i, r := range rules {
		stats := &res.Stats[i]
		ok, err := r.matches(ctx, tCtx, rec, ix)
		if err != nil {
			if m.errorMode == ottl.PropagateError {
				return fmt.Errorf("rule %s: conditions: %w", r.id, err)
			}
			stats.drop(DropEvaluationError, err)
		}
		if !ok {
			continue
		}
		stats.Matched++
		res.Events = append(res.Events, Event{Lib: m.lib.Name, LibVersion: m.lib.Version})
		ev := &res.Events[len(res.Events)-1]
		reason, err := r.build(ctx, tCtx, rec, ev, &res.arena)
		if reason == "" {
			continue
		}
		res.Events = res.Events[:len(res.Events)-1]
		if reason == DropEvaluationError && m.errorMode == ottl.PropagateError {
			return fmt.Errorf("rule %s: %w", r.id, err)
		}
		stats.drop(reason, err)
	}
	return nil
}
