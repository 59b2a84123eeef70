package configkeys

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
)

type inner struct {
	Level int `mapstructure:"level"`
}

type squashed struct {
	Endpoint string `mapstructure:"endpoint"`
	Inner    inner  `mapstructure:"inner"`
}

type rule struct {
	Name  string            `mapstructure:"name"`
	Props map[string]string `mapstructure:"properties"`
}

type config struct {
	squashed `mapstructure:",squash"`
	Block    configoptional.Optional[inner] `mapstructure:"block"`
	Ptr      *inner                         `mapstructure:"ptr"`
	Rules    []rule                         `mapstructure:"rules"`
	ByName   map[string]inner               `mapstructure:"by_name"`
	Storage  *component.ID                  `mapstructure:"storage"`
	Untagged int
	Skipped  int `mapstructure:"-"`
	hidden   int //nolint:unused // an unexported field takes no key
}

type open struct {
	Name string         `mapstructure:"name"`
	Rest map[string]any `mapstructure:",remain"`
}

func TestCheck(t *testing.T) {
	good := map[string]any{
		"endpoint": "x",
		"inner":    map[string]any{"level": 1},
		"block":    map[string]any{"enabled": true, "level": 2},
		"ptr":      map[string]any{"level": 3},
		"rules":    []any{map[string]any{"name": "a", "properties": map[string]any{"any key": "v"}}},
		"by_name":  map[string]any{"free key": map[string]any{"level": 4}},
		"storage":  "file_storage",
		"Untagged": 1,
	}
	require.NoError(t, Check(good, reflect.TypeFor[config]()))

	bad := map[string]any{
		"endpont": "x",
		"inner":   map[string]any{"levl": 1},
		"block":   map[string]any{"enabled": true, "lvel": 2},
		"ptr":     map[string]any{"level": 3, "zzz": 1},
		"rules":   []any{map[string]any{"name": "a"}, map[string]any{"nme": "b"}},
		"by_name": map[string]any{"k": map[string]any{"leve": 4}},
		"Skipped": 1,
		"hidden":  1,
	}
	err := Check(bad, reflect.TypeFor[config]())
	require.Error(t, err)
	for _, want := range []string{
		`endpont: unknown key; did you mean "endpoint"?`,
		`inner.levl: unknown key; did you mean "level"?`,
		`block.lvel: unknown key; did you mean "level"?`,
		`ptr.zzz: unknown key; valid keys here are level`,
		`rules[1].nme: unknown key; did you mean "name"?`,
		`by_name.k.leve: unknown key; did you mean "level"?`,
		`Skipped: unknown key`,
		`hidden: unknown key`,
	} {
		require.ErrorContains(t, err, want)
	}

	assert.NoError(t, Check(map[string]any{"name": "n", "anything": 1}, reflect.TypeFor[open]()))
}

func TestNearest(t *testing.T) {
	valid := []string{"conditions", "defaults", "distinct_id", "properties"}
	assert.Equal(t, "conditions", nearest("condition", valid))
	assert.Equal(t, "properties", nearest("propertes", valid))
	assert.Equal(t, "defaults", nearest("default", valid))
	assert.Empty(t, nearest("bogus", valid))
	assert.Equal(t, "tls", nearest("tsl", []string{"tls", "timeout"}))
	assert.Equal(t, 3, distance("kitten", "sitting"))
	assert.Equal(t, 1, distance("retry_on_failrue", "retry_on_failure"))
}
