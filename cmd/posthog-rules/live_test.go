package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/posthogexporter/posthogexporter/testbed/demotelemetry"
)

// syncBuffer is a bytes.Buffer for one writer and one reader at a time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLive runs explain in live mode and returns its addresses, its output,
// and a function that stops it and returns its error.
func startLive(t *testing.T, args ...string) (httpAddr, grpcAddr string, out *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	var stderr syncBuffer
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runExplain(ctx, args, out, &stderr, func(h, g string) { ready <- [2]string{h, g} })
	}()
	select {
	case addrs := <-ready:
		httpAddr, grpcAddr = addrs[0], addrs[1]
	case err := <-done:
		cancel()
		t.Fatalf("live mode did not start: %v (%s)", err, stderr.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("live mode did not start in 10s")
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return httpAddr, grpcAddr, out, stop
}

// TestLiveHTTPWithSDK points the demo service (the OTel Go SDK's OTLP/HTTP
// exporters for traces and logs, and the slog bridge) at live mode with the
// tl-engine rules: every catalogue event shows, as many times as the
// scenario produces it.
func TestLiveHTTPWithSDK(t *testing.T) {
	config := filepath.Join("..", "..", "testdata", "config", "tl-engine.yaml")
	httpAddr, grpcAddr, out, stop := startLive(t, "--config", config, "--listen", "127.0.0.1:0", "--format", "json", "--only-matched")
	assert.Empty(t, grpcAddr)

	_, err := demotelemetry.Run(context.Background(), demotelemetry.Config{Endpoint: "http://" + httpAddr, Timeout: 10 * time.Second})
	require.NoError(t, err)
	require.NoError(t, stop())

	events := map[string]int{}
	for _, r := range decodeReports(t, out.String()) {
		for _, rule := range r["rules"].([]any) {
			for _, ev := range rule.(map[string]any)["events"].([]any) {
				events[ev.(map[string]any)["event"].(string)]++
			}
		}
	}
	x := demotelemetry.Expected
	assert.Equal(t, map[string]int{
		"api_request":                        x.ServerSpans,
		"api_error":                          x.ServerErrors,
		"engine_executed":                    x.EngineRuns - x.EngineFailures,
		"engine_failed":                      x.EngineFailures,
		"engine_queued":                      x.EnginePublishes,
		"worker_task_started":                x.Tasks,
		"worker_task_completed":              x.Tasks - x.TaskFailures,
		"worker_task_failed":                 x.TaskFailures,
		"cache_hit":                          x.CacheHits,
		"cache_miss":                         x.CacheMisses,
		"database_query_slow":                x.SlowDBSpans,
		"rate_limit_exceeded":                x.RateLimitLogs,
		"database_connection_pool_exhausted": x.PoolExhaustedLogs,
		// Explained record by record: each copy of an exception shows (with
		// one uuid), and every evaluation (the exporter sends one per exposure).
		"$exception":           x.ExceptionEvents + x.ErrorLogs,
		"$feature_flag_called": x.FlagEvaluations,
	}, events)
}

// TestLiveGRPCWithSDK sends a span through the SDK's OTLP/gRPC exporter.
func TestLiveGRPCWithSDK(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules.yaml", explainRules)
	httpAddr, grpcAddr, out, stop := startLive(t, "--config", rules, "--grpc-listen", "127.0.0.1:0")
	assert.Empty(t, httpAddr)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, span := tp.Tracer("test").Start(ctx, "checkout", trace.WithSpanKind(trace.SpanKindServer))
	span.SetAttributes(attributeUser("u9"))
	span.End()
	require.NoError(t, tp.Shutdown(ctx))
	require.NoError(t, stop())

	assert.Regexp(t, `span checkout \[[0-9a-f]{8}\]\s+checkout\s+match\s+\{"uuid":"[^"]+","event":"checkout","distinct_id":"u9"`, out.String())
}

func attributeUser(id string) attribute.KeyValue { return attribute.String("user", id) }

// TestLiveHTTPRequests: gzip JSON is read; what is not OTLP gets the HTTP
// error a client can act on, and live mode goes on.
func TestLiveHTTPRequests(t *testing.T) {
	rules := writeFile(t, t.TempDir(), "rules.yaml", explainRules)
	httpAddr, _, out, stop := startLive(t, "--config", rules, "--listen", "127.0.0.1:0", "--only-matched")
	url := "http://" + httpAddr

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(explainSpans))
	require.NoError(t, zw.Close())
	req, err := http.NewRequest(http.MethodPost, url+"/v1/traces", &gz)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	for _, tc := range []struct {
		method, path, ctype, body string
		want                      int
	}{
		{http.MethodGet, "/v1/traces", "", "", http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/traces", "text/plain", "x", http.StatusUnsupportedMediaType},
		{http.MethodPost, "/v1/logs", "application/json", "{not json", http.StatusBadRequest},
		{http.MethodPost, "/v1/logs", "application/x-protobuf", "\xff\xff", http.StatusBadRequest},
	} {
		req, err := http.NewRequest(tc.method, url+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", tc.ctype)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s %s %s", tc.method, tc.path, tc.ctype)
	}
	require.NoError(t, stop())
	assert.Equal(t, 2, strings.Count(out.String(), "\n"), out.String())
	assert.Contains(t, out.String(), "checkout")
}
