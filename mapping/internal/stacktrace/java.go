package stacktrace

import (
	"regexp"
	"strings"
)

// Throwable.printStackTrace (which OpenTelemetry Java stores as
// exception.stacktrace) prints "Type: message", frames innermost first as
// "\tat [loader/][module@version/]pkg.Class.method(File.java:12)", then each
// cause as "Caused by: Type: message" whose last frames, shared with the
// exception it caused, are abbreviated "\t... 8 more". Suppressed exceptions
// are indented one level deeper. Logback and Log4j may append " ~[app.jar:1.0]".
var javaFrame = regexp.MustCompile(`^\s*at ([^\s()]+)\(([^()]*)\)(?:\s.*)?$`)

// javaFrameworks are namespaces of the JVM and of common frameworks: not the
// application's code.
var javaFrameworks = []string{
	"java.", "javax.", "jdk.", "sun.", "com.sun.", "jakarta.", "kotlin.", "kotlinx.", "scala.",
	"groovy.", "org.springframework.", "org.apache.", "org.hibernate.", "org.eclipse.jetty.",
	"io.netty.", "io.micrometer.", "io.opentelemetry.", "reactor.", "io.reactivex.", "com.fasterxml.",
}

func isJavaFrame(line string) bool {
	m := javaFrame.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	loc := m[2]
	return loc == "Native Method" || loc == "Unknown Source" || strings.Contains(loc, ".java") ||
		strings.Contains(loc, ".kt") || strings.Contains(loc, ".scala") || strings.Contains(loc, ".groovy") ||
		strings.HasPrefix(loc, "Unknown Source:")
}

// parseJava reads the thrown exception and its causes, in the order printed:
// the thrown exception first, the root cause last.
func parseJava(lines []string) []Exception {
	var excs []Exception
	var prev []Frame // frames of the exception printed before the current one
	skipIndent := -1 // > -1 while skipping a "Suppressed:" block
	start := func(header string) {
		typ, value := splitHeader(header)
		e := Exception{Type: typ, Value: value}
		if len(excs) > 0 {
			prev = excs[len(excs)-1].Frames
		}
		if len(excs) == MaxExceptions {
			// Keep the outermost ones and the latest cause: the root cause in the end.
			excs[len(excs)-1] = e
			return
		}
		excs = append(excs, e)
	}
	for _, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " \t"))
		trimmed := strings.TrimSpace(l)
		if skipIndent >= 0 {
			if indent > skipIndent || trimmed == "" {
				continue
			}
			skipIndent = -1
		}
		switch {
		case trimmed == "":
		case strings.HasPrefix(trimmed, "Suppressed: "):
			skipIndent = indent
		case strings.HasPrefix(trimmed, "Caused by: "):
			start(strings.TrimPrefix(trimmed, "Caused by: "))
		case isJavaFrame(l):
			if len(excs) == 0 {
				start("")
			}
			e := &excs[len(excs)-1]
			e.Frames = appendFrame(e.Frames, javaParseFrame(l))
		case strings.HasPrefix(trimmed, "... ") && strings.HasSuffix(trimmed, " more"):
			// The rest of this cause's frames are the last n of the
			// exception printed before it.
			if len(excs) >= 2 {
				e := &excs[len(excs)-1]
				n := atoi(strings.TrimSuffix(strings.TrimPrefix(trimmed, "... "), " more"))
				n = min(n, len(prev), MaxFrames-len(e.Frames))
				e.Frames = append(e.Frames, prev[len(prev)-n:]...)
			}
		case len(excs) == 0:
			start(javaDropThread(trimmed))
		default:
			// A multi-line message continues the header above its frames.
			if e := &excs[len(excs)-1]; len(e.Frames) == 0 && len(e.Value) < MaxValueBytes {
				e.Value += "\n" + l
			}
		}
	}
	for i := range excs {
		excs[i].Frames = reverse(excs[i].Frames)
	}
	return excs
}

func javaParseFrame(line string) Frame {
	m := javaFrame.FindStringSubmatch(line)
	fn := m[1]
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:] // drop "java.base/" and "app//" class loader and module names
	}
	f := Frame{Function: fn, InApp: javaInApp(fn)}
	file, line, _ := strings.Cut(m[2], ":")
	if file != "Native Method" && file != "Unknown Source" {
		f.Filename = file
	}
	f.Line = atoi(line)
	return f
}

// javaDropThread drops the prefix of an uncaught exception's header:
// `Exception in thread "main" java.lang.IllegalStateException: boom`.
func javaDropThread(header string) string {
	rest, ok := strings.CutPrefix(header, `Exception in thread "`)
	if !ok {
		return header
	}
	if i := strings.Index(rest, `" `); i >= 0 {
		return rest[i+2:]
	}
	return header
}

func javaInApp(fn string) bool {
	for _, p := range javaFrameworks {
		if strings.HasPrefix(fn, p) {
			return false
		}
	}
	return true
}
