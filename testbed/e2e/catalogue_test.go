package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
	"github.com/posthogexporter/posthogexporter/testbed/demotelemetry"
)

// wantEvent is what the catalogue must make of one span or log record. The
// expectations are derived here, independently of the exporter, from what the
// demo service recorded through the SDK, following the catalogue's
// documented rules (testdata/config/tl-engine.yaml, README "Event catalogue").
type wantEvent struct {
	name, distinctID string
	at               time.Time
	props            map[string]any // string, int64 or bool
}

// conventions are what PostHog's own SDKs would put on the event: the
// record's trace context, and the request it belongs to, as posthog-node's
// request context gives it to every capture made while handling a request:
// the end user's address (else $geoip_disable), the posthog-js session
// where the request carried its headers, its URL, path, method and agent.
type conventions struct {
	traceID, ip, session, window string
	request                      map[string]any
}

// requestOf is the request a SERVER span records: what every event of its
// trace carries (trace_context), its own events included.
func requestOf(a map[string]any) conventions {
	url := a["url.scheme"].(string) + "://" + a["server.address"].(string) + a["url.path"].(string)
	return conventions{
		ip: str(a["client.address"]), session: firstOf(a["http.request.header.x-posthog-session-id"]), window: firstOf(a["http.request.header.x-posthog-window-id"]),
		request: map[string]any{"$current_url": url, "$request_path": a["url.path"], "$request_method": a["http.request.method"], "$user_agent": a["user_agent.original"]},
	}
}

type expected struct {
	wantEvent
	conventions
}

// TestCatalogueEndToEnd runs the demo service's telemetry through the built
// collector with testdata/config/tl-engine.yaml, unchanged but for its ports,
// and checks all 13 events of the brief with their properties, identity and
// timestamps, and the $exception and $feature_flag_called events: one per
// exception (the unhandled one is recorded on two spans), one per exposure
// (user-123 evaluates the flag twice).
func TestCatalogueEndToEnd(t *testing.T) {
	c, otlp, ph := startShipped(t, "tl-engine.yaml", "phc_catalogue", "--set=processors::batch::timeout=100ms")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := demotelemetry.Run(ctx, demotelemetry.Config{Endpoint: "http://" + otlp, Environment: "catalogue"})
	if err != nil {
		t.Fatalf("sending telemetry: %v", err)
	}
	want := expectCatalogue(res)
	got, err := ph.WaitForEvents(ctx, len(want))
	if err != nil {
		t.Fatalf("waiting for %d events: %v (got %d)", len(want), err, len(got))
	}
	// A graceful stop maps what still waits and drains the queue: anything
	// beyond the expected events has arrived when it returns.
	c.stop()
	got = ph.Events()

	names := map[string]int{}
	for _, w := range want {
		names[w.name]++
	}
	if len(names) != 15 {
		t.Fatalf("the demo telemetry should cover the 13 events of the brief, $exception and $feature_flag_called; covers %d: %v", len(names), names)
	}
	if len(got) != len(want) {
		t.Errorf("got %d events, want %d", len(got), len(want))
	}
	sessions := 0
	for _, w := range want {
		if w.session != "" {
			sessions++
		}
	}
	if sessions == 0 {
		t.Error("no request of the demo carried the posthog-js session header: $session_id goes unchecked")
	}

	// Events are matched to expectations by name and the record's $span_id.
	byKey := map[string]posthogtest.Event{}
	uuids := map[string]bool{}
	for _, e := range got {
		key := builtKey(e)
		if _, dup := byKey[key]; dup {
			t.Errorf("%s sent twice", key)
		}
		byKey[key] = e
		if uuids[e.UUID] {
			t.Errorf("uuid %s sent twice", e.UUID)
		}
		uuids[e.UUID] = true
	}
	for key, w := range want {
		e, ok := byKey[key]
		if !ok {
			t.Errorf("%s: no event", key)
			continue
		}
		where := key
		wantDistinct(t, where, e, w.distinctID)
		ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		if err != nil {
			t.Errorf("%s: timestamp %q: %v", where, e.Timestamp, err)
		} else {
			checkTime(t, where, ts, w.at)
		}
		props := map[string]any{"service": "tl-engine", "environment": "catalogue", "$process_person_profile": false, "$trace_id": w.traceID}
		for k, v := range w.props {
			props[k] = v
		}
		checkConventions(t, where, e, w)
		for k, v := range props {
			switch v := v.(type) {
			case int64:
				wantNum(t, where, e, k, v)
			default:
				if e.Properties[k] != v {
					t.Errorf("%s: %s = %#v, want %#v", where, k, e.Properties[k], v)
				}
			}
		}
	}
	checkBuiltEvents(t, byKey)
	// Identity reached the spans that do not carry it: the request's user
	// and tenant, recorded once on the auth middleware's span.
	withUser := 0
	for _, e := range got {
		if e.Properties["user_id"] != nil {
			withUser++
		}
		if e.Name == "engine_executed" && (e.Properties["user_id"] != "user-123" || e.Properties["tenant"] != "acme") {
			t.Errorf("engine_executed: user_id %v, tenant %v; want user-123 of acme, from the request", e.Properties["user_id"], e.Properties["tenant"])
		}
	}
	if withUser != 7 { // 2 engine runs, 1 queued, 3 cache lookups and 1 slow query in users' requests
		t.Errorf("%d events carry their request's user_id, want 7", withUser)
	}
	counts := make([]string, 0, len(names))
	for n, k := range names {
		counts = append(counts, fmt.Sprintf("%s=%d", n, k))
	}
	sort.Strings(counts)
	t.Logf("%d events: %v", len(got), counts)
}

// checkConventions checks what PostHog's own SDKs would have put on the
// event: located by the user's $ip, or not located at all; in the posthog-js
// session (and window) exactly when its request carried its headers; the
// request's URL, path, method and agent.
func checkConventions(t *testing.T, where string, e posthogtest.Event, w expected) {
	t.Helper()
	if w.ip != "" {
		if e.Properties["$ip"] != w.ip || e.Properties["$geoip_disable"] != nil {
			t.Errorf("%s: $ip %v, $geoip_disable %v; want $ip %s and no $geoip_disable", where, e.Properties["$ip"], e.Properties["$geoip_disable"], w.ip)
		}
	} else if e.Properties["$geoip_disable"] != true || e.Properties["$ip"] != nil {
		t.Errorf("%s: $geoip_disable %v, $ip %v; want $geoip_disable true", where, e.Properties["$geoip_disable"], e.Properties["$ip"])
	}
	for key, want := range w.request {
		if e.Properties[key] != want {
			t.Errorf("%s: %s %v, want %v (from the trace's request)", where, key, e.Properties[key], want)
		}
	}
	for key, want := range map[string]string{"$session_id": w.session, "$window_id": w.window} {
		got, has := e.Properties[key]
		switch {
		case want == "" && has:
			t.Errorf("%s: %s %v, but the request carried no posthog-js header", where, key, got)
		case want != "" && got != want:
			t.Errorf("%s: %s %v, want %s (from the request's header)", where, key, got, want)
		}
	}
}

// expectCatalogue derives the expected events, keyed by name and span id.
func expectCatalogue(res *demotelemetry.Result) map[string]expected {
	want := map[string]expected{}
	var traceID string
	requests := map[trace.TraceID]conventions{}
	for _, s := range res.Spans {
		if s.SpanKind() == trace.SpanKindServer {
			requests[s.SpanContext().TraceID()] = requestOf(attrs(s.Attributes()))
		}
	}
	// Every event of a span gets its trace's request (none for a worker's).
	var request conventions
	add := func(spanID trace.SpanID, w wantEvent) {
		e := expected{wantEvent: w, conventions: request}
		e.traceID = traceID
		want[w.name+"/"+spanID.String()] = e
	}
	// The demo records the caller once per request, on the auth
	// middleware's span; trace_context gives it to every span of the trace.
	users, tenants := map[trace.TraceID]any{}, map[trace.TraceID]any{}
	for _, s := range res.Spans {
		a := attrs(s.Attributes())
		if u, ok := a["enduser.id"]; ok {
			users[s.SpanContext().TraceID()] = u
			tenants[s.SpanContext().TraceID()] = a["tenant.id"]
		}
	}
	// The demo evaluates its flag in the handler, a child span:
	// trace_context gives the flag to every span of the request.
	flags := map[trace.TraceID]map[string]any{}
	for _, s := range res.Spans {
		for k, v := range flagsOf(s) {
			if flags[s.SpanContext().TraceID()] == nil {
				flags[s.SpanContext().TraceID()] = map[string]any{}
			}
			flags[s.SpanContext().TraceID()][k] = v
		}
	}
	for _, s := range res.Spans {
		a := attrs(s.Attributes())
		if _, own := a["enduser.id"]; !own {
			a["enduser.id"], a["tenant.id"] = users[s.SpanContext().TraceID()], tenants[s.SpanContext().TraceID()]
		}
		id := s.SpanContext().SpanID()
		traceID = s.SpanContext().TraceID().String()
		request = requests[s.SpanContext().TraceID()]
		durMS := s.EndTime().Sub(s.StartTime()).Milliseconds()
		failed := s.Status().Code == codes.Error
		switch {
		case s.Name() == "engine.execute":
			p := map[string]any{"engine_id": a["engine.id"], "engine_type": a["engine.type"], "duration_ms": durMS, "user_id": a["enduser.id"], "tenant": a["tenant.id"]}
			name, status := "engine_executed", "success"
			if failed {
				name, status = "engine_failed", "error"
				p["error_type"] = a["error.type"]
				p["error_message"] = s.Status().Description
			}
			p["status"] = status
			for k, v := range flags[s.SpanContext().TraceID()] {
				p["$feature/"+k] = v // evaluated in the handler, a sibling
			}
			add(id, wantEvent{name, "engine-" + str(a["engine.id"]), s.EndTime(), p})
		case s.SpanKind() == trace.SpanKindProducer && a["messaging.destination.name"] == "engines":
			add(id, wantEvent{"engine_queued", "engine-" + str(a["engine.id"]), s.EndTime(),
				map[string]any{"engine_id": a["engine.id"], "queue_name": "engines", "priority": a["engine.priority"], "user_id": a["enduser.id"], "tenant": a["tenant.id"]}})
		case s.SpanKind() == trace.SpanKindServer:
			user := mapping.AnonymousDistinctID(pcommon.TraceID(s.SpanContext().TraceID()))
			if u := a["enduser.id"]; u != nil {
				user = str(u)
			} else if h, ok := a["http.request.header.x-posthog-distinct-id"].([]string); ok {
				user = h[0]
			}
			p := map[string]any{
				"endpoint": a["http.route"], "url_path": a["url.path"], "method": a["http.request.method"],
				"status_code": a["http.response.status_code"], "response_time_ms": durMS, "tenant": a["tenant.id"]}
			for k, v := range flags[s.SpanContext().TraceID()] {
				p["$feature/"+k] = v // evaluated in the handler, a child span
			}
			add(id, wantEvent{"api_request", user, s.EndTime(), p})
			if code, _ := a["http.response.status_code"].(int64); code >= 500 {
				add(id, wantEvent{"api_error", user, s.EndTime(), map[string]any{
					"endpoint": a["http.route"], "method": a["http.request.method"], "status_code": code,
					"error_type": a["error.type"], "error_message": s.Status().Description, "tenant": a["tenant.id"]}})
			}
		case s.SpanKind() == trace.SpanKindConsumer && a["task.id"] != nil:
			task := "task-" + str(a["task.id"])
			add(id, wantEvent{"worker_task_started", task, s.StartTime(), map[string]any{
				"task_id": a["task.id"], "task_type": a["task.type"], "queue_name": a["messaging.destination.name"]}})
			if failed {
				add(id, wantEvent{"worker_task_failed", task, s.EndTime(), map[string]any{
					"task_id": a["task.id"], "task_type": a["task.type"], "error_type": a["error.type"],
					"retry_count": a["task.retry_count"], "duration_ms": durMS}})
			} else {
				add(id, wantEvent{"worker_task_completed", task, s.EndTime(), map[string]any{
					"task_id": a["task.id"], "task_type": a["task.type"], "duration_ms": durMS, "status": "success"}})
			}
		case s.Name() == "cache.get":
			if a["cache.hit"] == true {
				add(id, wantEvent{"cache_hit", "tl-engine", s.EndTime(), map[string]any{"cache_key": a["cache.key"], "cache_type": a["cache.type"], "ttl": a["cache.ttl"], "user_id": a["enduser.id"], "tenant": a["tenant.id"]}})
			} else {
				add(id, wantEvent{"cache_miss", "tl-engine", s.EndTime(), map[string]any{"cache_key": a["cache.key"], "cache_type": a["cache.type"], "user_id": a["enduser.id"], "tenant": a["tenant.id"]}})
			}
		case a["db.system.name"] != nil && s.EndTime().Sub(s.StartTime()) > 500*time.Millisecond:
			add(id, wantEvent{"database_query_slow", "tl-engine", s.EndTime(), map[string]any{
				"query_type": a["db.operation.name"], "table_name": a["db.collection.name"], "duration_ms": durMS,
				"user_id": a["enduser.id"], "tenant": a["tenant.id"]}})
		}
	}
	expectBuiltFromSpans(res, requests, want)
	for _, r := range res.Logs {
		a := logAttrs(r)
		traceID = r.TraceID().String()
		request = requests[r.TraceID()] // a log record joins its trace
		switch {
		case r.Severity() >= otellog.SeverityError:
			// A handled exception, logged: $exception, for the service.
			c := request
			c.traceID = traceID
			want["$exception/"+str(a["exception.type"])] = expected{
				wantEvent:   wantEvent{"$exception", "tl-engine", r.Timestamp(), map[string]any{}},
				conventions: c,
			}
		case r.EventName() == "rate_limit_exceeded":
			sum := sha256.Sum256([]byte(str(a["api_key"])))
			add(r.SpanID(), wantEvent{"rate_limit_exceeded", str(a["enduser.id"]), r.Timestamp(), map[string]any{
				"api_key": hex.EncodeToString(sum[:]), "endpoint": a["endpoint"], "limit": a["limit"], "current": a["current"]}})
		case a["db.client.connection.pool.name"] != nil:
			add(r.SpanID(), wantEvent{"database_connection_pool_exhausted", "tl-engine", r.Timestamp(), map[string]any{
				"pool_name": a["db.client.connection.pool.name"], "pool_size": a["db.client.connection.max"],
				"active_connections": a["db.client.connection.count"], "waiting_connections": a["db.client.connection.pending_requests"]}})
		}
	}
	return want
}

// builtKey is how an event is matched to its expectation: by name and the
// record's span, but $exception by its type (one per exception, whichever
// span's copy was sent) and $feature_flag_called by its user (one per exposure).
func builtKey(e posthogtest.Event) string {
	switch e.Name {
	case "$exception":
		list, _ := e.Properties["$exception_list"].([]any)
		if len(list) > 0 {
			if first, ok := list[0].(map[string]any); ok {
				return e.Name + "/" + str(first["type"])
			}
		}
		return e.Name + "/?"
	case "$feature_flag_called":
		return e.Name + "/" + e.DistinctID
	}
	span, _ := e.Properties["$span_id"].(string)
	return e.Name + "/" + span
}

// flagsOf is what the flag evaluations recorded on s said: key -> variant.
func flagsOf(s sdktrace.ReadOnlySpan) map[string]any {
	out := map[string]any{}
	for _, ev := range s.Events() {
		if ev.Name != "feature_flag.evaluation" {
			continue
		}
		a := attrs(ev.Attributes)
		out[str(a["feature_flag.key"])] = a["feature_flag.result.variant"]
	}
	return out
}

// expectBuiltFromSpans adds the $exception of each exception recorded on
// spans (the first copy, as spans are exported in the order they end) and
// the $feature_flag_called of each first exposure.
func expectBuiltFromSpans(res *demotelemetry.Result, requests map[trace.TraceID]conventions, want map[string]expected) {
	users := map[trace.TraceID]any{} // trace_context gives the caller to every span of the request
	for _, s := range res.Spans {
		if u, ok := attrs(s.Attributes())["enduser.id"]; ok {
			users[s.SpanContext().TraceID()] = u
		}
	}
	for _, s := range res.Spans {
		a := attrs(s.Attributes())
		if _, own := a["enduser.id"]; !own {
			a["enduser.id"] = users[s.SpanContext().TraceID()]
		}
		c := requests[s.SpanContext().TraceID()]
		c.traceID = s.SpanContext().TraceID().String()
		for _, ev := range s.Events() {
			ea := attrs(ev.Attributes)
			switch ev.Name {
			case "exception":
				key := "$exception/" + str(ea["exception.type"])
				if _, seen := want[key]; !seen {
					want[key] = expected{wantEvent{"$exception", str(a["enduser.id"]), ev.Time, map[string]any{}}, c}
				}
			case "feature_flag.evaluation":
				user := str(ea["feature_flag.context.id"])
				key := "$feature_flag_called/" + user
				if _, seen := want[key]; !seen {
					variant := ea["feature_flag.result.variant"]
					want[key] = expected{wantEvent{"$feature_flag_called", user, ev.Time, map[string]any{
						"$feature_flag": ea["feature_flag.key"], "$feature_flag_response": variant,
						"$feature/" + str(ea["feature_flag.key"]): variant}}, c}
				}
			}
		}
	}
}

// checkBuiltEvents checks what the exporter built for Error Tracking: the
// thrown exception escaped its handler, the logged one was handled, and
// both have the frames of their Go stacks.
func checkBuiltEvents(t *testing.T, byKey map[string]posthogtest.Event) {
	t.Helper()
	for key, handled := range map[string]bool{"$exception/TimeoutError": false, "$exception/ConnectionRefusedError": true} {
		e, ok := byKey[key]
		if !ok {
			continue // reported already
		}
		list, _ := e.Properties["$exception_list"].([]any)
		if len(list) != 1 {
			t.Errorf("%s: $exception_list %v", key, e.Properties["$exception_list"])
			continue
		}
		item, _ := list[0].(map[string]any)
		mech, _ := item["mechanism"].(map[string]any)
		st, _ := item["stacktrace"].(map[string]any)
		frames, _ := st["frames"].([]any)
		if mech["handled"] != handled || mech["type"] != "generic" || st["type"] != "raw" || len(frames) == 0 {
			t.Errorf("%s: mechanism %v, stacktrace %v", key, mech, st)
			continue
		}
		last, _ := frames[len(frames)-1].(map[string]any)
		if last["lang"] != "go" || last["platform"] != "custom" || !strings.HasSuffix(str(last["function"]), ".Emit") {
			t.Errorf("%s: the throwing frame is %v, want the demo's Emit", key, last)
		}
	}
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func logAttrs(r sdklog.Record) map[string]any {
	var kvs []attribute.KeyValue
	r.WalkAttributes(func(kv attribute.KeyValue) bool { kvs = append(kvs, kv); return true })
	return attrs(kvs)
}

func str(v any) string { return fmt.Sprint(v) }

// firstOf is a header attribute's first value, "" when it is absent.
func firstOf(v any) string {
	if h, ok := v.([]string); ok && len(h) > 0 {
		return h[0]
	}
	return ""
}
