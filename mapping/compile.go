package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspanevent"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// compiled holds every rule of a Config, parsed.
type compiled struct {
	spans []*rule[*ottlspan.TransformContext]
	logs  []*rule[*ottllog.TransformContext]
	// spanEvents are the span_events rules.
	spanEvents []*rule[*ottlspanevent.TransformContext]

	// The attribute keys the conditions of each signal require, for the prefilter.
	spanAttrs, logAttrs, spanEventAttrs *attrIndex

	// The rules' ids, in order, as Result.Stats names them.
	spanIDs, logIDs, spanEventIDs []string
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
	errs = append(errs, checkFeatureFlags(&cfg.FeatureFlags))
	for _, k := range sortedKeys(cfg.Defaults.Properties) {
		if _, owned := ownedKeys[k]; owned {
			errs = append(errs, fmt.Errorf("defaults: %w", ownedKeyErr("properties", k)))
		}
	}

	spanParser, err := newSpanParser(set)
	if err != nil {
		return nil, fmt.Errorf("creating the span OTTL parser: %w", err)
	}
	logParser, err := newLogParser(set)
	if err != nil {
		return nil, fmt.Errorf("creating the log OTTL parser: %w", err)
	}

	spanEventParser, err := newSpanEventParser(set)
	if err != nil {
		return nil, fmt.Errorf("creating the span event OTTL parser: %w", err)
	}

	c := compiled{spanAttrs: &attrIndex{}, logAttrs: &attrIndex{}, spanEventAttrs: &attrIndex{}}
	spanCompiler := newCompiler(&spanParser, "span", cfg, c.spanAttrs)
	for i := range cfg.Spans {
		r, err := spanCompiler.rule(&cfg.Spans[i], ruleID("spans", i, cfg.Spans[i].Name), describeRule("spans", i, cfg.Spans[i].Name), true)
		errs = append(errs, err)
		c.spans = append(c.spans, r)
	}
	logCompiler := newCompiler(&logParser, "log", cfg, c.logAttrs)
	for i := range cfg.Logs {
		r, err := logCompiler.rule(&cfg.Logs[i], ruleID("logs", i, cfg.Logs[i].Name), describeRule("logs", i, cfg.Logs[i].Name), false)
		errs = append(errs, err)
		c.logs = append(c.logs, r)
	}
	eventCompiler := newCompiler(&spanEventParser, signalSpanEvent, cfg, c.spanEventAttrs)
	for i := range cfg.SpanEvents {
		r, err := eventCompiler.rule(&cfg.SpanEvents[i], ruleID("span_events", i, cfg.SpanEvents[i].Name), describeRule("span_events", i, cfg.SpanEvents[i].Name), false)
		errs = append(errs, err)
		c.spanEvents = append(c.spanEvents, r)
	}
	errs = append(errs, spanCompiler.defaultErrs...)
	errs = append(errs, logCompiler.defaultErrs...)
	errs = append(errs, eventCompiler.defaultErrs...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.spanIDs, c.logIDs, c.spanEventIDs = ruleIDs(c.spans), ruleIDs(c.logs), ruleIDs(c.spanEvents)
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
	check("span_events", cfg.SpanEvents)
	return errors.Join(errs...)
}

// signalSpanEvent is the span event rules' OTTL context name: the prefix
// of their paths (spanevent.name, spanevent.attributes[...]).
const signalSpanEvent = "spanevent"

func checkFeatureFlags(f *FeatureFlags) error {
	var errs []error
	if f.DedupeWindow < 0 {
		errs = append(errs, fmt.Errorf("feature_flags: dedupe_window: %s is negative; use 0 to send every evaluation, or a duration such as 1h", f.DedupeWindow))
	}
	if f.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("feature_flags: max_entries: %d is negative; it bounds the exposures remembered (default %d)", f.MaxEntries, DefaultFlagMaxEntries))
	}
	for i, p := range f.Providers {
		if p == "" {
			errs = append(errs, fmt.Errorf("feature_flags: providers[%d]: empty; name a provider as feature_flag.provider.name records it", i))
		}
	}
	return errors.Join(errs...)
}

// compiler parses the rules of one signal with that signal's parser. Default
// expressions are parsed once per signal and their errors reported once.
type compiler[K any] struct {
	parser      *ottl.Parser[K]
	signal      string
	defaults    *Defaults
	geoip       bool
	cache       map[string]*ottl.ValueExpression[K]
	failed      map[string]bool
	defaultErrs []error
	attrs       *attrIndex
	providers   map[string]bool
}

func newCompiler[K any](p *ottl.Parser[K], signal string, cfg *Config, attrs *attrIndex) *compiler[K] {
	var providers map[string]bool
	for _, p := range cfg.FeatureFlags.Providers {
		if providers == nil {
			providers = map[string]bool{}
		}
		providers[p] = true
	}
	return &compiler[K]{parser: p, signal: signal, defaults: &cfg.Defaults, geoip: cfg.GeoIP, cache: map[string]*ottl.ValueExpression[K]{}, failed: map[string]bool{}, attrs: attrs, providers: providers}
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
	err = ottlHint(err)
	if err != nil {
		c.failed[field] = true
		c.defaultErrs = append(c.defaultErrs, fmt.Errorf("defaults: %s (used by %s rules): %w", field, c.signal, err))
		return nil, false
	}
	c.cache[field] = e
	return e, true
}

// rule parses one rule. Each field is checked by its own function, which
// returns its errors prefixed with the field's name; rule adds where the rule
// is. The functions run in the order written (Go evaluates arguments left to
// right): identityEvent reads the person_profiles that personProfiles resolved.
func (c *compiler[K]) rule(r *Rule, id, where string, isSpan bool) (*rule[K], error) {
	out := &rule[K]{id: id, seed: uuidSeed(c.signal, id), geoipDisable: !c.geoip, providers: c.providers}
	err := errors.Join(
		c.eventName(r, out),
		c.conditions(r, out),
		c.distinctID(r, out),
		timestamp(r, out, isSpan),
		c.personProfiles(r, out),
		identityEvent(r, out),
		ownedProperties(r),
		c.propertiesOf(r, out),
		c.groupsAndSets(r, out),
		c.groupIdentify(r, out),
	)
	return out, errors.Join(prefixErrs(where, err)...)
}

// eventName parses event or event_expression, exactly one of which is set.
func (c *compiler[K]) eventName(r *Rule, out *rule[K]) error {
	switch {
	case (r.Event == "") == (r.EventExpression == ""):
		return fieldErr("event", errNoEvent)
	case r.Event != "":
		out.event = r.Event
		if tooLong(r.Event) {
			return fieldErr("event", fmt.Errorf("%d characters; PostHog cuts event names to %d, so make it shorter", utf8.RuneCountInString(r.Event), MaxNameLength))
		}
		return nil
	default:
		e, err := c.parser.ParseValueExpression(r.EventExpression)
		err = ottlHint(err)
		out.eventExpr = e
		return fieldErr("event_expression", err)
	}
}

// conditions parses the ORed conditions, each with its prefilter.
func (c *compiler[K]) conditions(r *Rule, out *rule[K]) error {
	var errs []error
	for i, s := range r.Conditions {
		cond, err := c.parser.ParseCondition(s)
		err = ottlHint(err)
		if err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("conditions[%d]", i), err))
			continue
		}
		out.conditions = append(out.conditions, cond)
		out.filters = append(out.filters, newCondFilter(s, c.signal, c.attrs))
	}
	return errors.Join(errs...)
}

// distinctID parses the rule's distinct_id chain, or else that of the
// defaults. Without either, a $groupidentify rule uses the group's id, as
// posthog-go does, and any other rule the built-in chain (distinctIDAttributes).
func (c *compiler[K]) distinctID(r *Rule, out *rule[K]) error {
	if len(r.DistinctID) == 0 {
		if r.Event == groupIdentifyEvent {
			return nil
		}
		if len(c.defaults.DistinctID) == 0 {
			out.builtinDistinctID = true
			return nil
		}
		for i, s := range c.defaults.DistinctID {
			if err := illegalLiteral(s); err != nil {
				field := fmt.Sprintf("distinct_id[%d]", i)
				if !c.failed[field] {
					c.failed[field] = true
					c.defaultErrs = append(c.defaultErrs, fmt.Errorf("defaults: %s: %w", field, err))
				}
				continue
			}
			if e, ok := c.defaultExpr(fmt.Sprintf("distinct_id[%d]", i), s); ok {
				out.distinctID = append(out.distinctID, valueExpr[K]{expr: e, attr: parsePlainAttr(s, c.signal)})
			}
		}
		return nil
	}
	out.ownDistinctID = true
	var errs []error
	for i, s := range r.DistinctID {
		if err := illegalLiteral(s); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("distinct_id[%d]", i), err))
			continue
		}
		e, err := c.parser.ParseValueExpression(s)
		err = ottlHint(err)
		if err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("distinct_id[%d]", i), err))
			continue
		}
		out.distinctID = append(out.distinctID, valueExpr[K]{expr: e, attr: parsePlainAttr(s, c.signal)})
	}
	return errors.Join(errs...)
}

// illegalLiteral refuses a literal of PostHog's illegal distinct_ids in a
// distinct_id chain: every event sent with it would be one user.
func illegalLiteral(expr string) error {
	lit, err := strconv.Unquote(strings.TrimSpace(expr))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(expr), `"`) || !IllegalDistinctID(lit) {
		return nil
	}
	return fmt.Errorf("%q is one of PostHog's illegal distinct_ids: every event sent with it counts as one user in unique users, funnels and retention; "+
		"remove it: a record of a trace whose chain gives no id gets an id of its trace's own (personless), as PostHog's SDKs give anonymous requests", lit)
}

// timestamp checks the span rules' choice of start or end time.
func timestamp[K any](r *Rule, out *rule[K], isSpan bool) error {
	if r.Timestamp == "" || r.Timestamp == TimestampEnd {
		return nil
	}
	if !isSpan {
		return fieldErr("timestamp", errors.New("only span rules choose a timestamp; log and span event rules use the record's time"))
	}
	if r.Timestamp != TimestampStart {
		return fieldErr("timestamp", fmt.Errorf("%q is not one of start, end", r.Timestamp))
	}
	out.timestampStart = true
	return nil
}

// personProfiles resolves person_profiles (rule over defaults, false when
// neither says) and checks that set and set_once have profiles to update.
func (c *compiler[K]) personProfiles(r *Rule, out *rule[K]) error {
	out.personProfiles = false
	if c.defaults.PersonProfiles != nil {
		out.personProfiles = *c.defaults.PersonProfiles
	}
	if r.PersonProfiles != nil {
		out.personProfiles = *r.PersonProfiles
	}
	if !out.personProfiles && (len(r.Set) > 0 || len(r.SetOnce) > 0) {
		return fieldErr("set", errors.New("set and set_once update person profiles: they need person_profiles: true"))
	}
	return nil
}

// identityEvent refuses identity events without person processing: PostHog
// drops them silently.
func identityEvent[K any](r *Rule, out *rule[K]) error {
	if !personEvents[r.Event] || out.personProfiles {
		return nil
	}
	return fieldErr("event", fmt.Errorf("PostHog drops %s events sent without person processing; set person_profiles: true on this rule", r.Event))
}

// ownedProperties refuses properties and copied attributes named after a key
// the exporter writes itself.
func ownedProperties(r *Rule) error {
	var errs []error
	for _, k := range sortedKeys(r.Properties) {
		if _, owned := ownedKeys[k]; owned {
			errs = append(errs, ownedKeyErr("properties", k))
		}
	}
	for _, copied := range []struct {
		field string
		keys  []string
	}{{"attributes", r.Attributes}, {"resource_attributes", r.ResourceAttributes}} {
		for _, k := range copied.keys {
			if _, owned := ownedKeys[k]; owned {
				errs = append(errs, fmt.Errorf("%s: %q: the exporter writes this key itself; %s", copied.field, k, ownedKeys[k]))
			}
		}
	}
	return errors.Join(errs...)
}

// propertiesOf parses the event's properties. Properties the rule or the
// defaults set win over the built-in conventions of the same key: the trace
// context, $session_id and $window_id.
func (c *compiler[K]) propertiesOf(r *Rule, out *rule[K]) error {
	props, err := c.properties(r)
	out.properties = props
	out.sendTraceID, out.sendSpanID, out.builtinSession, out.builtinWindow = true, true, true, true
	for _, p := range props {
		switch p.key {
		case TraceIDKey:
			out.sendTraceID = false
		case SpanIDKey:
			out.sendSpanID = false
		case SessionIDKey:
			out.builtinSession = false
		case WindowIDKey:
			out.builtinWindow = false
		}
	}
	return err
}

// groupsAndSets parses groups, and set and set_once when person profiles are
// on. A $groupidentify rule with groups of its own does not take those of the
// defaults: it identifies one group.
func (c *compiler[K]) groupsAndSets(r *Rule, out *rule[K]) error {
	var errs [3]error
	defaults := c.defaults.Groups
	if r.Event == groupIdentifyEvent && len(r.Groups) > 0 {
		defaults = nil
	}
	out.groups, errs[0] = c.namedExprs("groups", r.Groups, defaults)
	if len(out.groups) > 0 && !out.personProfiles && errs[0] == nil {
		field := "groups"
		if len(r.Groups) == 0 {
			field = "groups (from defaults)"
		}
		errs[0] = fieldErr(field, errors.New("PostHog drops groups from personless events (its ingestion deletes them when $process_person_profile is false), "+
			"so these events would count for no group; set person_profiles: true on this rule (or under defaults), or remove groups"))
	}
	if out.personProfiles {
		out.set, errs[1] = c.namedExprs("set", r.Set, nil)
		out.setOnce, errs[2] = c.namedExprs("set_once", r.SetOnce, nil)
	}
	return errors.Join(errs[:]...)
}

// groupIdentify checks and parses what a $groupidentify rule needs: one
// group, whose properties group_set gives.
func (c *compiler[K]) groupIdentify(r *Rule, out *rule[K]) error {
	if r.Event != groupIdentifyEvent {
		if len(r.GroupSet) > 0 {
			return fieldErr("group_set", errors.New("only $groupidentify events set group properties; set event: $groupidentify and name the group under groups"))
		}
		return nil
	}
	out.groupIdentify = true
	n := len(r.Groups)
	if n == 0 {
		n = len(c.defaults.Groups)
	}
	if n != 1 {
		return fieldErr("groups", fmt.Errorf("a $groupidentify rule identifies one group, found %d; give the rule exactly one entry under groups (group type -> expression for the group key), which replaces the groups of defaults", n))
	}
	var err error
	out.groupSet, err = c.namedExprs("group_set", r.GroupSet, nil)
	return err
}

// fieldErr names the field an error is about; nil stays nil.
func fieldErr(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", field, err)
}

// prefixErrs prefixes each error joined in err, however deeply, with prefix.
func prefixErrs(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, prefixErrs(prefix, e)...)
		}
		return out
	}
	return []error{fmt.Errorf("%s: %w", prefix, err)}
}

// properties merges, by key, the sources of an event's properties. From
// strongest to weakest: the rule's properties, then the defaults' properties,
// then copied record attributes, then copied resource attributes (the
// built-in conventions, weaker still, are the mapper's). The result is sorted
// by key, which is the order the encoder writes them in.
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
			byKey[k] = propertySource[K]{key: k, kind: fromExpression, expr: e, attr: parsePlainAttr(c.defaults.Properties[k], c.signal), asString: stringKeys[k]}
		}
	}
	for _, k := range sortedKeys(r.Properties) {
		e, err := c.parser.ParseValueExpression(r.Properties[k])
		err = ottlHint(err)
		if err != nil {
			errs = append(errs, fmt.Errorf("properties[%q]: %w", k, err))
			continue
		}
		byKey[k] = propertySource[K]{key: k, kind: fromExpression, expr: e, attr: parsePlainAttr(r.Properties[k], c.signal), asString: stringKeys[k]}
	}
	out := make([]propertySource[K], 0, len(byKey))
	for _, k := range sortedKeys(byKey) {
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
			err = ottlHint(err)
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
