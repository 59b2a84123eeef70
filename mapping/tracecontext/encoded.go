package tracecontext

// A span or log record that waits for its trace is kept as OTLP protobuf:
// in pdata it is dozens of small objects full of pointers, which the garbage
// collector would scan on every cycle for as long as the trace waits
// (seconds, thousands of records); bytes it does not scan. It is decoded
// once, when its trace is released.

// encoded is a pdata copy (ptrace.Traces or plog.Logs) kept encoded.
type encoded[T any] struct {
	pb []byte // nil once decoded, or when encoding failed
	v  T      // valid when pb is nil
}

// encode keeps v, encoded when marshal can.
func encode[T any](v T, marshal func(T) ([]byte, error)) encoded[T] {
	pb, err := marshal(v)
	if err != nil {
		return encoded[T]{v: v} // keep it decoded
	}
	return encoded[T]{pb: pb}
}

// get decodes the copy on first use. The bytes were encoded by this process,
// so decoding cannot fail; should it, whole (an empty record) keeps the
// stage going.
func (e *encoded[T]) get(unmarshal func([]byte) (T, error), whole func(T) bool, empty func() T) T {
	if e.pb != nil {
		v, err := unmarshal(e.pb)
		if err != nil || !whole(v) {
			v = empty()
		}
		e.v, e.pb = v, nil
	}
	return e.v
}
