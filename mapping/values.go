package mapping

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// stringify turns an OTTL value into the string PostHog wants for a
// distinct_id, an event name, a group key, $session_id, $window_id or $ip.
// An array gives its first element, as a header recorded by an HTTP
// instrumentation is a one-element array. It reports false for nil and for
// an empty array.
func stringify(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case []byte:
		return hex.EncodeToString(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	case pcommon.Value:
		return valueString(x)
	case pcommon.Slice:
		return sliceString(x)
	case pcommon.Map:
		// The same JSON the event's properties get, NaN and depth bounds included.
		return string(appendValue(nil, x, 0)), true
	case []string:
		if len(x) == 0 {
			return "", false
		}
		return x[0], true
	case []any:
		if len(x) == 0 {
			return "", false
		}
		return stringify(x[0])
	default:
		return fmt.Sprint(x), true
	}
}

// valueString is stringify for an attribute value, without boxing it.
func valueString(v pcommon.Value) (string, bool) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return "", false
	case pcommon.ValueTypeStr:
		return v.Str(), true
	case pcommon.ValueTypeSlice:
		return sliceString(v.Slice())
	case pcommon.ValueTypeDouble:
		return stringify(v.Double())
	case pcommon.ValueTypeMap:
		return stringify(v.Map())
	default:
		return v.AsString(), true
	}
}

func sliceString(s pcommon.Slice) (string, bool) {
	if s.Len() == 0 {
		return "", false
	}
	return valueString(s.At(0))
}
