package mapping

import (
	"crypto/sha1" //nolint:gosec // name-based UUIDs (RFC 9562 version 5) are defined on SHA-1; not used for security.
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Every event's uuid is a name-based UUID (version 5) of the rule and the
// record: the same record under the same rule gives the same uuid on every
// retry, restart and replica, so PostHog deduplicates redelivered events.
// Nothing random or local (time of export, host) goes in.

// uuidNamespace keeps our uuids apart from other name-based ones.
var uuidNamespace = [16]byte{0x8f, 0x3e, 0x5b, 0x0a, 0x41, 0x52, 0x4b, 0x1e, 0x9d, 0x6c, 0x70, 0x6f, 0x73, 0x74, 0x68, 0x67}

// uuidSeed identifies a rule: its signal and its name (or position).
func uuidSeed(signal, id string) [16]byte {
	h := sha256.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(signal))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// eventUUID combines a rule's seed and a record's identity into a valid version 5 UUID.
func eventUUID(seed, identity [16]byte) [16]byte {
	var in [32]byte
	copy(in[:16], seed[:])
	copy(in[16:], identity[:])
	sum := sha1.Sum(in[:]) //nolint:gosec // see above
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 9562 variant
	return u
}

// spanIdentity: a span with trace and span ids is identified by them and its
// times; one without is identified by its content.
func spanIdentity(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, out *[16]byte) {
	tid, sid := span.TraceID(), span.SpanID()
	if !tid.IsEmpty() && !sid.IsEmpty() {
		var in [41]byte
		in[0] = 's'
		copy(in[1:17], tid[:])
		copy(in[17:25], sid[:])
		binary.BigEndian.PutUint64(in[25:33], uint64(span.StartTimestamp()))
		binary.BigEndian.PutUint64(in[33:41], uint64(span.EndTimestamp()))
		sum := sha256.Sum256(in[:])
		copy(out[:], sum[:16])
		return
	}
	d := newDigest('S')
	d.string(span.Name())
	d.uint(uint64(span.Kind()))
	d.uint(uint64(span.StartTimestamp()))
	d.uint(uint64(span.EndTimestamp()))
	d.bytes(tid[:])
	d.bytes(sid[:])
	d.mapValue(span.Attributes())
	d.mapValue(rs.Resource().Attributes())
	d.string(ss.Scope().Name())
	d.sum(out)
}

// spanEventIdentity: a span event is identified by its span's ids, its
// position among the span's events and its time; on a span without ids, by
// the span's content and the event's.
func spanEventIdentity(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, ev ptrace.SpanEvent, index int, out *[16]byte) {
	var spanID [16]byte
	spanIdentity(rs, ss, span, &spanID)
	d := newDigest('E')
	d.bytes(spanID[:])
	d.uint(uint64(index))
	d.uint(uint64(ev.Timestamp()))
	tid, sid := span.TraceID(), span.SpanID()
	if tid.IsEmpty() || sid.IsEmpty() {
		d.string(ev.Name())
		d.mapValue(ev.Attributes())
	}
	d.sum(out)
}

// exceptionIdentity identifies one thrown exception within a trace: its
// type, message and stack, whichever spans recorded it. Outside a trace
// there is nothing to scope it by, and the record's own identity is used:
// the same error in two requests is two events.
func exceptionIdentity(traceID pcommon.TraceID, excType, message, stack string, out *[16]byte) {
	d := newDigest('X')
	d.bytes(traceID[:])
	d.string(excType)
	d.string(message)
	d.string(stack)
	d.sum(out)
}

// exceptionSeed stands for the rule in an $exception's uuid: the same
// exception gives the same uuid whichever rule, span or log reported it.
var exceptionSeed = uuidSeed("exception", "$exception")

// logIdentity: log records have no id of their own, so the whole record,
// its resource and scope identify it. Two records alike in all of these are
// the same event to PostHog.
func logIdentity(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, out *[16]byte) {
	d := newDigest('L')
	d.uint(uint64(lr.Timestamp()))
	d.uint(uint64(lr.ObservedTimestamp()))
	d.uint(uint64(lr.SeverityNumber()))
	d.string(lr.SeverityText())
	d.string(lr.EventName())
	tid, sid := lr.TraceID(), lr.SpanID()
	d.bytes(tid[:])
	d.bytes(sid[:])
	d.value(lr.Body(), 0)
	d.ownAttributes(lr.Attributes())
	d.mapValue(rl.Resource().Attributes())
	d.string(sl.Scope().Name())
	d.string(sl.Scope().Version())
	d.sum(out)
}

// digest serialises values with their type and length, so that different
// records cannot produce the same bytes, into a pooled buffer hashed once at
// the end: hashing piece by piece through hash.Hash would copy every string.
type digest struct {
	buf []byte
}

var digestPool = sync.Pool{New: func() any { return &digest{buf: make([]byte, 0, 512)} }}

func newDigest(kind byte) *digest {
	d := digestPool.Get().(*digest)
	d.buf = append(d.buf[:0], kind)
	return d
}

func (d *digest) uint(v uint64) {
	d.buf = binary.BigEndian.AppendUint64(append(d.buf, 'u'), v)
}

func (d *digest) bytes(b []byte) {
	d.uint(uint64(len(b)))
	d.buf = append(d.buf, b...)
}

func (d *digest) string(s string) {
	d.uint(uint64(len(s)))
	d.buf = append(d.buf, s...)
}

// maxDigestDepth bounds recursion on hostile, deeply nested values; what is
// deeper still counts through its size.
const maxDigestDepth = 32

// maxPooledDigest keeps a record with huge attributes from pinning its buffer in the pool.
const maxPooledDigest = 64 << 10

func (d *digest) mapValue(m pcommon.Map) { d.mapDepth(m, 0) }

// ownAttributes digests the attributes a log record was sent with: what the
// trace context stage gave it (the keys InheritedAttribute lists, and the
// stage's own posthogexporter.* keys) is left out, so that its uuid does
// not depend on what of its trace had arrived.
func (d *digest) ownAttributes(m pcommon.Map) {
	inherited, ok := m.Get(InheritedAttribute)
	if !ok || inherited.Type() != pcommon.ValueTypeSlice {
		d.mapValue(m)
		return
	}
	skip := func(k string) bool {
		if strings.HasPrefix(k, reservedPrefix) {
			return true
		}
		for _, v := range inherited.Slice().All() {
			if v.Str() == k {
				return true
			}
		}
		return false
	}
	n := 0
	for k := range m.All() {
		if !skip(k) {
			n++
		}
	}
	d.uint(uint64(n))
	for k, v := range m.All() {
		if !skip(k) {
			d.string(k)
			d.value(v, 1)
		}
	}
}

func (d *digest) mapDepth(m pcommon.Map, depth int) {
	d.uint(uint64(m.Len()))
	for k, v := range m.All() {
		d.string(k)
		d.value(v, depth+1)
	}
}

func (d *digest) value(v pcommon.Value, depth int) {
	d.uint(uint64(v.Type()))
	if depth > maxDigestDepth {
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		d.string(v.Str())
	case pcommon.ValueTypeInt:
		d.uint(uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		d.uint(math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			d.uint(1)
		} else {
			d.uint(0)
		}
	case pcommon.ValueTypeBytes:
		b := v.Bytes()
		d.uint(uint64(b.Len()))
		for i := 0; i < b.Len(); i++ {
			d.buf = append(d.buf, b.At(i))
		}
	case pcommon.ValueTypeMap:
		d.mapDepth(v.Map(), depth)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		d.uint(uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			d.value(s.At(i), depth+1)
		}
	}
}

// sum writes the digest's hash to out and returns the digest to the pool.
func (d *digest) sum(out *[16]byte) {
	h := sha256.Sum256(d.buf)
	copy(out[:], h[:16])
	if cap(d.buf) <= maxPooledDigest {
		digestPool.Put(d)
	}
}
