package mapping

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// decodedLike is what encoding/json makes of s once encoded: each invalid
// UTF-8 byte becomes U+FFFD.
func decodedLike(t *testing.T, s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte{1, 2, 3}, "event", "user", "key", "value", 1.5, int64(7), uint8(3), int64(0), true)
	f.Add([]byte{}, "\xff\xfe", "\x00\"\\", "\u2028", "\xc3", math.NaN(), int64(-1), uint8(200), int64(1e18), false)
	f.Add([]byte("\x00\x00"), "", "", "", "", math.Inf(1), int64(math.MinInt64), uint8(70), int64(-62135596800), true)
	f.Fuzz(func(t *testing.T, uuid []byte, name, distinctID, key, sval string, fval float64, ival int64, depth uint8, unixSec int64, persons bool) {
		var u [16]byte
		copy(u[:], uuid)

		// A nested value as deep as the input asks, alternating Go and pdata containers.
		var nested any = sval
		for i := range int(depth) {
			if i%2 == 0 {
				nested = map[string]any{key: nested, "f": fval}
			} else {
				nested = []any{nested, ival}
			}
		}
		pm := pcommon.NewMap()
		pm.PutStr(key, sval)
		pm.PutDouble("f", fval)
		inner := pm.PutEmptyMap(sval)
		inner.PutInt(key, ival)
		inner.PutEmptySlice("s").AppendEmpty().SetStr(name)

		ev := Event{
			UUID:       u,
			Name:       name,
			DistinctID: distinctID,
			Timestamp:  time.Unix(unixSec%(1<<35), ival%1e9),
			Properties: []Property{
				{Key: key, Value: sval},
				{Key: "f", Value: fval},
				{Key: "f32", Value: float32(fval)},
				{Key: "i", Value: ival},
				{Key: "b", Value: []byte(sval)},
				{Key: "nested", Value: nested},
				{Key: "pmap", Value: pm},
				{Key: "strings", Value: []string{key, sval}},
				{Key: "floats", Value: []float64{fval, math.NaN()}},
				{Key: "d", Value: time.Duration(ival)},
			},
			PersonProfiles: persons,
			Set:            []Property{{Key: key, Value: sval}},
			SetOnce:        []Property{{Key: sval, Value: fval}},
			Groups:         []Property{{Key: key, Value: distinctID}},
			SessionID:      sval,
			WindowID:       key,
			GeoIPDisable:   persons,
			GroupIdentify:  !persons,
			GroupSet:       []Property{{Key: sval, Value: nested}},
			Lib:            sval,
			LibVersion:     key,
		}
		out := ev.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
		var got struct {
			UUID       string         `json:"uuid"`
			Event      string         `json:"event"`
			DistinctID string         `json:"distinct_id"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("unmarshal: %v: %q", err, out)
		}
		if want := string(AppendUUID(nil, u)); got.UUID != want {
			t.Errorf("uuid %q, want %q", got.UUID, want)
		}
		if want := decodedLike(t, name); got.Event != want {
			t.Errorf("event %q, want %q", got.Event, want)
		}
		if want := decodedLike(t, distinctID); got.DistinctID != want {
			t.Errorf("distinct_id %q, want %q", got.DistinctID, want)
		}
		if got.Properties["$lib"] != decodedLike(t, sval) {
			t.Errorf("$lib %q", got.Properties["$lib"])
		}
	})
}
