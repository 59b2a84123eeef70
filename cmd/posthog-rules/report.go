package main

import (
	"context"
	"encoding/json"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/tracecontext"
)

// recordReport is the JSON form of explain, one per record. Its shape is a
// contract (docs/rules.md, "Writing and testing rules"): fields are only ever added.
type recordReport struct {
	Record recordInfo   `json:"record"`
	Rules  []ruleReport `json:"rules"`
}

type recordInfo struct {
	Kind     mapping.RecordKind `json:"kind"`
	Name     string             `json:"name"`
	TraceID  string             `json:"trace_id"`
	SpanID   string             `json:"span_id"`
	Resource map[string]any     `json:"resource"`
	// Attributes are the record's own: the span's, the span event's or the
	// log record's, as the rules read them.
	Attributes map[string]any `json:"attributes"`
	// EventIndex, for a span event, is its position among its span's events.
	EventIndex *int `json:"event_index,omitempty"`
	// Inherited, with trace_context, holds the listed attributes the span
	// took from its trace (its span events share them).
	Inherited map[string]any `json:"inherited,omitempty"`

	waited bool // live mode: the span waited for its trace

	body string // a log record's body, shown in text when it has no event name
}

type ruleReport struct {
	Rule    string            `json:"rule"`
	Matched bool              `json:"matched"`
	Failed  *failedTerm       `json:"failed"`
	Error   *string           `json:"error"`
	Events  []json.RawMessage `json:"events"`
	Dropped *string           `json:"dropped"`
	// Absent: the rule's values that read an attribute the record does
	// not have (mapping.Outcome).
	Absent []string `json:"absent,omitempty"`
}

type failedTerm struct {
	Condition int    `json:"condition"`
	Term      string `json:"term"`
	// Compared: what a false comparison compared (mapping.FailedTerm).
	Compared string `json:"compared,omitempty"`
	// Mistake: Compared looks like a mistake in the rule (mapping.FailedTerm).
	Mistake bool `json:"mistake,omitempty"`
}

// explainer turns records into reports, keeping the rules the user asked for.
type explainer struct {
	x           *mapping.Explainer
	onlyMatched bool
	rules       map[string]bool // nil: every rule
	stage       *traceStage     // nil: no trace_context
}

// traces calls emit with the report of every span of td. With
// trace_context in live mode, spans that wait for their trace are reported
// when they stop waiting (see tracecontext.go).
func (e *explainer) traces(ctx context.Context, td ptrace.Traces, emit func(*recordReport)) {
	if e.stage == nil {
		forSpans(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) {
			e.span(ctx, rs, ss, span, spanNote{}, emit)
		})
		return
	}
	skip, ready := e.stage.process(td)
	forSpans(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) {
		if skip == nil || !skip(span) {
			e.span(ctx, rs, ss, span, spanNote{}, emit)
		}
	})
	e.released(ctx, ready, skip, emit)
}

// released reports the spans of b, which stopped waiting; those that
// thisPush does not name arrived in earlier pushes: they waited.
func (e *explainer) released(ctx context.Context, b tracecontext.Batch, thisPush func(ptrace.Span) bool, emit func(*recordReport)) {
	released(b, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) {
		note := spanNote{waited: thisPush == nil || !thisPush(span), inherited: e.stage.inherited(span)}
		e.span(ctx, rs, ss, span, note, emit)
	})
}

// spanNote is what trace_context did to a span: whether it waited for its
// trace (live mode), and what it inherited.
type spanNote struct {
	waited    bool
	inherited map[string]any
}

// span calls emit with the report of span and of its events.
func (e *explainer) span(ctx context.Context, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, note spanNote, emit func(*recordReport)) {
	info := recordInfo{
		Kind:       mapping.KindSpan,
		Name:       span.Name(),
		TraceID:    span.TraceID().String(),
		SpanID:     span.SpanID().String(),
		Resource:   rs.Resource().Attributes().AsRaw(),
		Attributes: span.Attributes().AsRaw(),
		Inherited:  note.inherited,
		waited:     note.waited,
	}
	e.emit(info, e.x.Span(ctx, rs, ss, span), emit)
	for i, se := range span.Events().All() {
		info := info
		info.Kind, info.Name, info.EventIndex = mapping.KindSpanEvent, se.Name(), &i
		info.Attributes = se.Attributes().AsRaw()
		e.emit(info, e.x.SpanEvent(ctx, rs, ss, span, i), emit)
	}
}

// forSpans calls f with every span of td.
func forSpans(td ptrace.Traces, f func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span)) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				f(rs, ss, span)
			}
		}
	}
}

// logs calls emit with the report of every log record of ld.
func (e *explainer) logs(ctx context.Context, ld plog.Logs, emit func(*recordReport)) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				info := recordInfo{
					Kind:       mapping.KindLog,
					Name:       lr.EventName(),
					TraceID:    lr.TraceID().String(),
					SpanID:     lr.SpanID().String(),
					Resource:   rl.Resource().Attributes().AsRaw(),
					Attributes: lr.Attributes().AsRaw(),
					body:       lr.Body().AsString(),
				}
				e.emit(info, e.x.Log(ctx, rl, sl, lr), emit)
			}
		}
	}
}

func (e *explainer) emit(info recordInfo, outcomes []mapping.Outcome, emit func(*recordReport)) {
	r := &recordReport{Record: info, Rules: []ruleReport{}}
	for i := range outcomes {
		o := &outcomes[i]
		if e.rules != nil && !e.rules[o.Rule] || e.onlyMatched && !o.Matched {
			continue
		}
		r.Rules = append(r.Rules, reportOf(o))
	}
	if len(r.Rules) > 0 {
		emit(r)
	}
}

func reportOf(o *mapping.Outcome) ruleReport {
	r := ruleReport{Rule: o.Rule, Matched: o.Matched, Events: []json.RawMessage{}, Absent: o.Absent}
	if o.Failed != nil {
		r.Failed = &failedTerm{Condition: o.Failed.Condition, Term: o.Failed.Term, Compared: o.Failed.Compared, Mistake: o.Failed.Mistake}
	}
	if o.Err != nil {
		msg := o.Err.Error()
		r.Error = &msg
	}
	if o.Event != nil {
		r.Events = append(r.Events, o.Event.AppendJSON(nil))
	}
	if o.Dropped != "" {
		reason := string(o.Dropped)
		r.Dropped = &reason
	}
	return r
}
