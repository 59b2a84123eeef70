package mapping

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestStringifyContainers: a map or slice used as a distinct_id or group key
// becomes the JSON the encoder writes, even with values encoding/json refuses.
func TestStringifyContainers(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("user", "u1")
	m.PutDouble("score", math.NaN())
	got, ok := stringify(m)
	assert.True(t, ok)
	assert.JSONEq(t, `{"user":"u1","score":null}`, got)

	s := pcommon.NewSlice()
	s.AppendEmpty().SetInt(7)
	s.AppendEmpty().SetStr("x")
	got, ok = stringify(s)
	assert.True(t, ok)
	assert.Equal(t, `[7,"x"]`, got)
}
