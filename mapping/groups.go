package mapping

import "go.opentelemetry.io/collector/pdata/pcommon"

// shareGroups gives the $feature_flag_called and $exception events of a
// trace that carry no groups of their own the groups the trace's other
// events carry, and makes them personful: PostHog's ingestion keeps groups
// only on personful events, and group-aggregated experiments count an
// exposure for the groups it carries. The events of one call (with
// trace_context, a whole trace) are considered together.
func shareGroups(events []Event) {
	var byTrace map[pcommon.TraceID][]Property
	for i := range events {
		ev := &events[i]
		if len(ev.Groups) == 0 || ev.GroupIdentify || ev.trace.IsEmpty() {
			continue
		}
		if byTrace == nil {
			byTrace = map[pcommon.TraceID][]Property{}
		}
		if _, seen := byTrace[ev.trace]; !seen {
			byTrace[ev.trace] = ev.Groups
		}
	}
	if byTrace == nil {
		return
	}
	for i := range events {
		ev := &events[i]
		if len(ev.Groups) > 0 || (ev.Name != FlagCalledEvent && ev.Name != ExceptionEvent) {
			continue
		}
		if g, ok := byTrace[ev.trace]; ok {
			ev.Groups, ev.PersonProfiles = g, true
		}
	}
}
