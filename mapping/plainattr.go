package mapping

import (
	"context"
	"regexp"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Most properties and distinct_id entries of real rules read one attribute
// and nothing else: span.attributes["http.route"],
// resource.attributes["service.name"]. OTTL returns the value as an
// interface, which costs an allocation per read, on every event. Such an
// expression is read here straight from the record instead, giving what
// OTTL gives: the same value, nil (no property) when the attribute is
// missing or empty, and no error.

// plainAttr is an expression that is one attribute of the record (the
// path of its own context: span, log or spanevent) or of its resource;
// ok is false for any other expression.
type plainAttr struct {
	key      string
	resource bool
	ok       bool
}

var plainAttrExpr = regexp.MustCompile(`^([a-z]+)\.attributes\[(` + stringLit + `)\]$`)

// attributeOf splits an expression that is one attribute of an OTTL
// context, `span.attributes["http.route"]`, into the context ("span") and
// the key; ok is false for any other expression (and for a key with
// escapes).
func attributeOf(expr string) (ctxName, key string, ok bool) {
	m := plainAttrExpr.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return "", "", false
	}
	return m[1], strings.Trim(m[2], `"`), true
}

// parsePlainAttr recognises expr, in the context of records of signal
// ("span", "log" or "spanevent"); the expression is parsed by OTTL all the
// same, so that it is checked as any other.
func parsePlainAttr(expr, signal string) plainAttr {
	ctxName, key, ok := attributeOf(expr)
	if !ok || ctxName != signal && ctxName != "resource" {
		return plainAttr{}
	}
	return plainAttr{key: key, resource: ctxName == "resource", ok: true}
}

// get returns the attribute, or false where OTTL would give nil.
func (a plainAttr) get(rec *record) (pcommon.Value, bool) {
	attrs := rec.attributes
	if a.resource {
		attrs = rec.resourceAttributes
	}
	v, ok := attrs.Get(a.key)
	return v, ok && v.Type() != pcommon.ValueTypeEmpty
}

// str is the attribute as stringify gives OTTL's value.
func (a plainAttr) str(rec *record) (string, bool) {
	v, ok := a.get(rec)
	switch {
	case !ok:
		return "", false
	case v.Type() == pcommon.ValueTypeStr:
		return v.Str(), true
	}
	return stringify(attributeValue(v))
}

// valueExpr is a parsed value expression, with its plain attribute read
// when it is one.
type valueExpr[K any] struct {
	expr *ottl.ValueExpression[K]
	attr plainAttr
}

// str evaluates the expression to a string as stringify does.
func (e *valueExpr[K]) str(ctx context.Context, tCtx K, rec *record) (string, bool, error) {
	if e.attr.ok {
		s, ok := e.attr.str(rec)
		return s, ok, nil
	}
	v, err := e.expr.Eval(ctx, tCtx)
	if err != nil {
		return "", false, err
	}
	s, ok := stringify(v)
	return s, ok, nil
}
