package posthogexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// secretKey is shaped like a real project key: phc_ and 43 characters.
const secretKey = "phc_S3cr3tK3yAbCdEfGhIjKlMnOpQrStUvWxYz012345"

// echoServer answers every request with status and a body that quotes the
// decompressed request (which holds the key), cut to cut bytes if cut > 0,
// as a careless server or proxy might.
type echoServer struct {
	status  int
	cut     int
	echoed  atomic.Int32 // answers that held (part of) the key
	answers atomic.Int32
}

func (e *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	if e.cut > 0 && len(body) > e.cut {
		body = body[:e.cut]
	}
	if bytes.Contains(body, []byte(secretKey[:10])) {
		e.echoed.Add(1)
	}
	e.answers.Add(1)
	w.Header().Set("X-Echo-Key", secretKey)
	w.WriteHeader(e.status)
	_, _ = fmt.Fprintf(w, `{"type":"validation_error","detail":"cannot process %s","token":%q}`, body, secretKey)
}

// leaks returns what of the key s holds: the whole key, or any 8 characters
// of its secret part in a row.
func leaks(s string) []string {
	var found []string
	if strings.Contains(s, secretKey) {
		found = append(found, secretKey)
	}
	secret := strings.TrimPrefix(secretKey, "phc_")
	for i := 0; i+8 <= len(secret); i++ {
		if w := secret[i : i+8]; strings.Contains(s, w) {
			found = append(found, w)
		}
	}
	return found
}

// everythingObservable is all the component told the outside: returned
// errors, every log entry with its fields, every metric data point with its
// attributes, and every span (the HTTP client's included) with its attributes
// and events.
func everythingObservable(t *testing.T, h *harness, errs []error) map[string]string {
	t.Helper()
	out := map[string]string{}
	var b strings.Builder
	for _, err := range errs {
		if err != nil {
			fmt.Fprintf(&b, "%v\n%+v\n", err, err)
		}
	}
	out["errors"] = b.String()

	b.Reset()
	for _, e := range h.logged.All() {
		fmt.Fprintf(&b, "%s %s %s %v\n", e.Level, e.LoggerName, e.Message, e.ContextMap())
	}
	out["logs"] = b.String()

	var rm metricdata.ResourceMetrics
	require.NoError(t, h.tel.Reader.Collect(context.Background(), &rm))
	js, err := json.Marshal(rm)
	require.NoError(t, err)
	out["metrics"] = string(js)

	b.Reset()
	for _, s := range h.tel.SpanRecorder.Ended() {
		fmt.Fprintf(&b, "%s %v %s", s.Name(), s.Status(), s.Attributes())
		for _, ev := range s.Events() {
			fmt.Fprintf(&b, " %s %v", ev.Name, ev.Attributes)
		}
		b.WriteByte('\n')
	}
	out["spans"] = b.String()
	return out
}

// TestAPIKeyNeverLeaks drives the component through every failure PostHog
// or the network can give, with servers that echo the key back, and greps
// all it returned, logged, measured and traced for the key.
func TestAPIKeyNeverLeaks(t *testing.T) {
	pki := newTestPKI(t)
	closedAddr := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		return "http://" + addr
	}
	serve := func(t *testing.T, h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}

	cases := []struct {
		name string
		// endpoint returns the endpoint to use, and the echo server if any.
		endpoint func(t *testing.T) (string, *echoServer)
		// standIn, when set, uses the harness's own stand-in with these options.
		standIn []posthogtest.Option
		setup   func(h *harness)
	}{
		{name: "401 from the stand-in", standIn: []posthogtest.Option{posthogtest.WithAPIKey("phc_another_project")}},
		{name: "403 from the stand-in", standIn: []posthogtest.Option{}, setup: func(h *harness) { h.capture.FailFor(time.Minute, 403) }},
		{name: "400 from the stand-in", standIn: []posthogtest.Option{}, setup: func(h *harness) {
			h.capture.RejectEvents(func(posthogtest.Event) bool { return true })
		}},
		{name: "413 from the stand-in", standIn: []posthogtest.Option{posthogtest.WithMaxBodyBytes(100)}},
		{name: "503 from the stand-in", standIn: []posthogtest.Option{}, setup: func(h *harness) { h.capture.FailFor(time.Minute, 503) }},
	}
	for _, status := range []int{400, 401, 403, 404, 413, 429, 500, 503} {
		cases = append(cases, struct {
			name     string
			endpoint func(t *testing.T) (string, *echoServer)
			standIn  []posthogtest.Option
			setup    func(h *harness)
		}{
			name: fmt.Sprintf("%d echoing the key", status),
			endpoint: func(t *testing.T) (string, *echoServer) {
				e := &echoServer{status: status}
				return serve(t, e), e
			},
		})
	}
	cases = append(cases, []struct {
		name     string
		endpoint func(t *testing.T) (string, *echoServer)
		standIn  []posthogtest.Option
		setup    func(h *harness)
	}{
		{name: "400 echoing a body cut inside the key", endpoint: func(t *testing.T) (string, *echoServer) {
			e := &echoServer{status: 400, cut: len(`{"api_key":"`) + 20}
			return serve(t, e), e
		}},
		{name: "503 echoing a body cut inside the key", endpoint: func(t *testing.T) (string, *echoServer) {
			e := &echoServer{status: 503, cut: len(`{"api_key":"`) + 30}
			return serve(t, e), e
		}},
		{name: "connection refused", endpoint: func(t *testing.T) (string, *echoServer) { return closedAddr(t), nil }},
		{name: "TLS: unknown authority", endpoint: func(t *testing.T) (string, *echoServer) {
			_, url := startTLSStandIn(t, pki)
			return url, nil
		}},
		{name: "TLS: plain HTTP server", endpoint: func(t *testing.T) (string, *echoServer) {
			return strings.Replace(serve(t, posthogtest.NewServer()), "http://", "https://", 1), nil
		}},
	}...)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var endpoint string
			var echo *echoServer
			if c.endpoint != nil {
				endpoint, echo = c.endpoint(t)
			}
			h := newHarness(t, func(cfg *Config) {
				cfg.APIKey = secretKey
				if endpoint != "" {
					cfg.ClientConfig.Endpoint = endpoint
				}
				// Retries on, briefly, so exporterhelper logs its retries too.
				cfg.RetryConfig.Enabled = true
				cfg.RetryConfig.InitialInterval = time.Millisecond
				cfg.RetryConfig.MaxInterval = 2 * time.Millisecond
				cfg.RetryConfig.MaxElapsedTime = 20 * time.Millisecond
			}, c.standIn...)
			if c.setup != nil {
				c.setup(h)
			}

			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", "api")
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetEventName("signup")
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0)))
			errs := []error{
				h.traces.ConsumeTraces(context.Background(), serverSpans(4)),
				h.logs.ConsumeLogs(context.Background(), ld),
			}
			if echo != nil {
				require.Positive(t, echo.answers.Load())
				if echo.cut == 0 {
					require.Positive(t, echo.echoed.Load(), "the server echoed the key back")
				}
			}
			assert.True(t, errs[0] != nil || len(h.logged.All()) > 0, "the failure shows somewhere")

			for source, text := range everythingObservable(t, h, errs) {
				assert.Empty(t, leaks(text), "the key leaked into %s:\n%s", source, text)
			}
		})
	}
}

// TestConfigPrintsNoKey: however the configuration is printed or marshalled
// (what `otelcol print-config` and zpages show), the key is [REDACTED], in
// api_key and in headers.
func TestConfigPrintsNoKey(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.APIKey = secretKey
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "X-Api-Key", Value: secretKey}}

	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	marshalled := fmt.Sprint(conf.ToStringMap())
	assert.Contains(t, marshalled, "[REDACTED]")
	assert.Empty(t, leaks(marshalled), "confmap: %s", marshalled)

	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{cfg, *cfg, cfg.APIKey, cfg.ClientConfig} {
			out := fmt.Sprintf(format, v)
			assert.Empty(t, leaks(out), "%s of %T: %s", format, v, out)
		}
		out := fmt.Sprintf(format, *cfg)
		assert.Contains(t, out, "[REDACTED]", "%s", format)
	}
}
