package mapping

import (
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"

	"github.com/posthogexporter/posthogexporter/internal/configkeys"
)

// OTTL says what it did not know, not what was meant: an enum symbol, a
// function, a path segment. ottlHint adds the nearest valid name, as the
// config's unknown keys get theirs: SPAN_KIND_SEVER, Millisecnds and
// span.atributes are typos of SPAN_KIND_SERVER, Milliseconds and
// span.attributes.

var (
	unknownEnum     = regexp.MustCompile(`enum symbol, (\w+), not found`)
	unknownFunction = regexp.MustCompile(`undefined function "?(\w+)"?`)
	unknownSegment  = regexp.MustCompile(`segment "(\w+)" from path`)
)

// enumSymbols are the enums of the span, span event and log contexts.
var enumSymbols = func() []string {
	out := []string{
		"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
		"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR", "SEVERITY_NUMBER_UNSPECIFIED",
	}
	for _, level := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		out = append(out, "SEVERITY_NUMBER_"+level)
		for i := 2; i <= 4; i++ {
			out = append(out, fmt.Sprintf("SEVERITY_NUMBER_%s%d", level, i))
		}
	}
	return out
}()

// pathSegments are the names a path of the span, span event and log
// contexts is made of.
var pathSegments = []string{
	"span", "spanevent", "log", "resource", "scope", "attributes", "name", "kind", "status", "code", "message",
	"start_time", "end_time", "start_time_unix_nano", "end_time_unix_nano", "trace_id", "span_id", "parent_span_id",
	"trace_state", "events", "links", "dropped_attributes_count", "dropped_events_count", "dropped_links_count",
	"body", "severity_number", "severity_text", "time", "observed_time", "time_unix_nano", "observed_time_unix_nano",
	"event_name", "flags", "version", "schema_url", "string", "hex",
}

// functionNames are the converters the rules' parsers know.
var functionNames = sync.OnceValue(func() []string {
	var out []string
	for name := range ottlfuncs.StandardConverters[*ottlspan.TransformContext]() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
})

// ottlHint adds to an OTTL parse error the nearest valid name of what it
// did not know; other errors are returned as they are.
func ottlHint(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, h := range []struct {
		re    *regexp.Regexp
		valid func() []string
	}{
		{unknownEnum, func() []string { return enumSymbols }},
		{unknownFunction, functionNames},
		{unknownSegment, func() []string { return pathSegments }},
	} {
		m := h.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		if near := configkeys.Nearest(m[1], h.valid()); near != "" {
			return fmt.Errorf("%w; did you mean %s?", err, near)
		}
		return err
	}
	return err
}
