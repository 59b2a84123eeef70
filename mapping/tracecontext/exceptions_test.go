package tracecontext

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// One thrown error recorded on the router's layer span (status unset) and
// on the handler's span (status ERROR), the layer's copy arriving first:
// one $exception, unhandled, whatever the order, as the copies agree.
func TestOneExceptionOnSeveralSpansIsUnhandledIfAnyCopySaysSo(t *testing.T) {
	for _, layerFirst := range []bool{true, false} {
		s, clock := newTestStage(Config{Attributes: []string{"enduser.id"}})
		layer := push(1, sp{id: 3, parent: 2, name: "layer"})
		handler := push(1, sp{id: 2, parent: 1, name: "handler"})
		for _, td := range []ptrace.Traces{layer, handler} {
			e := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Events().AppendEmpty()
			e.SetName("exception")
			e.Attributes().PutStr("exception.type", "TypeError")
			e.Attributes().PutStr("exception.message", "Invalid Version")
		}
		handler.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Status().SetCode(ptrace.StatusCodeError)
		order := []ptrace.Traces{layer, handler}
		if !layerFirst {
			order = []ptrace.Traces{handler, layer}
		}
		for _, td := range order {
			s.Process(td)
		}
		clock.add(5 * time.Second)
		b := s.Expire()
		require.Equal(t, 2, b.Len())
		for _, td := range []ptrace.Traces{b.Inherited, b.Plain} {
			for _, rs := range td.ResourceSpans().All() {
				span := rs.ScopeSpans().At(0).Spans().At(0)
				escaped, ok := span.Events().At(0).Attributes().Get("exception.escaped")
				assert.True(t, ok && escaped.Bool(), "%s (layer first: %v): every copy escaped", span.Name(), layerFirst)
			}
		}
	}
}
