package delivery

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// TestDefaultEventLimit: by default an event of up to 900,000 bytes encoded
// is sent and a larger one dropped (event_too_large), as PostHog's own
// OpenTelemetry path caps events: PostHog refuses events near 1 MB.
func TestDefaultEventLimit(t *testing.T) {
	ph := posthogtest.NewServer()
	e := newEnv(t, ph, nil)
	evs := makeEvents(3, "r")
	for i, size := range map[int]int{0: DefaultMaxEventBytes, 1: DefaultMaxEventBytes + 1} {
		evs[i].Rule = []string{"at-limit", "over-limit"}[i]
		evs[i].Properties = append(evs[i].Properties, mapping.Property{Key: "blob", Value: ""})
		pad := size - len(evs[i].AppendJSON(nil))
		evs[i].Properties[len(evs[i].Properties)-1].Value = strings.Repeat("x", pad)
		if got := len(evs[i].AppendJSON(nil)); got != size {
			t.Fatalf("event %d encodes to %d bytes, want %d", i, got, size)
		}
	}
	if err := e.send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := acceptedUUIDs(ph); !slices.Equal(got, wantUUIDs(3, 1)) {
		t.Fatalf("accepted %v", got)
	}
	if e.rec.dropped[[2]string{"over-limit", ReasonEventTooLarge}] != 1 || e.rec.sent["at-limit"] != 1 {
		t.Errorf("observer sent %v dropped %v", e.rec.sent, e.rec.dropped)
	}
}
