package mapping

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestStringifyContainers: a map used as a distinct_id or group key becomes
// the JSON the encoder writes, even with values encoding/json refuses; an
// array gives its first element (headers are recorded as string arrays).
func TestStringifyContainers(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("user", "u1")
	m.PutDouble("score", math.NaN())
	got, ok := stringify(m)
	assert.True(t, ok)
	assert.JSONEq(t, `{"user":"u1","score":null}`, got)

	s := pcommon.NewSlice()
	got, ok = stringify(s)
	assert.False(t, ok, "an empty array gives no string")
	assert.Empty(t, got)
	s.AppendEmpty().SetInt(7)
	s.AppendEmpty().SetStr("x")
	got, ok = stringify(s)
	assert.True(t, ok)
	assert.Equal(t, "7", got)

	header := pcommon.NewValueSlice()
	header.Slice().AppendEmpty().SetStr("sess-1")
	got, ok = stringify(header)
	assert.True(t, ok)
	assert.Equal(t, "sess-1", got)

	got, ok = stringify([]any{"a", "b"})
	assert.True(t, ok)
	assert.Equal(t, "a", got)
	got, ok = stringify([]string{"c"})
	assert.True(t, ok)
	assert.Equal(t, "c", got)
}
