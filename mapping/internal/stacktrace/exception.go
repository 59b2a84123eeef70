package stacktrace

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

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
//
// It builds what encoding posthog-go's types to JSON and decoding that into
// Go values gives (wireByJSON in the tests), key for key, without the round
// trip: an $exception is built for every exception recorded, and the round
// trip was a third of the cost of building its event.
func (it Item) Wire() map[string]any {
	v := map[string]any{"type": jsonString(it.Type), "value": jsonString(it.Value)}
	if m := it.Mechanism; m != nil {
		mech := map[string]any{}
		if m.Handled != nil {
			mech["handled"] = *m.Handled
		}
		if m.Synthetic != nil {
			mech["synthetic"] = *m.Synthetic
		}
		if it.MechanismType != "" {
			mech["type"] = it.MechanismType
		}
		v["mechanism"] = mech
	}
	if st := it.Stacktrace; st != nil {
		var frames any // nil frames encode as null
		if st.Frames != nil {
			list := make([]any, len(st.Frames))
			for i := range st.Frames {
				list[i] = it.wireFrame(i)
			}
			frames = list
		}
		v["stacktrace"] = map[string]any{"type": jsonString(st.Type), "frames": frames}
	}
	return v
}

// wireFrame is frame i as Wire gives it: posthog-go's fields, omitempty as
// its tags say, then the frame's column and platform fields.
func (it Item) wireFrame(i int) map[string]any {
	fr := &it.Stacktrace.Frames[i]
	f := map[string]any{
		"function": jsonString(fr.Function), "in_app": fr.InApp, "synthetic": fr.Synthetic,
		"platform": jsonString(fr.Platform),
	}
	if fr.Filename != "" {
		f["filename"] = jsonString(fr.Filename)
	}
	if fr.LineNo != 0 {
		f["lineno"] = jsonNumber(fr.LineNo)
	}
	for _, kv := range [...]struct{ key, s string }{
		{"lang", fr.Lang}, {"instruction_addr", fr.InstructionAddr}, {"symbol_addr", fr.SymbolAddr}, {"image_addr", fr.ImageAddr},
	} {
		if kv.s != "" {
			f[kv.key] = jsonString(kv.s)
		}
	}
	if fr.ClientResolved {
		f["client_resolved"] = true
	}
	if fr.Inline {
		f["inline"] = true
	}
	if i < len(it.Columns) && it.Columns[i] > 0 {
		f["colno"] = int64(it.Columns[i])
	}
	if i < len(it.Platforms) {
		it.Platforms[i].wire(it.Platform, f)
	}
	return f
}

// jsonNumber is n as decoding its JSON gives it after integers: an int64
// when a float64 holds it exactly, else the float64.
func jsonNumber(n int) any {
	f := float64(n)
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}

// jsonString is s as encoding/json's round trip gives it: each byte of
// invalid UTF-8 becomes U+FFFD.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
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
