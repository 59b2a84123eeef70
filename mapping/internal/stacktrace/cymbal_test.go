package stacktrace

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cymbalException mirrors what PostHog's error tracking (rust/cymbal in the
// posthog monorepo: types/exception.rs, types/stacktrace.rs, types/mod.rs
// Mechanism, langs/custom.rs CustomFrame, frames/mod.rs RawFrame tagged by
// "platform") deserialises from $exception_list. Required fields are
// pointers so that a missing one shows; u32 fields are uint32 so that a
// negative number fails to decode, as it would there.
type cymbalException struct {
	Type      *string `json:"type"`
	Value     string  `json:"value"`
	Mechanism *struct {
		Handled   *bool   `json:"handled"`
		Type      *string `json:"type"`
		Synthetic *bool   `json:"synthetic"`
	} `json:"mechanism"`
	Stacktrace *struct {
		Type   *string `json:"type"`
		Frames []struct {
			Platform *string `json:"platform"`
			Lang     *string `json:"lang"`
			Module   *string `json:"module"`
			Function *string `json:"function"`
			Filename *string `json:"filename"`
			LineNo   *uint32 `json:"lineno"`
			ColNo    *uint32 `json:"colno"`
			InApp    *bool   `json:"in_app"`
		} `json:"frames"`
	} `json:"stacktrace"`
}

func TestGoldensDecodeAsPostHogReadsThem(t *testing.T) {
	for _, c := range goldenCases(t) {
		b, err := json.Marshal(BuildExceptionList(c.excType, c.message, c.stack, true))
		require.NoError(t, err)
		var list []cymbalException
		require.NoError(t, json.Unmarshal(b, &list), c.name)
		require.NotEmpty(t, list)
		for _, e := range list {
			require.NotNil(t, e.Type, c.name)
			assert.NotEmpty(t, *e.Type, c.name)
			require.NotNil(t, e.Mechanism, c.name)
			assert.False(t, *e.Mechanism.Handled, c.name)
			assert.NotNil(t, e.Mechanism.Type, c.name)
			if e.Stacktrace == nil {
				continue
			}
			assert.Equal(t, "raw", *e.Stacktrace.Type, c.name)
			for _, f := range e.Stacktrace.Frames {
				require.NotNil(t, f.Platform, c.name)
				require.NotNil(t, f.Function, c.name)
				assert.NotEmpty(t, *f.Function, c.name)
				switch {
				case strings.HasPrefix(c.name, "node_"):
					// RawNodeFrame: filename and function required.
					assert.Equal(t, PlatformNode, *f.Platform, c.name)
					require.NotNil(t, f.Filename, c.name)
				case strings.HasPrefix(c.name, "python_"):
					// RawPythonFrame: filename and function required.
					assert.Equal(t, PlatformPython, *f.Platform, c.name)
					require.NotNil(t, f.Filename, c.name)
				default:
					// CustomFrame: lang required.
					assert.Equal(t, PlatformCustom, *f.Platform, c.name)
					require.NotNil(t, f.Lang, c.name)
					assert.NotEmpty(t, *f.Lang, c.name)
				}
				require.NotNil(t, f.InApp, c.name, "cymbal defaults a missing in_app to true")
			}
		}
	}
}
