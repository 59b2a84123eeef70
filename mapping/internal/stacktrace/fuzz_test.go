package stacktrace

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// checkBounded asserts what must hold for any input: bounded frames,
// exceptions and strings, valid UTF-8, no negative numbers, and a list that
// marshals.
func checkBounded(t *testing.T, excType, message, stack string) {
	t.Helper()
	p := Parse(stack)
	if len(p.Exceptions) > MaxExceptions {
		t.Fatalf("%d exceptions", len(p.Exceptions))
	}
	items := BuildExceptionList(excType, message, stack, false)
	if len(items) == 0 || len(items) > MaxExceptions {
		t.Fatalf("%d items", len(items))
	}
	frames := 0
	for _, it := range items {
		if it.Type == "" || len(it.Type) > MaxFieldBytes || !utf8.ValidString(it.Type) {
			t.Fatalf("type %q", it.Type)
		}
		if len(it.Value) > MaxValueBytes || !utf8.ValidString(it.Value) {
			t.Fatalf("value of %d bytes", len(it.Value))
		}
		if it.Stacktrace == nil {
			continue
		}
		if len(it.Stacktrace.Frames) == 0 || len(it.Columns) != len(it.Stacktrace.Frames) {
			t.Fatalf("%d frames, %d columns", len(it.Stacktrace.Frames), len(it.Columns))
		}
		for i, f := range it.Stacktrace.Frames {
			frames++
			if f.Function == "" || len(f.Function) > MaxFieldBytes || len(f.Filename) > MaxFieldBytes ||
				!utf8.ValidString(f.Function) || !utf8.ValidString(f.Filename) {
				t.Fatalf("frame %+v", f)
			}
			if f.LineNo < 0 || it.Columns[i] < 0 {
				t.Fatalf("negative position in %+v", f)
			}
		}
	}
	if frames > MaxFrames {
		t.Fatalf("%d frames", frames)
	}
	if _, err := json.Marshal(items); err != nil {
		t.Fatal(err)
	}
	if fp := Fingerprint(excType, stack); len(fp) != 32 {
		t.Fatalf("fingerprint %q", fp)
	}
}

func FuzzBuildExceptionList(f *testing.F) {
	for _, c := range goldenCases(f) {
		f.Add(c.excType, c.message, c.stack)
	}
	f.Add("", "", "")
	f.Add("E", "m", "\tat (\n\t... 99999999999999999999 more\nCaused by: \n\tSuppressed: ")
	f.Add("", "", "goroutine 1 [running]:\n(\n\t:0\ncreated by \n\t/x:99999999999999999999")
	f.Fuzz(func(t *testing.T, excType, message, stack string) {
		checkBounded(t, excType, message, stack)
	})
}

// TestTruncatedGoldens parses captured stacks cut anywhere a size limit
// may cut them: at each line's end, just after it, and mid-line.
func TestTruncatedGoldens(t *testing.T) {
	for _, c := range goldenCases(t) {
		prev := 0
		for i := 0; i < len(c.stack); i++ {
			if c.stack[i] != '\n' {
				continue
			}
			for _, n := range []int{(prev + i) / 2, i, i + 1} {
				checkBounded(t, c.excType, c.message, c.stack[:n])
			}
			prev = i
		}
	}
}

// BenchmarkBuildExceptionList parses every captured stack once per iteration.
func BenchmarkBuildExceptionList(b *testing.B) {
	cases := goldenCases(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			BuildExceptionList(c.excType, c.message, c.stack, false)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cases)), "ns/stack")
}
