package stacktrace

import (
	"regexp"
	"strings"
)

// .NET's Exception.ToString (OpenTelemetry .NET stores it as
// exception.stacktrace) prints "Type: message ---> Inner: message", then
// the innermost exception's frames "   at Ns.Type.Method(Int32 id) in
// /src/File.cs:line 42", then "   --- End of inner exception stack trace ---"
// and the frames of each enclosing exception in turn. Async methods add
// "--- End of stack trace from previous location ---" inside one trace.
var dotnetFrame = regexp.MustCompile(`^\s*at (\S.*?\))(?: in (.+):line (\d+))?\s*$`)

// dotnetFrameworks are namespaces of the runtime and common libraries.
var dotnetFrameworks = []string{
	"System.", "Microsoft.", "Windows.", "Newtonsoft.", "Grpc.", "Polly.", "Serilog.", "NLog.",
	"OpenTelemetry.", "Npgsql.", "Dapper.", "Google.Protobuf.", "Azure.",
	"lambda_method", // expression trees the runtime compiles (ASP.NET Core's action invokers)
}

func isDotNetFrame(line string) bool {
	m := dotnetFrame.FindStringSubmatch(line)
	if m == nil {
		return strings.Contains(line, "--- End of inner exception stack trace ---")
	}
	// Java's "at a.B.c(B.java:3)" has a file, not parameters, in its parentheses.
	return m[2] != "" || !isJavaFrame(line) && !strings.Contains(m[1], " (")
}

// parseDotNet reads the chain on the first line and assigns each block of
// frames to its exception: the first block belongs to the innermost one.
func parseDotNet(lines []string) []Exception {
	var header []string
	var blocks [][]Frame
	block := []Frame(nil)
	started := false
	for _, l := range lines {
		switch {
		case strings.Contains(l, "--- End of inner exception stack trace ---"):
			blocks = append(blocks, block)
			block = nil
		case strings.Contains(l, "--- End of stack trace from previous location"):
		case isDotNetFrame(l):
			started = true
			block = appendFrame(block, dotnetParseFrame(l))
		case !started && len(blocks) == 0:
			header = append(header, l)
		}
	}
	blocks = append(blocks, block)
	parts := strings.Split(strings.Join(header, "\n"), " ---> ")
	// Keep the outermost exceptions and the root cause (as bound does),
	// remembering where each kept one sits in the chain.
	n := len(parts)
	slot := make(map[int]int)
	var excs []Exception
	for i, p := range parts {
		if i < MaxExceptions-1 || i == n-1 {
			slot[i] = len(excs)
			typ, value := splitHeader(p)
			excs = append(excs, Exception{Type: typ, Value: value})
		}
	}
	// Blocks come innermost exception first; the header names the outermost first.
	for k, b := range blocks {
		if s, ok := slot[n-1-k]; ok {
			excs[s].Frames = reverse(b)
		}
	}
	if len(excs) == 1 && excs[0].Type == "" && len(excs[0].Frames) == 0 {
		return nil
	}
	return excs
}

func dotnetParseFrame(line string) Frame {
	m := dotnetFrame.FindStringSubmatch(line)
	if m == nil {
		return Frame{Function: "?"}
	}
	fn := m[1]
	if i := strings.IndexByte(fn, '('); i > 0 {
		fn = fn[:i] // parameter types: the method's name is enough to group by
	}
	return Frame{Function: fn, Filename: m[2], Line: atoi(m[3]), InApp: dotnetInApp(fn)}
}

func dotnetInApp(fn string) bool {
	for _, p := range dotnetFrameworks {
		if strings.HasPrefix(fn, p) {
			return false
		}
	}
	return true
}
