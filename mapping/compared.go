package mapping

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A false comparison says little by itself: a status of 500 and a status
// sent as the string "200" both make `== 200` false. The explainer shows
// what was compared: each side's value and type, and, for an attribute
// the record does not have, the nearest name it has.

// comparison is a term's two sides, parsed as value expressions.
type comparison[K any] struct {
	left, right *ottl.ValueExpression[K]
	leftText    string
	// attr is the attribute the left side reads, when it reads one.
	attr   attributeRef[K]
	isAttr bool
}

// parseComparison splits a term at its top-level comparison operator and
// parses both sides; nil when the term is not a comparison.
func parseComparison[K any](p *ottl.Parser[K], text string) *comparison[K] {
	left, right, ok := splitComparison(text)
	if !ok {
		return nil
	}
	l, err := p.ParseValueExpression(left)
	if err != nil {
		return nil
	}
	r, err := p.ParseValueExpression(right)
	if err != nil {
		return nil
	}
	c := &comparison[K]{left: l, right: r, leftText: left}
	c.attr, c.isAttr = parseAttributeRef(p, left)
	return c
}

// splitComparison finds the first comparison operator outside brackets and
// strings.
func splitComparison(s string) (left, right string, ok bool) {
	depth, at, width := 0, -1, 0
	scan(s, func(i int, c byte) bool {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '=', '!', '<', '>':
			if depth != 0 {
				return true
			}
			w := 1
			if i+1 < len(s) && s[i+1] == '=' {
				w = 2
			}
			if c == '=' && w == 1 || c == '!' && w == 1 {
				return true
			}
			at, width = i, w
			return false
		}
		return true
	}, func(int, string) {})
	if at < 0 {
		return "", "", false
	}
	return strings.TrimSpace(s[:at]), strings.TrimSpace(s[at+width:]), true
}

// describe says what the comparison compared, for the record of tCtx, and
// whether it looks like a mistake in the rule rather than a record that
// does not match: an absent attribute with a near name the record has, or
// two sides of different types.
func (c *comparison[K]) describe(ctx context.Context, tCtx K) (said string, mistake bool) {
	lv, err := c.left.Eval(ctx, tCtx)
	if err != nil {
		return "", false
	}
	if lv == nil && c.isAttr {
		if said, near := c.attr.absent(ctx, tCtx); said != "" {
			return said, near
		}
	}
	rv, err := c.right.Eval(ctx, tCtx)
	if err != nil {
		return "", false
	}
	lt, rt := valueType(lv), valueType(rv)
	mistake = lv != nil && rv != nil && lt != rt && !(isNumber(lt) && isNumber(rt))
	return fmt.Sprintf("%s is %s, compared with %s", c.leftText, valueAndType(lv), valueAndType(rv)), mistake
}

func isNumber(t string) bool { return t == "int" || t == "double" }

// valueAndType writes a value as OTTL sees it, with its type.
func valueAndType(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x) + " (string)"
	case int64:
		return strconv.FormatInt(x, 10) + " (int)"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64) + " (double)"
	case bool:
		return strconv.FormatBool(x) + " (bool)"
	case pcommon.Map:
		return "a map"
	case pcommon.Slice:
		return "a slice"
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// valueType names the type of an OTTL value.
func valueType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "int"
	case float64:
		return "double"
	case bool:
		return "bool"
	case pcommon.Map:
		return "map"
	case pcommon.Slice:
		return "slice"
	}
	return fmt.Sprintf("%T", v)
}
