package mapping

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/posthogexporter/posthogexporter/internal/configkeys"
)

// A misspelled attribute in a property sends the event without that
// property, and nothing else tells. The explainer checks each value of a
// matched rule that reads one attribute, and says when the record does not
// have it, with the nearest name it has.

// attributeRead is a rule's value that reads one attribute: a properties,
// set or set_once entry written as <context>.attributes["key"], or a name
// listed under attributes or resource_attributes.
type attributeRead[K any] struct {
	field string // where the rule reads it: properties.amount, attributes[0]
	attr  attributeRef[K]
}

// attributeRef is one attribute of one map of the record: span.attributes
// (context "span") and key "http.route".
type attributeRef[K any] struct {
	attrs   *ottl.ValueExpression[K] // the map
	context string
	key     string
}

// parseAttributeRef reads `<context>.attributes["key"]`; false for any other
// expression.
func parseAttributeRef[K any](p *ottl.Parser[K], expr string) (attributeRef[K], bool) {
	ctxName, key, ok := attributeOf(expr)
	if !ok {
		return attributeRef[K]{}, false
	}
	attrs, err := p.ParseValueExpression(ctxName + ".attributes")
	if err != nil {
		return attributeRef[K]{}, false
	}
	return attributeRef[K]{attrs: attrs, context: ctxName, key: key}, true
}

// parseAttributeReads finds the values of rule r (with the defaults' properties
// it does not override) that read one attribute. record is the context of
// the rule's own record: span, log or spanevent.
func parseAttributeReads[K any](p *ottl.Parser[K], record string, r *Rule, d *Defaults) []attributeRead[K] {
	var reads []attributeRead[K]
	add := func(field, expr string) {
		if ref, ok := parseAttributeRef(p, expr); ok {
			reads = append(reads, attributeRead[K]{field: field, attr: ref})
		}
	}
	props := maps.Clone(d.Properties)
	if props == nil {
		props = map[string]string{}
	}
	maps.Copy(props, r.Properties)
	for _, block := range []struct {
		name string
		m    map[string]string
	}{{"properties", props}, {"set", r.Set}, {"set_once", r.SetOnce}} {
		for _, k := range slices.Sorted(maps.Keys(block.m)) {
			add(block.name+"."+k, block.m[k])
		}
	}
	for i, name := range r.Attributes {
		add(fmt.Sprintf("attributes[%d]", i), fmt.Sprintf("%s.attributes[%q]", record, name))
	}
	for i, name := range r.ResourceAttributes {
		add(fmt.Sprintf("resource_attributes[%d]", i), fmt.Sprintf("resource.attributes[%q]", name))
	}
	return reads
}

// absent says that the record of tCtx has no such attribute, and the
// nearest name it has (near); "" when it has it (or the map cannot be read).
func (a attributeRef[K]) absent(ctx context.Context, tCtx K) (said string, near bool) {
	v, err := a.attrs.Eval(ctx, tCtx)
	if err != nil {
		return "", false
	}
	attrs, ok := v.(pcommon.Map)
	if !ok {
		return "", false
	}
	if _, has := attrs.Get(a.key); has {
		return "", false
	}
	keys := make([]string, 0, attrs.Len())
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if name := configkeys.Nearest(a.key, keys); name != "" {
		return fmt.Sprintf("%s has no attribute %q; it has %q", a.context, a.key, name), true
	}
	return fmt.Sprintf("%s has no attribute %q", a.context, a.key), false
}

// explainAbsent fills Absent for the rules that matched.
func explainAbsent[K any](ctx context.Context, out []Outcome, reads [][]attributeRead[K], tCtx K) {
	for i := range out {
		if !out[i].Matched || i >= len(reads) {
			continue
		}
		for _, r := range reads[i] {
			if said, _ := r.attr.absent(ctx, tCtx); said != "" {
				out[i].Absent = append(out[i].Absent, r.field+": "+said)
			}
		}
	}
}
