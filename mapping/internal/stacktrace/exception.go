package stacktrace

import (
	"encoding/json"
	"strings"

	"github.com/posthog/posthog-go"
)

// Mechanism types, as posthog-python sets them: the thrown exception is
// "generic", each of its causes "chained".
const (
	MechanismGeneric = "generic"
	MechanismChained = "chained"
)

// Item is one entry of $exception_list: posthog-go's own ExceptionItem, so
// the shape is the one PostHog's Go SDK sends, plus the two fields PostHog
// reads that posthog-go v1.23.1's types have no place for: mechanism.type
// and each frame's colno. Marshal it with MarshalJSON, or hand Wire to the
// mapping package's event encoder.
type Item struct {
	posthog.ExceptionItem
	// MechanismType becomes mechanism.type.
	MechanismType string
	// Columns[i] is the column of Stacktrace.Frames[i] (0: unknown, left out).
	Columns []int
	// Platform is the frames' cymbal platform; Platforms[i] is what
	// Stacktrace.Frames[i] carries for it (node:javascript and python).
	Platform  string
	Platforms []platformFrame
}

// BuildExceptionList builds $exception_list from an OpenTelemetry exception
// (exception.type, exception.message, exception.stacktrace,
// exception.escaped). The thrown exception comes first, with excType and
// message (or what the stack printed when they are empty), then the causes
// the stack printed, root cause last; frames are oldest call first, the
// throwing frame last, as PostHog's SDKs send them. An unparseable stack
// gives one item with no stacktrace: pair it with Fingerprint.
//
// The order is PostHog's SDKs' (checked in their sources, Aug 2026):
// posthog-go's DefaultStackTraceExtractor reverses runtime.Callers "to the
// canonical wire order shared across PostHog SDKs: outermost (entry point)
// first, capture site last" (error_tracking_stack_trace.go, v1.23.1);
// posthog-js's core parser (used by posthog-node) reverses V8's
// innermost-first lines (reverseAndStripFrames); posthog-python walks
// tb_next from the catching frame to the raising one. For chains,
// posthog-python's exceptions_from_error_tuple documents "$exception_list[0]
// is the caught/outermost exception, with each cause appended after its
// wrapper ... and the root cause last", with mechanism type "generic" on the
// first and "chained" on the causes.
func BuildExceptionList(excType, message, stack string, escaped bool) []Item {
	parsed := Parse(stack)
	excs := parsed.Exceptions
	if len(excs) == 0 {
		excs = []Exception{{}}
	}
	if t := clip(strings.TrimSpace(excType), MaxFieldBytes); t != "" {
		excs[0].Type = t
	}
	if message != "" {
		excs[0].Value = clip(message, MaxValueBytes)
	}
	platform, root := platformOf(parsed.Lang, excs), appRoot(excs)
	items := make([]Item, len(excs))
	for i, e := range excs {
		if e.Type == "" {
			// PostHog needs a type to title the issue (posthog-go's
			// Validate refuses an empty one); OpenTelemetry only promises
			// a type or a message, and a stack may print neither.
			e.Type = "Error"
		}
		mech := MechanismGeneric
		if i > 0 {
			mech = MechanismChained
		}
		items[i] = Item{
			ExceptionItem: posthog.ExceptionItem{
				Type:  e.Type,
				Value: e.Value,
				Mechanism: &posthog.ExceptionMechanism{
					Handled:   posthog.Ptr(!escaped),
					Synthetic: posthog.Ptr(false),
				},
			},
			MechanismType: mech,
		}
		if len(e.Frames) == 0 {
			continue // as posthog-python: no frames, no stacktrace
		}
		frames := make([]posthog.StackFrame, len(e.Frames))
		cols := make([]int, len(e.Frames))
		if platform != PlatformCustom {
			items[i].Platform = platform
			items[i].Platforms = make([]platformFrame, len(e.Frames))
			for j, f := range e.Frames {
				items[i].Platforms[j] = platformFrameOf(platform, root, f)
			}
		}
		for j, f := range e.Frames {
			frames[j] = posthog.StackFrame{
				Filename: f.Filename,
				LineNo:   f.Line,
				Function: f.Function,
				InApp:    f.InApp,
				Platform: "custom",
				Lang:     string(parsed.Lang),
			}
			cols[j] = f.Column
		}
		items[i].Stacktrace = &posthog.ExceptionStacktrace{Type: "raw", Frames: frames}
		items[i].Columns = cols
	}
	return items
}

// Wire is the item as JSON-shaped Go values (map[string]any, []any, string,
// int64, bool), for encoders that take those: posthog-go's JSON for the item
// with mechanism.type and colno added, and a frame's lineno and filename left
// out when unknown (PostHog reads both as optional).
func (it Item) Wire() map[string]any {
	b, err := json.Marshal(it.ExceptionItem)
	var v map[string]any
	if err != nil || json.Unmarshal(b, &v) != nil {
		// Cannot happen with posthog-go's plain types; keep the essentials.
		v = map[string]any{"type": it.Type, "value": it.Value}
	}
	integers(v)
	if m, ok := v["mechanism"].(map[string]any); ok && it.MechanismType != "" {
		m["type"] = it.MechanismType
	}
	st, _ := v["stacktrace"].(map[string]any)
	frames, _ := st["frames"].([]any)
	for i, f := range frames {
		f, ok := f.(map[string]any)
		if !ok {
			continue
		}
		if i < len(it.Columns) && it.Columns[i] > 0 {
			f["colno"] = int64(it.Columns[i])
		}
		if f["lineno"] == int64(0) {
			delete(f, "lineno")
		}
		if f["filename"] == "" {
			delete(f, "filename")
		}
		if i < len(it.Platforms) {
			it.Platforms[i].wire(it.Platform, f)
		}
	}
	return v
}

// MarshalJSON writes the item as PostHog reads it (see Wire).
func (it Item) MarshalJSON() ([]byte, error) {
	return json.Marshal(it.Wire())
}

// WireList is a whole $exception_list as JSON-shaped Go values.
func WireList(items []Item) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.Wire()
	}
	return out
}

// integers turns the float64 encoding/json decodes numbers into back into
// int64: every number posthog-go writes in an item is an integer.
func integers(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if f, ok := x.(float64); ok && f == float64(int64(f)) {
				v[k] = int64(f)
			} else {
				integers(x)
			}
		}
	case []any:
		for i, x := range v {
			if f, ok := x.(float64); ok && f == float64(int64(f)) {
				v[i] = int64(f)
			} else {
				integers(x)
			}
		}
	}
}
