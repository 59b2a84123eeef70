// Command posthog-rules explains and tests the rules of the posthog exporter
// offline, with the exporter's own mapping code:
//
//	posthog-rules explain --config otelcol.yaml [--exporter posthog/name] [--format text|json]
//	                      [--only-matched] [--rule NAME]... <input>...
//	posthog-rules explain --config otelcol.yaml --listen 127.0.0.1:4318 [--grpc-listen 127.0.0.1:4317]
//	posthog-rules test [--config otelcol.yaml] [--exporter posthog/name] [--update] <dir>...
//	posthog-rules --version
//
// See docs/rules.md, "Writing and testing rules".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/posthogexporter/posthogexporter"
)

const usage = `posthog-rules: explain and test the rules of the posthog exporter

  posthog-rules explain --config <collector config or rules file> [flags] <input>...
      For every span and log record of the inputs (OTLP/JSON, one document or
      one per line; YAML of the same shape; OTLP protobuf; "-" for stdin),
      every rule: the events it would send, the drop and its reason, or the
      condition term that was false.
  posthog-rules explain --config <file> --listen 127.0.0.1:4318 [--grpc-listen 127.0.0.1:4317]
      The same, live, for OTLP sent to these addresses (HTTP, gRPC).
  posthog-rules test [--config <file>] [--update] <dir>...
      Fixture tests: each case directory holds traces.yaml|json and/or
      logs.yaml|json, the expected events.json, and rules.yaml or config.yaml
      unless --config is given. Prints a diff per failing case; --update
      writes events.json.

  posthog-rules --version
      The version of the exporter whose rules it runs.

Run "posthog-rules <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errFailed reports failure after the command has said why.
var errFailed = errors.New("failed")

// run runs one command and returns the process's exit code: 0, 1 when
// tests fail, 2 on a usage or config error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "explain":
		err = runExplain(ctx, args[1:], stdout, stderr, nil)
	case "test":
		err = runTest(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "-version", "--version", "version":
		// The exporter's own version: the rules run with its mapping code.
		fmt.Fprintf(stdout, "posthog-rules %s (%s)\n", posthogexporter.Version, posthogexporter.LibraryName)
		return 0
	default:
		fmt.Fprintf(stderr, "posthog-rules: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFailed):
		return 1
	}
	fmt.Fprintf(stderr, "posthog-rules %s: %v\n", args[0], err)
	return 2
}

// parseInterspersed parses flags wherever they stand among the arguments,
// so that `explain in.json --format json` works as users expect.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// stringList is a flag that may be given several times, or with commas.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}
