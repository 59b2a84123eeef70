package mapping

import (
	"context"
	"fmt"
	"slices"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspanevent"
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

// SpanRules, SpanEventRules and LogRules name the rules of each list, in
// config order, as Result.Stats and Event.Rule name them.
func (m *Mapper) SpanRules() []string      { return slices.Clone(m.rules.spanIDs) }
func (m *Mapper) SpanEventRules() []string { return slices.Clone(m.rules.spanEventIDs) }
func (m *Mapper) LogRules() []string       { return slices.Clone(m.rules.logIDs) }

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
	// Stats has one entry per rule of the signal, in config order: for
	// traces, the spans rules and then the span_events rules.
	Stats []RuleStats

	// arena holds the property lists of Events.
	arena []Property
	// exceptions are the uuids of the $exception events of this call, so
	// that an exception recorded on several spans is sent once.
	exceptions map[[16]byte]struct{}
}

// RuleStats counts, for one rule, the records it matched and the events it
// dropped, with the first evaluation error for the log.
type RuleStats struct {
	Rule    string
	Matched int64
	Dropped map[DropReason]int64
	// Skipped counts values the rule read but did not use, by reason.
	Skipped map[SkipReason]int64
	// FirstError is the first OTTL evaluation error of this call, nil if none.
	FirstError error
}

func (s *RuleStats) skip(b skipBits) {
	if b == 0 {
		return
	}
	if s.Skipped == nil {
		s.Skipped = map[SkipReason]int64{}
	}
	if b&skippedIllegalID != 0 {
		s.Skipped[SkipIllegalDistinctID]++
	}
	if b&skippedSession != 0 {
		s.Skipped[SkipInvalidSessionID]++
	}
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
	clear(r.exceptions)
}

// resetResult empties res for a new call, keeping its memory, with one
// entry of Stats per rule of the lists a and then b.
func resetResult(res *Result, a, b []string) {
	res.Clear()
	n := len(a) + len(b)
	if cap(res.Stats) < n {
		res.Stats = make([]RuleStats, n)
	}
	stats := res.Stats[:n]
	for i, id := range a {
		stats[i] = RuleStats{Rule: id}
	}
	for i, id := range b {
		stats[len(a)+i] = RuleStats{Rule: id}
	}
	res.Stats = stats
}

// MapTraces evaluates every span rule against every span, and every
// span_events rule against every event of every span, into res (emptied
// first, so one Result can serve many calls). With error_mode propagate, the
// first evaluation error is returned and res must not be sent.
func (m *Mapper) MapTraces(ctx context.Context, td ptrace.Traces, res *Result) error {
	return m.MapTracesExcept(ctx, td, res, nil)
}

// MapTracesExcept maps as MapTraces does, passing over the spans for which
// skip (when not nil) returns true, and their span events: the spans the
// exporter holds back to map later, once their trace has arrived.
func (m *Mapper) MapTracesExcept(ctx context.Context, td ptrace.Traces, res *Result, skip func(ptrace.Span) bool) error {
	resetResult(res, m.rules.spanIDs, m.rules.spanEventIDs)
	return m.appendTraces(ctx, td, res, skip)
}

// AppendTraces maps td as MapTraces does, adding its events and stats to
// those res holds from an earlier MapTraces or MapTracesExcept of m: the
// trace context stage maps a push and the spans that stopped waiting into
// one Result. An exception already in res is not sent again.
func (m *Mapper) AppendTraces(ctx context.Context, td ptrace.Traces, res *Result) error {
	return m.appendTraces(ctx, td, res, nil)
}

func (m *Mapper) appendTraces(ctx context.Context, td ptrace.Traces, res *Result, skip func(ptrace.Span) bool) error {
	if len(m.rules.spans)+len(m.rules.spanEvents) == 0 {
		return nil
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if skip != nil && skip(span) {
					continue
				}
				if err := m.mapSpan(ctx, rs, ss, span, res); err != nil {
					return err
				}
				if len(m.rules.spanEvents) == 0 {
					continue
				}
				for i, se := range span.Events().All() {
					if err := m.mapSpanEvent(ctx, rs, ss, span, se, i, res); err != nil {
						return err
					}
				}
			}
		}
	}
	shareGroups(res.Events)
	return nil
}

func (m *Mapper) mapSpan(ctx context.Context, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, res *Result) error {
	if len(m.rules.spans) == 0 {
		return nil
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
	defer tCtx.Close()
	return applyRules(ctx, m, m.rules.spans, m.rules.spanAttrs, tCtx, &rec, res.Stats, res)
}

// mapSpanEvent runs the span_events rules on the index-th event of span.
// Their stats follow those of the spans rules.
func (m *Mapper) mapSpanEvent(ctx context.Context, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, se ptrace.SpanEvent, index int, res *Result) error {
	t := timeOf(se.Timestamp())
	rec := record{
		attributes:         se.Attributes(),
		spanAttributes:     span.Attributes(),
		hasSpanAttributes:  true,
		resourceAttributes: rs.Resource().Attributes(),
		traceID:            span.TraceID(),
		spanID:             span.SpanID(),
		start:              t,
		end:                t,
		rs:                 rs,
		ss:                 ss,
		span:               span,
		isSpanEvent:        true,
		spanEvent:          se,
		eventIndex:         index,
	}
	if !m.noPrefilter && !anyMayMatch(m.rules.spanEvents, &rec, m.rules.spanEventAttrs) {
		// Most span events are no rule's: skip the OTTL context, whose
		// event index costs an allocation.
		return nil
	}
	tCtx := ottlspanevent.NewTransformContext(rs, ss, span, se, ottlspanevent.WithEventIndex(int64(index)))
	defer tCtx.Close()
	return applyRules(ctx, m, m.rules.spanEvents, m.rules.spanEventAttrs, tCtx, &rec, res.Stats[len(m.rules.spans):], res)
}

// MapLogs evaluates every log rule against every log record, as MapTraces does for spans.
func (m *Mapper) MapLogs(ctx context.Context, ld plog.Logs, res *Result) error {
	return m.MapLogsExcept(ctx, ld, res, nil)
}

// MapLogsExcept maps as MapLogs does, passing over the log records for
// which skip (when not nil) returns true: those the trace context stage
// holds back to map later, with their trace.
func (m *Mapper) MapLogsExcept(ctx context.Context, ld plog.Logs, res *Result, skip func(plog.LogRecord) bool) error {
	resetResult(res, m.rules.logIDs, nil)
	return m.appendLogs(ctx, ld, res, skip)
}

// AppendLogs maps ld as MapLogs does, adding its events and stats to those
// res holds from an earlier MapLogs or MapLogsExcept of m.
func (m *Mapper) AppendLogs(ctx context.Context, ld plog.Logs, res *Result) error {
	return m.appendLogs(ctx, ld, res, nil)
}

// HasLogRules reports whether some rule maps log records.
func (m *Mapper) HasLogRules() bool { return len(m.rules.logs) > 0 }

func (m *Mapper) appendLogs(ctx context.Context, ld plog.Logs, res *Result, skip func(plog.LogRecord) bool) error {
	if len(m.rules.logs) == 0 {
		return nil
	}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if skip != nil && skip(lr) {
					continue
				}
				if err := m.mapLog(ctx, rl, sl, lr, res); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (m *Mapper) mapLog(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, res *Result) error {
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
	defer tCtx.Close()
	return applyRules(ctx, m, m.rules.logs, m.rules.logAttrs, tCtx, &rec, res.Stats, res)
}

// anyMayMatch reports whether the prefilter lets some rule's condition be
// evaluated on rec: when it does not, no rule matches and none fails.
func anyMayMatch[K any](rules []*rule[K], rec *record, ix *attrIndex) bool {
	for _, r := range rules {
		if len(r.conditions) == 0 {
			return true
		}
		for i := range r.filters {
			if r.filters[i].pass(rec, ix) {
				return true
			}
		}
	}
	return false
}

// firstException reports DropDuplicateException when an $exception of
// this uuid was already mapped in this call.
func (r *Result) firstException(uuid [16]byte) (DropReason, error) {
	if _, seen := r.exceptions[uuid]; seen {
		return DropDuplicateException, errDropped
	}
	if r.exceptions == nil {
		r.exceptions = map[[16]byte]struct{}{}
	}
	r.exceptions[uuid] = struct{}{}
	return "", nil
}

// applyRules runs every rule against one record. A rule's failure touches
// only that rule's event for this record, unless error_mode is propagate.
func applyRules[K any](ctx context.Context, m *Mapper, rules []*rule[K], ix *attrIndex, tCtx K, rec *record, stats []RuleStats, res *Result) error {
	if m.noPrefilter {
		ix = nil
	}
	for i, r := range rules {
		stats := &stats[i]
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
		stats.skip(ev.skipped)
		if reason == "" && ev.exception {
			reason, err = res.firstException(ev.UUID)
		}
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
