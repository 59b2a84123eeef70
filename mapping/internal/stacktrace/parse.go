// Package stacktrace turns an OpenTelemetry exception.stacktrace string into
// the frames PostHog's error tracking groups issues by.
//
// PostHog does not parse raw stack strings server-side: an SDK sends
// $exception_list with parsed frames. Services instrumented with
// OpenTelemetry only send the string their runtime printed, so the exporter
// parses it here: Python tracebacks, V8 (Node) stacks, Go goroutine dumps
// (panic output, runtime.Stack, runtime/debug.Stack), Java printStackTrace
// output and .NET Exception.ToString output. The package is pure and never
// panics; every output is bounded (see the Max constants).
package stacktrace

import (
	"strings"
	"unicode/utf8"
)

// Limits that keep one $exception event well under PostHog's ~1 MB event
// cap whatever the input (200 frames of two 1 KiB strings plus 8 values of
// 8 KiB stay near 0.5 MB), and the parse of the worst input short.
const (
	// MaxInputBytes is how much of a stack string is read; the rest is
	// ignored. Deep Java stacks (1024 frames, the JVM's default cap) fit.
	MaxInputBytes = 256 << 10
	// MaxLineBytes skips longer lines, as posthog-js's stack parser does:
	// frames are shorter, and long lines cost the regular expressions most.
	MaxLineBytes = 1024
	// MaxFrames bounds the frames of a whole exception list. When a stack has
	// more, each exception keeps its innermost frames (the crash site and its
	// nearest callers), shared fairly between the exceptions of a chain.
	MaxFrames = 200
	// MaxExceptions bounds a chain (Java "Caused by:", Python __cause__,
	// .NET inner exceptions): the outermost ones and the root cause are kept.
	MaxExceptions = 8
	// MaxFieldBytes bounds a frame's function and filename, and a type.
	MaxFieldBytes = 1024
	// MaxValueBytes bounds an exception's message.
	MaxValueBytes = 8192
)

// Lang names the runtime that printed a stack.
type Lang string

// The runtimes this package parses. The values are what frames carry as
// "lang" in PostHog.
const (
	Unknown    Lang = ""
	Python     Lang = "python"
	JavaScript Lang = "javascript"
	Go         Lang = "go"
	Java       Lang = "java"
	DotNet     Lang = "dotnet"
)

// Frame is one parsed stack frame.
type Frame struct {
	Function string
	Filename string
	Line     int // 0 when unknown
	Column   int // 0 when unknown
	InApp    bool
}

// Exception is one exception of a parsed stack: the thrown one or one of its
// causes. Frames are in PostHog's wire order: outermost call first, the
// frame that threw last.
type Exception struct {
	// Type and Value are what the stack printed for this exception, when it
	// printed them (empty otherwise).
	Type   string
	Value  string
	Frames []Frame
}

// Stack is a parsed stack string.
type Stack struct {
	Lang Lang
	// Exceptions lists the thrown exception first and its causes after it,
	// each after the exception it caused, the root cause last: the order
	// posthog-python sends $exception_list in. Empty when nothing parsed.
	Exceptions []Exception
}

// Parse reads stack, detecting the runtime that printed it. It never fails:
// what it cannot read is left out.
func Parse(stack string) Stack {
	lines := splitLines(stack)
	lang := detect(lines)
	var excs []Exception
	switch lang {
	case Python:
		excs = parsePython(lines)
	case JavaScript:
		excs = parseJavaScript(lines)
	case Go:
		excs = parseGo(lines)
	case Java:
		excs = parseJava(lines)
	case DotNet:
		excs = parseDotNet(lines)
	}
	return Stack{Lang: lang, Exceptions: bound(excs)}
}

// Detect names the runtime that printed stack, or Unknown.
func Detect(stack string) Lang {
	return detect(splitLines(stack))
}

// detect counts the lines each runtime's frame grammar reads and picks the
// runtime that reads most: a single grammar can match a stray line of
// another runtime's output, but not most of them.
func detect(lines []string) Lang {
	lines = lines[:min(len(lines), detectLines)]
	langs := [...]Lang{Python, Go, Java, JavaScript, DotNet}
	matchers := [...]func(string) bool{isPythonFrame, isGoFrame, isJavaFrame, isJavaScriptFrame, isDotNetFrame}
	var counts [len(langs)]int
	for _, l := range lines {
		for i, m := range matchers {
			if m(l) {
				counts[i]++
			}
		}
	}
	best := Unknown
	most := 0
	for i, c := range counts {
		if c > most {
			best, most = langs[i], c
		}
	}
	return best
}

// detectLines is how many lines detect reads: enough for every header and
// a good number of frames.
const detectLines = 100

// splitLines cuts the bounded input into lines, dropping \r and overlong lines
// (replaced by empty ones, so that line structure is kept).
func splitLines(s string) []string {
	if len(s) > MaxInputBytes {
		s = s[:MaxInputBytes]
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > MaxLineBytes {
			l = ""
		}
		lines[i] = l
	}
	return lines
}

// bound applies MaxExceptions, MaxFrames and the string limits.
func bound(excs []Exception) []Exception {
	if len(excs) > MaxExceptions {
		// Keep the outermost ones and the root cause, usually the real fault.
		excs = append(excs[:MaxExceptions-1:MaxExceptions-1], excs[len(excs)-1])
	}
	budget := frameBudget(excs)
	for i := range excs {
		e := &excs[i]
		e.Type = clip(strings.TrimSpace(e.Type), MaxFieldBytes)
		e.Value = clip(e.Value, MaxValueBytes)
		if n := budget[i]; len(e.Frames) > n {
			e.Frames = e.Frames[len(e.Frames)-n:] // innermost frames are last
		}
		for j := range e.Frames {
			f := &e.Frames[j]
			f.Function = orUnknown(clip(strings.TrimSpace(f.Function), MaxFieldBytes))
			f.Filename = clip(f.Filename, MaxFieldBytes)
			f.Line = max(f.Line, 0)
			f.Column = max(f.Column, 0)
		}
	}
	return excs
}

// frameBudget shares MaxFrames between the exceptions: short stacks keep all
// their frames, long ones share the rest equally.
func frameBudget(excs []Exception) []int {
	budget := make([]int, len(excs))
	done := make([]bool, len(excs))
	remaining := MaxFrames
	for left := len(excs); left > 0; left-- {
		// The shortest stack not yet served takes its share first.
		k := -1
		for i := range excs {
			if !done[i] && (k < 0 || len(excs[i].Frames) < len(excs[k].Frames)) {
				k = i
			}
		}
		budget[k] = min(len(excs[k].Frames), remaining/left)
		remaining -= budget[k]
		done[k] = true
	}
	return budget
}

// clip makes s valid UTF-8 and cuts it to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(cut(s, n), "\uFFFD") // may grow: cut again
	return cut(s, n)
}

// cut shortens s to at most n bytes without splitting a rune.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// appendFrame appends f unless frames holds MaxFrames already: parsers of
// innermost-first stacks keep the innermost frames this way, and no input
// makes them hold more than a bounded number.
func appendFrame(frames []Frame, f Frame) []Frame {
	if len(frames) >= MaxFrames {
		return frames
	}
	return append(frames, f)
}

// reverse puts frames read innermost-first into wire order.
func reverse(frames []Frame) []Frame {
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return frames
}

// atoi reads a non-negative decimal, saturating instead of overflowing.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		if n > (1<<31-1)/10 {
			return 1<<31 - 1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// splitHeader reads "Type: message" as runtimes print an exception's first line.
func splitHeader(line string) (typ, value string) {
	typ, value, ok := strings.Cut(line, ": ")
	if !ok {
		return strings.TrimSuffix(strings.TrimSpace(line), ":"), ""
	}
	return strings.TrimSpace(typ), value
}
