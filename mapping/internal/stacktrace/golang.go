package stacktrace

import (
	"regexp"
	"strings"
)

// A goroutine dump (panic output, runtime.Stack as OpenTelemetry Go's
// RecordError(err, WithStackTrace(true)) stores it, runtime/debug.Stack)
// prints each frame on two lines, innermost first:
//
//	main.(*store).load(0xc000010000, {0x4b2f60, 0x2})
//		/app/store.go:31 +0x1d
//
// and the goroutine's creator as "created by main.main in goroutine 1".
var goFile = regexp.MustCompile(`^\t(.+):(\d+)(?: \+0x[0-9a-fA-F]+)?$`)

func isGoFrame(line string) bool {
	return strings.HasPrefix(line, "\t") && goFile.MatchString(line) ||
		strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(line, "]:")
}

// parseGo reads the first goroutine of a dump: the one that panicked or
// called runtime.Stack. A crash with GOTRACEBACK=all prints more goroutines
// after a blank line; they are other work, not this exception's stack.
func parseGo(lines []string) []Exception {
	var e Exception
	started := false
	fn := ""
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "panic: ") && e.Type == "" && !started:
			e.Type = "panic"
			e.Value = strings.TrimSuffix(strings.TrimPrefix(l, "panic: "), " [recovered]")
		case strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(l, "]:"):
			if started && len(e.Frames) > 0 {
				return goDone(e)
			}
			started = true
		case l == "" && started && len(e.Frames) > 0:
			return goDone(e)
		case strings.HasPrefix(l, "\t"):
			m := goFile.FindStringSubmatch(l)
			if m == nil || fn == "" {
				fn = ""
				continue
			}
			e.Frames = appendFrame(e.Frames, Frame{
				Function: fn,
				Filename: m[1],
				Line:     atoi(m[2]),
				InApp:    goInApp(fn, m[1]),
			})
			fn = ""
		default:
			fn = goFunction(l)
		}
	}
	if len(e.Frames) == 0 && e.Type == "" {
		return nil
	}
	return goDone(e)
}

func goDone(e Exception) []Exception {
	e.Frames = reverse(dropCaptureFrames(e.Frames))
	return []Exception{e}
}

// dropCaptureFrames drops the innermost frames that only record the stack
// (the OpenTelemetry SDK's RecordError and recordStackTrace, debug.Stack),
// as posthog-go skips its own: the frame that failed ends the stack.
func dropCaptureFrames(frames []Frame) []Frame {
	i := 0
	for i < len(frames)-1 && goIsCapture(frames[i].Function) {
		i++
	}
	return frames[i:]
}

func goIsCapture(fn string) bool {
	return fn == "runtime/debug.Stack" || fn == "runtime.Stack" ||
		strings.HasPrefix(fn, "go.opentelemetry.io/otel/sdk/trace.recordStackTrace") ||
		strings.HasPrefix(fn, "go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError") ||
		strings.HasPrefix(fn, "go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).End")
}

// goFunction reads a function line without its argument values, which
// change on every run: "pkg.(*T).M(0xc0001, ...)" is "pkg.(*T).M".
func goFunction(line string) string {
	name := strings.TrimPrefix(line, "created by ")
	if i := strings.Index(name, " in goroutine "); i >= 0 {
		name = name[:i]
	}
	if strings.HasSuffix(name, ")") {
		if i := strings.LastIndexByte(name, '('); i > 0 {
			name = name[:i]
		}
	}
	if name == "" || strings.ContainsAny(name, " \t") {
		return ""
	}
	return name
}

// goInApp tells application code from dependencies (module cache, vendor/)
// and the standard library, whose import path has no dot in its first
// element and whose file sits under GOROOT/src/<import path>/.
func goInApp(fn, file string) bool {
	file = strings.ReplaceAll(file, `\`, "/")
	if strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/") {
		return false
	}
	pkg := goPackage(fn)
	if pkg == "" {
		return !strings.Contains(file, "/src/runtime/") // panic, goexit: the runtime's builtins
	}
	first, _, _ := strings.Cut(pkg, "/")
	return strings.Contains(first, ".") || !strings.Contains(file, "/src/"+pkg+"/")
}

// goPackage is the import path of a function name such as
// "net/http.(*conn).serve" ("net/http"), or "" for a builtin like "panic".
func goPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return fn[:slash+1+dot]
}
