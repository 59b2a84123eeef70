package delivery

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// fuzzEvents builds n events from fuzz input: every third takes the fuzzed
// name, every second the fuzzed distinct_id, the first the big property (up
// to 11 MB); the others are plain neighbours.
func fuzzEvents(n int, uuidSalt []byte, name, distinctID, key, sval string, fval float64, ival int64, depth uint8, unixNano int64, bigRepeat uint16) []mapping.Event {
	big := ""
	if len(sval) > 0 {
		big = strings.Repeat(sval, min(int(bigRepeat), (11<<20)/len(sval)))
	}
	// A value as deep as the input asks, alternating Go and pdata containers.
	var nested any = sval
	for i := range int(depth) {
		switch i % 3 {
		case 0:
			nested = map[string]any{key: nested, "f": fval}
		case 1:
			nested = []any{nested, ival, math.Inf(-1)}
		}
	}
	pm := pcommon.NewMap()
	deep := pm
	for range int(depth) {
		deep.PutDouble(key, fval)
		deep = deep.PutEmptyMap(sval)
	}
	deep.PutEmptySlice("s").AppendEmpty().SetStr(name)

	evs := make([]mapping.Event, n)
	for i := range evs {
		u := uuidFor(i)
		for j, b := range uuidSalt {
			u[j%16] ^= b
		}
		ev := mapping.Event{
			Rule:       "r",
			UUID:       u,
			Name:       "evt",
			DistinctID: "user",
			Properties: []mapping.Property{
				{Key: key, Value: sval},
				{Key: "f", Value: fval},
				{Key: "f32", Value: float32(fval)},
				{Key: "i", Value: ival},
				{Key: "b", Value: []byte(sval)},
				{Key: "t", Value: time.Unix(0, unixNano)},
				{Key: "d", Value: time.Duration(ival)},
				{Key: "nested", Value: nested},
				{Key: "pmap", Value: pm},
				{Key: "floats", Value: []float64{fval, math.NaN(), math.Inf(1)}},
			},
			PersonProfiles: i%2 == 1,
			Set:            []mapping.Property{{Key: key, Value: sval}},
			SetOnce:        []mapping.Property{{Key: sval, Value: fval}},
			Groups:         []mapping.Property{{Key: key, Value: distinctID}},
			Lib:            "posthogexporter",
			LibVersion:     key,
		}
		if i%3 == 0 {
			ev.Name = name
		}
		if i%2 == 0 {
			ev.DistinctID = distinctID
		}
		if i == 0 {
			ev.Properties = append(ev.Properties, mapping.Property{Key: "big", Value: big})
		}
		if i%4 != 3 {
			ev.Timestamp = time.Unix(0, unixNano)
		}
		evs[i] = ev
	}
	return evs
}

// FuzzSendToStandIn sends whatever events the input makes through a Sender
// to the capture stand-in: every request body is valid JSON, the stand-in
// refuses none (the Sender drops beforehand what PostHog would refuse), and
// every event is either accepted or counted as dropped, for the reason the
// Sender gives it.
func FuzzSendToStandIn(f *testing.F) {
	type seed struct {
		uuid                        []byte
		name, distinctID, key, sval string
		fval                        float64
		ival                        int64
		depth                       uint8
		unixNano                    int64
		bigRepeat                   uint16
		n, maxBatchEvents           uint8
		maxBatchKB                  uint16
		gzip                        bool
	}
	seeds := []seed{
		{[]byte{1}, "checkout", "user-1", "amount", "v", 1.5, 7, 2, 1_700_000_000_000_000_000, 1, 10, 0, 0, true},
		{nil, "\xff\xfe", "\xc3(", "k\xff", "a\x00\"\\\u2028", math.NaN(), -1, 3, 0, 0, 7, 0, 0, false},
		{nil, "", "", "", "", math.Inf(1), math.MinInt64, 255, math.MaxInt64, 0, 13, 2, 1, true},
		{nil, "e", "", "$lib", "x", math.Inf(-1), math.MaxInt64, 64, math.MinInt64, 3, 9, 0, 0, false},
		{[]byte{0xff}, strings.Repeat("n", 10<<10), strings.Repeat("u", 10<<10), "k", "y", math.Copysign(0, -1), 0, 65, -1, 0, 20, 3, 6000, true},
		// 10 MB properties: the events carrying them are dropped, not their neighbours.
		{nil, "big", "user", "k", strings.Repeat("x", 1024), 1e300, 1, 1, 253_402_300_799_000_000, 10 << 10, 11, 0, 0, true},
		{nil, "big", "user", "k", strings.Repeat("\xff", 1024), 1e-300, 1, 1, 0, 2 << 10, 6, 0, 0, false},
		// Small batches: many requests, and events too large for them.
		{nil, "e", "d", "k", strings.Repeat("z", 700), 2, 2, 10, 5, 2, 30, 1, 1, true},
	}
	for _, s := range seeds {
		f.Add(s.uuid, s.name, s.distinctID, s.key, s.sval, s.fval, s.ival, s.depth, s.unixNano, s.bigRepeat, s.n, s.maxBatchEvents, s.maxBatchKB, s.gzip)
	}
	f.Fuzz(func(t *testing.T, uuidSalt []byte, name, distinctID, key, sval string, fval float64, ival int64, depth uint8, unixNano int64, bigRepeat uint16, n, maxBatchEvents uint8, maxBatchKB uint16, gzip bool) {
		ph := posthogtest.NewServer()
		tap := &bodyTap{next: ph}
		e := newEnv(t, tap, func(s *Settings) {
			s.Gzip = gzip
			s.MaxBatchEvents = int(maxBatchEvents % 50)
			if maxBatchKB > 0 {
				s.MaxBatchBytes = int(maxBatchKB%6000+1) << 10
			}
		})
		evs := fuzzEvents(int(n%20)+1, uuidSalt, name, distinctID, key, sval, fval, ival, depth, unixNano, bigRepeat)

		// What the Sender must do with each event.
		want := map[string]int64{}
		wantAccepted := map[string]bool{}
		for i := range evs {
			ev := &evs[i]
			switch {
			case ev.Name == "" || ev.DistinctID == "":
				want[ReasonRejected]++
			case len(ev.AppendJSON(nil)) > e.sender.set.MaxEventBytes:
				want[ReasonEventTooLarge]++
			default:
				wantAccepted[string(mapping.AppendUUID(nil, ev.UUID))] = true
			}
		}

		if err := e.send(context.Background(), evs); err != nil {
			t.Fatalf("Send: %v", err)
		}

		for i, b := range tap.all() {
			if !json.Valid(b) {
				t.Fatalf("request %d: invalid JSON body (%d bytes): %.300q", i, len(b), b)
			}
		}
		for i, r := range ph.Requests() {
			if r.Status != 200 {
				t.Fatalf("request %d refused with %d: %s", i, r.Status, r.Response)
			}
			if r.UncompressedBytes > e.sender.set.MaxBatchBytes {
				t.Errorf("request %d: %d bytes, over max_batch_bytes %d", i, r.UncompressedBytes, e.sender.set.MaxBatchBytes)
			}
		}

		accepted := ph.Events()
		dropped := e.rec.droppedFor(ReasonRejected) + e.rec.droppedFor(ReasonEventTooLarge)
		if got := int64(len(accepted)) + dropped; got != int64(len(evs)) {
			t.Fatalf("accepted %d + dropped %d != %d events", len(accepted), dropped, len(evs))
		}
		if e.rec.totalSent() != int64(len(accepted)) {
			t.Errorf("sent %d, stand-in accepted %d", e.rec.totalSent(), len(accepted))
		}
		for reason, n := range want {
			if got := e.rec.droppedFor(reason); got != n {
				t.Errorf("dropped for %s: %d, want %d", reason, got, n)
			}
		}
		if len(accepted) != len(wantAccepted) {
			t.Fatalf("accepted %d events, want %d", len(accepted), len(wantAccepted))
		}
		for _, ev := range accepted {
			if !wantAccepted[ev.UUID] {
				t.Errorf("accepted unexpected uuid %s", ev.UUID)
			}
		}
	})
}

func TestRedactKey(t *testing.T) {
	const key = "phc_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
	for _, c := range []struct{ in, want string }{
		{"no key here", "no key here"},
		{`{"api_key":"` + key + `","batch":[]}`, `{"api_key":"[REDACTED]","batch":[]}`},
		{key + " and " + key, "[REDACTED] and [REDACTED]"},
		// An echo cut inside the key: its start is secret too.
		{`bad body: {"api_key":"` + key[:20], `bad body: {"api_key":"[REDACTED]`},
		{`cut ` + key[:minKeyPrefix], `cut [REDACTED]`},
		{`phc_ only the prefix`, `phc_ only the prefix`},
		// Another project's key sharing a start loses that start only.
		{key[:10] + "ZZZZ", "[REDACTED]ZZZZ"},
	} {
		if got := redactKey(c.in, key); got != c.want {
			t.Errorf("redactKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := redactKey("k", "k"); got != "[REDACTED]" {
		t.Errorf("short key: %q", got)
	}
	if got := redactKey("abc", ""); got != "abc" {
		t.Errorf("no key: %q", got)
	}
}
