package mapping

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func newTestExplainer(t *testing.T, src string) *Explainer {
	t.Helper()
	cfg := parseConfig(t, src)
	x, err := NewExplainer(&cfg, testLibrary, nopTelemetry())
	require.NoError(t, err)
	return x
}

// explainSpan explains the rules for a span named "checkout" of kind SERVER
// with attributes http.route "/cart", status 503, user "u1" and payload
// `{bad json`, on a resource of service "shop".
func explainSpan(x *Explainer) map[string]Outcome {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop")
	ss := rs.ScopeSpans().AppendEmpty()
	span := ss.Spans().AppendEmpty()
	span.SetName("checkout")
	span.SetKind(ptrace.SpanKindServer)
	span.SetTraceID([16]byte{1, 2, 3})
	span.SetSpanID([8]byte{4, 5, 6})
	span.SetStartTimestamp(1_700_000_000_000_000_000)
	span.SetEndTimestamp(1_700_000_000_250_000_000)
	span.Attributes().PutStr("http.route", "/cart")
	span.Attributes().PutInt("http.response.status_code", 503)
	span.Attributes().PutStr("user", "u1")
	span.Attributes().PutStr("payload", "{bad json")
	out := map[string]Outcome{}
	for _, o := range x.Span(context.Background(), rs, ss, span) {
		out[o.Rule] = o
	}
	return out
}

func TestExplainFailedTerm(t *testing.T) {
	x := newTestExplainer(t, `
defaults: {distinct_id: ['span.attributes["user"]']}
spans:
  - {name: matches, event: e, conditions: ['span.name == "checkout" and span.kind == SPAN_KIND_SERVER']}
  - {name: and, event: e, conditions: ['span.name == "checkout" and span.attributes["http.route"] == "/pay" and span.kind == SPAN_KIND_SERVER']}
  - {name: or-group, event: e, conditions: ['span.name == "checkout" and (span.attributes["user"] == "u2" or span.attributes["user"] == "u3")']}
  - {name: top-level-or, event: e, conditions: ['span.name == "nope" or span.name == "other"']}
  - {name: not, event: e, conditions: ['span.name == "checkout" and not (span.attributes["user"] == "u1" and span.kind == SPAN_KIND_SERVER)']}
  - {name: nested, event: e, conditions: ['(span.name == "checkout" and (span.kind == SPAN_KIND_SERVER and (span.attributes["http.response.status_code"] < 500 and span.attributes["user"] != nil)))']}
  - {name: converter, event: e, conditions: ['IsMatch(span.name, "^check") and Milliseconds(span.end_time - span.start_time) > 1000']}
  - {name: error, event: e, conditions: ['span.name == "checkout" and ParseJSON(span.attributes["payload"])["a"] == 1']}
  - {name: closest, event: e, conditions: ['span.name == "other"', 'span.name == "checkout" and span.kind == SPAN_KIND_CLIENT']}
  - {name: string-with-and, event: e, conditions: ['span.name == "a and b" and span.kind == SPAN_KIND_SERVER']}
`)
	got := explainSpan(x)

	assert.True(t, got["matches"].Matched)
	assert.Nil(t, got["matches"].Failed)
	require.NotNil(t, got["matches"].Event)
	assert.Equal(t, "u1", got["matches"].Event.DistinctID)

	want := map[string]FailedTerm{
		"and":             {0, `span.attributes["http.route"] == "/pay"`, `span.attributes["http.route"] is "/cart" (string), compared with "/pay" (string)`, false},
		"or-group":        {0, `(span.attributes["user"] == "u2" or span.attributes["user"] == "u3")`, "", false},
		"top-level-or":    {0, `span.name == "nope" or span.name == "other"`, "", false},
		"not":             {0, `not (span.attributes["user"] == "u1" and span.kind == SPAN_KIND_SERVER)`, "", false},
		"nested":          {0, `span.attributes["http.response.status_code"] < 500`, `span.attributes["http.response.status_code"] is 503 (int), compared with 500 (int)`, false},
		"converter":       {0, `Milliseconds(span.end_time - span.start_time) > 1000`, `Milliseconds(span.end_time - span.start_time) is 250 (int), compared with 1000 (int)`, false},
		"error":           {0, `ParseJSON(span.attributes["payload"])["a"] == 1`, "", false},
		"closest":         {1, `span.kind == SPAN_KIND_CLIENT`, `span.kind is 2 (int), compared with 3 (int)`, false},
		"string-with-and": {0, `span.name == "a and b"`, `span.name is "checkout" (string), compared with "a and b" (string)`, false},
	}
	for rule, w := range want {
		o := got[rule]
		assert.False(t, o.Matched, rule)
		assert.Nil(t, o.Event, rule)
		if assert.NotNil(t, o.Failed, rule) {
			assert.Equal(t, w, *o.Failed, rule)
		}
		if rule == "error" {
			assert.ErrorContains(t, o.Err, "invalid character", rule)
		} else {
			assert.NoError(t, o.Err, rule)
		}
	}
}

// A false comparison shows what it compared: the value and type of each
// side (a status sent as a string is not the number), or, for an attribute
// the record lacks, the nearest name it has.
func TestExplainShowsWhatWasCompared(t *testing.T) {
	x := newTestExplainer(t, `
spans:
  - {name: typo, event: e, distinct_id: ['"x"'], conditions: ['span.attributes["http.rout"] == "/cart"']}
  - {name: string-status, event: e, distinct_id: ['"x"'], conditions: ['span.attributes["status"] == 200']}
  - {name: absent, event: e, distinct_id: ['"x"'], conditions: ['span.attributes["zzz"] == "q"']}
`)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ss := rs.ScopeSpans().AppendEmpty()
	span := ss.Spans().AppendEmpty()
	span.Attributes().PutStr("http.route", "/cart")
	span.Attributes().PutStr("status", "200")
	got := map[string]string{}
	mistakes := map[string]bool{}
	for _, o := range x.Span(context.Background(), rs, ss, span) {
		require.NotNil(t, o.Failed, o.Rule)
		got[o.Rule] = o.Failed.Compared
		mistakes[o.Rule] = o.Failed.Mistake
	}
	assert.Equal(t, map[string]string{
		"typo":          `span has no attribute "http.rout"; it has "http.route"`,
		"string-status": `span.attributes["status"] is "200" (string), compared with 200 (int)`,
		"absent":        `span has no attribute "zzz"`,
	}, got)
	// An attribute with a near name, and sides of two types, look like
	// mistakes in the rule; an attribute simply absent does not.
	assert.Equal(t, map[string]bool{"typo": true, "string-status": true, "absent": false}, mistakes)
}

// A matched rule says which of its values read an attribute the record does
// not have: the event goes without them, and nothing else would tell.
func TestExplainNamesAbsentAttributes(t *testing.T) {
	x := newTestExplainer(t, `
defaults: {properties: {tenant: 'resource.attributes["tenant.id"]'}}
spans:
  - name: checkout
    event: checkout_completed
    distinct_id: ['"x"']
    properties: {amount: 'span.attributes["order.amout"]', currency: 'span.attributes["order.currency"]', route: 'Concat([span.attributes["nope"]], "")'}
    set: {plan: 'span.attributes["plan"]'}
    person_profiles: true
    attributes: [http.rout]
  - {name: unmatched, event: e, distinct_id: ['"x"'], conditions: ['false'], properties: {a: 'span.attributes["zzz"]'}}
`)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ss := rs.ScopeSpans().AppendEmpty()
	span := ss.Spans().AppendEmpty()
	span.Attributes().PutDouble("order.amount", 42.5)
	span.Attributes().PutStr("order.currency", "EUR")
	span.Attributes().PutStr("http.route", "/checkout")
	got := map[string][]string{}
	for _, o := range x.Span(context.Background(), rs, ss, span) {
		got[o.Rule] = o.Absent
	}
	assert.Equal(t, []string{
		`properties.amount: span has no attribute "order.amout"; it has "order.amount"`,
		`properties.tenant: resource has no attribute "tenant.id"`,
		`set.plan: span has no attribute "plan"`,
		`attributes[0]: span has no attribute "http.rout"; it has "http.route"`,
	}, got["checkout"], "an expression that is not one attribute (route) is not judged")
	assert.Empty(t, got["unmatched"], "only a matched rule's values are read")
}

func TestExplainDrops(t *testing.T) {
	x := newTestExplainer(t, `
defaults: {distinct_id: ['span.attributes["missing"]']}
spans:
  - {name: no-id, event: e}
  - {name: bad-property, event: e, distinct_id: ['"x"'], properties: {p: 'ParseJSON(span.attributes["payload"])'}}
  - {name: no-name, event_expression: 'span.attributes["missing"]', distinct_id: ['"x"']}
`)
	got := explainSpan(x)
	assert.True(t, got["no-id"].Matched)
	assert.Empty(t, got["no-id"].Dropped, "a span of a trace without an id gets its trace's own (personless)")
	assert.Equal(t, DropMissingEventName, got["no-name"].Dropped)
	assert.True(t, got["bad-property"].Matched)
	assert.Equal(t, DropEvaluationError, got["bad-property"].Dropped)
	require.ErrorContains(t, got["bad-property"].Err, "invalid character")
	assert.Nil(t, got["bad-property"].Event)
}

// An error_mode of propagate fails the exporter's push; the explainer still
// reports the error per rule and goes on with the other rules.
func TestExplainPropagateReportsPerRule(t *testing.T) {
	x := newTestExplainer(t, `
error_mode: propagate
defaults: {distinct_id: ['"x"']}
spans:
  - {name: error, event: e, conditions: ['ParseJSON(span.attributes["payload"])["a"] == 1']}
  - {name: ok, event: e}
`)
	got := explainSpan(x)
	require.Error(t, got["error"].Err)
	assert.True(t, got["ok"].Matched)
}

// TestExplainGolden explains every record of the golden cases one by one:
// the events and counts must be those of the mapper on the whole input.
func TestExplainGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "mapping", "*"))
	require.NoError(t, err)
	for _, dir := range dirs {
		if fileExists(filepath.Join(dir, "error.txt")) {
			continue // a config error: nothing to explain
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if fileExists(filepath.Join(dir, "error.txt")) {
				t.Skip("rules that must not validate: nothing to explain")
			}
			cfg := loadRules(t, filepath.Join(dir, "rules.yaml"))
			x, err := NewExplainer(&cfg, testLibrary, nopTelemetry())
			require.NoError(t, err)
			got := goldenOutput{Matched: map[string]int64{}}
			exceptions := map[[16]byte]bool{}
			add := func(outs []Outcome) {
				for _, o := range outs {
					got.Matched[o.Rule] += 0
					if !o.Matched {
						continue
					}
					got.Matched[o.Rule]++
					if o.Event != nil && o.Event.Name == ExceptionEvent && exceptions[o.Event.UUID] {
						// Explained one record at a time, the copies of an
						// exception on other spans show, with the same uuid;
						// the mapper sends the first of one call.
						o.Event, o.Dropped = nil, DropDuplicateException
					}
					if o.Event != nil {
						got.Events = append(got.Events, o.Event.AppendJSON(nil))
						exceptions[o.Event.UUID] = o.Event.Name == ExceptionEvent
					}
					if o.Dropped != "" {
						if got.Dropped == nil {
							got.Dropped = map[string]map[string]int64{}
						}
						if got.Dropped[o.Rule] == nil {
							got.Dropped[o.Rule] = map[string]int64{}
						}
						got.Dropped[o.Rule][string(o.Dropped)]++
					}
				}
			}
			// The golden mapper maps a whole file at once, rule by rule for each
			// record: the same order as explaining record by record.
			if path := filepath.Join(dir, "traces.yaml"); fileExists(path) {
				td, err := golden.ReadTraces(path)
				require.NoError(t, err)
				for _, rs := range td.ResourceSpans().All() {
					for _, ss := range rs.ScopeSpans().All() {
						for _, s := range ss.Spans().All() {
							add(x.Span(context.Background(), rs, ss, s))
							for i := range s.Events().Len() {
								add(x.SpanEvent(context.Background(), rs, ss, s, i))
							}
						}
					}
				}
			}
			if path := filepath.Join(dir, "logs.yaml"); fileExists(path) {
				ld, err := golden.ReadLogs(path)
				require.NoError(t, err)
				for _, rl := range ld.ResourceLogs().All() {
					for _, sl := range rl.ScopeLogs().All() {
						for _, lr := range sl.LogRecords().All() {
							add(x.Log(context.Background(), rl, sl, lr))
						}
					}
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, "events.json"))
			require.NoError(t, err)
			gotJSON, err := json.Marshal(got)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(gotJSON))
		})
	}
}
