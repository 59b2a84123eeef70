package mapping

import (
	"context"
	"errors"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// rule is one configured rule, parsed, for records of context K.
type rule[K any] struct {
	id   string
	seed [16]byte // mixed into every uuid the rule makes

	event     string
	eventExpr *ottl.ValueExpression[K]

	conditions []*ottl.Condition[K]
	filters    []condFilter // one per condition: what it requires of a record
	distinctID []*ottl.ValueExpression[K]

	timestampStart bool

	properties []propertySource[K]
	// sendTraceID and sendSpanID: no property of the rule takes those names.
	sendTraceID, sendSpanID bool
	personProfiles          bool
	set, setOnce            []namedExpr[K]
	groups                  []namedExpr[K]
}

type namedExpr[K any] struct {
	key  string
	expr *ottl.ValueExpression[K]
}

// sourceKind says where a property's value comes from.
type sourceKind uint8

const (
	fromExpression sourceKind = iota
	fromAttribute
	fromResourceAttribute
)

type propertySource[K any] struct {
	key  string
	kind sourceKind
	expr *ottl.ValueExpression[K]
}

// record is what a rule needs of a span or log record beyond its OTTL context.
type record struct {
	attributes         pcommon.Map
	resourceAttributes pcommon.Map
	traceID            pcommon.TraceID
	spanID             pcommon.SpanID
	start, end         time.Time // spans: start and end; logs: both the record's time

	// The record itself, for its identity: a span or a log record with its
	// resource and scope. Kept as values, not a closure, so that records no
	// rule matches cost no allocation.
	isLog bool
	rs    ptrace.ResourceSpans
	ss    ptrace.ScopeSpans
	span  ptrace.Span
	rl    plog.ResourceLogs
	sl    plog.ScopeLogs
	lr    plog.LogRecord

	digest    [16]byte // identity of the record, for uuids; computed on first use
	hasDigest bool

	mask    uint64 // indexed attribute keys present; computed on first use
	hasMask bool
}

// name is what a name requirement compares: the span's name or the log's event name.
func (r *record) name() string {
	if r.isLog {
		return r.lr.EventName()
	}
	return r.span.Name()
}

func (r *record) attrMask(ix *attrIndex) uint64 {
	if !r.hasMask {
		r.mask = ix.present(r.attributes)
		r.hasMask = true
	}
	return r.mask
}

func (r *record) identity() [16]byte {
	if !r.hasDigest {
		if r.isLog {
			logIdentity(r.rl, r.sl, r.lr, &r.digest)
		} else {
			spanIdentity(r.rs, r.ss, r.span, &r.digest)
		}
		r.hasDigest = true
	}
	return r.digest
}

// errDropped marks an outcome that drops the event without being an OTTL error.
var errDropped = errors.New("dropped")

// matches ORs the rule's conditions. An error in one condition does not hide
// a later condition that holds; it is returned only when none holds.
//
// A condition whose prefilter fails is false without being evaluated (see prefilter.go).
func (r *rule[K]) matches(ctx context.Context, tCtx K, rec *record, ix *attrIndex) (bool, error) {
	if len(r.conditions) == 0 {
		return true, nil
	}
	var firstErr error
	for i, c := range r.conditions {
		if ix != nil && !r.filters[i].pass(rec, ix) {
			continue
		}
		ok, err := c.Eval(ctx, tCtx)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			return true, nil
		}
	}
	return false, firstErr
}

// build fills ev from the record. It returns the drop reason when the event
// cannot be sent, and the OTTL error behind an evaluation_error. The event's
// property lists are cut from arena, which the Result owns: one growing slice
// for all events of a call instead of an allocation per list.
func (r *rule[K]) build(ctx context.Context, tCtx K, rec *record, ev *Event, arena *[]Property) (DropReason, error) {
	ev.Rule = r.id
	ev.Name = r.event
	if r.eventExpr != nil {
		v, err := r.eventExpr.Eval(ctx, tCtx)
		if err != nil {
			return DropEvaluationError, err
		}
		name, _ := stringify(v)
		if name == "" {
			return DropMissingEventName, errDropped
		}
		ev.Name = name
	}

	for _, e := range r.distinctID {
		v, err := e.Eval(ctx, tCtx)
		if err != nil {
			return DropEvaluationError, err
		}
		if id, ok := stringify(v); ok && id != "" {
			ev.DistinctID = id
			break
		}
	}
	if ev.DistinctID == "" {
		return DropMissingDistinctID, errDropped
	}

	ev.Timestamp = rec.end
	if r.timestampStart {
		ev.Timestamp = rec.start
	}

	start := len(*arena)
	for i := range r.properties {
		p := &r.properties[i]
		switch p.kind {
		case fromExpression:
			v, err := p.expr.Eval(ctx, tCtx)
			if err != nil {
				return DropEvaluationError, err
			}
			if v != nil {
				*arena = append(*arena, Property{Key: p.key, Value: v})
			}
		case fromAttribute, fromResourceAttribute:
			attrs := rec.attributes
			if p.kind == fromResourceAttribute {
				attrs = rec.resourceAttributes
			}
			if v, ok := attrs.Get(p.key); ok && v.Type() != pcommon.ValueTypeEmpty {
				*arena = append(*arena, Property{Key: p.key, Raw: v})
			}
		}
	}
	ev.Properties = (*arena)[start:len(*arena):len(*arena)]
	if r.sendTraceID {
		ev.TraceID = rec.traceID
	}
	if r.sendSpanID {
		ev.SpanID = rec.spanID
	}

	ev.PersonProfiles = r.personProfiles
	var err error
	if ev.Groups, err = evalNamed(ctx, tCtx, r.groups, arena, true); err != nil {
		return DropEvaluationError, err
	}
	if ev.Set, err = evalNamed(ctx, tCtx, r.set, arena, false); err != nil {
		return DropEvaluationError, err
	}
	if ev.SetOnce, err = evalNamed(ctx, tCtx, r.setOnce, arena, false); err != nil {
		return DropEvaluationError, err
	}

	ev.UUID = eventUUID(r.seed, rec.identity())
	return "", nil
}

// evalNamed evaluates key -> expression pairs into the arena, leaving nil
// values out. With groupKeys, values are stringified and empty ones left out
// too: PostHog identifies a group by a non-empty string.
func evalNamed[K any](ctx context.Context, tCtx K, exprs []namedExpr[K], arena *[]Property, groupKeys bool) ([]Property, error) {
	if len(exprs) == 0 {
		return nil, nil
	}
	start := len(*arena)
	for _, e := range exprs {
		v, err := e.expr.Eval(ctx, tCtx)
		if err != nil {
			return nil, err
		}
		if groupKeys {
			key, ok := stringify(v)
			if !ok || key == "" {
				continue
			}
			v = key
		}
		if v != nil {
			*arena = append(*arena, Property{Key: e.key, Value: v})
		}
	}
	return cut(*arena, start), nil
}

// cut returns arena[start:] with no room to grow into the next list, or nil when empty.
func cut(arena []Property, start int) []Property {
	if len(arena) == start {
		return nil
	}
	return arena[start:len(arena):len(arena)]
}

// attributeValue returns an attribute's Go value, as OTTL would.
func attributeValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeMap:
		return v.Map()
	case pcommon.ValueTypeSlice:
		return v.Slice()
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	default:
		return nil
	}
}
