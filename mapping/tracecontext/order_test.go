package tracecontext

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// rules read the inherited attributes in distinct_id chains, properties
// and conditions alike.
var orderRules = map[string]any{
	"spans": []any{
		map[string]any{
			"name": "api", "event": "api_request",
			"conditions":  []any{`span.kind == SPAN_KIND_SERVER`},
			"distinct_id": []any{`span.attributes["enduser.id"]`},
			"properties":  map[string]any{"tenant": `span.attributes["tenant.id"]`},
		},
		map[string]any{
			"name": "engine", "event": "engine_executed",
			"conditions":  []any{`span.name == "engine.execute"`},
			"distinct_id": []any{`"engine"`},
			"properties":  map[string]any{"user_id": `span.attributes["enduser.id"]`, "tenant": `span.attributes["tenant.id"]`},
		},
		map[string]any{
			"name": "db", "event": "query",
			"conditions":  []any{`span.attributes["db.system.name"] != nil`},
			"distinct_id": []any{`"db"`},
			"properties":  map[string]any{"user_id": `span.attributes["enduser.id"]`},
		},
		map[string]any{
			// reads an inherited attribute in its condition
			"name": "acme-only", "event": "acme_call",
			"conditions":  []any{`span.attributes["tenant.id"] == "acme" and span.name == "handler"`},
			"distinct_id": []any{`span.attributes["enduser.id"]`, `"nobody"`},
		},
	},
	// A request's log record, which joins its trace.
	"logs": []any{
		map[string]any{
			"name": "rate", "event": "rate_limit_exceeded",
			"conditions":  []any{`log.event_name == "rate_limit_exceeded"`},
			"distinct_id": []any{`log.attributes["enduser.id"]`, `"nobody"`},
			"properties":  map[string]any{"tenant": `log.attributes["tenant.id"]`},
		},
	},
	// One $feature_flag_called per evaluation: the trace's flags given to
	// waiting spans must not add any.
	"span_events": []any{
		map[string]any{
			"name": "flag", "event": "$feature_flag_called",
			"conditions":  []any{`spanevent.name == "feature_flag.evaluation"`},
			"distinct_id": []any{`span.attributes["enduser.id"]`},
		},
	},
}

func newOrderMapper(t *testing.T) *mapping.Mapper {
	cfg := mapping.NewDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(orderRules).Unmarshal(&cfg))
	m, err := mapping.NewMapper(&cfg, mapping.Library{Name: "test", Version: "0"}, component.TelemetrySettings{Logger: zap.NewNop()})
	require.NoError(t, err)
	return m
}

// pipeline is the exporter's traces path without the queue: the stage,
// then the mapper, events kept as comparable strings.
type pipeline struct {
	t      *testing.T
	m      *mapping.Mapper
	stage  *Stage
	clock  *fakeClock
	events []string
}

func newPipeline(t *testing.T, m *mapping.Mapper, cfg Config) *pipeline {
	cfg.Attributes = []string{"enduser.id", "tenant.id"}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 100000
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 1000 * cfg.Wait
	}
	p := &pipeline{t: t, m: m, clock: &fakeClock{t: time.Unix(1700000000, 0)}}
	p.stage = New(cfg, m)
	p.stage.now = p.clock.now
	return p
}

// push is the exporter's ConsumeTraces.
func (p *pipeline) push(td ptrace.Traces) {
	var res mapping.Result
	_, err := p.stage.MapTraces(context.Background(), td, &res)
	require.NoError(p.t, err)
	p.record(&res)
}

// expire is the exporter's tick; stop its shutdown; quiet lets every trace
// go quiet and maps it.
func (p *pipeline) expire() { p.mapWith(p.stage.MapExpired) }
func (p *pipeline) quiet() {
	p.clock.add(p.stage.cfg.Wait)
	p.expire()
}
func (p *pipeline) stop() { p.mapWith(p.stage.MapRemaining) }

func (p *pipeline) mapWith(f func(context.Context, *mapping.Result, *mapping.Result) (Report, error)) {
	var spans, logs mapping.Result
	_, err := f(context.Background(), &spans, &logs)
	require.NoError(p.t, err)
	p.record(&spans)
	p.record(&logs)
}

// pushLogs is the exporter's ConsumeLogs.
func (p *pipeline) pushLogs(ld plog.Logs) {
	var res mapping.Result
	_, err := p.stage.MapLogs(context.Background(), ld, &res)
	require.NoError(p.t, err)
	p.record(&res)
}

// mapDirect maps td without the stage.
func (p *pipeline) mapDirect(td ptrace.Traces) {
	var res mapping.Result
	require.NoError(p.t, p.m.MapTraces(context.Background(), td, &res))
	p.record(&res)
}

func (p *pipeline) record(res *mapping.Result) { p.events = append(p.events, format(res)...) }

// mapConcurrent maps one push from a goroutine of its own: its events are
// returned, not recorded.
func (p *pipeline) mapConcurrent(td ptrace.Traces) []string {
	var res mapping.Result
	_, err := p.stage.MapTraces(context.Background(), td, &res)
	assert.NoError(p.t, err) //nolint:testifylint // in a goroutine of its own, where require cannot stop the test
	return format(&res)
}

// format gives each event as a comparable string: uuid, rule, name,
// distinct_id and every property.
func format(res *mapping.Result) []string {
	var out []string
	for _, ev := range res.Events {
		var b strings.Builder
		fmt.Fprintf(&b, "%x %s %s %s", ev.UUID, ev.Rule, ev.Name, ev.DistinctID)
		if ev.SessionID != "" {
			fmt.Fprintf(&b, " $session_id=%s $window_id=%s", ev.SessionID, ev.WindowID)
		}
		for _, pr := range ev.Properties {
			v := pr.Value
			if v == nil {
				v = pr.Raw.AsString()
			}
			fmt.Fprintf(&b, " %s=%v", pr.Key, v)
		}
		out = append(out, b.String())
	}
	return out
}

func (p *pipeline) sorted() []string {
	out := slices.Clone(p.events)
	slices.Sort(out)
	return out
}

// randomTrace builds a request's trace: a SERVER root, a middleware span
// (which no rule matches) that may carry the identity, a handler with
// engine and database spans below; identity sometimes also elsewhere.
// Children end before their parents, as the SDK records them.
func randomTrace(r *rand.Rand) []sp {
	spans := []sp{{id: 1, name: "GET /run"}}
	nextID := byte(2)
	add := func(parent byte, name string, attrs map[string]string) byte {
		id := nextID
		nextID++
		spans = append(spans, sp{id: id, parent: parent, name: name, start: int64(r.IntN(3)), attrs: attrs})
		return id
	}
	users := []string{"alice", "bob", "carol"}
	tenants := []string{"acme", "globex"}
	ident := map[string]string{}
	if r.IntN(5) > 0 {
		ident["enduser.id"] = users[r.IntN(len(users))]
	}
	if r.IntN(2) == 0 {
		ident["tenant.id"] = tenants[r.IntN(len(tenants))]
	}
	add(1, "middleware", ident)
	handler := add(1, "handler", nil)
	for range r.IntN(4) {
		var attrs map[string]string
		if r.IntN(4) == 0 { // a nearer ancestor with another user
			attrs = map[string]string{"enduser.id": "impersonated-" + users[r.IntN(len(users))]}
		}
		engine := add(handler, "engine.execute", attrs)
		for range r.IntN(3) {
			add(engine, "db.query", map[string]string{"db.system.name": "postgresql"})
		}
	}
	if r.IntN(3) == 0 {
		add(1, "middleware", map[string]string{"enduser.id": "late-" + users[r.IntN(len(users))]})
	}
	// Flag evaluations on any span, a key sometimes evaluated again later
	// (or at the same time) on another span.
	keys, variants := []string{"checkout", "engine-ui"}, []string{"control", "test", "redesign"}
	for range r.IntN(4) {
		i := r.IntN(len(spans))
		spans[i].flags = append(spans[i].flags, flagEval{key: keys[r.IntN(len(keys))], variant: variants[r.IntN(len(variants))], at: int64(r.IntN(3))})
	}
	return spans
}

// childrenFirst returns the spans in a random order in which every span
// comes after all its descendants: what an SDK can export.
func childrenFirst(r *rand.Rand, spans []sp) []sp {
	children := map[byte]int{}
	for _, s := range spans {
		if s.parent != 0 {
			children[s.parent]++
		}
	}
	left := slices.Clone(spans)
	var out []sp
	for len(left) > 0 {
		var ready []int
		for i, s := range left {
			if children[s.id] == 0 {
				ready = append(ready, i)
			}
		}
		i := ready[r.IntN(len(ready))]
		s := left[i]
		out = append(out, s)
		left = slices.Delete(left, i, i+1)
		if s.parent != 0 {
			children[s.parent]--
		}
	}
	return out
}

type tagged struct {
	trace byte
	span  sp
}

// interleave merges several traces' sequences, keeping each one's order.
func interleave(r *rand.Rand, seqs map[byte][]sp) []tagged {
	var keys []byte
	for k := range seqs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []tagged
	for {
		var live []byte
		for _, k := range keys {
			if len(seqs[k]) > 0 {
				live = append(live, k)
			}
		}
		if len(live) == 0 {
			return out
		}
		k := live[r.IntN(len(live))]
		out = append(out, tagged{k, seqs[k][0]})
		seqs[k] = seqs[k][1:]
	}
}

// requests splits the sequence into requests of random sizes.
func requests(r *rand.Rand, seq []tagged) []ptrace.Traces {
	var out []ptrace.Traces
	for len(seq) > 0 {
		n := 1 + r.IntN(min(len(seq), 6))
		td := ptrace.NewTraces()
		for _, s := range seq[:n] {
			push(s.trace, s.span).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
		out = append(out, td)
		seq = seq[n:]
	}
	return out
}

func TestOrderIndependence(t *testing.T) {
	m := newOrderMapper(t)
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		traces := map[byte][]sp{}
		for tr := range byte(1 + r.IntN(4)) {
			traces[tr] = randomTrace(r)
		}
		// Reference: each trace whole, in one request.
		ref := newPipeline(t, m, Config{Wait: 5 * time.Second})
		for tr, spans := range traces {
			before := len(ref.events)
			ref.push(push(tr, spans...))
			ref.quiet()
			assertTraceFlags(t, spans, ref.events[before:])
		}
		assert.Zero(t, ref.stage.Stop().Len())
		want := ref.sorted()
		require.NotEmpty(t, want)

		for round := range 5 {
			seqs := map[byte][]sp{}
			for tr, spans := range traces {
				seqs[tr] = childrenFirst(r, spans)
			}
			p := newPipeline(t, m, Config{Wait: 5 * time.Second})
			for _, td := range requests(r, interleave(r, seqs)) {
				p.push(td)
				p.clock.add(time.Duration(r.IntN(500)) * time.Millisecond)
			}
			p.quiet()
			assert.Zero(t, p.stage.Pending(), "seed %d round %d: every trace went quiet", seed, round)
			assert.Zero(t, p.stage.Stop().Len())
			require.Equal(t, want, p.sorted(), "seed %d round %d", seed, round)
		}
	}
}

// assertTraceFlags checks that every event of a trace but the
// $feature_flag_called ones carries $feature/<key> for every flag evaluated
// in the trace, and that the SERVER span's api_request, which evaluated
// none itself, carries the latest evaluation of each.
func assertTraceFlags(t *testing.T, spans []sp, events []string) {
	t.Helper()
	type won struct {
		at      int64
		id      byte
		variant string
	}
	latest := map[string]won{}
	rootOwn := false
	for _, s := range spans {
		for _, f := range s.flags {
			if w, ok := latest[f.key]; !ok || f.at > w.at || f.at == w.at && s.id >= w.id {
				latest[f.key] = won{f.at, s.id, f.variant}
			}
			rootOwn = rootOwn || s.id == 1
		}
	}
	for _, e := range events {
		e += " "
		if strings.Contains(e, " $feature_flag_called ") {
			continue
		}
		for k, w := range latest {
			assert.Contains(t, e, " $feature/"+k+"=", "every event of the trace carries its flags")
			if !rootOwn && strings.Contains(e, " api_request ") {
				assert.Contains(t, e, " $feature/"+k+"="+w.variant+" ", "the latest evaluation wins")
			}
		}
	}
}

// TestAdversarialOrdersLoseNothing: parents before children, and requests
// more than wait apart, change what spans inherit but never how many events
// there are or their uuids.
func TestAdversarialOrdersLoseNothing(t *testing.T) {
	m := newOrderMapper(t)
	// acme-only's condition reads an inherited attribute: a span that
	// stopped waiting before its tenant arrived does not match it.
	uuids := func(events []string, conditional bool) []string {
		var out []string
		for _, e := range events {
			if strings.Contains(e, " acme-only ") == conditional {
				id, _, _ := strings.Cut(e, " ")
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 11))
		spans := randomTrace(r)
		ref := newPipeline(t, m, Config{Wait: 5 * time.Second})
		ref.push(push(1, spans...))
		ref.quiet()
		want := uuids(ref.events, false)
		assert.Len(t, slices.Compact(slices.Clone(want)), len(want), "uuids are unique")
		// Inherited attributes are not among a uuid's inputs: the same
		// spans mapped without the stage give the same uuids.
		direct := newPipeline(t, m, Config{Wait: 5 * time.Second})
		direct.mapDirect(push(1, spans...))
		assert.Equal(t, want, uuids(direct.events, false))

		for _, tc := range []struct {
			name string
			gap  time.Duration
			rev  bool
		}{{"parents first", 0, true}, {"parents first, past wait", 6 * time.Second, true}, {"children first, past wait", 6 * time.Second, false}} {
			p := newPipeline(t, m, Config{Wait: 5 * time.Second})
			seq := childrenFirst(r, spans)
			if tc.rev {
				slices.Reverse(seq)
			}
			for _, s := range seq {
				p.push(push(1, s))
				p.clock.add(tc.gap)
				p.expire()
			}
			p.stop()
			assert.Equal(t, want, uuids(p.events, false), "seed %d: %s", seed, tc.name)
			conditional := uuids(p.events, true)
			assert.Len(t, slices.Compact(slices.Clone(conditional)), len(conditional), "no duplicates")
			assert.Subset(t, uuids(ref.events, true), conditional)
		}
	}
}

// Past MaxPending, the trace with the oldest first span stops waiting, all
// of it; its later spans are mapped as they arrive.
func TestMaxPendingOverflowsOldestFirst(t *testing.T) {
	s, _ := newTestStage(Config{Attributes: []string{"enduser.id"}, MaxPending: 2})
	var stopped []byte
	for tr := byte(1); tr <= 4; tr++ {
		_, b := s.Process(push(tr, sp{id: 2, parent: 1, name: "handler"}))
		for _, td := range []ptrace.Traces{b.Inherited, b.Plain} {
			if b.Len() == 0 {
				break
			}
			for _, rs := range td.ResourceSpans().All() {
				stopped = append(stopped, rs.ScopeSpans().At(0).Spans().At(0).TraceID()[0])
			}
		}
		if tr > 2 {
			assert.Equal(t, int64(1), b.Stopped[Overflow])
		}
	}
	assert.Equal(t, []byte{1, 2}, stopped, "oldest first")
	assert.Equal(t, 2, s.Pending())
	skip, b := s.Process(push(1, sp{id: 3, parent: 1, name: "handler"}))
	assert.True(t, skip(push(1, sp{id: 3, parent: 1}).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)))
	assert.Equal(t, 1, b.Len(), "trace 1 overflowed: its later span does not wait")
	assert.Empty(t, b.Stopped, "nor is it counted as waited")
	b = s.Stop()
	assert.Equal(t, int64(2), b.Stopped[Shutdown], "shutdown gives back every span still waiting")
}

func TestRememberedSpansAreBounded(t *testing.T) {
	s, clock := newTestStage(Config{Attributes: []string{"enduser.id"}, MaxPending: 10})
	for tr := range byte(200) {
		s.Process(push(tr, sp{id: 2, parent: 1, name: "middleware", attrs: u("x")}))
	}
	s.mu.Lock()
	assert.LessOrEqual(t, s.remembered, rememberedPerPending*10)
	s.mu.Unlock()
	clock.add(5 * time.Second)
	s.Expire()
	s.mu.Lock()
	assert.Zero(t, s.remembered, "traces nothing arrived in for wait are forgotten")
	assert.Empty(t, s.traces)
	s.mu.Unlock()
}

var _ = pcommon.NewValueEmpty

// Forgotten traces keep nothing they held, and the list by first span does
// not keep them until their max_wait: memory follows the live traces.
func TestForgottenTracesAreReleased(t *testing.T) {
	s, clock := newTestStage(Config{Attributes: []string{"enduser.id"}, MaxPending: 100000})
	for tr := range 3000 {
		s.Process(push(byte(tr), sp{id: 2, parent: 1, name: "handler"}))
		if tr%100 == 99 {
			clock.add(5 * time.Second) // every trace so far goes quiet
			s.Expire()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Less(t, len(s.byFirst), 1500, "compacted: most of the 3,000 traces are forgotten")
	for _, tr := range s.byFirst {
		if tr.forgotten {
			assert.Nil(t, tr.nodes, "a forgotten trace keeps no spans")
		}
	}
}
