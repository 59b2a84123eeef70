package posthogtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const key = "phc_testkey"

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type post struct {
	path     string
	body     []byte
	encoding string
}

func do(t *testing.T, url string, p post) (int, string, http.Header) {
	t.Helper()
	if p.path == "" {
		p.path = "/batch/"
	}
	req, err := http.NewRequest(http.MethodPost, url+p.path, bytes.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "posthogtest-test/1")
	if p.encoding != "" {
		req.Header.Set("Content-Encoding", p.encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func batchBody(apiKey string, events ...string) []byte {
	return []byte(`{"api_key":"` + apiKey + `","batch":[` + strings.Join(events, ",") + `]}`)
}

const (
	ev1 = `{"uuid":"018f3e5b-0a41-724b-9d6c-706f737468ab","event":"signup","distinct_id":"u1","timestamp":"2025-01-02T03:04:05Z","properties":{"plan":"pro","n":3}}`
	ev2 = `{"uuid":"018F3E5B-0A41-724B-9D6C-706F737468AC","event":"login","distinct_id":42,"properties":{}}`
)

func start(t *testing.T, opts ...Option) (*Server, *httptest.Server) {
	s := NewServer(opts...)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func TestAcceptsBatch(t *testing.T) {
	s, hs := start(t)
	status, body, _ := do(t, hs.URL, post{body: batchBody(key, ev1, ev2)})
	if status != 200 || body != `{"status":1}` {
		t.Fatalf("got %d %s", status, body)
	}
	evs := s.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.UUID != "018f3e5b-0a41-724b-9d6c-706f737468ab" || e.Name != "signup" || e.DistinctID != "u1" ||
		e.Timestamp != "2025-01-02T03:04:05Z" || e.Properties["plan"] != "pro" || e.Properties["n"] != 3.0 {
		t.Errorf("event %+v", e)
	}
	if !json.Valid(e.Raw) || !strings.Contains(string(e.Raw), `"plan":"pro"`) {
		t.Errorf("raw %s", e.Raw)
	}
	if evs[1].DistinctID != "42" || evs[1].Timestamp != "" {
		t.Errorf("numeric distinct_id should be stringified: %+v", evs[1])
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Status != 200 || r.Events != 2 || r.Gzip || r.CompressedBytes != r.UncompressedBytes || r.Path != "/batch/" ||
		r.Header.Get("User-Agent") != "posthogtest-test/1" || r.HistoricalMigration {
		t.Errorf("request %+v", r)
	}
}

func TestAcceptsTokenAndHistorical(t *testing.T) {
	s, hs := start(t)
	status, body, _ := do(t, hs.URL, post{body: []byte(`{"token":"` + key + `","historical_migration":true,"batch":[` + ev1 + `]}`)})
	if status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	if r := s.Requests()[0]; !r.HistoricalMigration {
		t.Error("historical_migration not recorded")
	}
	if e := s.Events()[0]; !e.HistoricalMigration {
		t.Error("historical_migration not on the event")
	}
}

func TestSingleEventRoutes(t *testing.T) {
	s, hs := start(t)
	single := `{"api_key":"` + key + `","event":"e","distinct_id":"d"}`
	inProps := `{"event":"e","distinct_id":"d","properties":{"token":"` + key + `"}}`
	for _, p := range []post{
		{path: "/e/", body: []byte(single)},
		{path: "/capture/", body: []byte(single)},
		{path: "/i/v0/e/", body: []byte(inProps)},
		{path: "/e", body: []byte(`[` + single + `,` + single + `]`)},
		{path: "/batch", body: batchBody(key, ev1)},
	} {
		if status, body, _ := do(t, hs.URL, p); status != 200 {
			t.Errorf("%s: %d %s", p.path, status, body)
		}
	}
	if n := len(s.Events()); n != 6 {
		t.Errorf("%d events", n)
	}
}

func TestGzip(t *testing.T) {
	s, hs := start(t)
	raw := batchBody(key, ev1, ev2)
	// Declared, sniffed from the magic bytes, and posthog-go's query parameter.
	if status, body, _ := do(t, hs.URL, post{body: gz(t, raw), encoding: "gzip"}); status != 200 {
		t.Fatalf("declared gzip: %d %s", status, body)
	}
	if status, body, _ := do(t, hs.URL, post{body: gz(t, raw)}); status != 200 {
		t.Fatalf("sniffed gzip: %d %s", status, body)
	}
	if status, body, _ := do(t, hs.URL, post{path: "/batch/?compression=gzip", body: gz(t, raw)}); status != 200 {
		t.Fatalf("query gzip: %d %s", status, body)
	}
	if status, _, _ := do(t, hs.URL, post{body: []byte("not gzip at all"), encoding: "gzip"}); status != 400 {
		t.Fatalf("bad gzip: %d", status)
	}
	for i, r := range s.Requests()[:3] {
		if !r.Gzip || r.UncompressedBytes != len(raw) || r.CompressedBytes >= r.UncompressedBytes {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	if n := len(s.Events()); n != 6 {
		t.Errorf("%d events", n)
	}
}

func TestValidation(t *testing.T) {
	badUUID := `{"uuid":"not-a-uuid","event":"e","distinct_id":"d"}`
	tests := []struct {
		name   string
		opts   []Option
		p      post
		status int
		detail string
	}{
		{"bad uuid loses the whole request", nil, post{body: batchBody(key, ev1, badUUID, ev2)}, 400, "invalid uuid"},
		{"uuid not a string", nil, post{body: batchBody(key, `{"uuid":5,"event":"e","distinct_id":"d"}`)}, 400, "uuid"},
		{"missing distinct_id", nil, post{body: batchBody(key, ev1, `{"event":"e"}`)}, 400, "missing distinct_id"},
		{"null distinct_id", nil, post{body: batchBody(key, `{"event":"e","distinct_id":null}`)}, 400, "missing distinct_id"},
		{"empty distinct_id", nil, post{body: batchBody(key, `{"event":"e","distinct_id":""}`)}, 400, "empty distinct_id"},
		{"object distinct_id", nil, post{body: batchBody(key, `{"event":"e","distinct_id":{}}`)}, 400, "distinct_id"},
		{"missing event name", nil, post{body: batchBody(key, `{"distinct_id":"d"}`)}, 400, "missing event name"},
		{"empty event name", nil, post{body: batchBody(key, `{"event":"","distinct_id":"d"}`)}, 400, "missing event name"},
		{"event not an object", nil, post{body: batchBody(key, `"x"`)}, 400, "not a JSON object"},
		{"empty batch", nil, post{body: batchBody(key)}, 400, "empty"},
		{"no batch", nil, post{body: []byte(`{"api_key":"` + key + `"}`)}, 400, "batch"},
		{"unparseable", nil, post{body: []byte(`{"api_key":`)}, 400, "decode"},
		{"empty body", nil, post{body: nil}, 400, "empty"},
		{"personal key", nil, post{body: batchBody("phx_personal", ev1)}, 401, "personal"},
		{"missing key", nil, post{body: []byte(`{"batch":[` + ev1 + `]}`)}, 401, "missing"},
		{"empty key", nil, post{body: batchBody("", ev1)}, 401, "missing"},
		{"wrong key", []Option{WithAPIKey("phc_right")}, post{body: batchBody("phc_wrong", ev1)}, 401, "invalid"},
		{"right key", []Option{WithAPIKey(key)}, post{body: batchBody(key, ev1)}, 200, ""},
		{"unknown route", nil, post{path: "/flags/", body: batchBody(key, ev1)}, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, hs := start(t, tt.opts...)
			status, body, _ := do(t, hs.URL, tt.p)
			if status != tt.status || !strings.Contains(body, tt.detail) {
				t.Fatalf("got %d %s, want %d with %q", status, body, tt.status, tt.detail)
			}
			if tt.status != 200 && len(s.Events()) != 0 {
				t.Fatalf("a refused request recorded events: %+v", s.Events())
			}
			if r := s.Requests(); len(r) != 1 || r[0].Status != status || r[0].Response != body {
				t.Fatalf("requests %+v", r)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	_, hs := start(t)
	resp, err := http.Get(hs.URL + "/batch/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestBodyLimits(t *testing.T) {
	// A real 20 MB body and a gzip bomb that only exceeds it once inflated.
	big := `{"uuid":"018f3e5b-0a41-724b-9d6c-706f737468ab","event":"e","distinct_id":"d","properties":{"p":"` +
		strings.Repeat("x", BatchBodyLimit) + `"}}`
	s, hs := start(t)
	if status, _, _ := do(t, hs.URL, post{body: batchBody(key, big)}); status != 413 {
		t.Fatalf("plain: %d", status)
	}
	if status, _, _ := do(t, hs.URL, post{body: gz(t, batchBody(key, big)), encoding: "gzip"}); status != 413 {
		t.Fatalf("gzip: %d", status)
	}
	if r := s.Requests(); r[0].CompressedBytes <= BatchBodyLimit || r[1].CompressedBytes >= BatchBodyLimit {
		t.Fatalf("requests %+v", r)
	}

	// The single-event routes take 2 MB, and the limit can be lowered.
	s2, hs2 := start(t, WithMaxBodyBytes(1000))
	if status, _, _ := do(t, hs2.URL, post{body: batchBody(key, ev1, ev1, ev1, ev1, ev1, ev1, ev1)}); status != 413 {
		t.Fatalf("lowered limit: %d", status)
	}
	if status, _, _ := do(t, hs2.URL, post{body: batchBody(key, ev1)}); status != 200 {
		t.Fatalf("lowered limit, small body: %d", status)
	}
	exact := batchBody(key, `{"event":"e","distinct_id":"d","properties":{"p":"`+strings.Repeat("y", 1000-89)+`"}}`)
	if len(exact) != 1000 {
		t.Fatalf("test body is %d bytes", len(exact))
	}
	if status, body, _ := do(t, hs2.URL, post{body: gz(t, exact), encoding: "gzip"}); status != 200 {
		t.Fatalf("exactly the limit: %d %s", status, body)
	}
	if r := s2.Requests(); r[0].Status != 413 || r[1].Status != 200 {
		t.Fatalf("requests %+v", r)
	}
}

func TestFailureInjection(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, hs := start(t, WithClock(clock))
	s.FailNext(2, 503, "")
	s.FailNext(1, 429, "7")
	want := []int{503, 503, 429, 200}
	for i, w := range want {
		status, _, h := do(t, hs.URL, post{body: batchBody(key, ev1)})
		if status != w {
			t.Fatalf("request %d: %d, want %d", i, status, w)
		}
		if w == 429 && h.Get("Retry-After") != "7" {
			t.Fatalf("Retry-After %q", h.Get("Retry-After"))
		}
	}
	if n := len(s.Events()); n != 1 {
		t.Fatalf("%d events: failed requests must not record events", n)
	}

	s.FailFor(200*time.Millisecond, 500)
	if status, _, _ := do(t, hs.URL, post{body: batchBody(key, ev1)}); status != 500 {
		t.Fatalf("during FailFor: %d", status)
	}
	mu.Lock()
	now = now.Add(200 * time.Millisecond)
	mu.Unlock()
	if status, _, _ := do(t, hs.URL, post{body: batchBody(key, ev1)}); status != 200 {
		t.Fatalf("after FailFor: %d", status)
	}

	s.Reset()
	if len(s.Events()) != 0 || len(s.Requests()) != 0 {
		t.Fatal("Reset kept records")
	}
}

func TestRejectEvents(t *testing.T) {
	s, hs := start(t)
	s.RejectEvents(func(e Event) bool { return e.Name == "login" })
	status, body, _ := do(t, hs.URL, post{body: batchBody(key, ev1, ev2)})
	if status != 400 || !strings.Contains(body, `login`) || !strings.Contains(body, "018F3E5B-0A41-724B-9D6C-706F737468AC") {
		t.Fatalf("got %d %s", status, body)
	}
	if len(s.Events()) != 0 {
		t.Fatal("the whole request must be refused")
	}
	if status, _, _ := do(t, hs.URL, post{body: batchBody(key, ev1)}); status != 200 {
		t.Fatalf("clean request: %d", status)
	}
	s.RejectEvents(nil)
	if status, _, _ := do(t, hs.URL, post{body: batchBody(key, ev2)}); status != 200 {
		t.Fatalf("refusals off: %d", status)
	}
}

func TestWaitAndOnAccept(t *testing.T) {
	s, hs := start(t)
	var mu sync.Mutex
	var seen []string
	s.OnAccept(func(e Event) {
		mu.Lock()
		seen = append(seen, e.Name)
		mu.Unlock()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan []Event)
	go func() {
		evs, err := s.WaitForEvents(ctx, 3)
		if err != nil {
			t.Error(err)
		}
		done <- evs
	}()
	do(t, hs.URL, post{body: batchBody(key, ev1)})
	do(t, hs.URL, post{body: batchBody(key, ev2, ev1)})
	if evs := <-done; len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	mu.Lock()
	if strings.Join(seen, ",") != "signup,login,signup" {
		t.Errorf("OnAccept saw %v", seen)
	}
	mu.Unlock()

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	evs, err := s.WaitForEvents(short, 10)
	if err == nil || len(evs) != 3 {
		t.Fatalf("WaitForEvents past its deadline: %d events, err %v", len(evs), err)
	}
}

func TestConcurrentRequests(t *testing.T) {
	s, hs := start(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				do(t, hs.URL, post{body: gz(t, batchBody(key, ev1, ev2)), encoding: "gzip"})
				_ = s.Events()
				_ = s.Requests()
			}
		})
	}
	wg.Wait()
	if n := len(s.Events()); n != 160 {
		t.Fatalf("%d events", n)
	}
}
