package stacktrace_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/mapping/internal/stacktrace"
)

// TestWireListThroughTheEventEncoder checks the path the mapping package
// will take: WireList as a property value, written by Event.AppendJSON,
// reads back as the JSON encoding/json makes of the items.
func TestWireListThroughTheEventEncoder(t *testing.T) {
	items := stacktrace.BuildExceptionList("TypeError", "x is undefined",
		"TypeError: x is undefined\n    at f (/app/a.js:3:9)\n    at g (/app/node_modules/b/i.js:1:2)", true)
	ev := mapping.Event{Name: "$exception", DistinctID: "u1", Properties: []mapping.Property{
		{Key: "$exception_list", Value: stacktrace.WireList(items)},
	}}
	var got struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(ev.AppendJSON(nil), &got))
	want, err := json.Marshal(items)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got.Properties["$exception_list"]))
}
