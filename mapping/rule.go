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
	distinctID []valueExpr[K]
	// builtinDistinctID: neither the rule nor the defaults give a chain, so
	// the record's identity attributes do (distinctIDAttributes).
	builtinDistinctID bool
	// ownDistinctID: the rule itself gives a chain, which a flag
	// evaluation's context id does not override.
	ownDistinctID bool

	timestampStart bool

	properties []propertySource[K]
	// sendTraceID, sendSpanID, builtinSession and builtinWindow: no property
	// of the rule takes the key, so the mapper fills it from the record.
	sendTraceID, sendSpanID       bool
	builtinSession, builtinWindow bool
	// geoipDisable: the exporter's geoip is false.
	geoipDisable bool

	personProfiles bool
	set, setOnce   []namedExpr[K]
	groups         []namedExpr[K]

	// groupIdentify: the event is $groupidentify for the rule's one group.
	groupIdentify bool
	groupSet      []namedExpr[K]

	// providers, when not empty, are the flag providers whose evaluations
	// count (feature_flags.providers).
	providers map[string]bool
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
	// attr: expr reads one attribute, which is read without OTTL.
	attr plainAttr
	// asString: PostHog reads this key as a string (stringKeys).
	asString bool
}

// record is what a rule needs of a span, span event or log record beyond its
// OTTL context.
type record struct {
	attributes pcommon.Map
	// spanAttributes, for a span event, are its span's attributes: the
	// built-in conventions read them after the event's own (hasSpanAttributes).
	spanAttributes     pcommon.Map
	hasSpanAttributes  bool
	resourceAttributes pcommon.Map
	traceID            pcommon.TraceID
	spanID             pcommon.SpanID
	start, end         time.Time // spans: start and end; logs and span events: both the record's time

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
	// A span event: the event and its position among its span's events.
	isSpanEvent bool
	spanEvent   ptrace.SpanEvent
	eventIndex  int

	digest    [16]byte // identity of the record, for uuids; computed on first use
	hasDigest bool

	mask    uint64 // indexed attribute keys present; computed on first use
	hasMask bool

	requestMap pcommon.Map // RequestAttribute, when the record has it; read on first use
	hasRequest bool
}

// name is what a name requirement compares: the span's name, the log's
// event name or the span event's name.
func (r *record) name() string {
	switch {
	case r.isLog:
		return r.lr.EventName()
	case r.isSpanEvent:
		return r.spanEvent.Name()
	}
	return r.span.Name()
}

// firstString returns the first non-empty string among keys on the
// record's attributes, then (span events) on its span's, then on its resource.
func (r *record) firstString(keys []string) string {
	if s := firstString(r.attributes, keys); s != "" {
		return s
	}
	if r.hasSpanAttributes {
		if s := firstString(r.spanAttributes, keys); s != "" {
			return s
		}
	}
	return firstString(r.resourceAttributes, keys)
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
		switch {
		case r.isLog:
			logIdentity(r.rl, r.sl, r.lr, &r.digest)
		case r.isSpanEvent:
			spanEventIdentity(r.rs, r.ss, r.span, r.spanEvent, r.eventIndex, &r.digest)
		default:
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
	ev.trace = rec.traceID
	if reason, err := r.eventName(ctx, tCtx, ev); reason != "" {
		return reason, err
	}
	// The built events' inputs, read before the distinct_id: a flag
	// evaluation names its user.
	var built [8]Property
	extra := built[:0]
	var flagContextID string
	var exc *exception
	switch ev.Name {
	case FlagCalledEvent:
		e, reason := r.flagEvaluation(rec)
		if reason != "" {
			return reason, errDropped
		}
		flagContextID = e.ContextID
		ev.Exposure = &FlagExposure{Key: e.Key, Response: e.Response}
		extra = flagProperties(&e, extra)
	case ExceptionEvent:
		x := readException(rec)
		exc = &x
		extra = exceptionProperties(exc, extra)
	}
	if !r.groupIdentify {
		if !r.ownDistinctID && flagContextID != "" {
			ev.DistinctID = flagContextID
			if reason, err := checkDistinctID(ev.DistinctID); reason != "" {
				return reason, err
			}
		} else if reason, err := r.distinctIDOf(ctx, tCtx, rec, ev); reason != "" {
			// Resolved first: an event without an id costs no more evaluation.
			return reason, err
		}
	}

	ev.Timestamp = rec.end
	if r.timestampStart {
		ev.Timestamp = rec.start
	}
	if err := r.propertiesOf(ctx, tCtx, rec, ev, arena); err != nil {
		return DropEvaluationError, err
	}
	addBuilt(ev, arena, activeFlags(requestProperties(rec, r.spanFlags(rec, extra))))
	r.conventions(rec, ev)

	ev.PersonProfiles = r.personProfiles && !ev.anonymous
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
	if r.groupIdentify {
		if reason, err := r.groupIdentity(ctx, tCtx, rec, ev, arena); reason != "" {
			return reason, err
		}
	}

	if exc != nil {
		if u, ok := exceptionUUID(rec, exc); ok {
			ev.UUID, ev.exception = u, true
			return "", nil
		}
	}
	ev.UUID = eventUUID(r.seed, rec.identity())
	return "", nil
}

// eventName sets the event's name: the rule's literal, or its expression's value.
func (r *rule[K]) eventName(ctx context.Context, tCtx K, ev *Event) (DropReason, error) {
	ev.Name = r.event
	if r.eventExpr == nil {
		return "", nil
	}
	v, err := r.eventExpr.Eval(ctx, tCtx)
	if err != nil {
		return DropEvaluationError, err
	}
	name, _ := stringify(v)
	switch {
	case name == "":
		return DropMissingEventName, errDropped
	case tooLong(name):
		return DropEventNameTooLong, errDropped
	}
	ev.Name = name
	return "", nil
}

// distinctIDOf sets the event's distinct_id from the first value of the
// rule's chain, or of the built-in one, that is neither empty nor one of
// PostHog's illegal ids; else the request's posthog-js id; else, for a
// record of a trace, an id of the trace's own (personless), so that
// anonymous requests are not one user.
func (r *rule[K]) distinctIDOf(ctx context.Context, tCtx K, rec *record, ev *Event) (DropReason, error) {
	if r.builtinDistinctID {
		ev.DistinctID = r.legal(ev, rec.firstString(distinctIDAttributes))
	}
	for i := range r.distinctID {
		id, ok, err := r.distinctID[i].str(ctx, tCtx, rec)
		if err != nil {
			return DropEvaluationError, err
		}
		if ok && r.legal(ev, id) != "" {
			ev.DistinctID = id
			break
		}
	}
	if ev.DistinctID == "" {
		ev.DistinctID = r.legal(ev, rec.request(requestDistinctID))
	}
	if ev.DistinctID == "" && !rec.traceID.IsEmpty() && !r.groupIdentify {
		ev.DistinctID, ev.anonymous = AnonymousDistinctID(rec.traceID), true
	}
	return checkDistinctID(ev.DistinctID)
}

// legal returns id, or "" when it is one of PostHog's illegal ids (counted).
func (r *rule[K]) legal(ev *Event, id string) string {
	if id != "" && IllegalDistinctID(id) {
		ev.skipped |= skippedIllegalID
		return ""
	}
	return id
}

func checkDistinctID(id string) (DropReason, error) {
	switch {
	case id == "":
		return DropMissingDistinctID, errDropped
	case tooLong(id):
		return DropDistinctIDTooLong, errDropped
	}
	return "", nil
}

// propertiesOf evaluates and copies the rule's properties into the arena.
func (r *rule[K]) propertiesOf(ctx context.Context, tCtx K, rec *record, ev *Event, arena *[]Property) error {
	start := len(*arena)
	for i := range r.properties {
		p := &r.properties[i]
		switch p.kind {
		case fromExpression:
			if p.attr.ok {
				plainProperty(p, rec, ev, arena)
				continue
			}
			v, err := p.expr.Eval(ctx, tCtx)
			if err != nil {
				return err
			}
			if p.asString {
				s, ok := stringify(v)
				stringProperty(p.key, s, ok, ev, arena)
				continue
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
	return nil
}

// plainProperty adds a property that reads one attribute, as the OTTL
// expression would: the attribute as it is (Raw), or stringified.
func plainProperty[K any](p *propertySource[K], rec *record, ev *Event, arena *[]Property) {
	if p.asString {
		s, ok := p.attr.str(rec)
		stringProperty(p.key, s, ok, ev, arena)
		return
	}
	if v, ok := p.attr.get(rec); ok {
		*arena = append(*arena, Property{Key: p.key, Raw: v})
	}
}

// stringProperty adds a key PostHog reads as a string, unless empty; a
// session id that is not one goes under InvalidSessionKey.
func stringProperty(key, s string, ok bool, ev *Event, arena *[]Property) {
	if !ok || s == "" {
		return
	}
	if key == SessionIDKey && !validSessionID(s) {
		key = InvalidSessionKey
		ev.skipped |= skippedSession
	}
	*arena = append(*arena, Property{Key: key, Value: s})
}

// conventions fills what PostHog's server SDKs attach to every event and
// the rule did not set itself: trace context, session, window and whether
// PostHog may locate the event by the address it came from.
func (r *rule[K]) conventions(rec *record, ev *Event) {
	if r.sendTraceID {
		ev.TraceID = rec.traceID
	}
	if r.sendSpanID {
		ev.SpanID = rec.spanID
	}
	if r.builtinSession {
		if ev.SessionID = rec.firstString(sessionIDAttributes); ev.SessionID == "" {
			ev.SessionID = rec.request(SessionIDKey)
		}
		if ev.SessionID != "" && !validSessionID(ev.SessionID) {
			if !hasProperty(ev.Properties, InvalidSessionKey) {
				ev.InvalidSessionID = ev.SessionID
			}
			ev.SessionID = ""
			ev.skipped |= skippedSession
		}
	}
	if r.builtinWindow {
		if ev.WindowID = rec.firstString(windowIDAttributes); ev.WindowID == "" {
			ev.WindowID = rec.request(WindowIDKey)
		}
	}
	ev.GeoIPDisable = r.geoipDisable && !hasProperty(ev.Properties, IPKey)
}

func hasProperty(ps []Property, key string) bool {
	for i := range ps {
		if ps[i].Key == key {
			return true
		}
	}
	return false
}

// groupIdentity fills a $groupidentify event: the group's type and key from
// the rule's one group, its properties from group_set, and, when the rule has
// no distinct_id chain, the group's id as posthog-go sends it.
func (r *rule[K]) groupIdentity(ctx context.Context, tCtx K, rec *record, ev *Event, arena *[]Property) (DropReason, error) {
	if len(ev.Groups) != 1 {
		return DropMissingGroupKey, errDropped
	}
	var err error
	if ev.GroupSet, err = evalNamed(ctx, tCtx, r.groupSet, arena, false); err != nil {
		return DropEvaluationError, err
	}
	ev.GroupIdentify = true
	if len(r.distinctID) > 0 {
		return r.distinctIDOf(ctx, tCtx, rec, ev)
	}
	g := &ev.Groups[0]
	ev.DistinctID = "$" + g.Key + "_" + g.Value.(string)
	return checkDistinctID(ev.DistinctID)
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
