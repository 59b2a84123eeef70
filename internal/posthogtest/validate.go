package posthogtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// payload is a parsed capture body.
type payload struct {
	key        string
	historical bool
	count      int // events in the body, valid or not
	events     []Event
}

// parsePayload validates body the way PostHog's capture does, in its order:
// the body must parse (400), the batch must not be empty (400), a project key
// must be present and not be a personal key (401), and every event needs a
// name, a distinct_id and, if it has a uuid, a valid one (400 for the whole
// request: the legacy pipeline stops at the first bad event).
//
// wantKey, when not empty, is the only key accepted (401 otherwise).
func parsePayload(body []byte, batchRoute bool, wantKey string) (payload, *answer) {
	var p payload
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return p, badRequest("empty_payload", "empty request body")
	}

	var rawEvents []json.RawMessage
	var top map[string]json.RawMessage
	switch {
	case body[0] == '[' && !batchRoute:
		if err := json.Unmarshal(body, &rawEvents); err != nil {
			return p, badRequest("request_parsing_error", "failed to decode request: "+err.Error())
		}
	case body[0] == '{':
		if err := json.Unmarshal(body, &top); err != nil {
			return p, badRequest("request_parsing_error", "failed to decode request: "+err.Error())
		}
		if b, ok := top["batch"]; ok || batchRoute {
			if err := json.Unmarshal(b, &rawEvents); err != nil || rawEvents == nil {
				return p, badRequest("request_parsing_error", `"batch" must be an array of events`)
			}
		} else {
			rawEvents = []json.RawMessage{body} // a single event
		}
		p.key = stringField(top, "api_key")
		if p.key == "" {
			p.key = stringField(top, "token")
		}
		_ = json.Unmarshal(top["historical_migration"], &p.historical)
	default:
		return p, badRequest("request_parsing_error", "failed to decode request: not a JSON object")
	}
	p.count = len(rawEvents)
	if len(rawEvents) == 0 {
		return p, badRequest("empty_batch", "batch is empty")
	}

	objs := make([]map[string]json.RawMessage, len(rawEvents))
	for i, raw := range rawEvents {
		if err := json.Unmarshal(raw, &objs[i]); err != nil || objs[i] == nil {
			return p, badRequest("request_parsing_error", fmt.Sprintf("event %d is not a JSON object", i))
		}
	}
	if p.key == "" {
		p.key = eventToken(objs[0])
	}
	if p.key == "" {
		return p, unauthorized("no_token", "API key is missing: pass api_key or token")
	}
	if strings.HasPrefix(p.key, "phx_") {
		return p, unauthorized("invalid_api_key", "a personal API key (phx_) cannot capture events: use the project API key")
	}

	if wantKey != "" && p.key != wantKey {
		return p, unauthorized("invalid_api_key", "Project API key invalid.")
	}

	p.events = make([]Event, 0, len(objs))
	for i, obj := range objs {
		ev, bad := parseEvent(obj, rawEvents[i], p.historical)
		if bad != "" {
			p.events = nil
			return p, badRequest("invalid_event", fmt.Sprintf("event %d: %s", i, bad))
		}
		p.events = append(p.events, ev)
	}
	return p, nil
}

func parseEvent(obj map[string]json.RawMessage, raw json.RawMessage, historical bool) (Event, string) {
	ev := Event{Raw: raw, HistoricalMigration: historical}
	ev.Name = stringField(obj, "event")
	if ev.Name == "" {
		return ev, "missing event name"
	}
	if props, ok := obj["properties"]; ok && !isNull(props) {
		if err := json.Unmarshal(props, &ev.Properties); err != nil {
			return ev, "properties must be an object"
		}
	}
	id, ok := distinctID(obj["distinct_id"])
	if !ok {
		// capture also looks in properties, as posthog-js puts it there.
		if v, has := ev.Properties["distinct_id"]; has && v != nil {
			id, ok = fmt.Sprint(v), true
		}
	}
	if !ok {
		return ev, "missing distinct_id"
	}
	if id == "" {
		return ev, "empty distinct_id"
	}
	if len([]rune(id)) > 200 {
		id = string([]rune(id)[:200]) // capture truncates, it does not refuse
	}
	ev.DistinctID = id

	if u, has := obj["uuid"]; has && !isNull(u) {
		var s string
		if err := json.Unmarshal(u, &s); err != nil {
			return ev, "uuid must be a string"
		}
		if _, err := uuid.Parse(s); err != nil {
			return ev, fmt.Sprintf("invalid uuid %q", s)
		}
		ev.UUID = s
	} else {
		ev.UUID = uuid.NewString()
	}

	if ts, has := obj["timestamp"]; has && !isNull(ts) {
		var s string
		if json.Unmarshal(ts, &s) == nil {
			ev.Timestamp = s
		} else {
			ev.Timestamp = string(ts)
		}
	}
	return ev, ""
}

// distinctID stringifies distinct_id like capture does: strings as they are,
// numbers and booleans as their JSON text; objects and arrays are refused.
func distinctID(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || isNull(raw) {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	switch raw[0] {
	case '{', '[':
		return "", false
	}
	return string(raw), true
}

// eventToken finds the key in an event, where the single-event routes and
// older SDKs put it.
func eventToken(obj map[string]json.RawMessage) string {
	for _, k := range []string{"api_key", "token"} {
		if s := stringField(obj, k); s != "" {
			return s
		}
	}
	var props map[string]json.RawMessage
	if json.Unmarshal(obj["properties"], &props) == nil {
		return stringField(props, "token")
	}
	return ""
}

func stringField(obj map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := obj[key]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func badRequest(code, detail string) *answer {
	a := errorAnswer(http.StatusBadRequest, "validation_error", code, detail)
	return &a
}

func unauthorized(code, detail string) *answer {
	a := errorAnswer(http.StatusUnauthorized, "authentication_error", code, detail)
	return &a
}
