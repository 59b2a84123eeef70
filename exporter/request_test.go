package exporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
)

// randomRequest makes n events of a few rules with JSON of random sizes.
func randomRequest(rng *rand.Rand, n int) *eventsRequest {
	events := make([]delivery.Event, n)
	for i := range events {
		ev := &events[i]
		ev.Rule = fmt.Sprintf("rule-%d", rng.IntN(4))
		binary.BigEndian.PutUint64(ev.UUID[:8], rng.Uint64())
		binary.BigEndian.PutUint64(ev.UUID[8:], rng.Uint64())
		ev.JSON = fmt.Appendf(nil, `{"event":"e%d","pad":"%s"}`, rng.Uint64(), bytes.Repeat([]byte("x"), rng.IntN(300)))
	}
	return newEventsRequest(events)
}

func TestEncodingRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	enc := eventsEncoding{}
	for _, n := range []int{0, 1, 2, 17, 1000} {
		in := randomRequest(rng, n)
		in.events = append(in.events[:0:0], in.events...)
		if n > 0 {
			in.events[0].Rule = "" // an unnamed rule survives too
			in.events[0].JSON = nil
		}
		in = newEventsRequest(in.events)
		data, err := enc.Marshal(context.Background(), in)
		require.NoError(t, err)
		_, got, err := enc.Unmarshal(data)
		require.NoError(t, err)
		out := got.(*eventsRequest)
		require.Equal(t, in.ItemsCount(), out.ItemsCount())
		require.Equal(t, in.BytesSize(), out.BytesSize())
		for i := range in.events {
			assert.Equal(t, in.events[i].Rule, out.events[i].Rule)
			assert.Equal(t, in.events[i].UUID, out.events[i].UUID)
			assert.Equal(t, string(in.events[i].JSON), string(out.events[i].JSON))
		}
	}
}

// TestEncodingRefusesTruncatedAndForeign: every cut of an entry, every
// flipped byte, another version and foreign bytes are errors, never events.
func TestEncodingRefusesTruncatedAndForeign(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := marshalEvents(randomRequest(rng, 5))
	for _, entry := range [][]byte{data, marshalEventsV1(randomRequest(rng, 5))} {
		for cut := 0; cut < len(entry); cut++ {
			_, err := unmarshalEvents(entry[:cut])
			require.Error(t, err, "cut at %d", cut)
		}
		for i := range entry {
			bad := bytes.Clone(entry)
			bad[i] ^= 0x20
			_, err := unmarshalEvents(bad)
			require.Error(t, err, "byte %d flipped", i)
		}
	}
	newer := bytes.Clone(data)
	newer[len(encodingMagic)] = encodingVersion + 1
	_, err := unmarshalEvents(newer)
	require.ErrorContains(t, err, "format version 3, written by a newer version of this exporter; this one reads versions 1 and 2")

	_, err = unmarshalEvents([]byte(`{"batch":[]}`))
	require.ErrorIs(t, err, errNotEvents)
	_, _, err = eventsEncoding{}.Unmarshal([]byte{0x0D, 1, 0, 0, 0, 0x12, 0})
	require.Error(t, err, "a pdata request is not read as events")
}

func FuzzEncodingUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	f.Add(marshalEvents(randomRequest(rng, 3)))
	f.Add(marshalEvents(randomRequest(rng, 0)))
	f.Add(marshalEventsV1(randomRequest(rng, 3)))
	f.Add([]byte("PHEV\x01"))
	f.Add([]byte("PHEV\x02"))
	f.Add([]byte{0x0D, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := unmarshalEvents(data)
		if err != nil {
			return
		}
		// What is read is written again as the same events.
		again, err := unmarshalEvents(marshalEvents(r))
		require.NoError(t, err)
		require.Equal(t, r.events, again.events)
	})
}

// marshalEventsV1 writes an entry of format version 1, the body
// uncompressed, as an earlier build wrote it.
func marshalEventsV1(r *eventsRequest) []byte {
	b := append([]byte(encodingMagic), encodingPlain)
	b = appendBody(b, r)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// TestEncodingReadsVersion1: entries an earlier build left in the queue
// are read as they were written.
func TestEncodingReadsVersion1(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 40} {
		in := randomRequest(rng, n)
		out, err := unmarshalEvents(marshalEventsV1(in))
		require.NoError(t, err)
		require.Equal(t, in.events, out.events)
	}
}

// TestEncodingCompresses: events' JSON, which repeats its keys, takes a
// fraction of its size on disk.
func TestEncodingCompresses(t *testing.T) {
	events := make([]delivery.Event, 11)
	for i := range events {
		events[i] = delivery.Event{Rule: "api-request", UUID: [16]byte{byte(i)}, JSON: fmt.Appendf(nil,
			`{"uuid":"%032d","event":"api_request","distinct_id":"user-%d","properties":{"endpoint":"/api/v1/engines/{engine_id}","method":"GET","$lib":"posthog-otel-collector-exporter"}}`, i, i)}
	}
	r := newEventsRequest(events)
	plain, packed := marshalEventsV1(r), marshalEvents(r)
	assert.Less(t, len(packed), len(plain)/2, "compressed %d bytes, plain %d", len(packed), len(plain))
}

func FuzzEncodingRoundTrip(f *testing.F) {
	f.Add("rule", []byte(`{"event":"x"}`), uint16(3), uint64(7))
	f.Add("", []byte{}, uint16(0), uint64(0))
	f.Fuzz(func(t *testing.T, rule string, json []byte, n uint16, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 0))
		events := make([]delivery.Event, int(n%50))
		for i := range events {
			events[i] = delivery.Event{Rule: rule + fmt.Sprint(rng.IntN(3)), JSON: json[:rng.IntN(len(json)+1)]}
			events[i].UUID[0] = byte(i)
		}
		in := newEventsRequest(events)
		out, err := unmarshalEvents(marshalEvents(in))
		require.NoError(t, err)
		require.Len(t, out.events, len(in.events))
		for i := range in.events {
			require.Equal(t, in.events[i].Rule, out.events[i].Rule)
			require.Equal(t, in.events[i].UUID, out.events[i].UUID)
			require.Equal(t, string(in.events[i].JSON), string(out.events[i].JSON))
		}
	})
}

// TestMergeSplitKeepsEveryEventOnce: whatever the requests, sizer and limit,
// merging and splitting keep every event once and in order, and every part
// respects the limit (an event larger than a bytes limit goes alone).
func TestMergeSplitKeepsEveryEventOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	sizers := []exporterhelper.RequestSizerType{exporterhelper.RequestSizerTypeItems, exporterhelper.RequestSizerTypeBytes, exporterhelper.RequestSizerTypeRequests}
	for iter := range 2000 {
		a, b := randomRequest(rng, rng.IntN(60)), randomRequest(rng, rng.IntN(60))
		var want []delivery.Event
		want = append(append(want, a.events...), b.events...)
		szt := sizers[rng.IntN(len(sizers))]
		maxSize := rng.IntN(40)
		if szt == exporterhelper.RequestSizerTypeBytes {
			maxSize = rng.IntN(4000)
		}
		var other xexporterhelper.Request = b
		if iter%5 == 0 {
			other, want = nil, a.events
		}
		parts, err := a.MergeSplit(context.Background(), maxSize, szt, other)
		require.NoError(t, err)
		require.NotEmpty(t, parts)
		var got []delivery.Event
		for _, p := range parts {
			r := p.(*eventsRequest)
			sum := 0
			for i := range r.events {
				sum += len(r.events[i].JSON)
			}
			require.Equal(t, sum, r.BytesSize())
			if maxSize > 0 {
				switch szt {
				case exporterhelper.RequestSizerTypeItems:
					require.LessOrEqual(t, r.ItemsCount(), maxSize)
				case exporterhelper.RequestSizerTypeBytes:
					require.True(t, r.BytesSize() <= maxSize || r.ItemsCount() == 1, "%d bytes in %d events, max %d", r.BytesSize(), r.ItemsCount(), maxSize)
				}
			}
			if szt == exporterhelper.RequestSizerTypeRequests || maxSize == 0 {
				require.Len(t, parts, 1)
			}
			got = append(got, r.events...)
		}
		require.Len(t, got, len(want))
		for i := range want {
			require.Equal(t, want[i].UUID, got[i].UUID, "event %d", i)
		}
	}
}

// TestMergeSplitPartsAreIndependent: appending to one part (as a later merge
// does) never changes another.
func TestMergeSplitPartsAreIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	a := randomRequest(rng, 10)
	parts, err := a.MergeSplit(context.Background(), 4, exporterhelper.RequestSizerTypeItems, randomRequest(rng, 10))
	require.NoError(t, err)
	require.Len(t, parts, 5)
	second := parts[1].(*eventsRequest).events[0].UUID
	merged, err := parts[0].MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeItems, randomRequest(rng, 3))
	require.NoError(t, err)
	require.Equal(t, 7, merged[0].ItemsCount())
	require.Equal(t, second, parts[1].(*eventsRequest).events[0].UUID)
	require.Equal(t, 10, a.ItemsCount(), "the original is not changed")
}

// TestMergeSplitAsTheBatcherDoes: requests merged one after the other into
// a growing batch, parts flushed as the batcher flushes them; the events of
// a flushed part never change afterwards, and all arrive once, in order.
func TestMergeSplitAsTheBatcherDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, szt := range []exporterhelper.RequestSizerType{exporterhelper.RequestSizerTypeItems, exporterhelper.RequestSizerTypeBytes} {
		maxSize := 100
		if szt == exporterhelper.RequestSizerTypeBytes {
			maxSize = 20000
		}
		var want, flushedAtFlush []delivery.Event
		var flushed []*eventsRequest
		var cur xexporterhelper.Request
		for range 300 {
			in := randomRequest(rng, rng.IntN(30))
			want = append(want, in.events...)
			var parts []xexporterhelper.Request
			var err error
			if cur == nil {
				parts, err = in.MergeSplit(context.Background(), maxSize, szt, nil)
			} else {
				parts, err = cur.MergeSplit(context.Background(), maxSize, szt, in)
			}
			require.NoError(t, err)
			for _, p := range parts[:len(parts)-1] {
				r := p.(*eventsRequest)
				flushed = append(flushed, r)
				flushedAtFlush = append(flushedAtFlush, r.events...)
			}
			cur = parts[len(parts)-1]
		}
		var got []delivery.Event
		for _, r := range flushed {
			got = append(got, r.events...)
		}
		require.Equal(t, flushedAtFlush, got, "a flushed batch changed afterwards")
		got = append(got, cur.(*eventsRequest).events...)
		require.Equal(t, want, got)
	}
}
