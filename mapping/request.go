package mapping

import (
	"net"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The request an event belongs to, as PostHog's server SDKs attach it to
// every event captured while a request is handled (posthog-node's request
// context): read from the SERVER span's semantic conventions and the
// headers posthog-js adds to the page's requests.
const (
	CurrentURLKey    = "$current_url"
	RequestPathKey   = "$request_path"
	RequestMethodKey = "$request_method"
	UserAgentKey     = "$user_agent"
	// requestDistinctID is the posthog-js distinct id header: the trace's
	// fallback identity, not a property.
	requestDistinctID = "distinct_id"
	// requestStatusCode is the response's status code: a property of
	// $exception events only, as posthog-node sends it.
	requestStatusCode = "status_code"
)

// RequestAttribute is the span attribute the trace context stage gives a
// span that waited for its trace: the request context of its trace (a map
// of the keys above, $session_id, $window_id and $ip to strings), key by
// key its own SERVER span's, else the trace's entry request's (the SERVER
// span nearest the root). Events of spans without it read their own SERVER
// span.
const RequestAttribute = "posthogexporter.request"

// reservedPrefix starts the attributes the trace context stage writes.
const reservedPrefix = "posthogexporter."

// InheritedAttribute lists the attributes the trace context stage gave a
// log record: they are not part of its identity (its uuid).
const InheritedAttribute = reservedPrefix + "inherited"

// requestHeaderDistinctID are the attributes of posthog-js's distinct id
// header, as HTTP server instrumentations record it.
var requestHeaderDistinctID = []string{"http.request.header.x-posthog-distinct-id", "http.request.header.x_posthog_distinct_id"}

// requestPropertyKeys are the request's keys an event gets as properties,
// in the order they are read.
var requestPropertyKeys = []string{CurrentURLKey, RequestPathKey, RequestMethodKey, UserAgentKey, IPKey}

// Request returns the request context a SERVER span's attributes record,
// by key; nil when it records none. Only SERVER spans handle a request:
// a CLIENT span's url.full is a call the service made.
func Request(span ptrace.Span) map[string]string {
	if span.Kind() != ptrace.SpanKindServer {
		return nil
	}
	var out map[string]string
	for _, key := range requestKeys {
		if v := serverRequest(span.Attributes(), key); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v
		}
	}
	return out
}

// requestKeys are the keys of a request context.
var requestKeys = []string{SessionIDKey, WindowIDKey, CurrentURLKey, RequestPathKey, RequestMethodKey, UserAgentKey, IPKey, requestDistinctID, requestStatusCode}

// serverRequest reads one key of the request context of a SERVER span's
// attributes.
func serverRequest(attrs pcommon.Map, key string) string {
	switch key {
	case SessionIDKey:
		return firstString(attrs, sessionIDAttributes)
	case WindowIDKey:
		return firstString(attrs, windowIDAttributes)
	case CurrentURLKey:
		return currentURL(attrs)
	case RequestPathKey:
		return firstString(attrs, []string{"url.path"})
	case RequestMethodKey:
		return firstString(attrs, []string{"http.request.method"})
	case UserAgentKey:
		return firstString(attrs, []string{"user_agent.original"})
	case IPKey:
		return firstString(attrs, []string{"client.address"})
	case requestDistinctID:
		return firstString(attrs, requestHeaderDistinctID)
	case requestStatusCode:
		if v, ok := attrs.Get("http.response.status_code"); ok {
			return v.AsString()
		}
	}
	return ""
}

// currentURL is url.full, else the URL the semantic conventions' parts make:
// url.scheme, server.address and server.port, url.path and url.query.
func currentURL(attrs pcommon.Map) string {
	if u := firstString(attrs, []string{"url.full"}); u != "" {
		return u
	}
	scheme, host, path := firstString(attrs, []string{"url.scheme"}), firstString(attrs, []string{"server.address"}), firstString(attrs, []string{"url.path"})
	if scheme == "" || host == "" || path == "" {
		return ""
	}
	if p, ok := attrs.Get("server.port"); ok && p.Type() == pcommon.ValueTypeInt {
		if port := p.Int(); !(scheme == "http" && port == 80 || scheme == "https" && port == 443) {
			host = net.JoinHostPort(host, strconv.FormatInt(port, 10))
		}
	}
	u := scheme + "://" + host + path
	if q := firstString(attrs, []string{"url.query"}); q != "" {
		u += "?" + q
	}
	return u
}

// PutRequest writes a request context into attrs as RequestAttribute.
func PutRequest(attrs pcommon.Map, req map[string]string) {
	if len(req) == 0 {
		return
	}
	m := attrs.PutEmptyMap(RequestAttribute)
	m.EnsureCapacity(len(req))
	for k, v := range req {
		m.PutStr(k, v)
	}
}

// readRequest finds, once, the request context the trace context stage
// gave the record.
func (r *record) readRequest() {
	if r.hasRequest {
		return
	}
	attrs := r.attributes
	if !r.isLog {
		attrs = r.span.Attributes()
	}
	if v, ok := attrs.Get(RequestAttribute); ok && v.Type() == pcommon.ValueTypeMap {
		r.requestMap = v.Map()
	}
	r.hasRequest = true
}

// request returns key of the record's request context: what the trace
// context stage gave it, else its own SERVER span's (a span event's span).
func (r *record) request(key string) string {
	r.readRequest()
	if r.requestMap != (pcommon.Map{}) {
		if v, ok := r.requestMap.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return ""
	}
	if r.isLog || r.span.Kind() != ptrace.SpanKindServer {
		return ""
	}
	return serverRequest(r.span.Attributes(), key)
}

// requestProperties adds the request context's properties to out; the
// rule's own properties of the same keys win (addBuilt).
func requestProperties(rec *record, out []Property) []Property {
	for _, key := range requestPropertyKeys {
		if p, ok := rec.requestProperty(key); ok {
			out = append(out, p)
		}
	}
	return out
}

// requestAttributes are the keys of a request context that a SERVER span's
// attributes give as they are: the first of these attributes whose value
// is not empty (serverRequest reads the others).
var requestAttributes = map[string][]string{
	RequestPathKey: {"url.path"}, RequestMethodKey: {"http.request.method"},
	UserAgentKey: {"user_agent.original"}, IPKey: {"client.address"},
}

// requestProperty is request(key) as a property. A value that is a string
// attribute as it is goes as the attribute (Raw), which encodes alike and
// costs no allocation: these properties come with every event of a
// request.
func (r *record) requestProperty(key string) (Property, bool) {
	r.readRequest()
	if r.requestMap != (pcommon.Map{}) {
		if v, ok := r.requestMap.Get(key); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			return Property{Key: key, Raw: v}, true
		}
		return Property{}, false
	}
	if r.isLog || r.span.Kind() != ptrace.SpanKindServer {
		return Property{}, false
	}
	attrs := r.span.Attributes()
	if names, ok := requestAttributes[key]; ok {
		return firstProperty(attrs, names, key)
	}
	if s := serverRequest(attrs, key); s != "" {
		return Property{Key: key, Value: s}, true
	}
	return Property{}, false
}

// firstProperty is firstString(attrs, names) as the property key.
func firstProperty(attrs pcommon.Map, names []string, key string) (Property, bool) {
	for _, name := range names {
		v, ok := attrs.Get(name)
		if !ok {
			continue
		}
		if v.Type() == pcommon.ValueTypeStr {
			if v.Str() != "" {
				return Property{Key: key, Raw: v}, true
			}
			continue
		}
		if s, ok := valueString(v); ok && s != "" {
			return Property{Key: key, Value: s}, true
		}
	}
	return Property{}, false
}
