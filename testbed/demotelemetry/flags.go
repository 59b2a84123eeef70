package demotelemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/open-feature/go-sdk/openfeature/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The demo's feature flag: an A/B test of the engine UI, evaluated through
// the OpenFeature Go SDK with its in-memory provider.
const (
	FlagKey     = "new-engine-ui"
	FlagControl = "control"
	FlagTest    = "redesign"
)

// FlagVariant is the variant each user gets.
var FlagVariant = map[string]string{"user-123": FlagTest, "user-456": FlagControl}

// spanEventHook records every flag evaluation as a "feature_flag.evaluation"
// event on the span of the evaluation's context, with the attributes of
// OpenFeature's telemetry helper (the semantic conventions), as the
// go-sdk-contrib OpenTelemetry hook does; that module is not obtainable
// here. The event's time is the scenario's (see withClock), not the wall
// clock's, so that it lies inside its span.
type spanEventHook struct {
	openfeature.UnimplementedHook
}

func (spanEventHook) Finally(ctx context.Context, hc openfeature.HookContext, details openfeature.InterfaceEvaluationDetails, _ openfeature.HookHints) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	ev := telemetry.CreateEvaluationEvent(hc, details)
	attrs := make([]attribute.KeyValue, 0, len(ev.Attributes))
	for k, v := range ev.Attributes {
		switch v := v.(type) {
		case string:
			attrs = append(attrs, attribute.String(k, v))
		case bool:
			attrs = append(attrs, attribute.Bool(k, v))
		default:
			attrs = append(attrs, attribute.String(k, fmt.Sprint(v)))
		}
	}
	opts := []trace.EventOption{trace.WithAttributes(attrs...)}
	if at, ok := ctx.Value(clockKey{}).(time.Time); ok {
		opts = append(opts, trace.WithTimestamp(at))
	}
	span.AddEvent(ev.Name, opts...)
}

type clockKey struct{}

// withClock tells the hook the scenario's time of an evaluation.
func withClock(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, at)
}

// newFlags returns an OpenFeature client of its own (not the global API,
// so that scenarios can run side by side) whose evaluations the hook records.
func newFlags(ctx context.Context) (*openfeature.Client, func()) {
	api := isolated.NewAPI()
	byUser := func(flag memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		user, _ := flat[openfeature.TargetingKey].(string)
		variant, ok := FlagVariant[user]
		if !ok {
			variant = flag.DefaultVariant
		}
		return flag.Variants[variant], openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: variant}
	}
	provider := memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		FlagKey: {
			Key:              FlagKey,
			State:            memprovider.Enabled,
			DefaultVariant:   FlagControl,
			Variants:         map[string]any{FlagControl: "classic", FlagTest: "redesign"},
			ContextEvaluator: &byUser,
		},
	})
	_ = api.SetProviderAndWait(ctx, provider) // the in-memory provider cannot fail to start
	client := api.NewClient()
	client.AddHooks(spanEventHook{})
	return client, func() { _ = api.Shutdown(context.WithoutCancel(ctx)) }
}

// evaluateFlag evaluates the demo's flag for user, at the scenario's time at,
// in the request's handler span (a child of the server span): with
// trace_context, the server span's api_request carries the flag all the same.
func (e *emitter) evaluateFlag(ctx context.Context, at time.Time, user string) {
	if e.flags == nil {
		return
	}
	e.flags.String(withClock(ctx, at), FlagKey, "classic", openfeature.NewEvaluationContext(user, nil))
}
