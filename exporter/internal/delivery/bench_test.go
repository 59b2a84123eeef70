package delivery

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkSend posts 1000 six-property events per op to a local server that
// only reads the body. allocs/event counts the whole process, so it includes
// the test server's side of each request.
func BenchmarkSend(b *testing.B) {
	for _, bc := range []struct {
		name string
		gzip bool
	}{{"gzip", true}, {"plain", false}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				_, _ = io.WriteString(w, `{"status":1}`)
			}))
			defer srv.Close()
			set := testSettings(srv.URL)
			set.Gzip = bc.gzip
			s, err := NewSender(srv.Client(), set, nil)
			if err != nil {
				b.Fatal(err)
			}
			const perOp = 1000
			evs := NewEncoder(set, nil).Encode(context.Background(), makeEvents(perOp, "checkout"), nil)
			ctx := context.Background()
			if err := s.Send(ctx, evs); err != nil { // warm the pools and the connection
				b.Fatal(err)
			}

			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				if err := s.Send(ctx, evs); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			events := float64(b.N) * perOp
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
		})
	}
}
