package envref

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConfigFiles(t *testing.T) {
	got := configFiles([]string{
		"--config", "a.yaml", "--config=file:b.yaml", "-config=c.yaml",
		"--config=yaml:exporters::posthog::api_key: x", "--config", "env:CFG",
		"--config=C:/d.yaml", "--set=x=y",
	})
	assert.Equal(t, []string{"a.yaml", "b.yaml", "c.yaml", "C:/d.yaml"}, got)
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	write(t, file, `
exporters:
  posthog/eu:
    api_key: ${env:PH_KEY}
    endpoint: "${PH_HOST}"
  posthog/fallback:
    endpoint: ${env:PH_HOST2:-https://eu.i.posthog.com}
  otlphttp:
    api_key: ${env:OTHER}
`)
	env := map[string]string{"PH_EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	u, ok := find([]string{file}, "posthog", "api_key", lookup)
	assert.True(t, ok)
	assert.Equal(t, "the environment variable PH_KEY is not set", u.Describe())

	u, ok = find([]string{file}, "posthog", "endpoint", lookup)
	assert.True(t, ok, "a quoted reference is one too; one with a default never is empty")
	assert.Equal(t, "PH_HOST", u.Name)

	env["PH_KEY"] = ""
	u, _ = find([]string{file}, "posthog", "api_key", lookup)
	assert.Equal(t, "the environment variable PH_KEY is empty", u.Describe())

	env["PH_KEY"] = "phc_x"
	_, ok = find([]string{file}, "posthog", "api_key", lookup)
	assert.False(t, ok, "a variable with a value is not the cause")

	_, ok = find([]string{filepath.Join(dir, "missing.yaml")}, "posthog", "api_key", lookup)
	assert.False(t, ok)
}

func TestFindNeedsOneAnswer(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	write(t, file, "exporters:\n  posthog/a:\n    api_key: ${env:A}\n  posthog/b:\n    api_key: ${env:B}\n")
	_, ok := find([]string{file}, "posthog", "api_key", func(string) (string, bool) { return "", false })
	assert.False(t, ok, "two exporters, two variables: which one failed is not known")
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
