package tracecontext

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var user = Config{Attributes: []string{"enduser.id", "tenant.id"}}

func u(id string) map[string]string { return map[string]string{"enduser.id": id} }

// resolveAll feeds one trace in one push, lets it go quiet, and returns
// what each held span ended with.
func resolveAll(t *testing.T, spans ...sp) map[byte]map[string]any {
	t.Helper()
	s, clock := newTestStage(user)
	skip, ready := s.Process(push(1, spans...))
	require.NotNil(t, skip)
	assert.Zero(t, ready.Len(), "whole or not, a trace waits until it goes quiet")
	clock.add(5 * time.Second)
	b := s.Expire()
	assert.Equal(t, 0, s.Pending())
	return spansOf(b)
}

func TestResolveAncestorWinsOverRoot(t *testing.T) {
	got := resolveAll(t,
		sp{id: 1, name: "root", attrs: u("root-user")},
		sp{id: 2, parent: 1, name: "handler", attrs: u("handler-user")},
		sp{id: 3, parent: 2, name: "engine"},
	)
	assert.Equal(t, "handler-user", got[3]["enduser.id"])
	assert.Equal(t, "root-user", got[1]["enduser.id"], "the root lacks tenant.id, so it was held too, and kept its own user")
}

func TestResolveOwnValueWins(t *testing.T) {
	got := resolveAll(t,
		sp{id: 1, name: "root", attrs: u("root-user")},
		sp{id: 2, parent: 1, name: "engine", attrs: u("own")},
	)
	assert.Equal(t, "own", got[2]["enduser.id"])
	assert.NotContains(t, got[2], "tenant.id", "no span has it: nothing is invented")
}

// The middleware pattern: identity on a sibling of the handler reaches the
// handler's descendants through the root's side of the tree.
func TestResolveSiblingsAndCousinsThroughTheRoot(t *testing.T) {
	got := resolveAll(t,
		sp{id: 1, name: "GET /run"},
		sp{id: 2, parent: 1, name: "middleware", attrs: map[string]string{"enduser.id": "alice", "tenant.id": "acme"}},
		sp{id: 3, parent: 1, name: "handler"},
		sp{id: 4, parent: 3, name: "engine.execute"},
		sp{id: 5, parent: 4, name: "db.query"},
	)
	for _, id := range []byte{1, 3, 4, 5} {
		assert.Equal(t, "alice", got[id]["enduser.id"], "span %d", id)
		assert.Equal(t, "acme", got[id]["tenant.id"], "span %d", id)
	}
	assert.NotContains(t, got, byte(2), "the middleware span matches no rule: not held")
}

func TestResolveNearestToRootThenEarliestThenLowestID(t *testing.T) {
	// Two candidates one hop from the root: the earlier start wins.
	got := resolveAll(t,
		sp{id: 1, name: "root"},
		sp{id: 2, parent: 1, name: "middleware", start: 20, attrs: u("late")},
		sp{id: 3, parent: 1, name: "middleware", start: 10, attrs: u("early")},
		sp{id: 4, parent: 1, name: "handler"},
		sp{id: 9, parent: 2, name: "middleware", start: 0, attrs: u("deeper")},
	)
	assert.Equal(t, "early", got[4]["enduser.id"])
	// Same depth and start: the lowest span id wins.
	got = resolveAll(t,
		sp{id: 1, name: "root"},
		sp{id: 7, parent: 1, name: "middleware", attrs: u("seven")},
		sp{id: 5, parent: 1, name: "middleware", attrs: u("five")},
		sp{id: 4, parent: 1, name: "handler"},
	)
	assert.Equal(t, "five", got[4]["enduser.id"])
}

// A trace waits until Wait has passed since its latest span, whatever has
// arrived; then every held span gets what is known. The root never arrives.
func TestQuietWaitCountsFromTheLatestSpan(t *testing.T) {
	s, clock := newTestStage(user)
	_, ready := s.Process(push(1, sp{id: 3, parent: 1, name: "handler"}))
	assert.Zero(t, ready.Len())
	clock.add(4 * time.Second)
	_, ready = s.Process(push(1, sp{id: 2, parent: 1, name: "middleware", attrs: u("alice")}))
	assert.Zero(t, ready.Len())
	clock.add(4 * time.Second)
	assert.Zero(t, s.Expire().Len(), "8s after the first span, but 4s after the latest: wait is 5s")
	clock.add(time.Second)
	b := s.Expire()
	assert.Equal(t, map[Outcome]int64{Quiet: 1}, b.Stopped)
	assert.Equal(t, "alice", spansOf(b)[3]["enduser.id"], "spans whose parent is unknown count as roots")
	assert.Equal(t, 0, s.Pending())
}

// A trace that never goes quiet is mapped MaxWait after its first span;
// its later spans are mapped as they arrive, with what is known.
func TestMaxWaitCapsATraceThatNeverGoesQuiet(t *testing.T) {
	s, clock := newTestStage(Config{Attributes: user.Attributes, Wait: 5 * time.Second, MaxWait: 12 * time.Second})
	s.Process(push(1, sp{id: 2, parent: 1, name: "middleware", attrs: u("alice")}))
	var b Batch
	for i := range byte(4) {
		clock.add(3 * time.Second)
		if b = s.Expire(); b.Len() > 0 {
			break
		}
		s.Process(push(1, sp{id: 3 + i, parent: 1, name: "handler"}))
	}
	assert.Equal(t, map[Outcome]int64{MaxWait: 3}, b.Stopped, "12s after the first span")
	assert.Equal(t, "alice", spansOf(b)[3]["enduser.id"])
	skip, ready := s.Process(push(1, sp{id: 9, parent: 1, name: "handler"}))
	require.NotNil(t, skip)
	assert.Equal(t, 1, ready.Len(), "after max_wait a span does not wait")
	assert.Empty(t, ready.Stopped, "nor is it counted as waited")
	assert.Equal(t, "alice", spansOf(ready)[9]["enduser.id"])
	assert.Equal(t, 0, s.Pending())
}

func TestCyclesAndSelfParentsNeitherHangNorPanic(t *testing.T) {
	s, clock := newTestStage(user)
	done := make(chan map[byte]map[string]any)
	go func() {
		_, r1 := s.Process(push(1,
			sp{id: 1, parent: 1, name: "self"},
			sp{id: 2, parent: 3, name: "a", attrs: u("x")},
			sp{id: 3, parent: 2, name: "b"},
			sp{id: 4, parent: 3, name: "c"},
		))
		clock.add(time.Minute)
		done <- merge(r1, s.Expire(), s.Stop())
	}()
	select {
	case got := <-done:
		assert.Len(t, got, 4, "every span lacks tenant.id: each held, and each given back once")
		assert.Equal(t, "x", got[3]["enduser.id"], "b's parent a has it")
		assert.Equal(t, "x", got[4]["enduser.id"])
	case <-time.After(10 * time.Second):
		t.Fatal("hung on a cycle")
	}
}

// skip names spans by trace and span id: the same span id in another trace
// of the push is mapped at once.
func TestSkipNamesTraceAndSpan(t *testing.T) {
	s, _ := newTestStage(Config{Attributes: []string{"enduser.id"}})
	td := push(1, sp{id: 3, parent: 1, name: "engine"})
	push(2, sp{id: 3, parent: 1, name: "middleware", attrs: u("bob")}).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	skip, _ := s.Process(td)
	require.NotNil(t, skip)
	assert.True(t, skip(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)), "held: it lacks enduser.id")
	assert.False(t, skip(td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0)), "no rule may match it: mapped now")
}
