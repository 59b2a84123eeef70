package stacktrace

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name  string
		stack string
		want  Lang
	}{
		{"empty", "", Unknown},
		{"message only", "Error: order 12 not found", Unknown},
		{"prose", "something went wrong\nat the moment (sorry)\n", Unknown},
		{"python without header", `  File "/app/x.py", line 3, in f` + "\n    g()\n", Python},
		{"v8 bare location", "Error: x\n    at /app/index.js:3:9\n    at node:internal/main:1:2", JavaScript},
		{"gecko", "boom@https://shop.example/app.js:10:5\n@https://shop.example/app.js:20:1", JavaScript},
		{"java uncaught", "Exception in thread \"main\" java.lang.Error: x\n\tat a.B.c(B.java:3)\n\tat a.B.main(B.java:9)", Java},
		{"kotlin", "java.lang.Error: x\n\tat a.BKt.c(B.kt:3)\n\tat a.BKt.main(B.kt:9)", Java},
		{"dotnet without files", "System.Exception: x\n   at A.B.C()\n   at A.B.Main(String[] args)", DotNet},
		{"go without header", "main.f(...)\n\t/app/main.go:3\nmain.main()\n\t/app/main.go:9 +0x1d", Go},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Detect(c.stack))
		})
	}
}

// TestCrashSiteLast pins PostHog's order in every runtime: the frame that
// threw is the last one, the entry point the first.
func TestCrashSiteLast(t *testing.T) {
	cases := map[string]string{
		"python":     "Traceback (most recent call last):\n  File \"/app/m.py\", line 9, in main\n    f()\n  File \"/app/m.py\", line 3, in f\n    raise E()\nE: boom",
		"javascript": "Error: boom\n    at f (/app/m.js:3:9)\n    at main (/app/m.js:9:1)",
		"go":         "goroutine 1 [running]:\nmain.f()\n\t/app/m.go:3 +0x1\nmain.main()\n\t/app/m.go:9 +0x2",
		"java":       "E: boom\n\tat app.M.f(M.java:3)\n\tat app.M.main(M.java:9)",
		"dotnet":     "E: boom\n   at App.M.F() in /app/M.cs:line 3\n   at App.M.Main() in /app/M.cs:line 9",
	}
	for lang, stack := range cases {
		t.Run(lang, func(t *testing.T) {
			p := Parse(stack)
			require.Equal(t, Lang(lang), p.Lang)
			require.Len(t, p.Exceptions, 1)
			fr := p.Exceptions[0].Frames
			require.Len(t, fr, 2)
			assert.Equal(t, 9, fr[0].Line, "entry point first")
			assert.Equal(t, 3, fr[1].Line, "crash site last")
			assert.Contains(t, strings.ToLower(fr[1].Function), "f")
		})
	}
}

func TestInApp(t *testing.T) {
	cases := []struct {
		stack string
		want  []bool // wire order
	}{
		{"Traceback (most recent call last):\n" +
			"  File \"/app/main.py\", line 1, in main\n" +
			"  File \"/usr/lib/python3.12/json/decoder.py\", line 2, in decode\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/flask/app.py\", line 3, in run\n" +
			"  File \"/usr/lib/python3/dist-packages/yaml/x.py\", line 4, in load\n" +
			"  File \"<frozen importlib._bootstrap>\", line 5, in _load\n" +
			"  File \"/srv/lib/handlers.py\", line 6, in handle\nE: x", []bool{true, false, false, false, false, true}},
		{"E: x\n" +
			"    at a (/app/src/a.js:1:1)\n" +
			"    at b (/app/node_modules/express/lib/router.js:2:2)\n" +
			"    at c (node:internal/process/task_queues:3:3)\n" +
			"    at Array.map (<anonymous>)\n" +
			"    at d (webpack://shop/./src/d.ts:4:4)\n" +
			"    at e (C:\\app\\e.js:5:5)", []bool{true, true, false, false, false, true}},
		{"goroutine 1 [running]:\n" +
			"main.a()\n\t/app/main.go:1\n" +
			"net/http.(*conn).serve(0xc000)\n\t/usr/local/go/src/net/http/server.go:2 +0x1\n" +
			"github.com/gin-gonic/gin.(*Context).Next(...)\n\t/go/pkg/mod/github.com/gin-gonic/gin@v1.9.1/context.go:3\n" +
			"example.com/shop/vendor/x.F()\n\t/app/vendor/x/x.go:4\n" +
			"example/app/orders.Load()\n\t/app/orders/load.go:5\n" +
			"created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:6 +0x2",
			[]bool{false, true, false, false, false, true}},
		{"E: x\n" +
			"\tat com.shop.A.a(A.java:1)\n" +
			"\tat org.springframework.web.B.b(B.java:2)\n" +
			"\tat java.base/java.lang.Thread.run(Thread.java:3)\n" +
			"\tat app//com.shop.C.c(C.java:4)", []bool{true, false, false, true}},
		{"E: x\n" +
			"   at Shop.A.Run() in /src/A.cs:line 1\n" +
			"   at System.Threading.Tasks.Task.Execute()\n" +
			"   at Microsoft.AspNetCore.Routing.B.Invoke(HttpContext ctx)", []bool{false, false, true}},
	}
	for _, c := range cases {
		p := Parse(c.stack)
		require.Len(t, p.Exceptions, 1, c.stack)
		var got []bool
		for _, f := range p.Exceptions[0].Frames {
			got = append(got, f.InApp)
		}
		assert.Equal(t, c.want, got, "%s:\n%s", p.Lang, c.stack)
	}
}

func TestJavaCausesShareAbbreviatedFrames(t *testing.T) {
	stack := "app.Outer: a\n\tat app.M.wrap(M.java:5)\n\tat app.M.main(M.java:9)\n" +
		"Caused by: app.Inner: b\n\tat app.M.load(M.java:2)\n\tat app.M.wrap(M.java:4)\n\t... 1 more\n" +
		"\tSuppressed: app.Other: c\n\t\tat app.M.close(M.java:7)\n\t\t... 2 more\n"
	p := Parse(stack)
	require.Len(t, p.Exceptions, 2)
	assert.Equal(t, "app.Outer", p.Exceptions[0].Type)
	inner := p.Exceptions[1]
	assert.Equal(t, "app.Inner", inner.Type)
	assert.Equal(t, "b", inner.Value)
	var fns []string
	for _, f := range inner.Frames {
		fns = append(fns, fmt.Sprintf("%s:%d", f.Function, f.Line))
	}
	// "... 1 more" is the outer trace's last frame; the suppressed block is not a cause.
	assert.Equal(t, []string{"app.M.main:9", "app.M.wrap:4", "app.M.load:2"}, fns)
}

func TestGoReadsOnlyTheFirstGoroutine(t *testing.T) {
	stack := "panic: boom [recovered]\n\ngoroutine 7 [running]:\nmain.f()\n\t/app/m.go:3 +0x1\n\n" +
		"goroutine 1 [chan receive]:\nmain.main()\n\t/app/m.go:20 +0x2\n"
	p := Parse(stack)
	require.Len(t, p.Exceptions, 1)
	e := p.Exceptions[0]
	assert.Equal(t, "panic", e.Type)
	assert.Equal(t, "boom", e.Value)
	require.Len(t, e.Frames, 1)
	assert.Equal(t, "main.f", e.Frames[0].Function)
}

// TestOTelGoStackCutAt2048 parses the stack as OpenTelemetry Go stores it:
// runtime.Stack into a 2048-byte buffer, cut mid-line when deeper.
func TestOTelGoStackCutAt2048(t *testing.T) {
	var b strings.Builder
	b.WriteString("goroutine 1 [running]:\n")
	for i := 0; b.Len() < 4000; i++ {
		fmt.Fprintf(&b, "example.com/app/deep.level%d(0xc000012345, {0x4b2f60, 0x2})\n\t/app/deep/deep.go:%d +0x%x\n", i, i+1, i)
	}
	stack := b.String()[:2048]
	p := Parse(stack)
	require.Equal(t, Go, p.Lang)
	fr := p.Exceptions[0].Frames
	require.NotEmpty(t, fr)
	assert.Equal(t, "example.com/app/deep.level0", fr[len(fr)-1].Function, "the innermost frame survives the cut")
	for _, f := range fr {
		assert.NotZero(t, f.Line, "a frame cut before its line number is dropped: %+v", f)
	}
}

func TestBounds(t *testing.T) {
	t.Run("frames keep the innermost", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("java.lang.StackOverflowError\n")
		for i := range 5000 {
			fmt.Fprintf(&b, "\tat app.M.f%d(M.java:%d)\n", i, i+1)
		}
		e := Parse(b.String()).Exceptions
		require.Len(t, e, 1)
		require.Len(t, e[0].Frames, MaxFrames)
		assert.Equal(t, "app.M.f0", e[0].Frames[MaxFrames-1].Function)
		assert.Equal(t, fmt.Sprintf("app.M.f%d", MaxFrames-1), e[0].Frames[0].Function)
	})
	t.Run("chains keep the outermost and the root cause", func(t *testing.T) {
		var b strings.Builder
		for i := range 30 {
			if i > 0 {
				b.WriteString("Caused by: ")
			}
			fmt.Fprintf(&b, "app.E%d: level %d\n", i, i)
			for j := range 50 {
				fmt.Fprintf(&b, "\tat app.M.e%dframe%d(M.java:%d)\n", i, j, j+1)
			}
		}
		e := Parse(b.String()).Exceptions
		require.Len(t, e, MaxExceptions)
		assert.Equal(t, "app.E0", e[0].Type)
		assert.Equal(t, "app.E29", e[MaxExceptions-1].Type)
		total := 0
		for _, x := range e {
			total += len(x.Frames)
			assert.Len(t, x.Frames, MaxFrames/MaxExceptions)
		}
		assert.LessOrEqual(t, total, MaxFrames)
	})
	t.Run("strings", func(t *testing.T) {
		long := strings.Repeat("é", MaxLineBytes) // 2 bytes a rune
		stack := "E: x\n\tat app." + strings.Repeat("ab", 490) + "(M.java:1)\n\tat app.M." + long + "(M.java:2)"
		items := BuildExceptionList(strings.Repeat("T", 5000), strings.Repeat("é", MaxValueBytes), stack, true)
		require.Len(t, items, 1)
		assert.Len(t, items[0].Type, MaxFieldBytes)
		assert.LessOrEqual(t, len(items[0].Value), MaxValueBytes)
		assert.True(t, utf8.ValidString(items[0].Value))
		fr := items[0].Stacktrace.Frames
		require.Len(t, fr, 1, "the overlong line is skipped")
		assert.Equal(t, "app."+strings.Repeat("ab", 490), fr[0].Function)
	})
	t.Run("clip", func(t *testing.T) {
		assert.Equal(t, "éé", clip("ééé", 5), "never half a rune")
		assert.Equal(t, "a\uFFFDb", clip("a\xffb", 10))
		assert.Equal(t, "a\uFFFD", clip("a\xff\xffb", 4), "replacement characters count too")
	})
}

func TestFrameBudget(t *testing.T) {
	mk := func(ns ...int) []Exception {
		var e []Exception
		for _, n := range ns {
			e = append(e, Exception{Frames: make([]Frame, n)})
		}
		return e
	}
	assert.Equal(t, []int{10, 20}, frameBudget(mk(10, 20)))
	assert.Equal(t, []int{10, 95, 95}, frameBudget(mk(10, 300, 300)))
	assert.Equal(t, []int{190, 10}, frameBudget(mk(500, 10)))
	assert.Equal(t, []int{}, frameBudget(nil))
}

func TestBuildExceptionList(t *testing.T) {
	t.Run("escaped is unhandled", func(t *testing.T) {
		for _, escaped := range []bool{false, true} {
			it := BuildExceptionList("E", "m", "", escaped)
			require.Len(t, it, 1)
			assert.Equal(t, !escaped, *it[0].Mechanism.Handled)
			assert.False(t, *it[0].Mechanism.Synthetic)
			assert.Equal(t, MechanismGeneric, it[0].MechanismType)
		}
	})
	t.Run("OpenTelemetry's type and message win over the stack's", func(t *testing.T) {
		it := BuildExceptionList("KeyError", "'sku'", "Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\nKeyError: 'other'", false)
		assert.Equal(t, "KeyError", it[0].Type)
		assert.Equal(t, "'sku'", it[0].Value)
	})
	t.Run("the stack's header fills what OpenTelemetry left out", func(t *testing.T) {
		it := BuildExceptionList("", "", "TypeError: x is undefined\n    at f (/a.js:1:2)", false)
		assert.Equal(t, "TypeError", it[0].Type)
		assert.Equal(t, "x is undefined", it[0].Value)
		it = BuildExceptionList("", "only a message", "", false)
		assert.Equal(t, "Error", it[0].Type, "PostHog needs a type")
	})
	t.Run("unparseable stack keeps type and value and has no stacktrace", func(t *testing.T) {
		it := BuildExceptionList("Oops", "order 12", "nothing here looks like a frame", true)
		require.Len(t, it, 1)
		assert.Nil(t, it[0].Stacktrace)
		v, err := json.Marshal(it[0])
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"Oops","value":"order 12","mechanism":{"handled":false,"synthetic":false,"type":"generic"}}`, string(v))
	})
	t.Run("wire shape of a frame", func(t *testing.T) {
		it := BuildExceptionList("E", "m", "E: m\n    at f (/app/a.js:3:9)\n    at g (native)", false)
		v, err := json.Marshal(it)
		require.NoError(t, err)
		assert.JSONEq(t, `[{"type":"E","value":"m",
			"mechanism":{"handled":true,"synthetic":false,"type":"generic"},
			"stacktrace":{"type":"raw","frames":[
				{"platform":"node:javascript","function":"g","filename":"native","in_app":false,"synthetic":false,"pre_context":[],"post_context":[]},
				{"platform":"node:javascript","function":"f","filename":"a.js","module":"a","lineno":3,"colno":9,"in_app":true,"synthetic":false,"pre_context":[],"post_context":[]}]}}]`, string(v))
	})
	t.Run("a browser's stack stays custom", func(t *testing.T) {
		it := BuildExceptionList("E", "m", "E: m\n    at f (https://app.example.com/main.js:3:9)", false)
		v, err := json.Marshal(it)
		require.NoError(t, err)
		assert.Contains(t, string(v), `"platform":"custom"`)
	})
}

// The same stack thrown from two install directories gives the same
// frames: grouping hashes the filename, so an install directory in it
// would make one bug two issues on two hosts.
func TestInstallDirectoryIsNotInTheFrames(t *testing.T) {
	for _, c := range goldenCases(t) {
		if !strings.HasPrefix(c.name, "node_") && !strings.HasPrefix(c.name, "python_") {
			continue
		}
		elsewhere := strings.ReplaceAll(c.stack, "/work/wt-e/", "/srv/deploy/release-42/")
		elsewhere = strings.ReplaceAll(elsewhere, "/root/.pyenv/versions/3.11.7/", "/usr/local/")
		elsewhere = strings.ReplaceAll(elsewhere, "/usr/lib/node_modules/npm/", "/opt/app/")
		require.NotEqual(t, c.stack, elsewhere, c.name)
		a, err := json.Marshal(BuildExceptionList(c.excType, c.message, c.stack, false))
		require.NoError(t, err)
		b, err := json.Marshal(BuildExceptionList(c.excType, c.message, elsewhere, false))
		require.NoError(t, err)
		assert.JSONEq(t, string(a), string(b), c.name)
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("OrderError", "OrderError: order 8812 not found\nsome unparsed location line")
	b := Fingerprint("OrderError", "OrderError: order 9921 not found\nsome unparsed location line")
	assert.Equal(t, a, b, "ids in the message do not split issues")
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, Fingerprint("OtherError", "OtherError: order 8812 not found\nsome unparsed location line"))
	assert.NotEqual(t, a, Fingerprint("OrderError", "OrderError: order 8812 not found\nanother location"))
	assert.Equal(t, Fingerprint("E", "E: 1"), Fingerprint("E", "E: 2"), "no frame line: the type alone")
	assert.Equal(t,
		Fingerprint("panic", "panic: x\n\ngoroutine 5 [running]:\nmain.f(0xc000012345)"),
		Fingerprint("panic", "panic: y\n\ngoroutine 9 [running]:\nmain.f(0xc000099999)"),
		"goroutine numbers and argument addresses do not split issues")
}

func TestJavaScriptFrameForms(t *testing.T) {
	stack := "Error: x\n" +
		"    at async Promise.all (index 0)\n" +
		"    at async handle (file:///app/src/h.mjs:4:5)\n" +
		"    at new Order (/app/src/order.js:3:9)\n" +
		"    at C:\\app\\w.js:7:1\n" +
		"render@https://shop.example/app.js:10:5"
	p := Parse(stack)
	require.Equal(t, JavaScript, p.Lang)
	var got []string
	for _, f := range p.Exceptions[0].Frames {
		got = append(got, fmt.Sprintf("%s|%s|%d|%d|%v", f.Function, f.Filename, f.Line, f.Column, f.InApp))
	}
	assert.Equal(t, []string{
		"render|https://shop.example/app.js|10|5|true",
		"?|C:\\app\\w.js|7|1|true",
		"new Order|/app/src/order.js|3|9|true",
		"handle|/app/src/h.mjs|4|5|true",
		"Promise.all|index 0|0|0|false",
	}, got)
}

func TestPythonExceptionGroupWithoutTracebacks(t *testing.T) {
	stack := "  + Exception Group Traceback (most recent call last):\n" +
		"  |   File \"/app/m.py\", line 3, in main\n" +
		"  | ExceptionGroup: two (2 sub-exceptions)\n" +
		"  +-+---------------- 1 ----------------\n" +
		"    | ValueError: a\n" +
		"    +---------------- 2 ----------------\n" +
		"    | TypeError: b\n" +
		"    +------------------------------------\n"
	p := Parse(stack)
	require.Equal(t, Python, p.Lang)
	var types []string
	for _, e := range p.Exceptions {
		types = append(types, e.Type+": "+e.Value)
	}
	assert.Equal(t, []string{"ExceptionGroup: two (2 sub-exceptions)", "ValueError: a", "TypeError: b"}, types)
}
