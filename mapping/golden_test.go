package mapping

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// -update rewrites the expected files; read every diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/mapping/*/events.json from the current output")

var testLibrary = Library{Name: "posthog-otel-collector-exporter", Version: "test"}

// goldenOutput is what a case expects: the events as PostHog receives them,
// and the drops by rule and reason.
type goldenOutput struct {
	Events  []json.RawMessage           `json:"events"`
	Dropped map[string]map[string]int64 `json:"dropped,omitempty"`
	Matched map[string]int64            `json:"matched"`
}

// TestGolden maps each case's traces.yaml and logs.yaml with its rules.yaml
// and compares the result with its events.json. A case with error.txt
// instead holds rules that must not validate, and the error they give.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "mapping", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if path := filepath.Join(dir, "error.txt"); fileExists(path) {
				checkErrorCase(t, dir, path)
				return
			}
			got := runCase(t, dir)
			want := filepath.Join(dir, "events.json")
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(want, append(b, '\n'), 0o600))
				return
			}
			wantBytes, err := os.ReadFile(want)
			require.NoError(t, err)
			gotBytes, err := json.Marshal(got)
			require.NoError(t, err)
			assert.JSONEq(t, string(wantBytes), string(gotBytes))
		})
	}
}

func checkErrorCase(t *testing.T, dir, path string) {
	cfg := loadRules(t, filepath.Join(dir, "rules.yaml"))
	err := cfg.Check()
	require.Error(t, err, "rules.yaml must not validate")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(err.Error()+"\n"), 0o600))
		return
	}
	want, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	assert.Equal(t, strings.TrimSpace(string(want)), err.Error())
}

func loadRules(t *testing.T, path string) Config {
	t.Helper()
	conf, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	cfg := NewDefaultConfig()
	require.NoError(t, conf.Unmarshal(&cfg))
	return cfg
}

func runCase(t *testing.T, dir string) goldenOutput {
	cfg := loadRules(t, filepath.Join(dir, "rules.yaml"))
	require.NoError(t, cfg.Check())
	m, err := NewMapper(&cfg, testLibrary, nopTelemetry())
	require.NoError(t, err)

	out := goldenOutput{Matched: map[string]int64{}}
	collect := func(res *Result) {
		for i := range res.Events {
			out.Events = append(out.Events, res.Events[i].AppendJSON(nil))
		}
		for _, s := range res.Stats {
			out.Matched[s.Rule] += s.Matched
			for reason, n := range s.Dropped {
				if out.Dropped == nil {
					out.Dropped = map[string]map[string]int64{}
				}
				if out.Dropped[s.Rule] == nil {
					out.Dropped[s.Rule] = map[string]int64{}
				}
				out.Dropped[s.Rule][string(reason)] += n
			}
		}
	}
	ran := false
	if path := filepath.Join(dir, "traces.yaml"); fileExists(path) {
		td, err := golden.ReadTraces(path)
		require.NoError(t, err)
		res := &Result{}
		err = m.MapTraces(context.Background(), td, res)
		require.NoError(t, err)
		collect(res)
		ran = true
	}
	if path := filepath.Join(dir, "logs.yaml"); fileExists(path) {
		ld, err := golden.ReadLogs(path)
		require.NoError(t, err)
		res := &Result{}
		err = m.MapLogs(context.Background(), ld, res)
		require.NoError(t, err)
		collect(res)
		ran = true
	}
	require.True(t, ran, "case %s has neither traces.yaml nor logs.yaml", dir)
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
