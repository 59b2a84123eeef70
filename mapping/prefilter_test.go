package mapping

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestCondFilterReadsLeadingTerms(t *testing.T) {
	tests := []struct {
		cond, signal string
		want         condFilter
		attrs        []string // keys whose bits make want.attrBits, in index order
	}{
		{cond: `span.name == "engine.execute" and span.status.code != STATUS_CODE_ERROR`, signal: "span",
			want: condFilter{name: "engine.execute", hasName: true}},
		{cond: `span.kind == SPAN_KIND_SERVER and span.attributes["http.response.status_code"] >= 500`, signal: "span",
			want: condFilter{kind: ptrace.SpanKindServer, hasKind: true}, attrs: []string{"http.response.status_code"}},
		{cond: `span.attributes["db.system.name"] != nil and span.end_time - span.start_time > Duration("500ms")`, signal: "span",
			want: condFilter{durOp: ">", dur: 500 * time.Millisecond, hasDur: true}, attrs: []string{"db.system.name"}},
		{cond: `span.end_time - span.start_time <= Duration("1m30s")`, signal: "span",
			want: condFilter{durOp: "<=", dur: 90 * time.Second, hasDur: true}},
		// A literal Duration cannot parse fails in OTTL at run time: left to OTTL.
		{cond: `span.end_time - span.start_time > Duration("soon") and span.name == "x"`, signal: "span"},
		// Only end minus start, and only for spans.
		{cond: `span.start_time - span.end_time > Duration("1s")`, signal: "span"},
		{cond: `log.event_name == "rate_limit_exceeded"`, signal: "log",
			want: condFilter{name: "rate_limit_exceeded", hasName: true}},
		{cond: `span.attributes["cache.hit"] == true and span.name == "cache.get"`, signal: "span",
			want: condFilter{name: "cache.get", hasName: true}, attrs: []string{"cache.hit"}},
		// A term it does not understand ends the prefix: what follows may never be evaluated.
		{cond: `IsMatch(span.name, "x") and span.name == "y"`, signal: "span"},
		// `or` at the top level: no term is required.
		{cond: `span.name == "a" and span.kind == SPAN_KIND_SERVER or span.name == "b"`, signal: "span"},
		{cond: `span.name == "a" and span.kind == SPAN_KIND_SERVER or(span.name == "b")`, signal: "span"},
		// `or` inside parentheses or strings is not top level.
		{cond: `span.name == "a or b" and (span.kind == SPAN_KIND_SERVER or span.kind == SPAN_KIND_CLIENT)`, signal: "span",
			want: condFilter{name: "a or b", hasName: true}},
		// Not requirements: == nil and != "x" hold on a missing attribute; a path on the right may be nil.
		{cond: `span.attributes["a"] == nil`, signal: "span"},
		{cond: `span.attributes["a"] != "x"`, signal: "span"},
		{cond: `span.attributes["a"] == span.attributes["b"]`, signal: "span"},
		{cond: `not span.name == "x"`, signal: "span"},
		// A path of the other signal is not read as a requirement.
		{cond: `span.name == "x"`, signal: "log"},
		{cond: `log.event_name == "x"`, signal: "span"},
		// Span events: their name and attributes; a path of their span is not theirs.
		{cond: `spanevent.name == "exception" and spanevent.attributes["exception.type"] != nil`, signal: "spanevent",
			want: condFilter{name: "exception", hasName: true}, attrs: []string{"exception.type"}},
		{cond: `span.name == "x" and spanevent.name == "exception"`, signal: "spanevent"},
		{cond: `span.attributes["a"] != nil`, signal: "spanevent"},
		{cond: `spanevent.name == "x"`, signal: "span"},
		// Names that merely contain "and" or "or" are not operators.
		{cond: `span.attributes["brand"] == "x" and span.attributes["order"] > 1`, signal: "span",
			attrs: []string{"brand", "order"}},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			ix := &attrIndex{}
			got := newCondFilter(tt.cond, tt.signal, ix)
			want := tt.want
			for _, k := range tt.attrs {
				want.attrBits |= ix.bits[k]
				assert.NotZero(t, ix.bits[k], "key %q not indexed", k)
			}
			assert.Equal(t, want, got)
		})
	}
}

// equivalenceRules mix every form the prefilter reads with forms it must
// leave alone, conditions that fail to evaluate before and after the
// terms it reads, and ORed conditions.
const equivalenceRules = `
error_mode: ignore
defaults:
  distinct_id: ['span.attributes["user"]', '"anon"']
spans:
  - {name: by-name, event: a, conditions: ['span.name == "engine.execute" and span.status.code != STATUS_CODE_ERROR']}
  - {name: by-kind-attr, event: b, conditions: ['span.kind == SPAN_KIND_SERVER and span.attributes["code"] >= 500']}
  - {name: by-attr, event: c, conditions: ['span.attributes["db"] != nil and span.end_time - span.start_time > Duration("5ms")']}
  - {name: error-after, event: d, conditions: ['span.name == "parse" and ParseJSON(span.attributes["payload"]) != nil']}
  - {name: error-before, event: e, conditions: ['ParseJSON(span.attributes["payload"]) != nil and span.name == "parse"']}
  - {name: ored, event: f, conditions: ['span.name == "x" and span.kind == SPAN_KIND_CLIENT or span.attributes["flag"] == true', 'span.attributes["code"] < 300']}
  - {name: not-nil-eq, event: g, conditions: ['span.attributes["db"] == nil and span.name == "engine.execute"']}
  - {name: ne-literal, event: h, conditions: ['span.attributes["db"] != "postgres" and span.kind == SPAN_KIND_INTERNAL']}
  - {name: slow, event: j, conditions: ['span.end_time - span.start_time >= Duration("7ms") and span.name != "x"']}
  - {name: fast-server, event: k, conditions: ['span.end_time - span.start_time < Duration("2ms") and span.kind == SPAN_KIND_SERVER']}
  - {name: always, event: i}
logs:
  - {name: log-name, event: l1, distinct_id: ['"x"'], conditions: ['log.event_name == "rate_limit_exceeded" and log.attributes["limit"] > 10']}
  - {name: log-error, event: l2, distinct_id: ['"x"'], conditions: ['log.event_name == "parse" and ParseJSON(log.body) != nil']}
  - {name: log-attr, event: l3, distinct_id: ['"x"'], conditions: ['log.attributes["limit"] != nil']}
span_events:
  - {name: ev-name, event: se1, conditions: ['spanevent.name == "exception" and spanevent.attributes["exception.type"] == "TypeError"']}
  - {name: ev-attr, event: se2, conditions: ['spanevent.attributes["n"] > 2 and span.name == "parse"']}
  - {name: ev-error, event: se3, conditions: ['spanevent.name == "cart" and ParseJSON(spanevent.attributes["payload"]) != nil']}
  - {name: ev-exception, event: $exception, conditions: ['spanevent.name == "exception"']}
  - {name: ev-flag, event: $feature_flag_called, distinct_id: ['"x"'], conditions: ['spanevent.name == "feature_flag.evaluation"']}
`

// randomTraces builds spans from a small vocabulary, so that every rule
// matches some, fails on some, and errors on some.
func randomTraces(r *rand.Rand, n int) ptrace.Traces {
	names := []string{"engine.execute", "parse", "x", "cache.get", "GET /"}
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		s := spans.AppendEmpty()
		s.SetName(names[r.IntN(len(names))])
		s.SetKind(ptrace.SpanKind(r.IntN(6)))
		s.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), 1})
		s.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 2})
		s.SetStartTimestamp(1_000_000)
		s.SetEndTimestamp(pcommon.Timestamp(1_000_000 + r.IntN(10_000_000)))
		if r.IntN(2) == 0 {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		a := s.Attributes()
		if r.IntN(2) == 0 {
			a.PutInt("code", int64(100*(1+r.IntN(5))))
		}
		if r.IntN(3) == 0 {
			a.PutStr("code", "500") // a string where a number is compared
		}
		if r.IntN(2) == 0 {
			a.PutStr("db", []string{"postgres", "redis"}[r.IntN(2)])
		}
		if r.IntN(2) == 0 {
			a.PutStr("payload", []string{`{"a":1}`, `{bad`}[r.IntN(2)])
		}
		if r.IntN(3) == 0 {
			a.PutBool("flag", r.IntN(2) == 0)
		}
		if r.IntN(2) == 0 {
			a.PutStr("user", "u")
		}
		for range r.IntN(3) {
			e := s.Events().AppendEmpty()
			e.SetName([]string{"exception", "cart", "feature_flag.evaluation", "x"}[r.IntN(4)])
			e.SetTimestamp(pcommon.Timestamp(1_000_000 + r.IntN(1000)))
			ea := e.Attributes()
			if r.IntN(2) == 0 {
				ea.PutStr("exception.type", []string{"TypeError", "KeyError"}[r.IntN(2)])
			}
			if r.IntN(2) == 0 {
				ea.PutInt("n", int64(r.IntN(5)))
			}
			if r.IntN(2) == 0 {
				ea.PutStr("payload", []string{`{"a":1}`, `{bad`}[r.IntN(2)])
			}
			if r.IntN(2) == 0 {
				ea.PutStr("feature_flag.key", []string{"f1", "f2"}[r.IntN(2)])
				ea.PutBool("feature_flag.result.value", r.IntN(2) == 0)
			}
		}
	}
	return td
}

func randomLogs(r *rand.Rand, n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(i + 1))
		lr.SetEventName([]string{"rate_limit_exceeded", "parse", ""}[r.IntN(3)])
		lr.Body().SetStr([]string{`{"a":1}`, `{bad`}[r.IntN(2)])
		if r.IntN(2) == 0 {
			lr.Attributes().PutInt("limit", int64(r.IntN(20)))
		}
	}
	return ld
}

// TestPrefilterIsEquivalent maps the same random records with and without
// the prefilter: the events, matches, drops and errors must be identical.
func TestPrefilterIsEquivalent(t *testing.T) {
	fast := newTestMapper(t, equivalenceRules)
	slow := newTestMapper(t, equivalenceRules)
	slow.noPrefilter = true
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 1))
		td, ld := randomTraces(r, 200), randomLogs(r, 100)
		assertSameResults(t, fast, slow, func(m *Mapper, res *Result) error { return m.MapTraces(context.Background(), td, res) })
		assertSameResults(t, fast, slow, func(m *Mapper, res *Result) error { return m.MapLogs(context.Background(), ld, res) })
	}
}

func assertSameResults(t *testing.T, fast, slow *Mapper, run func(*Mapper, *Result) error) {
	t.Helper()
	var a, b Result
	require.NoError(t, run(fast, &a))
	require.NoError(t, run(slow, &b))
	require.Equal(t, encodeAll(b.Events), encodeAll(a.Events))
	require.Len(t, a.Stats, len(b.Stats))
	var matched int64
	for i := range a.Stats {
		assert.Equal(t, b.Stats[i].Matched, a.Stats[i].Matched, a.Stats[i].Rule)
		assert.Equal(t, b.Stats[i].Dropped, a.Stats[i].Dropped, a.Stats[i].Rule)
		assert.Equal(t, b.Stats[i].FirstError != nil, a.Stats[i].FirstError != nil, a.Stats[i].Rule)
		matched += a.Stats[i].Matched
	}
	assert.Positive(t, matched, "the random records must match something")
}

func encodeAll(events []Event) []string {
	out := make([]string, len(events))
	for i := range events {
		out[i] = string(events[i].AppendJSON(nil))
	}
	return out
}

// FuzzPrefilterIsEquivalent lets the fuzzer choose the records.
func FuzzPrefilterIsEquivalent(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(7), uint64(99))
	fast := newTestMapper(&testing.T{}, equivalenceRules)
	slow := newTestMapper(&testing.T{}, equivalenceRules)
	slow.noPrefilter = true
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		r := rand.New(rand.NewPCG(s1, s2))
		td := randomTraces(r, 20)
		var a, b Result
		require.NoError(t, fast.MapTraces(context.Background(), td, &a))
		require.NoError(t, slow.MapTraces(context.Background(), td, &b))
		ja, _ := json.Marshal(encodeAll(a.Events))
		jb, _ := json.Marshal(encodeAll(b.Events))
		require.JSONEq(t, string(jb), string(ja))
		for i := range a.Stats {
			require.Equal(t, b.Stats[i].Dropped, a.Stats[i].Dropped)
		}
	})
}
