package tracecontext

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The request's SERVER span carries the flag its handler evaluated, though
// the handler, a child, arrived first in its own push; the SERVER span has
// every listed attribute, yet it waits for its trace.
func TestServerSpanCarriesFlagOfChild(t *testing.T) {
	p := newPipeline(t, newOrderMapper(t), Config{Wait: 5 * time.Second})
	ident := map[string]string{"enduser.id": "alice", "tenant.id": "acme"}
	p.push(push(1, sp{id: 3, parent: 1, name: "handler", flags: []flagEval{{key: "new-checkout", variant: "test"}}}))
	p.push(push(1, sp{id: 2, parent: 1, name: "middleware", attrs: ident}))
	p.push(push(1, sp{id: 1, name: "POST /checkout", attrs: ident}))
	p.quiet()
	require.Zero(t, p.stage.Pending())

	var api, called []string
	for _, e := range p.events {
		switch {
		case strings.Contains(e, " api_request "):
			api = append(api, e)
		case strings.Contains(e, " $feature_flag_called "):
			called = append(called, e)
		}
	}
	require.Len(t, api, 1)
	assert.Contains(t, api[0]+" ", " $feature/new-checkout=test ")
	assert.Len(t, called, 1, "the trace's flags make no extra $feature_flag_called")
	assert.NotContains(t, strings.Join(p.events, "\n"), "posthogexporter.trace_flags", "no rule reads the reserved attribute here")
}

// A span's own evaluation of a flag wins over the trace's latest one.
func TestOwnFlagEvaluationWins(t *testing.T) {
	p := newPipeline(t, newOrderMapper(t), Config{Wait: 5 * time.Second})
	p.push(push(1,
		sp{id: 3, parent: 1, name: "handler", flags: []flagEval{{key: "f", variant: "later", at: 9}}},
		sp{id: 1, name: "GET /", attrs: u("alice"), flags: []flagEval{{key: "f", variant: "own", at: 1}}},
	))
	p.quiet()
	var api string
	for _, e := range p.events {
		if strings.Contains(e, " api_request ") {
			api = e + " "
		}
	}
	assert.Contains(t, api, " $feature/f=own ")
}
