// Command demoapp is the demo "tl-engine" service: it emits a burst of
// realistic telemetry (HTTP requests and errors, engine runs, queueing,
// worker tasks, database queries, cache lookups, a rate-limit and a
// connection-pool log) over OTLP/HTTP with the OpenTelemetry Go SDK, flushes
// and exits. The scenario and its attributes are documented in
// internal/demotelemetry.
//
//	demoapp [-endpoint http://127.0.0.1:4318] [-service tl-engine] [-env demo]
//
// The endpoint defaults to $OTEL_EXPORTER_OTLP_ENDPOINT, then
// http://127.0.0.1:4318.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/posthogexporter/posthogexporter/testbed/demotelemetry"
)

func main() {
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if endpoint == "" {
		endpoint = demotelemetry.DefaultEndpoint
	}
	flag.StringVar(&endpoint, "endpoint", endpoint, "OTLP/HTTP base URL of the collector ($OTEL_EXPORTER_OTLP_ENDPOINT)")
	service := flag.String("service", "tl-engine", "service.name resource attribute")
	env := flag.String("env", "demo", "deployment.environment.name resource attribute")
	timeout := flag.Duration("timeout", 20*time.Second, "give up exporting after this long")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	res, err := demotelemetry.Run(ctx, demotelemetry.Config{
		Endpoint:    endpoint,
		ServiceName: *service,
		Environment: *env,
		Timeout:     *timeout,
	})
	if res != nil {
		fmt.Printf("demoapp: sent %d spans and %d log records to %s in %s\n",
			len(res.Spans), len(res.Logs), endpoint, time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demoapp: %v\n", err)
		stop()
		os.Exit(1) //nolint:gocritic // exitAfterDefer: stop ran on the line above
	}
}
