package tracecontext

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkReleaseWideTrace releases one trace of n spans, each inheriting
// the user from a middleware span: the cost per span must not grow with n
// (each attribute's root-nearest value is found once per trace, not once
// per span).
//
//	go test ./mapping/tracecontext -run '^$' -bench ReleaseWideTrace -benchmem
func BenchmarkReleaseWideTrace(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			td := ptrace.NewTraces()
			push(1, sp{id: 1, name: "root"}).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
			for i := range n {
				s := ss.Spans().AppendEmpty()
				s.SetTraceID(tid(1))
				s.SetSpanID([8]byte{0xbb, byte(i >> 16), byte(i >> 8), byte(i)})
				s.SetParentSpanID(sid(1))
				s.SetName("handler")
				if i == 0 {
					s.Attributes().PutStr("enduser.id", "alice")
				}
			}
			b.ResetTimer()
			for range b.N {
				s, clock := newTestStage(Config{Attributes: []string{"enduser.id", "tenant.id"}, MaxPending: 1 << 20})
				s.Process(td)
				clock.add(time.Hour)
				if got := s.Expire().Len(); got < n {
					b.Fatalf("released %d spans, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
		})
	}
}
