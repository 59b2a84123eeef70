package stacktrace

import (
	"regexp"
	"strings"
)

// V8 prints "    at fn (file:line:col)", "    at file:line:col",
// "    at async fn (file:line:col)", "    at new Klass (...)" and eval frames
// "    at fn (eval at outer (file:line:col), <anonymous>:1:2)"; OpenTelemetry
// JS's Span.recordException stores error.stack. Firefox and Safari print
// "fn@url:line:col", which browser instrumentation may send.
var (
	v8Frame    = regexp.MustCompile(`^\s*at (?:(.+?) \((.*)\)|(.+))$`)
	geckoFrame = regexp.MustCompile(`^\s*([^@\s]*)@(.+:\d+:\d+)$`)
	// jsLocation splits "file:line:col" (line and column optional).
	jsLocation = regexp.MustCompile(`^(.*?)(?::(\d+))?(?::(\d+))?$`)
	// jsEval reads the caller location out of V8's eval frames.
	jsEval = regexp.MustCompile(`^eval at [^(]*\((.*?)\)`)
	// jsScheme matches a URL scheme such as https:// or webpack://.
	jsScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9.+-]*://`)
)

func isJavaScriptFrame(line string) bool {
	if m := v8Frame.FindStringSubmatch(line); m != nil {
		// Java's "at X(Y.java:12)" and .NET's "at X() in f:line 3" have no
		// space before the parenthesis and no ":line:col".
		loc := m[2] + m[3]
		return jsLineCol(loc) || m[2] == "<anonymous>" || m[2] == "native" ||
			strings.HasPrefix(m[2], "eval at ") || strings.HasPrefix(m[2], "index ")
	}
	return geckoFrame.MatchString(line)
}

// jsLineCol reports whether loc ends in ":line:col", as V8 locations do.
func jsLineCol(loc string) bool {
	m := jsLocation.FindStringSubmatch(loc)
	return m != nil && m[3] != ""
}

// parseJavaScript reads error.stack: a "Type: message" header (possibly over
// several lines), then frames innermost first. It has no causes.
func parseJavaScript(lines []string) []Exception {
	var e Exception
	var header []string
	for _, l := range lines {
		f, ok := jsFrame(l)
		if !ok {
			if len(e.Frames) == 0 {
				header = append(header, l)
			}
			continue
		}
		e.Frames = appendFrame(e.Frames, f)
	}
	e.Type, e.Value = splitHeader(strings.Join(header, "\n"))
	if len(e.Frames) == 0 && e.Type == "" {
		return nil
	}
	e.Frames = reverse(e.Frames)
	return []Exception{e}
}

func jsFrame(line string) (Frame, bool) {
	var fn, loc string
	if m := v8Frame.FindStringSubmatch(line); m != nil {
		if !isJavaScriptFrame(line) {
			return Frame{}, false
		}
		fn, loc = m[1], m[2]
		if m[3] != "" {
			loc = m[3]
		}
		fn = strings.TrimPrefix(fn, "async ")
		if e := jsEval.FindStringSubmatch(loc); e != nil {
			loc = e[1] // the eval'd code has no file: point at its caller
		}
	} else if m := geckoFrame.FindStringSubmatch(line); m != nil {
		fn, loc = m[1], m[2]
	} else {
		return Frame{}, false
	}
	m := jsLocation.FindStringSubmatch(loc)
	file := strings.TrimPrefix(m[1], "file://")
	return Frame{
		Function: orUnknown(fn),
		Filename: file,
		Line:     atoi(m[2]),
		Column:   atoi(m[3]),
		InApp:    jsInApp(file),
	}, true
}

// jsInApp follows posthog-node's rule: application code is an absolute path,
// a relative ./ path or a URL, outside node_modules; node:internal modules,
// "native" and "<anonymous>" are the runtime's.
func jsInApp(file string) bool {
	if file == "" || strings.Contains(file, "node_modules/") || strings.Contains(file, `node_modules\`) {
		return false
	}
	return strings.HasPrefix(file, "/") || strings.HasPrefix(file, ".") ||
		len(file) > 2 && file[1] == ':' && (file[2] == '\\' || file[2] == '/') ||
		jsScheme.MatchString(file)
}
