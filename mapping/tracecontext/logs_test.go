package tracecontext

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// rateLimitLog is the rate-limit log record a handler writes: in trace
// `trace`, recorded in span `span` (0: none), without the caller.
func rateLimitLog(trace, span byte) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("rate_limit_exceeded")
	lr.SetTimestamp(pcommon.Timestamp(1500))
	if trace != 0 {
		lr.SetTraceID(tid(trace))
	}
	lr.SetSpanID(sid(span))
	return ld
}

// rateLimitEvents are the rate_limit_exceeded events among events.
func rateLimitEvents(events []string) []string {
	var out []string
	for _, e := range events {
		if strings.Fields(e)[2] == "rate_limit_exceeded" {
			out = append(out, e+" ")
		}
	}
	return out
}

// A log record joins its trace, whenever it arrives: it waits with the
// trace and inherits the caller and the request as a child of its span.
func TestLogRecordsJoinTheirTrace(t *testing.T) {
	m := newOrderMapper(t)
	for _, logFirst := range []bool{true, false} {
		p := newPipeline(t, m, Config{Wait: 5 * time.Second})
		if logFirst {
			p.pushLogs(rateLimitLog(1, 3))
		}
		for _, s := range twoServices() {
			p.clock.add(time.Second)
			p.push(push(1, s))
		}
		if !logFirst {
			p.pushLogs(rateLimitLog(1, 3))
		}
		assert.Empty(t, rateLimitEvents(p.events), "the log record waits with its trace")
		p.quiet()
		got := rateLimitEvents(p.events)
		require.Len(t, got, 1, "log first: %v", logFirst)
		assert.Contains(t, got[0], " alice ", "the caller, from the middleware span, a sibling of its span")
		assert.Contains(t, got[0], " tenant=acme ")
		assert.Contains(t, got[0], " $session_id=019a5f3e-8c1d-7b2a-9e4f-5d0c1a2b3c4d ")
		assert.Contains(t, got[0], " $request_path=/api/run ")
	}
}

// A log record whose spans never come is mapped after wait with what is
// known; one without a trace id is mapped at once.
func TestLogRecordsWithoutTheirTrace(t *testing.T) {
	p := newPipeline(t, newOrderMapper(t), Config{Wait: 5 * time.Second})
	p.pushLogs(rateLimitLog(7, 3))
	p.pushLogs(rateLimitLog(0, 0))
	require.Len(t, rateLimitEvents(p.events), 1, "no trace id: mapped at once")
	p.quiet()
	got := rateLimitEvents(p.events)
	require.Len(t, got, 2)
	assert.Contains(t, got[1], " nobody ")
}
