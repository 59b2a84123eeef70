package stacktrace

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/stacktrace/*.json from the parser's output")

// goldenCase is one stack captured from a real runtime by testdata/gen: the
// stack as OpenTelemetry's SDK for that runtime records exception.stacktrace,
// and, in <name>.type, the exception.type (first line) and exception.message.
type goldenCase struct {
	name, stack, excType, message string
}

func goldenCases(t testing.TB) []goldenCase {
	files, err := filepath.Glob(filepath.Join("testdata", "stacktrace", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden stacks: %v", err)
	}
	var cases []goldenCase
	for _, f := range files {
		stack, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := goldenCase{name: strings.TrimSuffix(filepath.Base(f), ".txt"), stack: string(stack)}
		if typ, err := os.ReadFile(strings.TrimSuffix(f, ".txt") + ".type"); err == nil {
			c.excType, c.message, _ = strings.Cut(string(typ), "\n")
		}
		cases = append(cases, c)
	}
	return cases
}

// TestGolden compares each captured stack's $exception_list with the JSON
// checked by eye in testdata/stacktrace/<name>.json.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.MarshalIndent(map[string]any{
				"lang":           Detect(c.stack),
				"exception_list": WireList(BuildExceptionList(c.excType, c.message, c.stack, false)),
			}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "stacktrace", c.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update, then check the file by eye)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parser's output:\n%s", path, got)
			}
		})
	}
}
