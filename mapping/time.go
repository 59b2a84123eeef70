package mapping

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// timeOf turns a pdata timestamp into a time; zero stays the zero time, which
// the encoder leaves out rather than sending 1970.
func timeOf(ts pcommon.Timestamp) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}
