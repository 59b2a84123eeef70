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
// distinct_id, an event name or a group key. It reports false for nil.
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
		if x.Type() == pcommon.ValueTypeEmpty {
			return "", false
		}
		return x.AsString(), true
	case pcommon.Map, pcommon.Slice:
		// The same JSON the event's properties get, NaN and depth bounds included.
		return string(appendValue(nil, x, 0)), true
	default:
		return fmt.Sprint(x), true
	}
}
