package mapping

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"gopkg.in/yaml.v3"
)

func parseConfig(t *testing.T, src string) Config {
	t.Helper()
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(src), &raw))
	cfg := NewDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(&cfg))
	return cfg
}

// TestValidateNamesRuleAndField checks that every kind of config error says
// which rule and which field to fix, and keeps OTTL's own message.
func TestValidateNamesRuleAndField(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want []string // all must appear in the error
	}{
		{
			name: "unparseable condition",
			cfg: `
spans:
  - name: engine-executed
    event: engine_executed
    distinct_id: ['span.attributes["engine.id"]']
    conditions: ['span.name == ']`,
			want: []string{`rule "engine-executed" (spans[0])`, "conditions[0]", "invalid syntax"},
		},
		{
			name: "OTTL typos get the nearest valid name",
			cfg: `
spans:
  - name: kind
    event: e
    distinct_id: ['"x"']
    conditions: ['span.kind == SPAN_KIND_SEVER']
  - name: function
    event: e
    distinct_id: ['"x"']
    properties: {ms: 'Milisecond(span.end_time - span.start_time)'}
  - name: segment
    event: e
    distinct_id: ['"x"']
    conditions: ['span.atributes["x"] == nil']`,
			want: []string{"did you mean SPAN_KIND_SERVER?", "did you mean Milliseconds?", "did you mean attributes?"},
		},
		{
			name: "groups on personless events",
			cfg: `
defaults:
  groups:
    company: resource.attributes["company.id"]
spans:
  - name: api
    event: api_request
    distinct_id: ['span.attributes["enduser.id"]']`,
			want: []string{`rule "api" (spans[0])`, "groups (from defaults)", "PostHog drops groups from personless events", "set person_profiles: true"},
		},
		{
			name: "illegal distinct_id literal",
			cfg: `
spans:
  - name: api
    event: api_request
    distinct_id: ['span.attributes["enduser.id"]', '"anonymous"']`,
			want: []string{`rule "api" (spans[0])`, "distinct_id[1]", `"anonymous" is one of PostHog's illegal distinct_ids`, "remove it"},
		},
		{
			name: "illegal distinct_id literal in the defaults",
			cfg: `
defaults:
  distinct_id: ['"null"']
spans:
  - name: api
    event: api_request`,
			want: []string{"defaults: distinct_id[0]", `"null" is one of PostHog's illegal distinct_ids`},
		},
		{
			name: "unprefixed path, unnamed rule",
			cfg: `
spans:
  - event: a
    distinct_id: ['"x"']
  - event: b
    distinct_id: ['"x"']
  - event: c
    distinct_id: ['"x"']
  - event: d
    distinct_id: ['"x"']
    conditions: ['name == "x"']`,
			want: []string{"rule spans[3]", "conditions[0]", `span.name`},
		},
		{
			name: "wrong context path in a log rule",
			cfg: `
logs:
  - name: rate-limit
    event: rate_limit_exceeded
    distinct_id: ['span.attributes["user.id"]']`,
			want: []string{`rule "rate-limit" (logs[0])`, "distinct_id[0]"},
		},
		{
			name: "bad property expression",
			cfg: `
spans:
  - name: p
    event: e
    distinct_id: ['"x"']
    properties:
      duration_ms: NoSuchFunction(span.name)`,
			want: []string{`rule "p" (spans[0])`, `properties["duration_ms"]`, "NoSuchFunction"},
		},
		{
			name: "both event and event_expression",
			cfg: `
spans:
  - name: both
    event: e
    event_expression: span.name
    distinct_id: ['"x"']`,
			want: []string{`rule "both" (spans[0])`, "event", "exactly one"},
		},
		{
			name: "neither event nor event_expression",
			cfg: `
logs:
  - distinct_id: ['"x"']`,
			want: []string{"rule logs[0]", "event", "exactly one"},
		},
		{
			name: "duplicate rule names across signals",
			cfg: `
spans:
  - name: dup
    event: e
    distinct_id: ['"x"']
logs:
  - name: dup
    event: e
    distinct_id: ['"x"']`,
			want: []string{`rule "dup" (logs[0])`, "name", "already used by spans[0]"},
		},
		{
			name: "unknown timestamp",
			cfg: `
spans:
  - name: ts
    event: e
    distinct_id: ['"x"']
    timestamp: middle`,
			want: []string{`rule "ts" (spans[0])`, "timestamp", `"middle" is not one of start, end`},
		},
		{
			name: "timestamp on a log rule",
			cfg: `
logs:
  - name: ts
    event: e
    distinct_id: ['"x"']
    timestamp: start`,
			want: []string{`rule "ts" (logs[0])`, "timestamp", "only span rules"},
		},
		{
			name: "set without person_profiles",
			cfg: `
spans:
  - name: setter
    event: e
    distinct_id: ['"x"']
    set:
      plan: span.attributes["plan"]`,
			want: []string{`rule "setter" (spans[0])`, "set", "person_profiles: true"},
		},
		{
			name: "set_once with person_profiles false in defaults",
			cfg: `
defaults:
  person_profiles: false
spans:
  - name: setter
    event: e
    distinct_id: ['"x"']
    set_once:
      first: span.name`,
			want: []string{`rule "setter" (spans[0])`, "set", "person_profiles: true"},
		},
		{
			name: "literal event name over 200 characters",
			cfg: `
spans:
  - name: long
    event: ` + strings.Repeat("e", 201),
			want: []string{`rule "long" (spans[0])`, "event: 201 characters", "cuts event names to 200"},
		},
		{
			name: "owned key under defaults",
			cfg: `
defaults:
  properties:
    $groups: '"x"'
spans:
  - event: e`,
			want: []string{"defaults", `properties["$groups"]`, "use groups"},
		},
		{
			name: "defaults that do not parse for log rules",
			cfg: `
defaults:
  distinct_id: ['span.attributes["user.id"]']
logs:
  - name: l
    event: e`,
			want: []string{"defaults", "distinct_id[0]", "log rules"},
		},
		{
			name: "invalid error_mode",
			cfg:  `error_mode: loud`,
			want: []string{"error_mode"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(tt.cfg), &raw))
			cfg := NewDefaultConfig()
			err := confmap.NewFromStringMap(raw).Unmarshal(&cfg)
			if err == nil {
				err = cfg.Check()
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestValidateAcceptsTheIssueExample(t *testing.T) {
	cfg := parseConfig(t, `
error_mode: ignore
defaults:
  distinct_id:
    - resource.attributes["posthog.distinct_id"]
    - resource.attributes["service.name"]
  person_profiles: false
  properties:
    environment: resource.attributes["deployment.environment.name"]
spans:
  - name: engine-executed
    event: engine_executed
    conditions:
      - span.name == "engine.execute" and span.status.code != STATUS_CODE_ERROR
    distinct_id:
      - span.attributes["enduser.id"]
      - span.attributes["engine.id"]
    timestamp: end
    attributes: [engine.id, engine.type]
    resource_attributes: [service.name]
    properties:
      duration_ms: Milliseconds(span.end_time - span.start_time)
    person_profiles: true
    set:
      last_engine_type: span.attributes["engine.type"]
    set_once:
      first_engine_id: span.attributes["engine.id"]
    groups:
      tenant: resource.attributes["tenant.id"]
logs:
  - name: named-events
    event_expression: log.event_name
    conditions: ['log.event_name != ""']
    distinct_id: ['log.attributes["user.id"]']
    attributes: [endpoint, limit, current]
`)
	require.NoError(t, cfg.Check())
	assert.True(t, cfg.HasRules())
}

func TestValidateReportsEveryError(t *testing.T) {
	cfg := parseConfig(t, `
spans:
  - name: a
    event: e
    distinct_id: ['"x"']
    conditions: ['bad ==']
  - name: b
    event: e
    distinct_id: ['"x"']
    timestamp: later`)
	err := cfg.Check()
	require.Error(t, err)
	require.ErrorContains(t, err, `rule "a"`)
	assert.ErrorContains(t, err, `rule "b"`)
}

// TestBuiltinDistinctIDValidates: a rule without a distinct_id chain, with
// none under defaults either, uses the built-in chain (see the
// builtin_distinct_id golden case) instead of failing.
func TestBuiltinDistinctIDValidates(t *testing.T) {
	cfg := parseConfig(t, `
spans:
  - name: anon
    event: e`)
	require.NoError(t, cfg.Check())
}

func TestEmptyConfigIsValid(t *testing.T) {
	cfg := NewDefaultConfig()
	require.NoError(t, cfg.Check())
	assert.False(t, cfg.HasRules())
}
