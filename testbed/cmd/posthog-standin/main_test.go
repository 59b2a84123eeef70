package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

func TestPrinterRowsAndSummary(t *testing.T) {
	hidden = map[string]bool{"trace_id": true, "span_id": true, "environment": true}
	var out bytes.Buffer
	p := &printer{out: &out, nprops: 3, counts: map[string]int{}, expect: 2, enough: make(chan struct{})}
	ph := posthogtest.NewServer()
	ph.OnAccept(p.print)
	srv := httptest.NewServer(ph)
	defer srv.Close()

	body := `{"api_key":"phc_test","batch":[
	  {"uuid":"0190a0b0-0000-7000-8000-000000000001","event":"api_request","distinct_id":"user-123","timestamp":"2026-03-01T12:00:01.123456Z",
	   "properties":{"$lib":"x","trace_id":"ab","environment":"demo","endpoint":"/api/v1/engines","method":"GET","status_code":200,"response_time_ms":6}},
	  {"uuid":"0190a0b0-0000-7000-8000-000000000002","event":"engine_failed","distinct_id":"engine-eng-77","timestamp":"2026-03-01T12:00:02Z",
	   "properties":{"error_message":"exceeded its budget","ok":true}}]}`
	resp, err := http.Post(srv.URL+"/batch/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	select {
	case <-p.enough:
	default:
		t.Fatal("-expect 2 not reached after 2 events")
	}
	if n := p.summary(); n != 2 {
		t.Errorf("summary counted %d events", n)
	}
	got := out.String()
	for _, want := range []string{
		"12:00:01.123Z  api_request",
		"user-123",
		"endpoint=/api/v1/engines method=GET response_time_ms=6 +1",
		`error_message="exceeded its budget" ok=true`,
		"posthog-standin: 2 events received",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, hiddenText := range []string{"$lib", "trace_id", "environment"} {
		if strings.Contains(got, hiddenText) {
			t.Errorf("output shows %q:\n%s", hiddenText, got)
		}
	}
}

// TestPrinterFullAndJSON: -full prints the first events whole, as sent,
// before the table; -json prints each event as the JSON it was sent as.
func TestPrinterFullAndJSON(t *testing.T) {
	hidden = map[string]bool{}
	const sent = `{"uuid":"0190a0b0-0000-7000-8000-000000000001","event":"api_request","distinct_id":"user-123","timestamp":"2026-03-01T12:00:01.123456Z","properties":{"$lib":"x","status_code":200}}`
	post := func(p *printer) string {
		var out bytes.Buffer
		p.out = &out
		ph := posthogtest.NewServer()
		ph.OnAccept(p.print)
		srv := httptest.NewServer(ph)
		defer srv.Close()
		resp, err := http.Post(srv.URL+"/batch/", "application/json", strings.NewReader(`{"api_key":"phc_test","batch":[`+sent+`,`+sent+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return out.String()
	}

	got := post(&printer{full: 1, nprops: 3, counts: map[string]int{}})
	whole := strings.Index(got, `"event": "api_request"`)
	legend := strings.Index(got, "TIME is each event's timestamp: the time of the span")
	if whole < 0 || legend < whole || strings.Count(got, `"status_code": 200`) != 1 || strings.Count(got, "12:00:01.123Z  api_request") != 2 {
		t.Errorf("want the first event whole, then the table's legend and header, then both rows:\n%s", got)
	}

	got = post(&printer{json: true, counts: map[string]int{}})
	if got != sent+"\n"+sent+"\n" {
		t.Errorf("-json printed\n%s\nwant the events as sent:\n%s", got, sent)
	}
}

// TestPropsShowWhatSpecialEventsAreAbout: a flag exposure shows its flag and
// response, an $exception its type and message; other $ keys stay hidden.
func TestPropsShowWhatSpecialEventsAreAbout(t *testing.T) {
	flag := props(map[string]any{"$lib": "x", "$feature_flag": "new-ui", "$feature_flag_response": "test", "$feature/new-ui": "test"}, 5)
	if flag != "$feature_flag=new-ui $feature_flag_response=test" {
		t.Errorf("flag exposure: %q", flag)
	}
	exc := props(map[string]any{"$exception_list": []any{map[string]any{"type": "TypeError", "value": "x is undefined"}}, "$exception_fingerprint": "ab"}, 5)
	if exc != `exception="TypeError: x is undefined"` {
		t.Errorf("exception: %q", exc)
	}
}
