// Command gen writes Go stacks as the OpenTelemetry Go SDK records
// exception.stacktrace: span.RecordError(err, trace.WithStackTrace(true)) and
// span.End(trace.WithStackTrace(true)) after a panic both store
// runtime.Stack(buf[:2048], false). It also writes runtime/debug.Stack()
// output and a crashing program's panic output, which services log.
//
// Usage: go run ./testdata/gen/go OUTDIR (from the package directory)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type orderStore struct{ orders map[string]int }

func (s *orderStore) load(id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil {
		return 0, fmt.Errorf("order %s: %w", id, err)
	}
	return s.orders[id] / n, nil
}

func handle(ctx context.Context, tr trace.Tracer, id string) {
	_, span := tr.Start(ctx, "handle")
	defer span.End()
	if _, err := (&orderStore{}).load(id); err != nil {
		span.RecordError(err, trace.WithStackTrace(true))
	}
}

func crashInSpan(ctx context.Context, tr trace.Tracer) {
	defer func() { _ = recover() }()
	_, span := tr.Start(ctx, "crash")
	defer span.End(trace.WithStackTrace(true))
	var m map[string]int
	m["x"]++
	(&orderStore{}).load("0") //nolint:errcheck // divides by zero
}

func divide(a, b int) int { return a / b }

func main() {
	if os.Getenv("GEN_CRASH") == "main" {
		fmt.Println(divide(1, 0))
	}
	if os.Getenv("GEN_CRASH") == "goroutine" {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); panic(errors.New("worker failed")) }()
		wg.Wait()
	}
	out := os.Args[1]
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(out, "go_"+name+".txt"), []byte(s), 0o644); err != nil {
			panic(err)
		}
	}

	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("gen")
	handle(context.Background(), tr, "x1")
	crashInSpan(context.Background(), tr)
	for _, s := range exp.GetSpans() {
		for _, ev := range s.Events {
			for _, kv := range ev.Attributes {
				if kv.Key == "exception.stacktrace" {
					write("otel_"+s.Name, kv.Value.AsString())
				}
			}
		}
	}
	write("debugstack", string(func() []byte { return debug.Stack() }()))

	for _, mode := range []string{"main", "goroutine"} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "GEN_CRASH="+mode)
		b, _ := cmd.CombinedOutput()
		write("panic_"+mode, string(b))
	}
}
