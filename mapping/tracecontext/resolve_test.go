package tracecontext

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var user = Config{Attributes: []string{"enduser.id", "tenant.id"}}

func u(id string) map[string]string { return map[string]string{"enduser.id": id} }

// resolveAll feeds one complete trace in one push and returns what each
// held span ended with.
func resolveAll(t *testing.T, spans ...sp) map[byte]map[string]any {
	t.Helper()
	s, _ := newTestStage(user)
	skip, ready := s.Process(push(1, spans...))
	require.NotNil(t, skip)
	assert.Equal(t, 0, s.Pending(), "the trace is complete: nothing waits")
	return spansOf(ready)
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

func TestMissingParentWaitsThenUsesWhatIsKnown(t *testing.T) {
	s, clock := newTestStage(user)
	// The root (1) never arrives.
	_, ready := s.Process(push(1,
		sp{id: 2, parent: 1, name: "middleware", attrs: u("alice")},
		sp{id: 3, parent: 1, name: "handler"},
	))
	assert.Zero(t, ready.Len())
	assert.Equal(t, 1, s.Pending())
	clock.add(4 * time.Second)
	assert.Zero(t, s.Expire().Len(), "not yet: wait is 5s")
	clock.add(time.Second)
	b := s.Expire()
	assert.Equal(t, int64(1), b.Stopped[Timeout])
	assert.Equal(t, "alice", spansOf(b)[3]["enduser.id"], "spans whose parent is unknown count as roots")
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

// Only spans that waited for a later push count as waited.
func TestStoppedCountsOnlySpansThatWaited(t *testing.T) {
	s, clock := newTestStage(user)
	_, b := s.Process(push(1, sp{id: 3, parent: 1, name: "engine"}))
	assert.Zero(t, b.Len())
	clock.add(time.Millisecond)
	_, b = s.Process(push(1, sp{id: 1, name: "root"}, sp{id: 2, parent: 1, name: "middleware", attrs: u("alice")}))
	assert.Equal(t, map[Outcome]int64{Complete: 1}, b.Stopped, "the engine span waited; the root, complete on arrival, did not")
	assert.Equal(t, 2, b.Len())
	assert.Equal(t, "alice", spansOf(b)[1]["enduser.id"])
	assert.Equal(t, "alice", spansOf(b)[3]["enduser.id"])
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
