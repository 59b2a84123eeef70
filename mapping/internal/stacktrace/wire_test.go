package stacktrace

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/posthog/posthog-go"
)

// wireByJSON is Wire as it was first written: posthog-go's JSON for the
// item, decoded into Go values, then adjusted. Wire must give the same.
func wireByJSON(it Item) map[string]any {
	b, err := json.Marshal(it.ExceptionItem)
	var v map[string]any
	if err != nil || json.Unmarshal(b, &v) != nil {
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

func assertWireByJSON(t *testing.T, it Item) {
	t.Helper()
	if got, want := it.Wire(), wireByJSON(it); !reflect.DeepEqual(got, want) {
		t.Fatalf("Wire differs from the JSON round trip:\n got %#v\nwant %#v", got, want)
	}
}

// TestWireIsTheJSONRoundTrip: for every captured stack, its truncations,
// and items using every field of posthog-go's types.
func TestWireIsTheJSONRoundTrip(t *testing.T) {
	for _, c := range goldenCases(t) {
		for _, escaped := range []bool{false, true} {
			for _, it := range BuildExceptionList(c.excType, c.message, c.stack, escaped) {
				assertWireByJSON(t, it)
			}
		}
		for n := 0; n < len(c.stack); n += 97 {
			for _, it := range BuildExceptionList("", "", c.stack[:n], false) {
				assertWireByJSON(t, it)
			}
		}
	}
	handled := true
	for _, it := range []Item{
		{ExceptionItem: posthog.ExceptionItem{Type: "a\xffb", Value: "\xc3"}},
		{ExceptionItem: posthog.ExceptionItem{Type: "T", Mechanism: &posthog.ExceptionMechanism{Handled: &handled}}, MechanismType: "generic"},
		{ExceptionItem: posthog.ExceptionItem{Type: "T", Mechanism: &posthog.ExceptionMechanism{}}},
		{ExceptionItem: posthog.ExceptionItem{Type: "T", Stacktrace: &posthog.ExceptionStacktrace{Type: "raw"}}},
		{ExceptionItem: posthog.ExceptionItem{Type: "T", Stacktrace: &posthog.ExceptionStacktrace{Type: "raw", Frames: []posthog.StackFrame{}}}},
		{ExceptionItem: posthog.ExceptionItem{Type: "T", Stacktrace: &posthog.ExceptionStacktrace{Type: "raw", Frames: []posthog.StackFrame{
			{Filename: "f\xfe", LineNo: 1 << 60, Function: "fn", InApp: true, Synthetic: true, Platform: "go", Lang: "go",
				InstructionAddr: "0x1", SymbolAddr: "0x2", ImageAddr: "0x3", ClientResolved: true, Inline: true},
			{LineNo: 1<<53 + 1},
			{LineNo: 0, Function: "g"},
		}}}, Columns: []int{3, 0, -1}},
	} {
		assertWireByJSON(t, it)
	}
}
