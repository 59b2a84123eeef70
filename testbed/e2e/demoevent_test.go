package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/testbed/demotelemetry"
)

var updateDemoEvent = flag.Bool("update-demo-event", false,
	"rewrite docs/demo-event.json from this run (then read it before committing)")

var demoEventPath = filepath.Join("..", "..", "docs", "demo-event.json")

// volatile are the keys of an event whose values change from run to run:
// the ids of the demo's traces (random, as the SDK makes them) and the
// uuid derived from them. Every other value is the same in every run.
var volatile = map[string]bool{"uuid": true, "$trace_id": true, "$span_id": true}

// TestDemoEvent runs `make demo`'s scenario (testdata/config/demo.yaml and
// the demo service) and compares one complete event as sent, user-123's
// api_request with its session, with docs/demo-event.json: the file the docs
// show as the demo's sample, so that it cannot go stale. Only the volatile
// values may differ. With -update-demo-event it is rewritten from the run.
func TestDemoEvent(t *testing.T) {
	c, otlp, ph := startShipped(t, "demo.yaml", "phc_demo")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A fixed time makes the timestamps the same in every run.
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := demotelemetry.Run(ctx, demotelemetry.Config{Endpoint: "http://" + otlp, Now: now}); err != nil {
		t.Fatalf("sending telemetry: %v", err)
	}
	c.stop() // maps what still waits and drains the queue
	got := sampleEvent(t, ph.Events())

	if *updateDemoEvent {
		if err := os.WriteFile(demoEventPath, got, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: read it before committing", demoEventPath)
		return
	}
	want, err := os.ReadFile(demoEventPath)
	if err != nil {
		t.Fatalf("%v: write it with -update-demo-event", err)
	}
	if d := diffStable(t, want, got); d != "" {
		t.Errorf("docs/demo-event.json is not what the demo sends (%s); rewrite it with go test ./e2e -run TestDemoEvent -update-demo-event, and read the change", d)
	}
}

// sampleEvent returns the sample: user-123's api_request that carries a
// session, as sent (the request's JSON), indented.
func sampleEvent(t *testing.T, events []posthogtest.Event) []byte {
	t.Helper()
	var found []posthogtest.Event
	for _, e := range events {
		if e.Name == "api_request" && e.DistinctID == "user-123" && e.Properties["$session_id"] != nil {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		t.Fatalf("no api_request of user-123 with a session among %d events", len(events))
	}
	// The earliest, so that the same request is chosen in every run.
	sort.Slice(found, func(i, j int) bool { return found[i].Timestamp < found[j].Timestamp })
	var out bytes.Buffer
	if err := json.Indent(&out, found[0].Raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// diffStable says how a and b differ, leaving aside the values of volatile
// keys (which must still be present); "" when they do not.
func diffStable(t *testing.T, a, b []byte) string {
	t.Helper()
	var ma, mb map[string]any
	if err := json.Unmarshal(a, &ma); err != nil {
		return "not JSON: " + err.Error()
	}
	if err := json.Unmarshal(b, &mb); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{ma, mb, props(ma), props(mb)} {
		for k := range m {
			if volatile[k] {
				m[k] = "<" + k + ">"
			}
		}
	}
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	if bytes.Equal(ja, jb) {
		return ""
	}
	var diff []string
	for _, k := range keys(ma, mb) {
		if fmt.Sprint(ma[k]) != fmt.Sprint(mb[k]) {
			diff = append(diff, k)
		}
	}
	for _, k := range keys(props(ma), props(mb)) {
		if fmt.Sprint(props(ma)[k]) != fmt.Sprint(props(mb)[k]) {
			diff = append(diff, "properties."+k)
		}
	}
	return fmt.Sprintf("these keys differ: %v", diff)
}

func props(m map[string]any) map[string]any {
	p, _ := m["properties"].(map[string]any)
	return p
}

func keys(ms ...map[string]any) []string {
	var out []string
	for _, m := range ms {
		for k := range m {
			if k != "properties" && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
