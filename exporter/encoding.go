package exporter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"

	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
)

// The persistent queue (sending_queue.storage) stores events requests in
// this format, version 2:
//
//	"PHEV" 0x02
//	the body, compressed as one S2 block (github.com/klauspost/compress/s2)
//	CRC-32C of all the above, 4 bytes little-endian
//
// The body is what version 1 stored uncompressed between its header and
// its checksum:
//
//	uvarint rule count, then each rule name: uvarint length, bytes
//	uvarint event count, then each event: uvarint rule index, 16-byte uuid,
//	  uvarint JSON length, JSON
//
// Rule names are stored once per request. The checksum and the exact lengths
// make a truncated, corrupted or foreign entry an error, never wrong events.
// Compression cuts an entry of JSON events to about a third, and with it the
// pages the storage (bbolt) rewrites per queued request: the queue writes
// three transactions per request, and an entry larger than half a page gets
// nodes of its own, rewritten whole. Version 1 entries, left by an earlier
// build, are still read. A later version that changes the format bumps the
// version byte and keeps reading the earlier ones; a version byte it does
// not know is refused with an error naming the versions it reads. The
// request's context (client metadata, span context) is not stored.
const (
	encodingMagic   = "PHEV"
	encodingVersion = 2
	// encodingPlain is version 1: the body uncompressed.
	encodingPlain = 1
	headerLen     = len(encodingMagic) + 1
	checksumLen   = 4
	uuidLen       = 16
	// maxEntryBody bounds what a version 2 entry may claim to decompress
	// to: a request is one push's events, far below this.
	maxEntryBody = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errNotEvents: the bytes are not an events request of any version.
var errNotEvents = errors.New("posthog: queue entry is not a PostHog events request (no PHEV header)")

// eventsEncoding is the queue's Encoding for events requests. Entries left
// by the previous version of this exporter, which queued spans or logs
// (exporterhelper's pdata requests), go to legacy, which maps them.
type eventsEncoding struct {
	legacy func(ctx context.Context, data []byte) (*eventsRequest, error)
}

// Marshal encodes an events request; the context is not kept.
func (eventsEncoding) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r, ok := req.(*eventsRequest)
	if !ok {
		return nil, fmt.Errorf("posthog: cannot encode a %T for the queue", req)
	}
	return marshalEvents(r), nil
}

// Unmarshal decodes an entry of the queue.
func (e eventsEncoding) Unmarshal(data []byte) (context.Context, xexporterhelper.Request, error) {
	ctx := context.Background()
	if isLegacyRequest(data) && e.legacy != nil {
		r, err := e.legacy(ctx, data)
		if err != nil {
			return ctx, nil, err
		}
		return ctx, r, nil
	}
	r, err := unmarshalEvents(data)
	if err != nil {
		return ctx, nil, err
	}
	return ctx, r, nil
}

func marshalEvents(r *eventsRequest) []byte {
	scratch := bodyScratch.Get().(*[]byte)
	body := appendBody((*scratch)[:0], r)
	b := make([]byte, headerLen+s2.MaxEncodedLen(len(body))+checksumLen)
	copy(b, encodingMagic)
	b[len(encodingMagic)] = encodingVersion
	n := len(s2.Encode(b[headerLen:len(b)-checksumLen], body))
	b = b[:headerLen+n]
	if cap(body) <= maxKeptScratch {
		*scratch = body
		bodyScratch.Put(scratch)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// bodyScratch holds uncompressed bodies between their encoding and their
// compression.
var bodyScratch = sync.Pool{New: func() any { return new([]byte) }}

// maxKeptScratch keeps one huge push from pinning its memory in the pool.
const maxKeptScratch = 4 << 20

// appendBody appends the body of r (rules, then events) to b.
func appendBody(b []byte, r *eventsRequest) []byte {
	// Rule names: a request holds a few, found by a linear search.
	var rules []string
	index := make([]uint64, len(r.events))
	size := binary.MaxVarintLen64 * 2
	for i := range r.events {
		ev := &r.events[i]
		j := 0
		for j < len(rules) && rules[j] != ev.Rule {
			j++
		}
		if j == len(rules) {
			rules = append(rules, ev.Rule)
			size += binary.MaxVarintLen64 + len(ev.Rule)
		}
		index[i] = uint64(j)
		size += 2*binary.MaxVarintLen64 + uuidLen + len(ev.JSON)
	}
	b = slices.Grow(b, size)
	b = binary.AppendUvarint(b, uint64(len(rules)))
	for _, rule := range rules {
		b = binary.AppendUvarint(b, uint64(len(rule)))
		b = append(b, rule...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.events)))
	for i := range r.events {
		ev := &r.events[i]
		b = binary.AppendUvarint(b, index[i])
		b = append(b, ev.UUID[:]...)
		b = binary.AppendUvarint(b, uint64(len(ev.JSON)))
		b = append(b, ev.JSON...)
	}
	return b
}

func unmarshalEvents(data []byte) (*eventsRequest, error) {
	if len(data) < headerLen || string(data[:len(encodingMagic)]) != encodingMagic {
		return nil, errNotEvents
	}
	v := data[len(encodingMagic)]
	if v != encodingVersion && v != encodingPlain {
		return nil, fmt.Errorf("posthog: queue entry in format version %d, written by a newer version of this exporter; this one reads versions %d and %d", v, encodingPlain, encodingVersion)
	}
	if len(data) < headerLen+checksumLen {
		return nil, errors.New("posthog: queue entry truncated")
	}
	stored, sum := data[:len(data)-checksumLen], data[len(data)-checksumLen:]
	if crc32.Checksum(stored, castagnoli) != binary.LittleEndian.Uint32(sum) {
		return nil, errors.New("posthog: queue entry corrupt or truncated (checksum mismatch)")
	}
	body, err := entryBody(v, stored[headerLen:])
	if err != nil {
		return nil, fmt.Errorf("posthog: queue entry malformed: %w", err)
	}
	r, err := parseBody(body)
	if err != nil {
		return nil, fmt.Errorf("posthog: queue entry malformed: %w", err)
	}
	return r, nil
}

// entryBody returns the body of an entry of version v, in a buffer of its
// own: the storage's buffer is not ours to keep, and every event's JSON
// then points into the body.
func entryBody(v byte, stored []byte) ([]byte, error) {
	if v == encodingPlain {
		return append([]byte(nil), stored...), nil
	}
	n, err := s2.DecodedLen(stored)
	if err != nil {
		return nil, err
	}
	if n > maxEntryBody {
		return nil, fmt.Errorf("body of %d bytes claimed", n)
	}
	return s2.Decode(nil, stored)
}

// parseBody reads the rules and events of a body; the events' JSON points
// into body.
func parseBody(body []byte) (*eventsRequest, error) {
	d := decoder{buf: body}
	nRules := d.count(1)
	rules := make([]string, 0, nRules)
	for range nRules {
		rules = append(rules, string(d.bytes()))
	}
	nEvents := d.count(1 + uuidLen + 1)
	events := make([]delivery.Event, 0, nEvents)
	for range nEvents {
		rule := d.uvarint()
		if d.err == nil && rule >= uint64(len(rules)) {
			d.err = fmt.Errorf("rule index %d of %d", rule, len(rules))
		}
		var ev delivery.Event
		copy(ev.UUID[:], d.next(uuidLen))
		ev.JSON = d.bytes()
		if d.err != nil {
			break
		}
		ev.Rule = rules[rule]
		events = append(events, ev)
	}
	if d.err == nil && len(d.buf) > 0 {
		d.err = fmt.Errorf("%d bytes after the last event", len(d.buf))
	}
	if d.err != nil {
		return nil, d.err
	}
	return newEventsRequest(events), nil
}

// decoder reads the format's fields; after the first error it returns
// zero values and keeps the error.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errors.New("bad length")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads a count of elements of at least minLen bytes each, refusing
// one that the remaining bytes cannot hold (so foreign bytes cannot make it
// allocate much).
func (d *decoder) count(minLen int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)/minLen) {
		d.err = fmt.Errorf("count %d exceeds the entry", n)
		return 0
	}
	return int(n)
}

func (d *decoder) next(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf) {
		d.err = errors.New("truncated")
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)) {
		d.err = errors.New("truncated")
		return nil
	}
	return d.next(int(n))
}

// isLegacyRequest tells whether data is one of exporterhelper's pdata
// requests, as the previous version of this exporter queued them: a
// protobuf whose first field is format_version (fixed32) = 1.
func isLegacyRequest(data []byte) bool {
	return len(data) >= 5 && data[0] == 0x0D && binary.LittleEndian.Uint32(data[1:5]) == 1
}
