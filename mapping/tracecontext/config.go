// Package tracecontext is the trace_context stage, in front of the mapping
// it feeds: it holds spans back until their trace has arrived, gives each
// the attributes it inherits from its trace, and maps them with the rules.
// The spans it maps have the inherited attributes written into their own, so
// rules read them as span.attributes[...].
//
// Like package mapping it is pure: no goroutines and no I/O. Its caller ends
// waits that have lasted long enough (MapExpired) on its own clock.
package tracecontext

import (
	"errors"
	"fmt"
	"time"
)

// Config is the trace_context block: span attributes shared by the whole
// trace, which every span lacking them inherits.
type Config struct {
	// Attributes are the span attributes shared by the whole trace, such
	// as enduser.id and tenant.id.
	Attributes []string `mapstructure:"attributes"`
	// Wait is how long a trace must go without a new span before its
	// waiting spans are mapped: longer than the longest gap between two
	// spans of one trace on their way to the collector.
	Wait time.Duration `mapstructure:"wait"`
	// MaxWait caps the wait from a trace's first span, so that a trace
	// that never goes quiet cannot hold memory; its later spans are mapped
	// as they arrive, with what is known.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxPending bounds the spans held; beyond it the oldest stop waiting.
	MaxPending int `mapstructure:"max_pending"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Defaults of the block's keys. The SDKs export every 5 seconds
// (OTEL_BSP_SCHEDULE_DELAY), each service on its own timer, so two spans of
// one trace can reach the collector about 5 seconds apart; Wait leaves 2
// seconds more for the export and a first tier. MaxWait is tail sampling's
// default decision_wait.
const (
	DefaultWait       = 7 * time.Second
	DefaultMaxWait    = 30 * time.Second
	DefaultMaxPending = 100000
)

// MaxAttributes bounds Attributes: presence is kept as bits of a word.
const MaxAttributes = 64

// rememberedPerPending: spans that are not held (only their parent link and
// listed attributes are kept) are bounded at this many times max_pending;
// beyond it the oldest traces are forgotten, their held spans stop waiting.
const rememberedPerPending = 4

// Check returns every mistake in the block, each naming its key. The
// exporter's Config.Validate calls it (as mapping.Config.Check, it is not
// named Validate, so that the collector does not report it twice).
func (c *Config) Check() error {
	var errs []error
	if len(c.Attributes) == 0 {
		errs = append(errs, errors.New("trace_context.attributes: empty; list the span attributes the whole trace shares, such as [enduser.id, tenant.id], or remove trace_context"))
	}
	if len(c.Attributes) > MaxAttributes {
		errs = append(errs, fmt.Errorf("trace_context.attributes: %d attributes, at most %d", len(c.Attributes), MaxAttributes))
	}
	seen := map[string]bool{}
	for i, a := range c.Attributes {
		switch {
		case a == "":
			errs = append(errs, fmt.Errorf("trace_context.attributes[%d]: empty attribute name", i))
		case seen[a]:
			errs = append(errs, fmt.Errorf("trace_context.attributes[%d]: %q is listed twice", i, a))
		}
		seen[a] = true
	}
	if c.Wait <= 0 {
		errs = append(errs, fmt.Errorf("trace_context.wait: must be positive, such as 7s, got %v", c.Wait))
	}
	if c.MaxWait < c.Wait {
		errs = append(errs, fmt.Errorf("trace_context.max_wait: %v is shorter than wait (%v); set it to at least wait, such as 30s", c.MaxWait, c.Wait))
	}
	if c.MaxPending <= 0 {
		errs = append(errs, fmt.Errorf("trace_context.max_pending: must be positive, such as 100000, got %d", c.MaxPending))
	}
	return errors.Join(errs...)
}
