// Package tracecontext holds spans back until their trace has arrived, and
// gives each the attributes it inherits from its trace (trace_context in
// the exporter's config). It sits in front of mapping: the spans it
// returns have the inherited attributes written into their own, so rules
// read them as span.attributes[...].
package tracecontext

import "time"

// Config is the trace_context block.
type Config struct {
	// Attributes are the span attributes shared by the whole trace.
	Attributes []string
	// Wait is how long a span may wait for the rest of its trace.
	Wait time.Duration
	// MaxPending bounds the spans held; beyond it the oldest stop waiting.
	MaxPending int
}

// MaxAttributes bounds Attributes: presence is kept as bits of a word.
const MaxAttributes = 64

// rememberedPerPending: spans that are not held (only their parent link and
// listed attributes are kept) are bounded at this many times max_pending;
// beyond it the oldest traces are forgotten, their held spans stop waiting.
const rememberedPerPending = 4
