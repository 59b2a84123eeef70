package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap/zaptest/observer"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

func acceptedUUIDs(s *posthogtest.Server) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.UUID)
	}
	return out
}

func wantUUIDs(n int, except ...int) []string {
	var out []string
	for i := range n {
		if !slices.Contains(except, i) {
			out = append(out, uuidString(i))
		}
	}
	return out
}

func TestSendDelivers(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			ph := posthogtest.NewServer(posthogtest.WithAPIKey(testKey))
			tap := &bodyTap{next: ph}
			e := newEnv(t, tap, func(s *Settings) { s.Gzip = gz })
			evs := makeEvents(10, "checkout")
			if err := e.send(context.Background(), evs); err != nil {
				t.Fatal(err)
			}

			if got := acceptedUUIDs(ph); !slices.Equal(got, wantUUIDs(10)) {
				t.Fatalf("accepted %v", got)
			}
			got := ph.Events()[3]
			if got.Name != "checkout completed" || got.DistinctID != "user-3" || got.Timestamp != "2025-05-06T07:08:09.003Z" ||
				got.Properties["cart_items"] != 3.0 || got.Properties["$process_person_profile"] != false ||
				got.Properties["$lib"] != "posthogexporter" {
				t.Errorf("event %+v", got)
			}

			reqs := ph.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Path != "/batch/" || r.Method != http.MethodPost || r.Gzip != gz ||
				r.Header.Get("User-Agent") != "posthogexporter-test/1.0" ||
				r.Header.Get("Content-Type") != "application/json" ||
				(r.Header.Get("Content-Encoding") == "gzip") != gz {
				t.Errorf("request %+v", r)
			}
			if gz && r.CompressedBytes >= r.UncompressedBytes {
				t.Errorf("gzip did not shrink: %d >= %d", r.CompressedBytes, r.UncompressedBytes)
			}

			// The body: api_key, batch, and neither sent_at nor historical_migration.
			var body map[string]json.RawMessage
			if err := json.Unmarshal(tap.all()[0], &body); err != nil {
				t.Fatal(err)
			}
			if string(body["api_key"]) != `"`+testKey+`"` || len(body) != 2 || body["batch"] == nil {
				t.Errorf("body keys %v", body)
			}

			if e.rec.sent["checkout"] != 10 || len(e.rec.dropped) != 0 {
				t.Errorf("observer sent %v dropped %v", e.rec.sent, e.rec.dropped)
			}
			if len(e.rec.requests) != 1 || e.rec.requests[0] != (observedRequest{OutcomeSuccess, "200", int64(r.UncompressedBytes), int64(r.CompressedBytes)}) {
				t.Errorf("observer requests %+v, stand-in saw %d/%d bytes", e.rec.requests, r.UncompressedBytes, r.CompressedBytes)
			}
		})
	}
}

func TestSendNothing(t *testing.T) {
	ph := posthogtest.NewServer()
	e := newEnv(t, ph, nil)
	if err := e.send(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(ph.Requests()) != 0 {
		t.Fatal("an empty push made a request")
	}
}

func TestHistoricalMigration(t *testing.T) {
	for _, on := range []bool{false, true} {
		ph := posthogtest.NewServer()
		tap := &bodyTap{next: ph}
		e := newEnv(t, tap, func(s *Settings) { s.HistoricalMigration = on })
		if err := e.send(context.Background(), makeEvents(2, "r")); err != nil {
			t.Fatal(err)
		}
		if got := ph.Requests()[0].HistoricalMigration; got != on {
			t.Errorf("historical_migration %v, want %v", got, on)
		}
		if has := strings.Contains(string(tap.all()[0]), `"historical_migration"`); has != on {
			t.Errorf("historical_migration in body: %v, want %v", has, on)
		}
	}
}

func TestBatchingLimits(t *testing.T) {
	t.Run("events", func(t *testing.T) {
		ph := posthogtest.NewServer()
		e := newEnv(t, ph, func(s *Settings) { s.MaxBatchEvents = 10 })
		if err := e.send(context.Background(), makeEvents(25, "r")); err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, r := range ph.Requests() {
			sizes = append(sizes, r.Events)
		}
		if !slices.Equal(sizes, []int{10, 10, 5}) {
			t.Errorf("batches %v", sizes)
		}
		if !slices.Equal(acceptedUUIDs(ph), wantUUIDs(25)) {
			t.Error("events lost or reordered")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		one := makeEvents(1, "r")[0]
		evSize := len(one.AppendJSON(nil))
		limit := 3*evSize + 200 // about three events per request
		ph := posthogtest.NewServer()
		e := newEnv(t, ph, func(s *Settings) { s.MaxBatchBytes = limit; s.Gzip = true })
		if err := e.send(context.Background(), makeEvents(20, "r")); err != nil {
			t.Fatal(err)
		}
		reqs := ph.Requests()
		if len(reqs) < 7 {
			t.Errorf("%d requests for 20 events of %d bytes under a %d byte limit", len(reqs), evSize, limit)
		}
		for _, r := range reqs {
			if r.UncompressedBytes > limit || r.Status != 200 {
				t.Errorf("request of %d bytes (limit %d), status %d", r.UncompressedBytes, limit, r.Status)
			}
		}
		if !slices.Equal(acceptedUUIDs(ph), wantUUIDs(20)) {
			t.Error("events lost or reordered")
		}
	})
}

func TestOversizedEventDropped(t *testing.T) {
	ph := posthogtest.NewServer()
	e := newEnv(t, ph, func(s *Settings) { s.MaxEventBytes = 1000 })
	evs := makeEvents(5, "r")
	evs[2].Rule = "big"
	evs[2].Properties = append(evs[2].Properties, mapping.Property{Key: "blob", Value: strings.Repeat("x", 2000)})
	if err := e.send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := acceptedUUIDs(ph); !slices.Equal(got, wantUUIDs(5, 2)) {
		t.Fatalf("accepted %v", got)
	}
	if e.rec.dropped[[2]string{"big", ReasonEventTooLarge}] != 1 || e.rec.sent["r"] != 4 {
		t.Errorf("observer sent %v dropped %v", e.rec.sent, e.rec.dropped)
	}
	logged := e.logs.FilterMessageSnippet("max_event_bytes").All()
	if len(logged) != 1 || logged[0].ContextMap()["uuid"] != uuidString(2) {
		t.Errorf("logs %v", logged)
	}
}

func TestRetryableAnswers(t *testing.T) {
	for _, status := range []int{408, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ph := posthogtest.NewServer()
			ph.FailNext(1, status, "")
			e := newEnv(t, ph, nil)
			err := e.send(context.Background(), makeEvents(3, "r"))
			if err == nil || consumererror.IsPermanent(err) || strings.Contains(err.Error(), "Throttle") {
				t.Fatalf("want a plain retryable error, got %v", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(status)) {
				t.Errorf("error does not name the status: %v", err)
			}
			if len(e.rec.dropped) != 0 || e.rec.totalSent() != 0 {
				t.Errorf("observer sent %v dropped %v", e.rec.sent, e.rec.dropped)
			}
			if got := e.rec.outcomes(); !slices.Equal(got, []string{OutcomeWillRetry + " " + fmt.Sprint(status)}) {
				t.Errorf("outcomes %v", got)
			}
			// The retry the exporterhelper makes goes through.
			if err := e.send(context.Background(), makeEvents(3, "r")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestThrottle(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       string // in the error; "" for no throttle
		outcome    string
	}{
		{"429 seconds", 429, "3", "Throttle (3s)", "will_retry 429"},
		{"429 date", 429, now.Add(7 * time.Second).Format(http.TimeFormat), "Throttle (7s)", "will_retry 429"},
		{"503 seconds", 503, "120", "Throttle (2m0s)", "will_retry 503"},
		{"429 without Retry-After", 429, "", "", "will_retry 429"},
		{"429 date in the past", 429, now.Add(-time.Minute).Format(http.TimeFormat), "", "will_retry 429"},
		{"429 garbage", 429, "soon", "", "will_retry 429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ph := posthogtest.NewServer()
			ph.FailNext(1, tt.status, tt.retryAfter)
			e := newEnv(t, ph, nil)
			e.sender.now = func() time.Time { return now }
			err := e.send(context.Background(), makeEvents(3, "r"))
			if err == nil || consumererror.IsPermanent(err) {
				t.Fatalf("want a retryable error, got %v", err)
			}
			if tt.want == "" && strings.Contains(err.Error(), "Throttle") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if got := e.rec.outcomes(); !slices.Equal(got, []string{tt.outcome}) {
				t.Errorf("outcomes %v", got)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                               0,
		"0":                              0,
		"-5":                             0,
		" 5 ":                            5 * time.Second,
		"99999999999999999":              24 * time.Hour,
		"Sun, 01 Jun 2025 12:00:30 GMT":  30 * time.Second,
		"Sunday, 01-Jun-25 12:00:30 GMT": 30 * time.Second, // RFC 850
		"Sun Jun  1 12:00:30 2025":       30 * time.Second, // asctime
		"Sun, 01 Jun 2025 11:00:00 GMT":  0,
		"1.5":                            0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// assertNoKey checks the key appears in no error and no log line.
func assertNoKey(t *testing.T, err error, logs *observer.ObservedLogs) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("the API key is in the error: %v", err)
	}
	for _, l := range logs.All() {
		if strings.Contains(l.Message, testKey) || strings.Contains(fmt.Sprint(l.ContextMap()), testKey) {
			t.Errorf("the API key is in a log line: %s %v", l.Message, l.ContextMap())
		}
	}
}

func TestUnauthorized(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			// A server that echoes the key back, to prove the Sender never repeats it.
			seq := &statusSequence{next: posthogtest.NewServer(), statuses: []int{status},
				body: `{"detail":"invalid key ` + testKey + `"}`}
			e := newEnv(t, seq, func(s *Settings) { s.MaxBatchEvents = 4 })
			err := e.send(context.Background(), makeEvents(10, "r"))
			if !consumererror.IsPermanent(err) {
				t.Fatalf("want a permanent error, got %v", err)
			}
			assertNoKey(t, err, e.logs)
			logged := e.logs.FilterMessageSnippet("api_key").All()
			if len(logged) != 1 || logged[0].Level.String() != "error" {
				t.Fatalf("want one error telling to check api_key, got %v", e.logs.All())
			}
			if !strings.Contains(fmt.Sprint(logged[0].ContextMap()["response"]), "[REDACTED]") {
				t.Errorf("response not quoted, redacted: %v", logged[0].ContextMap())
			}
			// All ten are lost, including the two batches never tried.
			if got := e.rec.droppedFor(ReasonUnauthorized); got != 10 {
				t.Errorf("dropped as unauthorized: %d", got)
			}
			if got := e.rec.outcomes(); !slices.Equal(got, []string{OutcomeGivenUp + " " + fmt.Sprint(status)}) {
				t.Errorf("outcomes %v: batches after a 401 should not be tried", got)
			}
		})
	}
	t.Run("personal key refused by the stand-in", func(t *testing.T) {
		ph := posthogtest.NewServer()
		e := newEnv(t, ph, func(s *Settings) { s.APIKey = "phx_" + testKey })
		err := e.send(context.Background(), makeEvents(2, "r"))
		if !consumererror.IsPermanent(err) || ph.Requests()[0].Status != 401 {
			t.Fatalf("got %v", err)
		}
		assertNoKey(t, err, e.logs)
	})
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	e := newEnv(t, posthogtest.NewServer(), nil)
	e.srv.Close()
	err := e.send(context.Background(), makeEvents(2, "r"))
	if err == nil || consumererror.IsPermanent(err) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	assertNoKey(t, err, e.logs)
	if got := e.rec.outcomes(); !slices.Equal(got, []string{"will_retry none"}) {
		t.Errorf("outcomes %v", got)
	}
}

func TestCancelledContext(t *testing.T) {
	e := newEnv(t, posthogtest.NewServer(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.send(ctx, makeEvents(2, "r"))
	if !errors.Is(err, context.Canceled) || consumererror.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
}

func TestOtherClientErrorsArePermanent(t *testing.T) {
	seq := &statusSequence{next: posthogtest.NewServer(), statuses: []int{404}, body: "no such route"}
	e := newEnv(t, seq, func(s *Settings) { s.MaxBatchEvents = 2 })
	err := e.send(context.Background(), makeEvents(5, "r"))
	if !consumererror.IsPermanent(err) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such route") {
		t.Fatalf("got %v", err)
	}
	if got := e.rec.droppedFor(ReasonRejected); got != 5 {
		t.Errorf("dropped %d", got)
	}
}

func TestMixedSuccessAndRetryable(t *testing.T) {
	// The first batch is delivered, the second fails: the push is retried
	// whole, and PostHog deduplicates the first batch by uuid.
	ph := posthogtest.NewServer()
	seq := &statusSequence{next: ph, statuses: []int{200, 503}}
	e := newEnv(t, seq, func(s *Settings) { s.MaxBatchEvents = 4 })
	evs := makeEvents(10, "r")
	err := e.send(context.Background(), evs)
	if err == nil || consumererror.IsPermanent(err) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	if got := e.rec.outcomes(); !slices.Equal(got, []string{"success 200", "will_retry 503"}) {
		t.Errorf("outcomes %v: the third batch should wait for the retry", got)
	}
	if e.rec.sent["r"] != 4 {
		t.Errorf("sent %v", e.rec.sent)
	}
	if err := e.send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	got := acceptedUUIDs(ph)
	if len(got) != 14 || !slices.Equal(got[4:], wantUUIDs(10)) {
		t.Errorf("accepted %v", got)
	}
}

func TestTooLargeSplits(t *testing.T) {
	one := makeEvents(1, "r")[0]
	evSize := len(one.AppendJSON(nil))
	// PostHog takes about three events per request; the Sender thinks 50 fit.
	ph := posthogtest.NewServer(posthogtest.WithMaxBodyBytes(3*evSize + 100))
	e := newEnv(t, ph, func(s *Settings) { s.MaxBatchEvents = 50 })
	evs := makeEvents(20, "r")
	evs[7].Rule = "huge"
	evs[7].Properties = append(evs[7].Properties, mapping.Property{Key: "blob", Value: strings.Repeat("y", 5*evSize)})
	if err := e.send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := acceptedUUIDs(ph); !slices.Equal(got, wantUUIDs(20, 7)) {
		t.Fatalf("accepted %v", got)
	}
	if e.rec.dropped[[2]string{"huge", ReasonEventTooLarge}] != 1 || e.rec.sent["r"] != 19 {
		t.Errorf("observer sent %v dropped %v", e.rec.sent, e.rec.dropped)
	}
	for _, r := range ph.Requests() {
		if r.Status != 200 && r.Status != 413 {
			t.Errorf("status %d", r.Status)
		}
	}
}

func TestBadRequestBisects(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			refused := []int{0, 7, 42, 43, 99}
			ph := posthogtest.NewServer()
			ph.RejectEvents(func(ev posthogtest.Event) bool {
				for _, i := range refused {
					if ev.UUID == uuidString(i) {
						return true
					}
				}
				return false
			})
			e := newEnv(t, ph, func(s *Settings) { s.Gzip = gz })
			evs := makeEvents(100, "r")
			for _, i := range refused {
				evs[i].Rule = "bad"
			}
			if err := e.send(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			if got := acceptedUUIDs(ph); !slices.Equal(got, wantUUIDs(100, refused...)) {
				t.Fatalf("accepted %d events: %v", len(got), got)
			}
			if e.rec.dropped[[2]string{"bad", ReasonRejected}] != 5 || e.rec.sent["r"] != 95 || len(e.rec.dropped) != 1 {
				t.Errorf("observer sent %v dropped %v", e.rec.sent, e.rec.dropped)
			}
			if n := len(ph.Requests()); n > 60 {
				t.Errorf("%d requests to isolate 5 events among 100", n)
			}
			// The first refusals are logged with PostHog's message, the rest summed up.
			logged := e.logs.FilterMessage("PostHog refused an event").All()
			if len(logged) != maxDropLogs {
				t.Fatalf("%d refusals logged", len(logged))
			}
			first := logged[0].ContextMap()
			if first["uuid"] != uuidString(0) || !strings.Contains(fmt.Sprint(first["response"]), uuidString(0)) || first["status"] != int64(400) {
				t.Errorf("log %v", first)
			}
			if n := e.logs.FilterMessageSnippet("More events dropped").Len(); n != 0 {
				t.Errorf("summary logged with nothing left to sum up")
			}
			assertNoKey(t, nil, e.logs)
		})
	}
}

func TestBadRequestSingleEvent(t *testing.T) {
	seq := &statusSequence{next: posthogtest.NewServer(), statuses: []int{400}, body: `{"detail":"nope"}`}
	e := newEnv(t, seq, nil)
	if err := e.send(context.Background(), makeEvents(1, "r")); err != nil {
		t.Fatal(err)
	}
	if e.rec.droppedFor(ReasonRejected) != 1 {
		t.Errorf("dropped %v", e.rec.dropped)
	}
}

func TestBadRequestBudget(t *testing.T) {
	// Everything refused: the Sender must not make a request per event.
	ph := posthogtest.NewServer()
	ph.RejectEvents(func(posthogtest.Event) bool { return true })
	e := newEnv(t, ph, nil)
	if err := e.send(context.Background(), makeEvents(1000, "r")); err != nil {
		t.Fatal(err)
	}
	if n := len(ph.Requests()); n > maxBisectRequests+1 {
		t.Errorf("%d requests", n)
	}
	if got := e.rec.droppedFor(ReasonRejected); got != 1000 {
		t.Errorf("dropped %d", got)
	}
	if e.logs.FilterMessageSnippet("More events dropped").Len() != 1 {
		t.Error("no summary of unlogged drops")
	}
	// Refused requests are split while the budget lasts; the last gives up.
	outcomes := e.rec.outcomes()
	counts := map[string]int{}
	for _, o := range outcomes {
		counts[o]++
	}
	if counts["split 400"] == 0 || counts["split 400"]+counts["given_up 400"] != len(outcomes) || outcomes[len(outcomes)-1] != "given_up 400" {
		t.Errorf("outcomes %v", counts)
	}
}

func TestConcurrentSends(t *testing.T) {
	ph := posthogtest.NewServer()
	e := newEnv(t, ph, func(s *Settings) { s.Gzip = true; s.MaxBatchEvents = 30 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 5 {
				if err := e.send(context.Background(), makeEvents(50, fmt.Sprint("rule", g))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(ph.Events()); n != 8*5*50 {
		t.Fatalf("%d events", n)
	}
	if e.rec.totalSent() != 8*5*50 || e.rec.sent["rule3"] != 250 {
		t.Errorf("sent %v", e.rec.sent)
	}
}

func TestNewSenderSettings(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://us.i.posthog.com":       "https://us.i.posthog.com/batch/",
		"https://us.i.posthog.com/":      "https://us.i.posthog.com/batch/",
		"http://localhost:8000/ingest":   "http://localhost:8000/ingest/batch/",
		"http://localhost:8000/ingest//": "http://localhost:8000/ingest/batch/",
		"https://proxy.example/ph?x=1":   "https://proxy.example/ph/batch/?x=1",
		"https://eu.i.posthog.com:443/":  "https://eu.i.posthog.com:443/batch/",
	} {
		s, err := NewSender(http.DefaultClient, testSettings(endpoint), nil)
		if err != nil {
			t.Errorf("%s: %v", endpoint, err)
			continue
		}
		if s.url != want {
			t.Errorf("%s: %s, want %s", endpoint, s.url, want)
		}
	}
	// The endpoint's scheme and host, the key and the limits are checked by
	// the exporter's Config.Validate, once; only a nil client is refused here.
	if _, err := NewSender(nil, testSettings("https://x"), nil); err == nil {
		t.Error("nil client accepted")
	}
	set := testSettings("https://x")
	set.MaxBatchBytes, set.MaxEventBytes = 500, 1<<20
	s, _ := NewSender(http.DefaultClient, set, nil)
	if s.set.MaxEventBytes > 500-len(s.prefix)-2 || s.set.UserAgent != DefaultUserAgent {
		t.Errorf("defaults %+v", s.set)
	}
}

func TestKeyIsEscaped(t *testing.T) {
	p := bodyPrefix(`we"ird\key`, true)
	var v map[string]any
	if err := json.Unmarshal(append(append(p, `{"event":"e"}`...), bodySuffix...), &v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if v["api_key"] != `we"ird\key` || v["historical_migration"] != true {
		t.Errorf("%v", v)
	}
}

func TestEventsPostHogWouldRefuseAreNotSent(t *testing.T) {
	ph := posthogtest.NewServer()
	e := newEnv(t, ph, nil)
	evs := makeEvents(4, "r")
	evs[1].Name = ""
	evs[2].DistinctID = ""
	if err := e.send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := acceptedUUIDs(ph); !slices.Equal(got, wantUUIDs(4, 1, 2)) || len(ph.Requests()) != 1 {
		t.Fatalf("accepted %v in %d requests", got, len(ph.Requests()))
	}
	if e.rec.droppedFor(ReasonRejected) != 2 {
		t.Errorf("dropped %v", e.rec.dropped)
	}
}

func TestEventNameIsReadBackFromJSON(t *testing.T) {
	for _, name := range []string{"checkout completed", `quote " and \ backslash`, "ünïcode", ""} {
		evs := makeEvents(1, "r")
		evs[0].Name = name
		ev := Event{JSON: evs[0].AppendJSON(nil)}
		if got := eventName(&ev); got != name {
			t.Errorf("eventName = %q, want %q", got, name)
		}
	}
	if got := eventName(&Event{JSON: []byte(`{"uuid":"x`)}); got != "" {
		t.Errorf("a cut JSON gave %q", got)
	}
}

// TestRequestOutcomes: each request is counted under what becomes of its
// events, with PostHog's status beside it, so a retry is never read as loss.
func TestRequestOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // then 200
		events   int
		noRetry  bool
		closed   bool // no server: no answer
		want     []string
	}{
		{name: "accepted", events: 2, want: []string{"success 200"}},
		{name: "server error, retried", statuses: []int{503}, events: 2, want: []string{"will_retry 503"}},
		{name: "server error, retry off", statuses: []int{503}, events: 2, noRetry: true, want: []string{"given_up 503"}},
		{name: "no answer, retried", closed: true, events: 2, want: []string{"will_retry none"}},
		{name: "no answer, retry off", closed: true, events: 2, noRetry: true, want: []string{"given_up none"}},
		{name: "too large, split", statuses: []int{413}, events: 2, want: []string{"split 413", "success 200", "success 200"}},
		{name: "one event too large", statuses: []int{413}, events: 1, want: []string{"given_up 413"}},
		{name: "one event refused", statuses: []int{400}, events: 1, want: []string{"given_up 400"}},
		{name: "refused, split", statuses: []int{400}, events: 2, want: []string{"split 400", "success 200", "success 200"}},
		{name: "key refused", statuses: []int{401}, events: 2, want: []string{"given_up 401"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := &statusSequence{next: posthogtest.NewServer(), statuses: tt.statuses}
			e := newEnv(t, seq, func(s *Settings) { s.Retry = !tt.noRetry })
			if tt.closed {
				e.srv.Close()
			}
			_ = e.send(context.Background(), makeEvents(tt.events, "r"))
			if got := e.rec.outcomes(); !slices.Equal(got, tt.want) {
				t.Errorf("outcomes %v, want %v", got, tt.want)
			}
		})
	}
}
