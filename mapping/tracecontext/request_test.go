package tracecontext

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// twoServices is a request through a gateway and an engine service: the
// gateway's SERVER span (1) with the browser's request, its auth middleware
// (2) with the user, its handler (3), its CLIENT call (4), the engine's
// SERVER span (5) for that call, and engine.execute (6).
func twoServices() []sp {
	return []sp{
		{id: 1, name: "POST /api/run", attrs: map[string]string{
			"url.full": "https://app.example.com/api/run?x=1", "url.path": "/api/run", "http.request.method": "POST",
			"user_agent.original": "Mozilla/5.0", "client.address": "203.0.113.10",
		}, headers: map[string]string{
			"http.request.header.x-posthog-session-id": "019a5f3e-8c1d-7b2a-9e4f-5d0c1a2b3c4d",
			"http.request.header.x-posthog-window-id":  "019a5f3e-8c1e-7f10-8a3b-6e7f8091a2b3",
		}},
		{id: 2, parent: 1, name: "middleware", attrs: map[string]string{"enduser.id": "alice", "tenant.id": "acme"}},
		{id: 3, parent: 1, name: "handler"},
		{id: 4, parent: 3, name: "POST", kind: ptrace.SpanKindClient, attrs: map[string]string{"url.full": "http://engine:8080/execute"}},
		{id: 5, parent: 4, name: "POST /execute", kind: ptrace.SpanKindServer, attrs: map[string]string{
			"url.path": "/execute", "http.request.method": "POST", "user_agent.original": "node-fetch", "client.address": "10.0.0.5",
		}},
		{id: 6, parent: 5, name: "engine.execute"},
	}
}

// Every event of a trace carries its request, as posthog-node gives every
// capture made while a request is handled: engine.execute, two services
// away from the browser's request, gets its session, window, URL, method,
// agent and address. The engine's own SERVER span keeps its own request,
// with the trace's session. Arrival order does not matter.
func TestEveryEventCarriesItsRequest(t *testing.T) {
	m := newOrderMapper(t)
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		p := newPipeline(t, m, Config{Wait: 5 * time.Second})
		for _, s := range anyOrder(r, twoServices()) {
			p.push(push(1, s))
			p.clock.add(time.Second)
		}
		p.quiet()
		byName := map[string][]string{}
		for _, e := range p.events {
			name := strings.Fields(e)[2]
			byName[name] = append(byName[name], e+" ")
		}
		require.Len(t, byName["engine_executed"], 1, "round %d", round)
		engine := byName["engine_executed"][0]
		for _, want := range []string{
			" $current_url=https://app.example.com/api/run?x=1 ", " $request_path=/api/run ", " $request_method=POST ",
			" $user_agent=Mozilla/5.0 ", " $ip=203.0.113.10 ", " user_id=alice ", " tenant=acme ",
			" $session_id=019a5f3e-8c1d-7b2a-9e4f-5d0c1a2b3c4d $window_id=019a5f3e-8c1e-7f10-8a3b-6e7f8091a2b3 ",
		} {
			assert.Contains(t, engine, want, "round %d", round)
		}
		require.Len(t, byName["api_request"], 2)
		for _, api := range byName["api_request"] {
			assert.Contains(t, api, " alice ", "both requests are alice's")
			assert.Contains(t, api, " $session_id=019a5f3e-8c1d-7b2a-9e4f-5d0c1a2b3c4d ", "both in the browser's session")
			if strings.Contains(api, "$request_path=/execute") {
				assert.Contains(t, api, " $ip=10.0.0.5 ", "the engine's request is its own")
				assert.Contains(t, api, " $current_url=https://app.example.com/api/run?x=1 ", "it has no URL of its own: the trace's")
			}
		}
	}
}
