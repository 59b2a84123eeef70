package mapping

import (
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Most records match no rule, so the cost of not matching is the exporter's
// hot path. Before OTTL evaluates a condition, a prefilter checks what the
// condition plainly requires of the record: a span name, a span kind, a log
// event name, a span event name, the presence of attributes. These come from the terms the
// condition begins with ("span.name == "x" and ..."), and the span's
// duration compared with a Duration literal. OTTL evaluates `and`
// from left to right and stops at the first false term, and these terms
// cannot fail to evaluate, so when one of them is false the whole condition
// is false without an error: skipping it changes nothing, not even the
// evaluation_error counts. A term the prefilter does not understand ends the
// prefix; a condition with a top-level `or` gets no prefilter at all.

// condFilter holds what one condition requires; the zero value requires nothing.
type condFilter struct {
	name     string // span.name, log.event_name or spanevent.name must equal it, when hasName
	hasName  bool
	kind     ptrace.SpanKind // span.kind must equal it, when hasKind
	hasKind  bool
	attrBits uint64 // attributes that must be present, as bits of an attrIndex
	// durOp and dur: span.end_time - span.start_time must compare so with dur, when hasDur.
	durOp  string
	dur    time.Duration
	hasDur bool
}

// attrIndex numbers the attribute keys that some condition requires, so a
// record's attributes are scanned once per record, whatever the rules.
type attrIndex struct {
	bits map[string]uint64
	// lengths of the indexed keys: a key of another length is passed over
	// without reading its bytes, which in freshly received pdata are seldom
	// in the CPU's cache.
	lengths [4]uint64
	bloom   [4]uint64 // over (length, first byte, last byte): most keys need no map look-up
}

// maxIndexedAttributes: requirements on more distinct keys than bits in a
// word are not used; those conditions are simply evaluated.
const maxIndexedAttributes = 64

func (ix *attrIndex) bit(key string) (uint64, bool) {
	if b, ok := ix.bits[key]; ok {
		return b, true
	}
	if len(ix.bits) >= maxIndexedAttributes || key == "" || len(key) >= 256 {
		return 0, false
	}
	if ix.bits == nil {
		ix.bits = map[string]uint64{}
	}
	b := uint64(1) << len(ix.bits)
	ix.bits[key] = b
	h := bloomHash(key)
	ix.bloom[h>>6] |= 1 << (h & 63)
	if n := len(key); n < 256 {
		ix.lengths[n>>6] |= 1 << (n & 63)
	}
	return b, true
}

func bloomHash(key string) uint8 {
	return uint8(len(key)*31 + int(key[0])*7 + int(key[len(key)-1]))
}

// present returns the bits of the indexed keys that m holds.
func (ix *attrIndex) present(m pcommon.Map) uint64 {
	var mask uint64
	for k := range m.All() {
		if n := len(k); n == 0 || n >= 256 || ix.lengths[n>>6]&(1<<(n&63)) == 0 {
			continue
		}
		h := bloomHash(k)
		if ix.bloom[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		mask |= ix.bits[k]
	}
	return mask
}

// pass reports whether the record may satisfy the condition.
func (f *condFilter) pass(rec *record, ix *attrIndex) bool {
	if f.hasName && rec.name() != f.name {
		return false
	}
	if f.hasKind && rec.span.Kind() != f.kind {
		return false
	}
	if f.attrBits != 0 && rec.attrMask(ix)&f.attrBits != f.attrBits {
		return false
	}
	if f.hasDur && !compareDuration(spanDuration(rec.span), f.durOp, f.dur) {
		return false
	}
	return true
}

// spanDuration is span.end_time - span.start_time exactly as OTTL computes
// it: both timestamps as times (zero is 1970), subtracted with time.Sub.
func spanDuration(span ptrace.Span) time.Duration {
	return span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime())
}

func compareDuration(d time.Duration, op string, limit time.Duration) bool {
	switch op {
	case ">":
		return d > limit
	case ">=":
		return d >= limit
	case "<":
		return d < limit
	case "<=":
		return d <= limit
	default: // "=="
		return d == limit
	}
}

var (
	// stringLit is a quoted OTTL string without escapes (with escapes, the
	// term is simply not used).
	stringLit = `"[^"\\]*"`
	// nonNilLiteral is a right-hand side that cannot be nil.
	nonNilLiteral = `(?:` + stringLit + `|-?[0-9][0-9._eE+-]*|true|false|[A-Z][A-Z0-9_]*)`

	nameTerm      = regexp.MustCompile(`^(span\.name|log\.event_name|spanevent\.name)\s*==\s*(` + stringLit + `)$`)
	kindTerm      = regexp.MustCompile(`^span\.kind\s*==\s*(SPAN_KIND_[A-Z]+)$`)
	attrTerm      = regexp.MustCompile(`^(?:span|log|spanevent)\.attributes\[(` + stringLit + `)\]\s*(==|<=|>=|<|>)\s*` + nonNilLiteral + `$`)
	durationTerm  = regexp.MustCompile(`^span\.end_time\s*-\s*span\.start_time\s*(>=|<=|==|>|<)\s*Duration\("([^"\\]*)"\)$`)
	attrNotNil    = regexp.MustCompile(`^(?:span|log|spanevent)\.attributes\[(` + stringLit + `)\]\s*!=\s*nil$`)
	spanKindNames = map[string]ptrace.SpanKind{
		"SPAN_KIND_UNSPECIFIED": ptrace.SpanKindUnspecified,
		"SPAN_KIND_INTERNAL":    ptrace.SpanKindInternal,
		"SPAN_KIND_SERVER":      ptrace.SpanKindServer,
		"SPAN_KIND_CLIENT":      ptrace.SpanKindClient,
		"SPAN_KIND_PRODUCER":    ptrace.SpanKindProducer,
		"SPAN_KIND_CONSUMER":    ptrace.SpanKindConsumer,
	}
)

// namePaths are, per record context, the path that record.name reads.
var namePaths = map[string]string{"span": "span.name", "log": "log.event_name", signalSpanEvent: "spanevent.name"}

// newCondFilter reads the requirements of one condition, for records of the
// given context ("span", "log" or "spanevent").
func newCondFilter(condition, signal string, ix *attrIndex) condFilter {
	var f condFilter
	terms, ok := splitAnd(condition)
	if !ok {
		return f
	}
	for _, t := range terms {
		if !f.add(t, signal, ix) {
			break
		}
	}
	return f
}

// add records the requirement of one term, or reports that it has none we know.
func (f *condFilter) add(term, signal string, ix *attrIndex) bool {
	if m := nameTerm.FindStringSubmatch(term); m != nil {
		if m[1] != namePaths[signal] || f.hasName {
			return false
		}
		f.name, f.hasName = strings.Trim(m[2], `"`), true
		return true
	}
	if m := kindTerm.FindStringSubmatch(term); m != nil && signal == "span" && !f.hasKind {
		k, known := spanKindNames[m[1]]
		if !known {
			return false
		}
		f.kind, f.hasKind = k, true
		return true
	}
	if m := durationTerm.FindStringSubmatch(term); m != nil && signal == "span" && !f.hasDur {
		// OTTL's Duration parses with time.ParseDuration: a literal that
		// does not parse fails there at run time, so it is left to OTTL.
		d, err := time.ParseDuration(m[2])
		if err != nil {
			return false
		}
		f.durOp, f.dur, f.hasDur = m[1], d, true
		return true
	}
	m := attrTerm.FindStringSubmatch(term)
	if m == nil {
		m = attrNotNil.FindStringSubmatch(term)
	}
	if m == nil || !strings.HasPrefix(term, signal+".") {
		return false
	}
	bit, ok := ix.bit(strings.Trim(m[1], `"`))
	if !ok {
		return false
	}
	f.attrBits |= bit
	return true
}

// splitAnd splits a condition into its top-level `and` terms. It reports
// false when the condition has a top-level `or` (the terms are then not all
// required) or is not balanced.
func splitAnd(s string) ([]string, bool) {
	var terms []string
	depth, start := 0, 0
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth == 0 && isWordAt(s, i, "and"):
			terms = append(terms, strings.TrimSpace(s[start:i]))
			start = i + 3
			i += 2
		case depth == 0 && isWordAt(s, i, "or"):
			return nil, false
		}
	}
	if depth != 0 || inString {
		return nil, false
	}
	return append(terms, strings.TrimSpace(s[start:])), true
}

// isWordAt reports whether word stands at s[i:] as a whole word: not part
// of a name such as "brand" or "span.order".
func isWordAt(s string, i int, word string) bool {
	if !strings.HasPrefix(s[i:], word) {
		return false
	}
	before := i == 0 || !isNameByte(s[i-1])
	after := i+len(word) == len(s) || !isNameByte(s[i+len(word)])
	return before && after
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
