package stacktrace

import (
	"regexp"
	"strings"
)

// pythonFrame reads `  File "/app/x.py", line 12, in handler` as
// traceback.format_exception prints it (OpenTelemetry Python's
// Span.record_exception stores that output).
var pythonFrame = regexp.MustCompile(`^[\s|]*File "(.*)", line (\d+)(?:, in (.*))?$`)

// pythonStdlib matches the standard library's directory (/usr/lib/python3.12/,
// a pyenv's lib/python3.11/, Windows' Lib\).
var pythonStdlib = regexp.MustCompile(`(?i)[\\/]lib[\\/]python\d+(?:\.\d+)?[\\/]|[\\/]python\d*[\\/]lib[\\/]`)

func isPythonFrame(line string) bool {
	return strings.Contains(line, `File "`) && pythonFrame.MatchString(line)
}

// maxGroupDepth bounds nested exception groups (Python prints 10 levels).
const maxGroupDepth = 10

func parsePython(lines []string) []Exception {
	return parsePythonGroups(lines, 0)
}

// parsePythonGroups reads a traceback that may hold an exception group
// (Python 3.11+): the group's own traceback in a "| " margin after
// "+ Exception Group Traceback", then each sub-exception's traceback one
// margin deeper between "+---- n ----" rules. As posthog-python does, the
// group comes first, then each sub-exception with its causes.
func parsePythonGroups(lines []string, depth int) []Exception {
	for i, l := range lines {
		if depth < maxGroupDepth && strings.HasPrefix(strings.TrimLeft(l, " "), "+ Exception Group Traceback") {
			causes := parsePythonChain(lines[:i]) // printed before the group that they caused
			return append(parsePythonGroup(lines[i:], depth), causes...)
		}
	}
	return parsePythonChain(lines)
}

func parsePythonGroup(lines []string, depth int) []Exception {
	col := strings.IndexByte(lines[0], '+')
	head := []string{"Traceback (most recent call last):"}
	i := 1
	for ; i < len(lines); i++ {
		rest, ok := pythonMargin(lines[i], col)
		if !ok {
			break
		}
		head = append(head, rest)
	}
	excs := parsePythonChain(head)
	var sub []string
	flush := func() {
		if len(sub) > 0 {
			excs = append(excs, parsePythonGroups(sub, depth+1)...)
		}
		sub = nil
	}
	for ; i < len(lines); i++ {
		if rest, ok := pythonMargin(lines[i], col+2); ok {
			sub = append(sub, rest)
			continue
		}
		if !strings.HasPrefix(strings.TrimLeft(lines[i], " "), "+-") {
			break
		}
		flush() // a rule between sub-exceptions
	}
	flush()
	return excs
}

// pythonMargin strips an exception group's margin: col spaces, then "|".
func pythonMargin(line string, col int) (string, bool) {
	if col < 0 || len(line) <= col || line[col] != '|' || strings.TrimLeft(line[:col], " ") != "" {
		return "", false
	}
	return strings.TrimPrefix(line[col+1:], " "), true
}

// parsePythonChain reads a traceback. A chained exception prints its cause
// first, then a separator sentence, then its own traceback: each block is
// one exception, and the last printed is the one thrown.
func parsePythonChain(lines []string) []Exception {
	var excs []Exception
	cur := Exception{}
	inHeader := false // reading the "Type: message" lines after the frames
	separated := true // at the start or after a chain's separator sentence
	var value []string
	flush := func() {
		if inHeader {
			cur.Value = strings.TrimRight(strings.Join(value, "\n"), "\n ")
		}
		if cur.Type != "" || len(cur.Frames) > 0 {
			if n := len(cur.Frames); n > MaxFrames {
				cur.Frames = cur.Frames[n-MaxFrames:] // oldest call first: keep the innermost
			}
			if len(excs) == MaxExceptions {
				// Printed root cause first: keep it and the latest printed.
				excs = append(excs[:1], excs[2:]...)
			}
			excs = append(excs, cur)
		}
		cur, inHeader, value = Exception{}, false, nil
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "Traceback (most recent call last):"),
			strings.HasPrefix(l, "The above exception was the direct cause"),
			strings.HasPrefix(l, "During handling of the above exception"):
			if inHeader || len(cur.Frames) > 0 {
				flush()
			}
			separated = !strings.HasPrefix(l, "Traceback")
		case inHeader:
			value = append(value, l)
		case isPythonFrame(l):
			m := pythonFrame.FindStringSubmatch(l)
			cur.Frames = append(cur.Frames, Frame{
				Function: orUnknown(m[3]),
				Filename: m[1],
				Line:     atoi(m[2]),
				InApp:    pythonInApp(m[1]),
			})
		case l != "" && l[0] != ' ' && l[0] != '\t' && (len(cur.Frames) > 0 || separated):
			// The first unindented line after the frames names the exception.
			typ, v := splitHeader(l)
			cur.Type, value, inHeader = typ, []string{v}, true
		}
	}
	flush()
	// Printed cause first; PostHog wants the thrown exception first.
	for i, j := 0, len(excs)-1; i < j; i, j = i+1, j-1 {
		excs[i], excs[j] = excs[j], excs[i]
	}
	return excs
}

func pythonInApp(path string) bool {
	if strings.Contains(path, "site-packages") || strings.Contains(path, "dist-packages") ||
		strings.HasPrefix(path, "<frozen ") {
		return false
	}
	return !pythonStdlib.MatchString(path)
}

// orUnknown names a function the stack did not name as PostHog's SDKs do.
func orUnknown(fn string) string {
	if fn == "" {
		return "?"
	}
	return fn
}
