package mapping

import (
	"context"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func newTestMapper(t testing.TB, src string) *Mapper {
	t.Helper()
	cfg := parseConfig(t.(*testing.T), src)
	m, err := NewMapper(&cfg, testLibrary, nopTelemetry())
	require.NoError(t, err)
	return m
}

func mapTraces(m *Mapper, td ptrace.Traces) (*Result, error) {
	res := &Result{}
	return res, m.MapTraces(context.Background(), td, res)
}

func twoSpans() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "api")
	ss := rs.ScopeSpans().AppendEmpty()
	for i, id := range []byte{1, 2} {
		s := ss.Spans().AppendEmpty()
		s.SetName("op")
		s.SetTraceID(pcommon.TraceID{id, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		s.SetSpanID(pcommon.SpanID{id, 1, 2, 3, 4, 5, 6, 7})
		s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
		s.SetEndTimestamp(pcommon.Timestamp(1_700_000_001_000_000_000 + i))
		s.Attributes().PutStr("user", "u")
	}
	return td
}

var uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func uuidsOf(res *Result) []string {
	var out []string
	for i := range res.Events {
		out = append(out, string(AppendUUID(nil, res.Events[i].UUID)))
	}
	return out
}

// TestUUIDIsDeterministic: the same record under the same rule gives the same
// uuid after a wire round trip (a retry, a restart, another replica); different
// records and different rules give different, valid uuids.
func TestUUIDIsDeterministic(t *testing.T) {
	const rules = `
defaults:
  distinct_id: ['span.attributes["user"]']
spans:
  - {name: first, event: a}
  - {name: second, event: b}
`
	td := twoSpans()
	first, err := mapTraces(newTestMapper(t, rules), td)
	require.NoError(t, err)

	// Another mapper, as on another replica, on a copy that went through the wire format.
	buf, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	copied, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf)
	require.NoError(t, err)
	second, err := mapTraces(newTestMapper(t, rules), copied)
	require.NoError(t, err)

	a, b := uuidsOf(first), uuidsOf(second)
	require.Len(t, a, 4)
	assert.Equal(t, a, b)
	seen := map[string]bool{}
	for _, u := range a {
		assert.Regexp(t, uuidV5, u)
		assert.False(t, seen[u], "uuid %s given twice", u)
		seen[u] = true
	}
}

// TestUUIDOfLogsWithoutIDs: log records have no id; records that differ in
// any field get different uuids, identical ones the same.
func TestUUIDOfLogsWithoutIDs(t *testing.T) {
	m := newTestMapper(t, `
logs:
  - {name: l, event: e, distinct_id: ['"x"']}
`)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, body := range []string{"a", "b", "a"} {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(1)
		lr.Body().SetStr(body)
	}
	res := &Result{}
	err := m.MapLogs(context.Background(), ld, res)
	require.NoError(t, err)
	u := uuidsOf(res)
	require.Len(t, u, 3)
	assert.NotEqual(t, u[0], u[1])
	assert.Equal(t, u[0], u[2])
}

func TestPropagateFailsThePush(t *testing.T) {
	m := newTestMapper(t, `
error_mode: propagate
spans:
  - name: fragile
    event: e
    distinct_id: ['"x"']
    properties:
      v: ParseJSON(span.attributes["user"])
`)
	err := m.MapTraces(context.Background(), twoSpans(), &Result{})
	require.Error(t, err)
	assert.ErrorContains(t, err, "rule fragile")
}

func TestSilentCountsWithoutError(t *testing.T) {
	m := newTestMapper(t, `
error_mode: silent
spans:
  - name: fragile
    event: e
    distinct_id: ['"x"']
    conditions: ['ParseJSON(span.attributes["user"]) != nil']
`)
	res := &Result{}
	err := m.MapTraces(context.Background(), twoSpans(), res)
	require.NoError(t, err)
	assert.Empty(t, res.Events)
	assert.Equal(t, int64(2), res.Stats[0].Dropped[DropEvaluationError])
	assert.Error(t, res.Stats[0].FirstError)
}

// TestConditionErrorDoesNotHideALaterMatch: conditions are ORed; one that
// fails to evaluate does not stop a later one from matching.
func TestConditionErrorDoesNotHideALaterMatch(t *testing.T) {
	m := newTestMapper(t, `
spans:
  - name: either
    event: e
    distinct_id: ['"x"']
    conditions:
      - ParseJSON(span.attributes["user"]) != nil
      - span.name == "op"
`)
	res := &Result{}
	err := m.MapTraces(context.Background(), twoSpans(), res)
	require.NoError(t, err)
	assert.Len(t, res.Events, 2)
	assert.Empty(t, res.Stats[0].Dropped)
}

// TestMapperIsSafeForConcurrentUse runs under -race in make test.
func TestMapperIsSafeForConcurrentUse(t *testing.T) {
	m := newTestMapper(t, `
spans:
  - name: all
    event: e
    distinct_id: ['span.attributes["user"]']
    properties:
      name: span.name
`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				res := &Result{}
				err := m.MapTraces(context.Background(), twoSpans(), res)
				assert.NoError(t, err)
				assert.Len(t, res.Events, 2)
			}
		}()
	}
	wg.Wait()
}
