package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

var testUUID = [16]byte{0x01, 0x8f, 0x3e, 0x5b, 0x0a, 0x41, 0x72, 0x4b, 0x9d, 0x6c, 0x70, 0x6f, 0x73, 0x74, 0x68, 0xAB}

const testUUIDString = "018f3e5b-0a41-724b-9d6c-706f737468ab"

func TestAppendJSONShape(t *testing.T) {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{
			name: "personless",
			ev: Event{
				UUID: testUUID, Name: "checkout", DistinctID: "u1", Timestamp: ts,
				Properties: []Property{{Key: "a", Value: "x"}, {Key: "b", Value: int64(2)}},
				Set:        []Property{{Key: "ignored", Value: "because personless"}},
				Lib:        "posthogexporter", LibVersion: "0.1.0",
			},
			want: `{"uuid":"` + testUUIDString + `","event":"checkout","distinct_id":"u1","timestamp":"2025-03-04T04:06:07.123456Z",` +
				`"properties":{"a":"x","b":2,"$process_person_profile":false,"$lib":"posthogexporter","$lib_version":"0.1.0"}}`,
		},
		{
			name: "person profiles, groups, no timestamp",
			ev: Event{
				UUID: testUUID, Name: "signed up", DistinctID: "u2",
				PersonProfiles: true,
				Set:            []Property{{Key: "email", Value: "a@b.c"}},
				SetOnce:        []Property{{Key: "first_seen", Value: "web"}},
				Groups:         []Property{{Key: "company", Value: "acme"}},
				Lib:            "l", LibVersion: "v",
			},
			want: `{"uuid":"` + testUUIDString + `","event":"signed up","distinct_id":"u2",` +
				`"properties":{"$set":{"email":"a@b.c"},"$set_once":{"first_seen":"web"},"$groups":{"company":"acme"},"$lib":"l","$lib_version":"v"}}`,
		},
		{
			name: "person profiles, empty set lists left out",
			ev:   Event{UUID: testUUID, Name: "e", DistinctID: "d", PersonProfiles: true, Lib: "l", LibVersion: "v"},
			want: `{"uuid":"` + testUUIDString + `","event":"e","distinct_id":"d","properties":{"$lib":"l","$lib_version":"v"}}`,
		},
		{
			name: "personless with groups",
			ev: Event{UUID: testUUID, Name: "e", DistinctID: "d", Groups: []Property{{Key: "org", Value: "o1"}, {Key: "team", Value: int64(7)}},
				Lib: "l", LibVersion: "v"},
			want: `{"uuid":"` + testUUIDString + `","event":"e","distinct_id":"d",` +
				`"properties":{"$groups":{"org":"o1","team":7},"$process_person_profile":false,"$lib":"l","$lib_version":"v"}}`,
		},
		{
			name: "conventions: trace context, session, window, geoip",
			ev: Event{
				UUID: testUUID, Name: "e", DistinctID: "d",
				Properties: []Property{{Key: "a", Value: "x"}},
				TraceID:    pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
				SpanID:     pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74},
				SessionID:  "s1", WindowID: "w1", GeoIPDisable: true,
				Lib: "l", LibVersion: "v",
			},
			want: `{"uuid":"` + testUUIDString + `","event":"e","distinct_id":"d",` +
				`"properties":{"a":"x","$trace_id":"5b8efff798038103d269b633813fc60c","$span_id":"eee19b7ec3c1b174",` +
				`"$session_id":"s1","$window_id":"w1","$geoip_disable":true,"$process_person_profile":false,"$lib":"l","$lib_version":"v"}}`,
		},
		{
			name: "group identify",
			ev: Event{
				UUID: testUUID, Name: "$groupidentify", DistinctID: "$company_acme", PersonProfiles: true,
				Groups:        []Property{{Key: "company", Value: "acme"}},
				GroupIdentify: true,
				GroupSet:      []Property{{Key: "plan", Value: "enterprise"}},
				Lib:           "l", LibVersion: "v",
			},
			want: `{"uuid":"` + testUUIDString + `","event":"$groupidentify","distinct_id":"$company_acme",` +
				`"properties":{"$group_type":"company","$group_key":"acme","$group_set":{"plan":"enterprise"},"$lib":"l","$lib_version":"v"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.ev.AppendJSON([]byte("prefix"))
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("AppendJSON did not append: %s", got)
			}
			got = got[len("prefix"):]
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON: %s", got)
			}
		})
	}
}

func TestAppendUUID(t *testing.T) {
	if got := string(AppendUUID(nil, testUUID)); got != testUUIDString {
		t.Fatalf("got %s", got)
	}
	if got := string(AppendUUID(nil, [16]byte{})); got != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("got %s", got)
	}
}

type stringer struct{}

func (stringer) String() string { return "I am a stringer" }

func TestAppendJSONValues(t *testing.T) {
	pm := pcommon.NewMap()
	pm.PutStr("z", "last-inserted-first")
	pm.PutInt("i", 1)
	pm.PutDouble("d", 1.5)
	pm.PutBool("b", true)
	pm.PutEmpty("n")
	pm.PutEmptyBytes("bytes").FromRaw([]byte{0xde, 0xad})
	inner := pm.PutEmptySlice("s")
	inner.AppendEmpty().SetStr("x")
	inner.AppendEmpty().SetEmptyMap().PutDouble("nan", math.NaN())

	ps := pcommon.NewSlice()
	ps.AppendEmpty().SetInt(1)
	ps.AppendEmpty().SetStr("two")
	ps.AppendEmpty()

	strVal := pcommon.NewValueStr("v")
	mapVal := pcommon.NewValueMap()
	mapVal.Map().PutStr("k", "v")

	tests := []struct {
		name string
		v    any
		want string // the property's value, compact JSON
	}{
		{"string", "hello", `"hello"`},
		{"empty string", "", `""`},
		{"quotes and backslash", `a"b\c`, `"a\"b\\c"`},
		{"control chars", "\n\r\t\b\f\x00\x1f", `"\n\r\t\b\f\u0000\u001f"`},
		{"html left alone", "<a>&", `"<a>&"`},
		{"unicode", "héllo 世界 🎉", `"héllo 世界 🎉"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"invalid utf8", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"truncated rune", "\xe4\xb8", `"\ufffd\ufffd"`},
		{"int64", int64(-42), `-42`},
		{"int64 max", int64(math.MaxInt64), `9223372036854775807`},
		{"int", 7, `7`},
		{"int32", int32(-7), `-7`},
		{"int16", int16(300), `300`},
		{"int8", int8(-3), `-3`},
		{"uint64 max", uint64(math.MaxUint64), `18446744073709551615`},
		{"uint", uint(3), `3`},
		{"uint32", uint32(4), `4`},
		{"uint16", uint16(5), `5`},
		{"uint8", uint8(6), `6`},
		{"float64", 1.5, `1.5`},
		{"float64 integral", 3.0, `3`},
		{"float64 tiny", 1e-7, `1e-7`},
		{"float64 huge", 1e21, `1e+21`},
		{"float64 negative zero", math.Copysign(0, -1), `-0`},
		{"float64 NaN", math.NaN(), `null`},
		{"float64 +Inf", math.Inf(1), `null`},
		{"float64 -Inf", math.Inf(-1), `null`},
		{"float32", float32(0.1), `0.1`},
		{"float32 NaN", float32(math.NaN()), `null`},
		{"bool true", true, `true`},
		{"bool false", false, `false`},
		{"bytes", []byte{0x0a, 0xff, 0x00}, `"0aff00"`},
		{"empty bytes", []byte{}, `""`},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -7200)), `"2024-01-02T05:04:05.000000006Z"`},
		{"time whole second", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05Z"`},
		{"duration", 1500 * time.Millisecond, `"1.5s"`},
		{"pcommon timestamp", pcommon.Timestamp(1_700_000_000_000_000_000), `"2023-11-14T22:13:20Z"`},
		{"pcommon map in order", pm, `{"z":"last-inserted-first","i":1,"d":1.5,"b":true,"n":null,"bytes":"dead","s":["x",{"nan":null}]}`},
		{"pcommon empty map", pcommon.NewMap(), `{}`},
		{"pcommon slice", ps, `[1,"two",null]`},
		{"pcommon empty slice", pcommon.NewSlice(), `[]`},
		{"pcommon value str", strVal, `"v"`},
		{"pcommon value map", mapVal, `{"k":"v"}`},
		{"pcommon value empty", pcommon.NewValueEmpty(), `null`},
		{"pcommon value double inf", pcommon.NewValueDouble(math.Inf(1)), `null`},
		{"pcommon value bytes", func() pcommon.Value {
			v := pcommon.NewValueBytes()
			v.Bytes().FromRaw([]byte{1, 2})
			return v
		}(), `"0102"`},
		{"pcommon byte slice", func() pcommon.ByteSlice {
			b := pcommon.NewByteSlice()
			b.FromRaw([]byte{0xab})
			return b
		}(), `"ab"`},
		{"map sorted", map[string]any{"b": 1, "a": "x", "c": nil}, `{"a":"x","b":1,"c":null}`},
		{"empty map", map[string]any{}, `{}`},
		{"nested any", []any{nil, "s", 1.25, []any{true}, map[string]any{"k": []string{"v"}}}, `[null,"s",1.25,[true],{"k":["v"]}]`},
		{"strings", []string{"a", "b\x01"}, `["a","b\u0001"]`},
		{"int64s", []int64{1, -2}, `[1,-2]`},
		{"float64s", []float64{1.5, math.NaN()}, `[1.5,null]`},
		{"bools", []bool{true, false}, `[true,false]`},
		{"empty strings", []string{}, `[]`},
		{"stringer fallback", stringer{}, `"I am a stringer"`},
		{"error fallback", errors.New("boom\n"), `"boom\n"`}, //nolint:revive // error-strings: the newline is the point (JSON escapes it)
		{"struct fallback", struct{ A int }{1}, `"{1}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event{UUID: testUUID, Name: "n", DistinctID: "d", Properties: []Property{{Key: "p", Value: tt.v}}}
			out := ev.AppendJSON(nil)
			got := propertyJSON(t, out, "p")
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// propertyJSON checks out is one valid event and returns the compact JSON of
// one of its properties.
func propertyJSON(t *testing.T, out []byte, key string) string {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("invalid JSON: %s", out)
	}
	var decoded struct {
		UUID       string                     `json:"uuid"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(out, &decoded); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, out)
	}
	if decoded.UUID != testUUIDString {
		t.Fatalf("uuid %q", decoded.UUID)
	}
	raw, ok := decoded.Properties[key]
	if !ok {
		t.Fatalf("property %q missing: %s", key, out)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	return compact.String()
}

// TestAppendStringMatchesEncodingJSON checks the escaper decodes to the same
// string as encoding/json's output does, for awkward inputs.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		"", "plain", "\x00\x01\x7f", "\"\\/", "\xff\xfe", "a\xc0\x80b", "\xed\xa0\x80", // surrogate half
		"\U0010FFFF", "\u2028\u2029", strings.Repeat("é\xff", 10), "\xf0\x9f\x8e",
	}
	for _, in := range inputs {
		ours := AppendString(nil, in)
		theirs, _ := json.Marshal(in)
		var a, b string
		if err := json.Unmarshal(ours, &a); err != nil {
			t.Fatalf("%q: ours %s does not decode: %v", in, ours, err)
		}
		if err := json.Unmarshal(theirs, &b); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("%q: ours decodes to %q, encoding/json's to %q", in, a, b)
		}
	}
}

// TestAppendFloatMatchesEncodingJSON compares number formatting byte for byte.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 1.7976931348623157e308} {
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f, 64); string(got) != string(want) {
			t.Errorf("%v: got %s want %s", f, got, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		want, _ = json.Marshal(f32)
		if got := appendFloat(nil, float64(f32), 32); string(got) != string(want) {
			t.Errorf("float32 %v: got %s want %s", f32, got, want)
		}
	}
}

func TestAppendJSONDeepNesting(t *testing.T) {
	depthOf := func(v any) int {
		d := 0
		for {
			switch x := v.(type) {
			case map[string]any:
				v = x["k"]
			case []any:
				if len(x) == 0 {
					return d + 1
				}
				v = x[0]
			default:
				return d
			}
			d++
		}
	}
	decodeP := func(t *testing.T, out []byte) any {
		t.Helper()
		if !json.Valid(out) {
			t.Fatalf("invalid JSON")
		}
		var ev struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(out, &ev); err != nil {
			t.Fatal(err)
		}
		return ev.Properties["p"]
	}

	t.Run("go maps", func(t *testing.T) {
		var v any = "leaf"
		for range 200 {
			v = map[string]any{"k": v}
		}
		ev := Event{UUID: testUUID, Properties: []Property{{Key: "p", Value: v}}}
		if got := depthOf(decodeP(t, ev.AppendJSON(nil))); got != MaxNesting {
			t.Fatalf("depth %d, want %d", got, MaxNesting)
		}
	})
	t.Run("go slices", func(t *testing.T) {
		var v any = []string{"leaf"}
		for range 100 {
			v = []any{v}
		}
		ev := Event{UUID: testUUID, Properties: []Property{{Key: "p", Value: v}}}
		if got := depthOf(decodeP(t, ev.AppendJSON(nil))); got != MaxNesting {
			t.Fatalf("depth %d, want %d", got, MaxNesting)
		}
	})
	t.Run("pdata", func(t *testing.T) {
		root := pcommon.NewMap()
		m := root
		for i := range 100 {
			if i%2 == 0 {
				m = m.PutEmptyMap("k")
			} else {
				s := m.PutEmptySlice("k")
				m = s.AppendEmpty().SetEmptyMap()
			}
		}
		ev := Event{UUID: testUUID, Properties: []Property{{Key: "p", Value: root}}}
		out := ev.AppendJSON(nil)
		p := decodeP(t, out)
		if got := depthOf(p); got != MaxNesting {
			t.Fatalf("depth %d, want %d", got, MaxNesting)
		}
	})
	t.Run("exactly at the limit is kept", func(t *testing.T) {
		var v any = 1
		for range MaxNesting {
			v = []any{v}
		}
		ev := Event{UUID: testUUID, Properties: []Property{{Key: "p", Value: v}}}
		p := decodeP(t, ev.AppendJSON(nil))
		for range MaxNesting {
			p = p.([]any)[0]
		}
		if p != 1.0 {
			t.Fatalf("leaf %v", p)
		}
	})
}

func TestAppendJSONNoAllocs(t *testing.T) {
	ev := benchEvent()
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf = ev.AppendJSON(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("AppendJSON allocates %v times per event", allocs)
	}

	// Attribute maps and slices straight from pdata do not allocate either.
	pm := pcommon.NewMap()
	pm.PutStr("a", "b")
	pm.PutEmptyMap("m").PutInt("x", 1)
	pm.PutEmptySlice("s").AppendEmpty().SetBool(true)
	ev.Properties = append(ev.Properties, Property{Key: "pmap", Value: pm}, Property{Key: "pvalue", Value: pcommon.NewValueDouble(2)})
	allocs = testing.AllocsPerRun(100, func() {
		buf = ev.AppendJSON(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("AppendJSON with pdata values allocates %v times per event", allocs)
	}
}

func benchEvent() *Event {
	return &Event{
		Rule:       "checkout",
		UUID:       testUUID,
		Name:       "checkout completed",
		DistinctID: "user-1234567",
		Timestamp:  time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC),
		Properties: []Property{
			{Key: "$current_url", Value: "https://shop.example.com/checkout?step=3"},
			{Key: "amount", Value: 129.95},
			{Key: "cart_items", Value: int64(3)},
			{Key: "first_order", Value: true},
			{Key: "http.route", Value: "/api/checkout"},
			{Key: "trace_id", Value: "5b8efff798038103d269b633813fc60c"},
		},
		Lib:        "posthogexporter",
		LibVersion: "0.1.0",
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	ev := benchEvent()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
