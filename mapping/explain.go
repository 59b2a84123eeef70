package mapping

import (
	"context"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspanevent"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// RecordKind names the kind of record a rule list applies to, as
// `posthog-rules explain` reports it.
type RecordKind string

// Record kinds: spans, log records, and the events recorded on spans.
const (
	KindSpan      RecordKind = "span"
	KindLog       RecordKind = "log"
	KindSpanEvent RecordKind = "span_event"
)

// Outcome is what one rule made of one record.
type Outcome struct {
	Rule    string
	Matched bool

	// Failed, for a rule that did not match, is where it failed: the
	// condition that came closest to holding (the most `and` terms true
	// before a false one; the first such condition on a tie) and its first
	// false term. When a condition failed with an error, it is the term whose
	// evaluation failed. Nil for a rule that matched.
	Failed *FailedTerm

	// Err is the OTTL evaluation error behind a non-match or a dropped event.
	Err error

	// Event is what the rule would send; nil when it did not match or dropped the event.
	Event *Event
	// Dropped is why a matched rule sent nothing; empty otherwise.
	Dropped DropReason

	// Absent, for a matched rule, names each of its values that reads an
	// attribute the record does not have, so the event goes without it:
	// `properties.amount: span has no attribute "order.amout"; it has
	// "order.amount"`.
	Absent []string
}

// FailedTerm names the false part of a rule's conditions: the index of the
// condition in the rule's list, and the `and` term of it that was false, as
// written. A term under `or` or `not` is reported whole (see andTerms).
type FailedTerm struct {
	Condition int
	Term      string
	// Compared says what a false comparison compared: each side's value
	// and type, or that the record has no such attribute and the nearest
	// one it has. Empty for other terms.
	Compared string
	// Mistake says that Compared looks like a mistake in the rule rather
	// than a record that does not match: an attribute absent but for a
	// near name, or sides of different types ("200" against 200).
	Mistake bool
}

// Explainer runs the rules one record at a time, through the Mapper that the
// exporter uses, and says for each rule what happened and why. It is for
// tools, not for the exporter's hot path: it copies every record.
type Explainer struct {
	mapper     *Mapper
	spans      []conditionTerms[*ottlspan.TransformContext]
	logs       []conditionTerms[*ottllog.TransformContext]
	spanEvents []conditionTerms[*ottlspanevent.TransformContext]

	// The values of each rule that read one attribute.
	spanReads      [][]attributeRead[*ottlspan.TransformContext]
	logReads       [][]attributeRead[*ottllog.TransformContext]
	spanEventReads [][]attributeRead[*ottlspanevent.TransformContext]
}

// conditionTerms holds, for one rule, the `and` terms of each condition, parsed.
type conditionTerms[K any] [][]term[K]

type term[K any] struct {
	text string
	cond *ottl.Condition[K]
	// compared is set for a comparison: what it compares, to show.
	compared *comparison[K]
}

// NewExplainer compiles the rules of cfg as NewMapper does. Evaluation errors
// are reported per rule and record whatever cfg's error_mode says; with
// error_mode propagate the exporter would also fail the whole push.
func NewExplainer(cfg *Config, lib Library, set component.TelemetrySettings) (*Explainer, error) {
	c := *cfg
	c.ErrorMode = ottl.IgnoreError
	m, err := NewMapper(&c, lib, set)
	if err != nil {
		return nil, err
	}
	x := &Explainer{mapper: m}
	sp, err := newSpanParser(set)
	if err != nil {
		return nil, err
	}
	lp, err := newLogParser(set)
	if err != nil {
		return nil, err
	}
	for i := range cfg.Spans {
		x.spans = append(x.spans, parseTerms(&sp, cfg.Spans[i].Conditions))
		x.spanReads = append(x.spanReads, parseAttributeReads(&sp, "span", &cfg.Spans[i], &cfg.Defaults))
	}
	for i := range cfg.Logs {
		x.logs = append(x.logs, parseTerms(&lp, cfg.Logs[i].Conditions))
		x.logReads = append(x.logReads, parseAttributeReads(&lp, "log", &cfg.Logs[i], &cfg.Defaults))
	}
	ep, err := newSpanEventParser(set)
	if err != nil {
		return nil, err
	}
	for i := range cfg.SpanEvents {
		x.spanEvents = append(x.spanEvents, parseTerms(&ep, cfg.SpanEvents[i].Conditions))
		x.spanEventReads = append(x.spanEventReads, parseAttributeReads(&ep, "spanevent", &cfg.SpanEvents[i], &cfg.Defaults))
	}
	return x, nil
}

// Mapper is the mapper whose rules x explains: with trace_context, the
// stage in front of it decides, as in the exporter, which spans wait.
func (x *Explainer) Mapper() *Mapper { return x.mapper }

// Rules names the rules of a kind of record, in config order.
func (x *Explainer) Rules(kind RecordKind) []string {
	switch kind {
	case KindSpan:
		return x.mapper.SpanRules()
	case KindLog:
		return x.mapper.LogRules()
	case KindSpanEvent:
		return x.mapper.SpanEventRules()
	}
	return nil
}

func parseTerms[K any](p *ottl.Parser[K], conditions []string) conditionTerms[K] {
	out := make(conditionTerms[K], len(conditions))
	for i, c := range conditions {
		for _, s := range andTerms(c) {
			cond, err := p.ParseCondition(s)
			if err != nil {
				// Not a condition on its own (andTerms misread it): the whole
				// condition is one term, and it parses, or the rule would not have.
				whole, _ := p.ParseCondition(c)
				out[i] = []term[K]{{text: c, cond: whole}}
				break
			}
			out[i] = append(out[i], term[K]{text: s, cond: cond, compared: parseComparison(p, s)})
		}
	}
	return out
}

// Span explains the span rules for one span (not those of its events: see SpanEvent).
func (x *Explainer) Span(ctx context.Context, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) []Outcome {
	nrs, nss, nspan := copySpan(rs, ss, span)
	res := &Result{}
	resetResult(res, x.mapper.rules.spanIDs, nil)
	// Cannot fail: the explainer's mapper ignores errors, and reports them in Stats.
	_ = x.mapper.mapSpan(ctx, nrs, nss, nspan, res)
	out := outcomes(res)
	tCtx := ottlspan.NewTransformContext(nrs, nss, nspan)
	defer tCtx.Close()
	explainFailures(ctx, out, x.spans, tCtx)
	explainAbsent(ctx, out, x.spanReads, tCtx)
	return out
}

// SpanEvent explains the span_events rules for the index-th event of span.
func (x *Explainer) SpanEvent(ctx context.Context, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, index int) []Outcome {
	if index < 0 || index >= span.Events().Len() {
		return nil
	}
	nrs, nss, nspan := copySpan(rs, ss, span)
	se := nspan.Events().At(index)
	res := &Result{}
	resetResult(res, x.mapper.rules.spanIDs, x.mapper.rules.spanEventIDs)
	_ = x.mapper.mapSpanEvent(ctx, nrs, nss, nspan, se, index, res)
	res.Stats = res.Stats[len(x.mapper.rules.spanIDs):]
	out := outcomes(res)
	tCtx := ottlspanevent.NewTransformContext(nrs, nss, nspan, se, ottlspanevent.WithEventIndex(int64(index)))
	defer tCtx.Close()
	explainFailures(ctx, out, x.spanEvents, tCtx)
	explainAbsent(ctx, out, x.spanEventReads, tCtx)
	return out
}

// copySpan copies a span (CopySpan), so that the outcomes of explaining it
// do not point into the caller's pdata.
func copySpan(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) (ptrace.ResourceSpans, ptrace.ScopeSpans, ptrace.Span) {
	nrs := CopySpan(rs, ss, span).ResourceSpans().At(0)
	nss := nrs.ScopeSpans().At(0)
	return nrs, nss, nss.Spans().At(0)
}

// Log explains the log rules for one log record.
func (x *Explainer) Log(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) []Outcome {
	ld := CopyLog(rl, sl, lr)
	nrl := ld.ResourceLogs().At(0)
	nsl := nrl.ScopeLogs().At(0)
	nlr := nsl.LogRecords().At(0)

	res := &Result{}
	_ = x.mapper.MapLogs(ctx, ld, res)
	out := outcomes(res)
	tCtx := ottllog.NewTransformContext(nrl, nsl, nlr)
	defer tCtx.Close()
	explainFailures(ctx, out, x.logs, tCtx)
	explainAbsent(ctx, out, x.logReads, tCtx)
	return out
}

// outcomes reads a one-record Result: per rule, whether it matched, its
// event or the reason it was dropped, and the evaluation error.
func outcomes(res *Result) []Outcome {
	out := make([]Outcome, len(res.Stats))
	next := 0 // events are in rule order, at most one per rule
	for i, s := range res.Stats {
		o := Outcome{Rule: s.Rule, Matched: s.Matched > 0, Err: s.FirstError}
		if o.Matched {
			for reason := range s.Dropped {
				o.Dropped = reason
			}
			if o.Dropped == "" && next < len(res.Events) && res.Events[next].Rule == s.Rule {
				o.Event = &res.Events[next]
				next++
			}
		}
		out[i] = o
	}
	return out
}

// explainFailures fills Failed for the rules that did not match.
func explainFailures[K any](ctx context.Context, out []Outcome, rules []conditionTerms[K], tCtx K) {
	for i := range out {
		if out[i].Matched || i >= len(rules) {
			continue
		}
		out[i].Failed = failedTerm(ctx, rules[i], tCtx)
	}
}

// failedTerm evaluates the terms of each condition in order and returns the
// failure of the condition that came closest to holding, or the first
// evaluation error.
func failedTerm[K any](ctx context.Context, conds conditionTerms[K], tCtx K) *FailedTerm {
	var best *FailedTerm
	bestTrue := -1
	for i, terms := range conds {
		for j, t := range terms {
			ok, err := t.cond.Eval(ctx, tCtx)
			if err != nil {
				return &FailedTerm{Condition: i, Term: t.text}
			}
			if ok && j < len(terms)-1 {
				continue
			}
			// The first false term; or, should every term hold alone, the last one.
			if j > bestTrue {
				best, bestTrue = &FailedTerm{Condition: i, Term: t.text}, j
				if t.compared != nil && !ok {
					best.Compared, best.Mistake = t.compared.describe(ctx, tCtx)
				}
			}
			break
		}
	}
	return best
}
