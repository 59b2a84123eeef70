package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestSpanMatcherAssumesInheritedAttributes(t *testing.T) {
	m := newTestMapper(t, `
spans:
  - name: acme-engine
    event: e
    distinct_id: ['"x"']
    conditions: ['span.name == "engine.execute" and span.attributes["tenant.id"] == "acme"']
  - name: db
    event: q
    distinct_id: ['"x"']
    conditions: ['span.attributes["db.system.name"] != nil']
`)
	span := func(name string, attrs ...string) ptrace.Span {
		s := ptrace.NewSpan()
		s.SetName(name)
		for _, k := range attrs {
			s.Attributes().PutStr(k, "v")
		}
		return s
	}
	inheriting := m.SpanMatcher([]string{"enduser.id", "tenant.id"})
	assert.True(t, inheriting.MayMatch(span("engine.execute")), "tenant.id may still come from the trace")
	assert.False(t, inheriting.MayMatch(span("handler")), "no rule can match a span of another name without db.system.name")
	assert.True(t, inheriting.MayMatch(span("SELECT", "db.system.name")))

	own := m.SpanMatcher([]string{"enduser.id"})
	assert.False(t, own.MayMatch(span("engine.execute")), "tenant.id is not inherited: the span must have it")

	all := newTestMapper(t, "spans:\n  - name: every\n    event: e\n    distinct_id: ['\"x\"']\n")
	assert.True(t, all.SpanMatcher([]string{"enduser.id"}).MayMatch(span("anything")), "a rule without conditions matches every span")
	none := newTestMapper(t, "logs:\n  - name: l\n    event: e\n    distinct_id: ['\"x\"']\n")
	assert.False(t, none.SpanMatcher([]string{"enduser.id"}).MayMatch(span("anything")), "no span rules")
}

// A span_events rule may read the span's attributes ($exception's
// distinct_id): a span with events may match.
func TestSpanMatcherSpanEvents(t *testing.T) {
	m := newTestMapper(t, `
span_events:
  - name: exception
    event: $exception
    conditions: ['spanevent.name == "exception"']
    distinct_id: ['span.attributes["enduser.id"]']
`)
	sm := m.SpanMatcher([]string{"enduser.id"})
	s := ptrace.NewSpan()
	assert.False(t, sm.MayMatch(s), "no events, no span rules")
	s.Events().AppendEmpty().SetName("exception")
	assert.True(t, sm.MayMatch(s))
}
