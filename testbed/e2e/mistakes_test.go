package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirstRuleMistakesGetAnswers: the mistakes a new user made writing a
// first rule, each as `validate` of the built collector reports it. Each case
// keeps the message it used to get: the answer must say more than that.
func TestFirstRuleMistakesGetAnswers(t *testing.T) {
	bin := collectorBin(t)
	const rule = `
    spans:
      - name: checkout
        event: checkout_completed
        distinct_id: ['span.attributes["enduser.id"]']
        conditions: ['%s']`
	cases := []struct {
		name, exporter string
		env            []string
		before, after  string
	}{
		{
			name:     "misspelled property block",
			exporter: strings.Replace(rule, "%s", `span.kind == SPAN_KIND_SERVER`, 1) + "\n        propeties: {amount: 'span.attributes[\"order.amount\"]'}",
			before:   `failed to get config: cannot unmarshal the configuration: decoding failed due to the following error(s): ... '' spans[0].propeties: unknown key; did you mean "properties"?`,
			after:    `spans[0].propeties: unknown key; did you mean "properties"?`,
		},
		{
			name:     "misspelled trace_context key",
			exporter: "\n    trace_context: {attributes: [enduser.id], max_wiat: 10s}",
			before:   `... '' trace_context.max_wiat: unknown key; did you mean "max_wait"?`,
			after:    `trace_context.max_wiat: unknown key; did you mean "max_wait"?`,
		},
		{
			name:     "a value of the wrong type",
			exporter: "\n    trace_context: {attributes: [enduser.id], wait: soon}",
			before:   `... error reading configuration for "posthog": decoding failed ... 'wait' time: invalid duration`,
			after:    `trace_context.wait: time: invalid duration`,
		},
		{
			name:     "enum symbol",
			exporter: strings.Replace(rule, "%s", `span.kind == SPAN_KIND_SEVER`, 1),
			before:   `enum symbol, SPAN_KIND_SEVER, not found`,
			after:    `rule "checkout" (spans[0]): conditions[0]: enum symbol, SPAN_KIND_SEVER, not found; did you mean SPAN_KIND_SERVER?`,
		},
		{
			name:     "function name",
			exporter: strings.Replace(rule, "%s", `Milisecond(span.end_time - span.start_time) > 5`, 1),
			before:   `undefined function "Milisecond"`,
			after:    `rule "checkout" (spans[0]): conditions[0]: undefined function "Milisecond"; did you mean Milliseconds?`,
		},
		{
			name:     "path segment",
			exporter: strings.Replace(rule, "%s", `span.atributes["http.route"] == "/checkout"`, 1),
			before:   `segment "atributes" ... is not a valid path`,
			after:    `; did you mean attributes?`,
		},
		{
			name:     "unset api key variable",
			exporter: "\n    api_key: ${env:POSTHOG_API_KEY}",
			env:      []string{"POSTHOG_API_KEY"},
			before:   `api_key: empty; set it to your PostHog project API key (phc_...), for example api_key: ${env:POSTHOG_API_KEY}`,
			after:    `api_key: the environment variable POSTHOG_API_KEY is not set; set it to your PostHog project API key (phc_...) in the collector's environment`,
		},
		{
			name:     "unset endpoint variable",
			exporter: "\n    endpoint: ${env:POSTHOG_HOST}",
			env:      []string{"POSTHOG_HOST"},
			before:   `endpoint: empty; set it to your PostHog host`,
			after:    `endpoint: the environment variable POSTHOG_HOST is not set; set it to your PostHog host, such as https://us.i.posthog.com, or remove endpoint for that default`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exporter := tc.exporter
			if !strings.Contains(exporter, "api_key:") {
				exporter = "\n    api_key: phc_x" + exporter
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			cfg := "receivers:\n  otlp:\n    protocols:\n      http: {endpoint: 127.0.0.1:0}\nexporters:\n  posthog:" + exporter +
				"\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [posthog]}\n"
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runValidate(t, bin, path, tc.env...)
			if err == nil {
				t.Fatalf("validate accepted the mistake:\n%s", cfg)
			}
			got := strings.TrimSpace(out)
			if !strings.HasPrefix(got, "Error: exporters::posthog: ") || !strings.Contains(got, tc.after) {
				t.Errorf("validate said:\n%s\nwant, after the component's name:\n%s\n(it used to say: %s)", got, tc.after, tc.before)
			}
			for _, layer := range []string{"decoding failed", "''", "cannot unmarshal"} {
				if strings.Contains(got, layer) {
					t.Errorf("the collector decoder's layer %q reached the user:\n%s", layer, got)
				}
			}
		})
	}
}
