package e2e

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthog/posthog-go"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

type callback struct {
	mu       sync.Mutex
	ok, fail int
	errs     []error
}

func (c *callback) Success(posthog.APIMessage) {
	c.mu.Lock()
	c.ok++
	c.mu.Unlock()
}

func (c *callback) Failure(_ posthog.APIMessage, err error) {
	c.mu.Lock()
	c.fail++
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

type quietLogger struct{ t *testing.T }

func (l quietLogger) Debugf(string, ...any) {}
func (l quietLogger) Logf(f string, a ...any) {
	l.t.Logf("posthog-go: "+f, a...)
}
func (l quietLogger) Warnf(f string, a ...any)  { l.t.Logf("posthog-go warn: "+f, a...) }
func (l quietLogger) Errorf(f string, a ...any) { l.t.Logf("posthog-go error: "+f, a...) }

const testAPIKey = "phc_testkey"

// TestPosthogGoIsAccepted proves the stand-in accepts what the reference
// client, posthog-go, sends: if it did not, tests against it would prove
// nothing about PostHog.
func TestPosthogGoIsAccepted(t *testing.T) {
	for _, tc := range []struct {
		name        string
		compression posthog.CompressionMode
		historical  bool
	}{
		{"plain", posthog.CompressionNone, false},
		{"gzip", posthog.CompressionGzip, false},
		{"gzip historical", posthog.CompressionGzip, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := posthogtest.NewServer(posthogtest.WithAPIKey(testAPIKey))
			hs := httptest.NewServer(s)
			defer hs.Close()

			cb := &callback{}
			client, err := posthog.NewWithConfig(testAPIKey, posthog.Config{
				Endpoint:            hs.URL,
				Compression:         tc.compression,
				HistoricalMigration: tc.historical,
				BatchSize:           4,
				Interval:            50 * time.Millisecond,
				Callback:            cb,
				Logger:              quietLogger{t},
			})
			if err != nil {
				t.Fatal(err)
			}
			const n = 10
			for i := range n {
				err := client.Enqueue(posthog.Capture{
					DistinctId: fmt.Sprintf("user-%d", i),
					Event:      "test event",
					Timestamp:  time.Date(2025, 1, 2, 3, 4, 5, i*1000, time.UTC),
					Properties: posthog.NewProperties().Set("i", i).Set("nested", map[string]any{"a": []int{1, 2}}).
						Set("$process_person_profile", false),
					Groups: posthog.NewGroups().Set("company", "acme"),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := client.Close(); err != nil {
				t.Fatal(err)
			}

			cb.mu.Lock()
			defer cb.mu.Unlock()
			if cb.fail != 0 || cb.ok != n {
				t.Fatalf("posthog-go callbacks: %d ok, %d failed %v", cb.ok, cb.fail, cb.errs)
			}
			evs := s.Events()
			if len(evs) != n {
				t.Fatalf("%d events accepted, want %d", len(evs), n)
			}
			for _, e := range evs {
				if e.UUID == "" || e.Name != "test event" || !strings.HasPrefix(e.DistinctID, "user-") ||
					!strings.HasPrefix(e.Timestamp, "2025-01-02T03:04:05") || e.Properties["$lib"] != "posthog-go" ||
					e.HistoricalMigration != tc.historical {
					t.Errorf("event %+v", e)
				}
			}
			for _, r := range s.Requests() {
				if r.Status != 200 {
					t.Errorf("request answered %d: %s", r.Status, r.Response)
				}
				if r.Path != "/batch/" || !strings.HasPrefix(r.Header.Get("User-Agent"), "posthog-go/") {
					t.Errorf("request %s %s from %q", r.Method, r.Path, r.Header.Get("User-Agent"))
				}
				if r.Gzip != (tc.compression == posthog.CompressionGzip) {
					t.Errorf("gzip %v", r.Gzip)
				}
			}
		})
	}
}
