package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const exceptionRules = `
span_events:
  - name: exceptions
    event: $exception
    distinct_id: ['"u"']
    conditions: ['spanevent.name == "exception"']
`

const nodeStack = `TypeError: Cannot read properties of undefined (reading 'id')
    at handler (/app/src/orders.js:12:20)
    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)`

// exceptionSpan appends a span of trace tid recording the same thrown
// TypeError, as Express records it on each span the error passes through.
func exceptionSpan(spans ptrace.SpanSlice, tid byte, sid byte, start int64) {
	s := spans.AppendEmpty()
	s.SetName("span")
	s.SetTraceID(pcommon.TraceID{tid, 1})
	s.SetSpanID(pcommon.SpanID{sid, 2})
	s.SetStartTimestamp(pcommon.Timestamp(start))
	s.SetEndTimestamp(pcommon.Timestamp(start + 1000))
	e := s.Events().AppendEmpty()
	e.SetName("exception")
	e.SetTimestamp(pcommon.Timestamp(start + 500))
	e.Attributes().PutStr("exception.type", "TypeError")
	e.Attributes().PutStr("exception.message", "Cannot read properties of undefined (reading 'id')")
	e.Attributes().PutStr("exception.stacktrace", nodeStack)
	e.Attributes().PutBool("exception.escaped", true)
}

func newSpans() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	return td, td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
}

// One exception recorded on several spans of one trace is one $exception:
// one event per call, and the same uuid whichever span and batch it came
// in, so PostHog deduplicates the copies of other batches. Another trace's
// same exception is another event.
func TestExceptionOncePerTrace(t *testing.T) {
	m := newTestMapper(t, exceptionRules)

	both, spans := newSpans()
	exceptionSpan(spans, 1, 1, 1_000)
	exceptionSpan(spans, 1, 2, 2_000)
	res, err := mapTraces(m, both)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, int64(2), res.Stats[0].Matched)
	assert.Equal(t, map[DropReason]int64{DropDuplicateException: 1}, res.Stats[0].Dropped)
	first := res.Events[0].UUID

	// The child span exported in its own request, before its parent.
	child, spans := newSpans()
	exceptionSpan(spans, 1, 2, 2_000)
	res, err = mapTraces(m, child)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, first, res.Events[0].UUID)

	parent, spans := newSpans()
	exceptionSpan(spans, 1, 1, 1_000)
	res, err = mapTraces(m, parent)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, first, res.Events[0].UUID)

	other, spans := newSpans()
	exceptionSpan(spans, 2, 1, 1_000)
	res, err = mapTraces(m, other)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.NotEqual(t, first, res.Events[0].UUID)
	assert.Regexp(t, uuidV5, string(AppendUUID(nil, res.Events[0].UUID)))

	// A Result reused for the next call forgets the exceptions of the last.
	reused := &Result{}
	for range 2 {
		require.NoError(t, m.MapTraces(t.Context(), both, reused))
		assert.Len(t, reused.Events, 1)
	}
}

// Without a trace there is nothing to scope an exception by: each record is
// its own event, as for any other rule.
func TestExceptionWithoutTraceIsPerRecord(t *testing.T) {
	m := newTestMapper(t, exceptionRules)
	td, spans := newSpans()
	exceptionSpan(spans, 0, 0, 1_000)
	exceptionSpan(spans, 0, 0, 2_000)
	for i := range spans.Len() {
		spans.At(i).SetTraceID(pcommon.TraceID{})
		spans.At(i).SetSpanID(pcommon.SpanID{})
	}
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 2)
	assert.NotEqual(t, res.Events[0].UUID, res.Events[1].UUID)
}

// A rule's properties win over the built ones of the same key.
func TestExceptionRulePropertiesWin(t *testing.T) {
	m := newTestMapper(t, `
span_events:
  - event: $exception
    distinct_id: ['"u"']
    properties:
      $exception_fingerprint: '"mine"'
      handler: span.name
`)
	td, spans := newSpans()
	exceptionSpan(spans, 1, 1, 1_000)
	spans.At(0).Events().At(0).Attributes().PutStr("exception.stacktrace", "no frames here")
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	props := map[string]any{}
	for _, p := range res.Events[0].Properties {
		props[p.Key] = p.Any()
	}
	assert.Equal(t, "mine", props[ExceptionFingerprintKey])
	assert.Equal(t, "span", props["handler"])
	assert.Contains(t, props, ExceptionListKey)
}

// The flag's exposure is handed to the exporter, which suppresses repeats.
func TestFlagExposure(t *testing.T) {
	m := newTestMapper(t, `
span_events:
  - event: $feature_flag_called
    conditions: ['spanevent.name == "feature_flag.evaluation"']
`)
	td, spans := newSpans()
	s := spans.AppendEmpty()
	e := s.Events().AppendEmpty()
	e.SetName("feature_flag.evaluation")
	e.Attributes().PutStr("feature_flag.key", "new-checkout")
	e.Attributes().PutStr("feature_flag.result.variant", "test")
	e.Attributes().PutStr("feature_flag.context.id", "user-1")
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, "user-1", res.Events[0].DistinctID)
	assert.Equal(t, &FlagExposure{Key: "new-checkout", Response: "test"}, res.Events[0].Exposure)
}

// The evaluation's context id is the flag's user even when the defaults give
// a chain: only the rule's own chain replaces it.
func TestFlagContextIDBeatsDefaults(t *testing.T) {
	m := newTestMapper(t, `
defaults: {distinct_id: ['resource.attributes["service.name"]']}
span_events:
  - name: flags
    event: $feature_flag_called
  - name: own
    event: $feature_flag_called
    distinct_id: ['"mine"']
`)
	td, spans := newSpans()
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", "svc")
	e := spans.AppendEmpty().Events().AppendEmpty()
	e.SetName("feature_flag.evaluation")
	e.Attributes().PutStr("feature_flag.key", "k")
	e.Attributes().PutBool("feature_flag.result.value", true)
	e.Attributes().PutStr("feature_flag.context.id", "user-1")
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 2)
	assert.Equal(t, "user-1", res.Events[0].DistinctID)
	assert.Equal(t, "mine", res.Events[1].DistinctID)
}

// A span that waited for its trace carries the trace's flags in
// TraceFlagsAttribute: $feature/<key> on its events, filtered by providers,
// never over the span's own evaluation nor a $feature_flag_called's own
// response.
func TestTraceFlagsOnSpanEvents(t *testing.T) {
	m := newTestMapper(t, `
feature_flags: {providers: [posthog]}
spans:
  - event: api_request
    distinct_id: ['"u"']
span_events:
  - event: $feature_flag_called
    conditions: ['spanevent.name == "feature_flag.evaluation"']
`)
	td, spans := newSpans()
	s := spans.AppendEmpty()
	PutTraceFlags(s.Attributes(), map[string]FlagEvaluation{
		"checkout": {Key: "checkout", Response: "test", Provider: "posthog"},
		"beta":     {Key: "beta", Response: true, Provider: "posthog"},
		"other":    {Key: "other", Response: "x", Provider: "flagd"},
		"own":      {Key: "own", Response: "trace", Provider: "posthog"},
	})
	e := s.Events().AppendEmpty()
	e.SetName("feature_flag.evaluation")
	e.Attributes().PutStr("feature_flag.key", "own")
	e.Attributes().PutStr("feature_flag.result.variant", "span")
	e.Attributes().PutStr("feature_flag.provider.name", "posthog")
	e.Attributes().PutStr("feature_flag.context.id", "user-1")
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 2, "the attribute makes no $feature_flag_called")
	for _, ev := range res.Events {
		props := map[string]any{}
		for _, p := range ev.Properties {
			props[p.Key] = p.Value
		}
		assert.Equal(t, "test", props["$feature/checkout"], ev.Name)
		assert.Equal(t, true, props["$feature/beta"], ev.Name)
		assert.NotContains(t, props, "$feature/other", "%s: provider not listed", ev.Name)
		assert.Equal(t, "span", props["$feature/own"], "%s: the span's own evaluation wins", ev.Name)
	}
}

func propsOf(ev *Event) map[string]any {
	out := map[string]any{}
	for _, p := range ev.Properties {
		out[p.Key] = p.Any()
	}
	return out
}

// A boolean flag is exposed as a JSON boolean, not as OpenFeature's "on"
// variant, which PostHog's experiments would read as a variant; the
// evaluation's reason and version go along, as PostHog's SDKs send them.
// The request's events carry $active_feature_flags.
func TestBooleanFlagExposure(t *testing.T) {
	m := newTestMapper(t, `
spans:
  - {name: request, event: request, distinct_id: ['"u"']}
span_events:
  - event: $feature_flag_called
    conditions: ['spanevent.name == "feature_flag.evaluation"']
`)
	td, spans := newSpans()
	s := spans.AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1})
	for _, f := range []struct {
		key     string
		variant string
		value   any
	}{{"dark-mode", "on", true}, {"beta", "off", false}, {"checkout", "test", "test"}} {
		e := s.Events().AppendEmpty()
		e.SetName("feature_flag.evaluation")
		e.Attributes().PutStr("feature_flag.key", f.key)
		e.Attributes().PutStr("feature_flag.result.variant", f.variant)
		require.NoError(t, e.Attributes().PutEmpty("feature_flag.result.value").FromRaw(f.value))
		e.Attributes().PutStr("feature_flag.result.reason", "TARGETING_MATCH")
		e.Attributes().PutStr("feature_flag.version", "7")
		e.Attributes().PutStr("feature_flag.context.id", "user-1")
	}
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 4)
	request := propsOf(&res.Events[0])
	assert.Equal(t, true, request["$feature/dark-mode"])
	assert.Equal(t, false, request["$feature/beta"])
	assert.Equal(t, []string{"checkout", "dark-mode"}, request[ActiveFeatureFlagsKey], "false is not active")
	exposure := propsOf(&res.Events[1])
	assert.Equal(t, true, exposure[FeatureFlagResponseKey], "a JSON boolean")
	assert.Equal(t, "TARGETING_MATCH", exposure[FeatureFlagReasonKey])
	assert.Equal(t, "7", exposure[FeatureFlagVersionKey])
	assert.Equal(t, "user-1", res.Events[1].DistinctID, "the evaluation's targeting key")
	assert.Equal(t, "test", propsOf(&res.Events[3])[FeatureFlagResponseKey], "a variant stays a variant")
}

// An exception recorded on a span that ended with status ERROR ended the
// request: unhandled, at level error, with the request's status code, as
// posthog-node's Express error handler sends it. A handled error log keeps
// its severity as the level.
func TestExceptionUnhandledOnErrorSpan(t *testing.T) {
	m := newTestMapper(t, exceptionRules)
	td, spans := newSpans()
	exceptionSpan(spans, 1, 1, 1_000)
	s := spans.At(0)
	s.Events().At(0).Attributes().Remove("exception.escaped") // deprecated, often absent
	s.SetKind(ptrace.SpanKindServer)
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Attributes().PutInt("http.response.status_code", 500)
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	p := propsOf(&res.Events[0])
	list := p[ExceptionListKey].([]any)
	assert.Equal(t, false, list[0].(map[string]any)["mechanism"].(map[string]any)["handled"])
	assert.Equal(t, "error", p[ExceptionLevelKey])
	assert.Equal(t, int64(500), p[ResponseStatusCodeKey])

	s.Status().SetCode(ptrace.StatusCodeUnset)
	res, err = mapTraces(m, td)
	require.NoError(t, err)
	list = propsOf(&res.Events[0])[ExceptionListKey].([]any)
	assert.Equal(t, true, list[0].(map[string]any)["mechanism"].(map[string]any)["handled"], "neither escaped nor ERROR: handled")
}

// An exposure and an exception of a trace whose request event names a
// company carry that company, personful: PostHog drops groups from
// personless events, and group experiments count exposures by group.
func TestExposuresAndExceptionsShareTheirTracesGroups(t *testing.T) {
	m := newTestMapper(t, `
spans:
  - name: request
    event: request
    distinct_id: ['"u"']
    person_profiles: true
    groups:
      company: span.attributes["company.id"]
span_events:
  - event: $feature_flag_called
    conditions: ['spanevent.name == "feature_flag.evaluation"']
  - event: $exception
    distinct_id: ['"u"']
    conditions: ['spanevent.name == "exception"']
`)
	td, spans := newSpans()
	s := spans.AppendEmpty()
	s.SetTraceID(pcommon.TraceID{9})
	s.SetSpanID(pcommon.SpanID{9})
	s.Attributes().PutStr("company.id", "acme")
	e := s.Events().AppendEmpty()
	e.SetName("feature_flag.evaluation")
	e.Attributes().PutStr("feature_flag.key", "new-checkout")
	e.Attributes().PutStr("feature_flag.result.variant", "test")
	e.Attributes().PutStr("feature_flag.context.id", "user-1")
	x := s.Events().AppendEmpty()
	x.SetName("exception")
	x.Attributes().PutStr("exception.type", "TypeError")
	other := spans.AppendEmpty() // another trace: no company
	other.SetTraceID(pcommon.TraceID{8})
	other.Events().AppendEmpty().SetName("exception")
	other.Events().At(0).Attributes().PutStr("exception.type", "KeyError")
	res, err := mapTraces(m, td)
	require.NoError(t, err)
	require.Len(t, res.Events, 5)
	for _, ev := range res.Events {
		if ev.trace == (pcommon.TraceID{8}) {
			assert.Empty(t, ev.Groups, "%s of another trace", ev.Name)
			if ev.Name == ExceptionEvent {
				assert.False(t, ev.PersonProfiles, "stays personless")
			}
			continue
		}
		require.Len(t, ev.Groups, 1, ev.Name)
		assert.Equal(t, "acme", ev.Groups[0].Any(), ev.Name)
		assert.True(t, ev.PersonProfiles, ev.Name)
	}
}
