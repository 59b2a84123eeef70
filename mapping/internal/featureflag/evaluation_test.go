package featureflag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestRead(t *testing.T) {
	cases := []struct {
		name  string
		attrs map[string]any
		want  Evaluation
		ok    bool
	}{
		{
			name: "current semantic conventions",
			attrs: map[string]any{
				"feature_flag.key": "new-checkout", "feature_flag.result.variant": "test",
				"feature_flag.result.value": true, "feature_flag.provider.name": "posthog",
				"feature_flag.context.id": "user-42", "feature_flag.result.reason": "TARGETING_MATCH", "feature_flag.version": "3",
			},
			// A boolean value wins over the variant: a boolean flag's exposure
			// is a JSON boolean, not a variant's name.
			want: Evaluation{Key: "new-checkout", Response: true, Provider: "posthog", ContextID: "user-42", Reason: "TARGETING_MATCH", Version: "3"},
			ok:   true,
		},
		{
			name:  "a string value: the variant",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.variant": "test", "feature_flag.result.value": "blue"},
			want:  Evaluation{Key: "f", Response: "test"},
			ok:    true,
		},
		{
			name:  "older variant and provider attributes",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.variant": "control", "feature_flag.provider_name": "flagd"},
			want:  Evaluation{Key: "f", Response: "control", Provider: "flagd"},
			ok:    true,
		},
		{
			name:  "the current variant wins over the older one",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.variant": "new", "feature_flag.variant": "old"},
			want:  Evaluation{Key: "f", Response: "new"},
			ok:    true,
		},
		{
			name:  "boolean value without a variant stays a boolean",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.value": false},
			want:  Evaluation{Key: "f", Response: false},
			ok:    true,
		},
		{
			name:  "an empty variant falls back to the value",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.variant": "", "feature_flag.result.value": true},
			want:  Evaluation{Key: "f", Response: true},
			ok:    true,
		},
		{
			name:  "string value",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.value": "blue"},
			want:  Evaluation{Key: "f", Response: "blue"},
			ok:    true,
		},
		{
			name:  "numbers become text",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.value": 3, "feature_flag.context.id": 42},
			want:  Evaluation{Key: "f", Response: "3", ContextID: "42"},
			ok:    true,
		},
		{
			name:  "objects become JSON",
			attrs: map[string]any{"feature_flag.key": "f", "feature_flag.result.value": map[string]any{"color": "blue"}},
			want:  Evaluation{Key: "f", Response: `{"color":"blue"}`},
			ok:    true,
		},
		{
			name:  "no result recorded",
			attrs: map[string]any{"feature_flag.key": "f"},
			want:  Evaluation{Key: "f"},
			ok:    true,
		},
		{
			name:  "no key",
			attrs: map[string]any{"feature_flag.result.variant": "test", "feature_flag.context.id": "u"},
			ok:    false,
		},
		{
			name:  "empty key",
			attrs: map[string]any{"feature_flag.key": ""},
			ok:    false,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := pcommon.NewMap()
			require.NoError(t, m.FromRaw(c.attrs))
			got, ok := Read(m)
			assert.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestReadEmptyValue(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr(AttrKey, "f")
	m.PutEmpty(AttrValue)
	m.PutEmpty(AttrContextID)
	got, ok := Read(m)
	assert.True(t, ok)
	assert.Equal(t, Evaluation{Key: "f"}, got)
}

func TestFeatureProperty(t *testing.T) {
	assert.Equal(t, "$feature/new-checkout", FeatureProperty("new-checkout"))
}
