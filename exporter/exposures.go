package exporter

import (
	"context"
	"time"

	"github.com/posthogexporter/posthogexporter/exporter/internal/exposure"
	"github.com/posthogexporter/posthogexporter/mapping"
)

// newExposures is the set that lets one $feature_flag_called through per
// (distinct_id, flag, response) in feature_flags.dedupe_window, as PostHog's
// SDKs send one exposure per process: OpenFeature records an evaluation
// every time a flag is read. The mapper keeps no state, so the exporter does
// this as it turns records into events. Each exporter of the component (its
// traces and its logs pipelines) has its own set; now is the clock (tests).
func newExposures(cfg *mapping.Config, now func() time.Time) *exposure.Set {
	return exposure.New(cfg.FeatureFlags.DedupeWindow, cfg.FeatureFlags.MaxEntries, now)
}

// dropRepeatedExposures removes from res the $feature_flag_called events whose
// exposure was already sent within the window, and counts them as dropped
// (feature_flag_repeat) under their rule. An exposure is remembered when its
// event is mapped: should PostHog refuse that event for good, the exposure is
// sent again after the window.
func (e *posthogExporter) dropRepeatedExposures(ctx context.Context, res *mapping.Result) {
	first := -1
	for i := range res.Events {
		if res.Events[i].Exposure != nil {
			first = i
			break
		}
	}
	if first < 0 {
		return // most pushes: no exposure, nothing to move
	}
	kept := res.Events[:first]
	var repeats map[string]int64
	for i := first; i < len(res.Events); i++ {
		ev := &res.Events[i]
		if ev.Exposure != nil && !e.exposures.Admit(ev.DistinctID, ev.Exposure.Key, ev.Exposure.Response) {
			if repeats == nil {
				repeats = map[string]int64{}
			}
			repeats[ev.Rule]++
			continue
		}
		kept = append(kept, *ev)
	}
	clear(res.Events[len(kept):]) // no references into the records from the dropped tail
	res.Events = kept
	for rule, n := range repeats {
		e.telemetry.EventsDropped(ctx, rule, string(mapping.DropFlagRepeat), n)
	}
}
