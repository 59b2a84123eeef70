package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// ownedKeys are the property keys the exporter writes itself; a rule cannot override them.
var ownedKeys = map[string]bool{
	"$lib":                    true,
	"$lib_version":            true,
	"$process_person_profile": true,
	"$set":                    true,
	"$set_once":               true,
	"$groups":                 true,
}

// Names of the trace context properties every event carries when the record has them.
const (
	traceIDKey = "trace_id"
	spanIDKey  = "span_id"
)

// compiled holds every rule of a Config, parsed.
type compiled struct {
	spans []*rule[*ottlspan.TransformContext]
	logs  []*rule[*ottllog.TransformContext]

	// The attribute keys the conditions of each signal require, for the prefilter.
	spanAttrs, logAttrs *attrIndex
}

func nopTelemetry() component.TelemetrySettings {
	return component.TelemetrySettings{Logger: zap.NewNop()}
}

// compile parses every OTTL string of cfg. It collects all errors, not just
// the first, so a user fixes a config in one round.
func compile(cfg *Config, set component.TelemetrySettings) (*compiled, error) {
	var errs []error
	switch cfg.ErrorMode {
	case ottl.IgnoreError, ottl.SilentError, ottl.PropagateError:
	default:
		errs = append(errs, fmt.Errorf("error_mode: %q is not one of ignore, silent, propagate", cfg.ErrorMode))
	}
	if err := checkRuleNames(cfg); err != nil {
		errs = append(errs, err)
	}

	spanParser, err := newSpanParser(set)
	if err != nil {
		return nil, fmt.Errorf("creating the span OTTL parser: %w", err)
	}
	logParser, err := newLogParser(set)
	if err != nil {
		return nil, fmt.Errorf("creating the log OTTL parser: %w", err)
	}

	c := compiled{spanAttrs: &attrIndex{}, logAttrs: &attrIndex{}}
	spanCompiler := newCompiler(&spanParser, "span", &cfg.Defaults, c.spanAttrs)
	for i := range cfg.Spans {
		r, err := spanCompiler.rule(&cfg.Spans[i], ruleID("spans", i, cfg.Spans[i].Name), describeRule("spans", i, cfg.Spans[i].Name), true)
		errs = append(errs, err)
		c.spans = append(c.spans, r)
	}
	logCompiler := newCompiler(&logParser, "log", &cfg.Defaults, c.logAttrs)
	for i := range cfg.Logs {
		r, err := logCompiler.rule(&cfg.Logs[i], ruleID("logs", i, cfg.Logs[i].Name), describeRule("logs", i, cfg.Logs[i].Name), false)
		errs = append(errs, err)
		c.logs = append(c.logs, r)
	}
	errs = append(errs, spanCompiler.defaultErrs...)
	errs = append(errs, logCompiler.defaultErrs...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}

// ruleID is how errors, metrics and uuids name a rule: its name, or its
// position ("spans[3]") when it has none.
func ruleID(list string, i int, name string) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

// describeRule names a rule in an error message so the user can find it.
func describeRule(list string, i int, name string) string {
	if name != "" {
		return fmt.Sprintf("rule %q (%s[%d])", name, list, i)
	}
	return fmt.Sprintf("rule %s[%d]", list, i)
}

func checkRuleNames(cfg *Config) error {
	var errs []error
	seen := map[string]string{}
	check := func(list string, rules []Rule) {
		for i, r := range rules {
			if r.Name == "" {
				continue
			}
			here := fmt.Sprintf("%s[%d]", list, i)
			if first, ok := seen[r.Name]; ok {
				errs = append(errs, fmt.Errorf("%s: name: %q is already used by %s; rule names must be unique", describeRule(list, i, r.Name), r.Name, first))
				continue
			}
			seen[r.Name] = here
		}
	}
	check("spans", cfg.Spans)
	check("logs", cfg.Logs)
	return errors.Join(errs...)
}

// compiler parses the rules of one signal with that signal's parser. Default
// expressions are parsed once per signal and their errors reported once.
type compiler[K any] struct {
	parser      *ottl.Parser[K]
	signal      string
	defaults    *Defaults
	cache       map[string]*ottl.ValueExpression[K]
	failed      map[string]bool
	defaultErrs []error
	attrs       *attrIndex
}

func newCompiler[K any](p *ottl.Parser[K], signal string, d *Defaults, attrs *attrIndex) *compiler[K] {
	return &compiler[K]{parser: p, signal: signal, defaults: d, cache: map[string]*ottl.ValueExpression[K]{}, failed: map[string]bool{}, attrs: attrs}
}

// defaultExpr parses an expression of the defaults in this signal's context.
func (c *compiler[K]) defaultExpr(field, expr string) (*ottl.ValueExpression[K], bool) {
	if e, ok := c.cache[field]; ok {
		return e, true
	}
	if c.failed[field] {
		return nil, false
	}
	e, err := c.parser.ParseValueExpression(expr)
	if err != nil {
		c.failed[field] = true
		c.defaultErrs = append(c.defaultErrs, fmt.Errorf("defaults: %s (used by %s rules): %w", field, c.signal, err))
		return nil, false
	}
	c.cache[field] = e
	return e, true
}

func (c *compiler[K]) rule(r *Rule, id, where string, isSpan bool) (*rule[K], error) {
	var errs []error
	fail := func(field string, err error) {
		errs = append(errs, fmt.Errorf("%s: %s: %w", where, field, err))
	}
	out := &rule[K]{id: id, seed: uuidSeed(c.signal, id)}

	switch {
	case (r.Event == "") == (r.EventExpression == ""):
		fail("event", errNoEvent)
	case r.Event != "":
		out.event = r.Event
	default:
		e, err := c.parser.ParseValueExpression(r.EventExpression)
		if err != nil {
			fail("event_expression", err)
		}
		out.eventExpr = e
	}

	for i, s := range r.Conditions {
		cond, err := c.parser.ParseCondition(s)
		if err != nil {
			fail(fmt.Sprintf("conditions[%d]", i), err)
			continue
		}
		out.conditions = append(out.conditions, cond)
		out.filters = append(out.filters, newCondFilter(s, c.signal, c.attrs))
	}

	if len(r.DistinctID) > 0 {
		for i, s := range r.DistinctID {
			e, err := c.parser.ParseValueExpression(s)
			if err != nil {
				fail(fmt.Sprintf("distinct_id[%d]", i), err)
				continue
			}
			out.distinctID = append(out.distinctID, e)
		}
	} else {
		for i, s := range c.defaults.DistinctID {
			if e, ok := c.defaultExpr(fmt.Sprintf("distinct_id[%d]", i), s); ok {
				out.distinctID = append(out.distinctID, e)
			}
		}
	}
	if len(r.DistinctID) == 0 && len(c.defaults.DistinctID) == 0 {
		fail("distinct_id", errors.New("no expression: set distinct_id on the rule or under defaults"))
	}

	switch r.Timestamp {
	case "", TimestampEnd:
	case TimestampStart:
		if !isSpan {
			fail("timestamp", errors.New("only span rules choose a timestamp; log events use the record's time"))
		}
		out.timestampStart = true
	default:
		if isSpan {
			fail("timestamp", fmt.Errorf("%q is not one of start, end", r.Timestamp))
		} else {
			fail("timestamp", errors.New("only span rules choose a timestamp; log events use the record's time"))
		}
	}

	out.personProfiles = false
	if c.defaults.PersonProfiles != nil {
		out.personProfiles = *c.defaults.PersonProfiles
	}
	if r.PersonProfiles != nil {
		out.personProfiles = *r.PersonProfiles
	}
	if !out.personProfiles && (len(r.Set) > 0 || len(r.SetOnce) > 0) {
		fail("set", errors.New("set and set_once update person profiles: they need person_profiles: true"))
	}

	props, err := c.properties(r)
	errs = append(errs, prefixErrs(where, err)...)
	out.properties = props
	// A rule property of the same name wins over the trace context.
	out.sendTraceID, out.sendSpanID = true, true
	for _, p := range props {
		out.sendTraceID = out.sendTraceID && p.key != traceIDKey
		out.sendSpanID = out.sendSpanID && p.key != spanIDKey
	}

	out.groups, err = c.namedExprs("groups", r.Groups, c.defaults.Groups)
	errs = append(errs, prefixErrs(where, err)...)
	if out.personProfiles {
		out.set, err = c.namedExprs("set", r.Set, nil)
		errs = append(errs, prefixErrs(where, err)...)
		out.setOnce, err = c.namedExprs("set_once", r.SetOnce, nil)
		errs = append(errs, prefixErrs(where, err)...)
	}
	return out, errors.Join(errs...)
}

func prefixErrs(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	var out []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			out = append(out, fmt.Errorf("%s: %w", prefix, e))
		}
		return out
	}
	return []error{fmt.Errorf("%s: %w", prefix, err)}
}

// properties merges, by key, the sources of an event's properties. From
// strongest to weakest: the rule's properties, then the defaults' properties,
// then copied record attributes, then copied resource attributes (the trace
// context, weaker still, is the encoder's). Keys the exporter owns are left
// out. The result is sorted by key, which is the order the encoder writes them in.
func (c *compiler[K]) properties(r *Rule) ([]propertySource[K], error) {
	var errs []error
	byKey := map[string]propertySource[K]{}
	for _, k := range r.ResourceAttributes {
		byKey[k] = propertySource[K]{key: k, kind: fromResourceAttribute}
	}
	for _, k := range r.Attributes {
		byKey[k] = propertySource[K]{key: k, kind: fromAttribute}
	}
	for _, k := range sortedKeys(c.defaults.Properties) {
		if _, overridden := r.Properties[k]; overridden {
			continue
		}
		if e, ok := c.defaultExpr(fmt.Sprintf("properties[%q]", k), c.defaults.Properties[k]); ok {
			byKey[k] = propertySource[K]{key: k, kind: fromExpression, expr: e}
		}
	}
	for _, k := range sortedKeys(r.Properties) {
		e, err := c.parser.ParseValueExpression(r.Properties[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("properties[%q]: %w", k, err))
			continue
		}
		byKey[k] = propertySource[K]{key: k, kind: fromExpression, expr: e}
	}
	out := make([]propertySource[K], 0, len(byKey))
	for _, k := range sortedKeys(byKey) {
		if ownedKeys[k] {
			continue
		}
		out = append(out, byKey[k])
	}
	return out, errors.Join(errs...)
}

// namedExprs parses a map of key -> expression, the rule's own entries
// overriding those of defaults, sorted by key.
func (c *compiler[K]) namedExprs(field string, own, defaults map[string]string) ([]namedExpr[K], error) {
	var errs []error
	var out []namedExpr[K]
	keys := sortedKeys(own)
	for _, k := range sortedKeys(defaults) {
		if _, ok := own[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s, ok := own[k]; ok {
			e, err := c.parser.ParseValueExpression(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s[%q]: %w", field, k, err))
				continue
			}
			out = append(out, namedExpr[K]{key: k, expr: e})
			continue
		}
		if e, ok := c.defaultExpr(fmt.Sprintf("%s[%q]", field, k), defaults[k]); ok {
			out = append(out, namedExpr[K]{key: k, expr: e})
		}
	}
	return out, errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}
