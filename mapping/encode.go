package mapping

import (
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MaxNesting is how many containers (objects or arrays) a property value may
// nest. A container deeper than that is written as null: PostHog's JSON parser
// refuses deeply nested documents, and one such event would cost its whole
// request.
const MaxNesting = 64

// AppendJSON appends e as one PostHog capture event to buf and returns the
// extended buffer:
//
//	{"uuid":"…","event":…,"distinct_id":…,"timestamp":"…","properties":{…,"$lib":…,"$lib_version":…}}
//
// It is written by hand, without reflection, because it runs once per exported
// event: with scalar properties it does not allocate. The output is always valid
// JSON whatever the values hold: invalid UTF-8 becomes U+FFFD, NaN and ±Inf
// become null, too deep nesting becomes null.
func (e *Event) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"uuid":"`...)
	buf = AppendUUID(buf, e.UUID)
	buf = append(buf, `","event":`...)
	buf = AppendString(buf, e.Name)
	buf = append(buf, `,"distinct_id":`...)
	buf = AppendString(buf, e.DistinctID)
	if !e.Timestamp.IsZero() {
		buf = append(buf, `,"timestamp":`...)
		buf = appendTime(buf, e.Timestamp)
	}
	buf = append(buf, `,"properties":{`...)
	for i := range e.Properties {
		buf = AppendString(buf, e.Properties[i].Key)
		buf = append(buf, ':')
		buf = e.Properties[i].appendValue(buf, 0)
		buf = append(buf, ',')
	}
	buf = e.appendConventions(buf)
	if e.PersonProfiles {
		// PostHog ignores $set and $set_once on personless events, so they are
		// only worth their bytes when person processing is on.
		if len(e.Set) > 0 {
			buf = append(buf, `"$set":`...)
			buf = appendProperties(buf, e.Set)
			buf = append(buf, ',')
		}
		if len(e.SetOnce) > 0 {
			buf = append(buf, `"$set_once":`...)
			buf = appendProperties(buf, e.SetOnce)
			buf = append(buf, ',')
		}
	}
	switch {
	case e.GroupIdentify && len(e.Groups) == 1:
		// As posthog-go sends it: the group itself, not the groups the event belongs to.
		buf = appendMember(buf, "$group_type", e.Groups[0].Key)
		buf = append(buf, ',')
		buf = AppendString(buf, "$group_key")
		buf = append(buf, ':')
		buf = e.Groups[0].appendValue(buf, 0)
		buf = append(buf, `,"$group_set":`...)
		buf = appendProperties(buf, e.GroupSet)
		buf = append(buf, ',')
	case len(e.Groups) > 0:
		buf = append(buf, `"$groups":`...)
		buf = appendProperties(buf, e.Groups)
		buf = append(buf, ',')
	}
	if !e.PersonProfiles {
		buf = append(buf, `"$process_person_profile":false,`...)
	}
	buf = append(buf, `"$lib":`...)
	buf = AppendString(buf, e.Lib)
	buf = append(buf, `,"$lib_version":`...)
	buf = AppendString(buf, e.LibVersion)
	return append(buf, "}}"...)
}

// appendConventions writes the keys PostHog's server SDKs attach: trace
// context, session, window and $geoip_disable, each followed by a comma.
func (e *Event) appendConventions(buf []byte) []byte {
	if !e.TraceID.IsEmpty() {
		buf = append(buf, `"$trace_id":`...)
		buf = appendHex(buf, e.TraceID[:])
		buf = append(buf, ',')
	}
	if !e.SpanID.IsEmpty() {
		buf = append(buf, `"$span_id":`...)
		buf = appendHex(buf, e.SpanID[:])
		buf = append(buf, ',')
	}
	if e.InvalidSessionID != "" {
		buf = append(buf, `"`+InvalidSessionKey+`":`...)
		buf = AppendString(buf, e.InvalidSessionID)
		buf = append(buf, ',')
	}
	if e.SessionID != "" {
		buf = append(buf, `"$session_id":`...)
		buf = AppendString(buf, e.SessionID)
		buf = append(buf, ',')
	}
	if e.WindowID != "" {
		buf = append(buf, `"$window_id":`...)
		buf = AppendString(buf, e.WindowID)
		buf = append(buf, ',')
	}
	if e.GeoIPDisable {
		buf = append(buf, `"$geoip_disable":true,`...)
	}
	return buf
}

// AppendUUID appends u in its canonical form, lowercase 8-4-4-4-12 hex digits,
// without quotes. PostHog refuses a whole request when one uuid does not parse,
// so this is the only form the exporter sends.
func AppendUUID(buf []byte, u [16]byte) []byte {
	const digits = "0123456789abcdef"
	n := len(buf)
	buf = slices.Grow(buf, 36)[:n+36]
	dst := buf[n : n+36]
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = digits[b>>4]
		dst[j+1] = digits[b&0x0f]
		j += 2
	}
	return buf
}

// AppendString appends s as a quoted JSON string. Like encoding/json it
// replaces each byte of invalid UTF-8 with U+FFFD and escapes control
// characters, U+2028 and U+2029; unlike it, it leaves <, > and & alone
// (there is no HTML here).
func AppendString(buf []byte, s string) []byte {
	const digits = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most strings are plain ASCII: skip 8 such bytes at a time.
		for i+8 <= len(s) && !needsEscape8(load8(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', digits[c>>4], digits[c&0x0f])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript;
		// encoding/json escapes them too.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', digits[r&0x0f])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// jsonSafe tells which ASCII bytes go into a JSON string as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word (the compiler makes it one load).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// needsEscape8 reports whether any of the 8 bytes in x is a control
// character, '"', '\\' or not ASCII (the classic "has zero byte" bit trick).
func needsEscape8(x uint64) bool {
	ctl := (x - lows*0x20) & ^x
	q := x ^ (lows * '"')
	q = (q - lows) & ^q
	bs := x ^ (lows * '\\')
	bs = (bs - lows) & ^bs
	return (ctl|q|bs|x)&highs != 0
}

// appendTime writes t the way PostHog parses timestamps: RFC 3339 in UTC with
// as many fractional digits as needed.
func appendTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

func appendMember(buf []byte, key string, v any) []byte {
	buf = AppendString(buf, key)
	buf = append(buf, ':')
	return appendValue(buf, v, 0)
}

// appendProperties writes ps as an object; it is one container deep.
func appendProperties(buf []byte, ps []Property) []byte {
	buf = append(buf, '{')
	for i := range ps {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, ps[i].Key)
		buf = append(buf, ':')
		buf = ps[i].appendValue(buf, 1)
	}
	return append(buf, '}')
}

// appendValue writes the property's Value, or its Raw attribute when Value is nil.
func (p *Property) appendValue(buf []byte, depth int) []byte {
	if p.Value == nil && p.Raw != (pcommon.Value{}) {
		return appendPValue(buf, p.Raw, depth)
	}
	return appendValue(buf, p.Value, depth)
}

// appendValue writes v, which sits inside depth containers of a property
// value. Each kind of value has its own writer; the common scalars come first.
func appendValue(buf []byte, v any, depth int) []byte {
	if out, ok := appendScalar(buf, v); ok {
		return out
	}
	if out, ok := appendInteger(buf, v); ok {
		return out
	}
	if out, ok := appendContainer(buf, v, depth); ok {
		return out
	}
	// Some value the mapper did not expect: a readable string beats
	// losing the property or the event.
	return AppendString(buf, fmt.Sprint(v))
}

// appendScalar writes what OTTL and pdata give for single values.
func appendScalar(buf []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), true
	case string:
		return AppendString(buf, v), true
	case bool:
		return strconv.AppendBool(buf, v), true
	case int64:
		return strconv.AppendInt(buf, v, 10), true
	case float64:
		return appendFloat(buf, v, 64), true
	case float32:
		return appendFloat(buf, float64(v), 32), true
	case []byte:
		return appendHex(buf, v), true
	case pcommon.ByteSlice:
		return appendHex(buf, v.AsRaw()), true
	case time.Time:
		return appendTime(buf, v), true
	case pcommon.Timestamp:
		return appendTime(buf, v.AsTime()), true
	case time.Duration:
		return AppendString(buf, v.String()), true
	}
	return buf, false
}

// appendInteger writes Go's other integer types, which OTTL does not produce
// but a caller building events by hand might.
func appendInteger(buf []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case int:
		return strconv.AppendInt(buf, int64(v), 10), true
	case int32:
		return strconv.AppendInt(buf, int64(v), 10), true
	case int16:
		return strconv.AppendInt(buf, int64(v), 10), true
	case int8:
		return strconv.AppendInt(buf, int64(v), 10), true
	case uint64:
		return strconv.AppendUint(buf, v, 10), true
	case uint:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case uint32:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case uint16:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case uint8:
		return strconv.AppendUint(buf, uint64(v), 10), true
	}
	return buf, false
}

// appendContainer writes objects and arrays, pdata's and Go's.
func appendContainer(buf []byte, v any, depth int) ([]byte, bool) {
	switch v := v.(type) {
	case pcommon.Value:
		return appendPValue(buf, v, depth), true
	case pcommon.Map:
		return appendPMap(buf, v, depth), true
	case pcommon.Slice:
		return appendPSlice(buf, v, depth), true
	case map[string]any:
		return appendGoMap(buf, v, depth), true
	case []any:
		return appendList(buf, v, depth, func(b []byte, x any) []byte { return appendValue(b, x, depth+1) }), true
	case []string:
		return appendList(buf, v, depth, AppendString), true
	case []int64:
		return appendList(buf, v, depth, func(b []byte, x int64) []byte { return strconv.AppendInt(b, x, 10) }), true
	case []float64:
		return appendList(buf, v, depth, func(b []byte, x float64) []byte { return appendFloat(b, x, 64) }), true
	case []bool:
		return appendList(buf, v, depth, strconv.AppendBool), true
	}
	return buf, false
}

// appendGoMap writes m as an object with sorted keys: Go maps have no order,
// and sorted keys keep the output deterministic.
func appendGoMap(buf []byte, m map[string]any, depth int) []byte {
	if depth >= MaxNesting {
		return append(buf, "null"...)
	}
	buf = append(buf, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, k)
		buf = append(buf, ':')
		buf = appendValue(buf, m[k], depth+1)
	}
	return append(buf, '}')
}

// appendList writes xs as an array, each element with appendElem.
func appendList[T any](buf []byte, xs []T, depth int, appendElem func([]byte, T) []byte) []byte {
	if depth >= MaxNesting {
		return append(buf, "null"...)
	}
	buf = append(buf, '[')
	for i, x := range xs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendElem(buf, x)
	}
	return append(buf, ']')
}

func appendPValue(buf []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return AppendString(buf, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloat(buf, v.Double(), 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeMap:
		return appendPMap(buf, v.Map(), depth)
	case pcommon.ValueTypeSlice:
		return appendPSlice(buf, v.Slice(), depth)
	case pcommon.ValueTypeBytes:
		return appendHex(buf, v.Bytes().AsRaw())
	default: // ValueTypeEmpty
		return append(buf, "null"...)
	}
}

func appendPMap(buf []byte, m pcommon.Map, depth int) []byte {
	if depth >= MaxNesting {
		return append(buf, "null"...)
	}
	buf = append(buf, '{')
	first := true
	for k, v := range m.All() {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = AppendString(buf, k)
		buf = append(buf, ':')
		buf = appendPValue(buf, v, depth+1)
	}
	return append(buf, '}')
}

func appendPSlice(buf []byte, s pcommon.Slice, depth int) []byte {
	if depth >= MaxNesting {
		return append(buf, "null"...)
	}
	buf = append(buf, '[')
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendPValue(buf, s.At(i), depth+1)
	}
	return append(buf, ']')
}

// appendHex writes bytes as a lowercase hex string: that is how trace and span
// ids read everywhere else, and PostHog shows it as is.
func appendHex(buf []byte, b []byte) []byte {
	buf = append(buf, '"')
	buf = hex.AppendEncode(buf, b)
	return append(buf, '"')
}

// appendFloat formats f as encoding/json does (shortest representation,
// exponent form only for very small or large magnitudes). NaN and ±Inf have no
// JSON form: they become null rather than making PostHog refuse the request.
func appendFloat(buf []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(buf, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	buf = strconv.AppendFloat(buf, f, format, -1, bits)
	if format == 'e' {
		// Shorten e-09 to e-9, as encoding/json does.
		n := len(buf)
		if n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}
