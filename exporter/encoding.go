package exporter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
)

// The persistent queue (sending_queue.storage) stores events requests in
// this format, version 1:
//
//	"PHEV" 0x01
//	uvarint rule count, then each rule name: uvarint length, bytes
//	uvarint event count, then each event: uvarint rule index, 16-byte uuid,
//	  uvarint JSON length, JSON
//	CRC-32C of all the above, 4 bytes little-endian
//
// Rule names are stored once per request. The checksum and the exact lengths
// make a truncated, corrupted or foreign entry an error, never wrong events.
// A later version that changes the format bumps the version byte and keeps
// reading version 1; a version byte it does not know is refused with an
// error naming both versions. The request's context (client metadata, span
// context) is not stored.
const (
	encodingMagic   = "PHEV"
	encodingVersion = 1
	headerLen       = len(encodingMagic) + 1
	checksumLen     = 4
	uuidLen         = 16
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
	// Rule names: a request holds a few, found by a linear search.
	var rules []string
	index := make([]uint64, len(r.events))
	size := headerLen + binary.MaxVarintLen64*2 + checksumLen
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
	b := make([]byte, 0, size)
	b = append(b, encodingMagic...)
	b = append(b, encodingVersion)
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
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func unmarshalEvents(data []byte) (*eventsRequest, error) {
	if len(data) < headerLen || string(data[:len(encodingMagic)]) != encodingMagic {
		return nil, errNotEvents
	}
	if v := data[len(encodingMagic)]; v != encodingVersion {
		return nil, fmt.Errorf("posthog: queue entry in format version %d, written by a newer version of this exporter; this one reads version %d", v, encodingVersion)
	}
	if len(data) < headerLen+checksumLen {
		return nil, errors.New("posthog: queue entry truncated")
	}
	body, sum := data[:len(data)-checksumLen], data[len(data)-checksumLen:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(sum) {
		return nil, errors.New("posthog: queue entry corrupt or truncated (checksum mismatch)")
	}
	// One copy: the storage's buffer is not ours to keep, and every event's
	// JSON then points into this copy.
	d := decoder{buf: append([]byte(nil), body[headerLen:]...)}
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
		return nil, fmt.Errorf("posthog: queue entry malformed: %w", d.err)
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
