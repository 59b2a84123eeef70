package e2e

// Helpers of the reliability and soak tests: a collector config with a
// persistent queue and a Prometheus metrics endpoint, OTLP/HTTP traces built
// with pdata (every span has a known identity, so events can be tied back to
// it), a Prometheus text scraper, and process control (SIGKILL, SIGTERM
// without judging the log).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// relSpanName is the span name the reliability rule matches; relNoiseName
// matches no rule.
const (
	relSpanName  = "rel.op"
	relNoiseName = "rel.noise"
	relEventName = "reliability_op"
)

// relConfig describes a collector for the reliability tests. Queue and Retry
// are YAML flow maps for sending_queue and retry_on_failure.
type relConfig struct {
	HTTPPort    int
	MetricsPort int
	PostHog     string
	APIKey      string
	StorageDir  string // "": no file_storage extension
	Queue       string
	Retry       string
	Batch       bool // batch + memory_limiter processors, as in production
	BatchSize   int  // the batch processor's send_batch_(max_)size, default 1000
}

var relTemplate = template.Must(template.New("rel").Parse(`
{{- if .StorageDir}}
extensions:
  file_storage:
    directory: {{.StorageDir}}
{{- end}}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{{.HTTPPort}}
{{- if .Batch}}
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1024
    spike_limit_mib: 256
  batch:
    timeout: 200ms
    send_batch_size: {{or .BatchSize 1000}}
    send_batch_max_size: {{or .BatchSize 1000}}
{{- end}}
exporters:
  posthog:
    api_key: {{.APIKey}}
    endpoint: {{.PostHog}}
    timeout: 10s
{{- if .Queue}}
    sending_queue: {{.Queue}}
{{- end}}
{{- if .Retry}}
    retry_on_failure: {{.Retry}}
{{- end}}
    spans:
      - name: reliability
        event: ` + relEventName + `
        conditions: ['span.name == "` + relSpanName + `"']
        distinct_id: ['resource.attributes["service.name"]']
        attributes: [seq]
service:
{{- if .StorageDir}}
  extensions: [file_storage]
{{- end}}
  pipelines:
    traces:
      receivers: [otlp]
{{- if .Batch}}
      processors: [memory_limiter, batch]
{{- end}}
      exporters: [posthog]
  telemetry:
    logs:
      level: info
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.MetricsPort}}
`))

// relCollector is a collector under test with its config, so that it can be
// started again on the same file_storage directory.
type relCollector struct {
	*collector
	cfg  relConfig
	otlp string
}

// newRelConfig fills ports, a secret API key and the PostHog URL.
func newRelConfig(t *testing.T, posthogURL string) relConfig {
	t.Helper()
	return relConfig{
		HTTPPort:    freePort(t),
		MetricsPort: freePort(t),
		PostHog:     posthogURL,
		APIKey:      secretKey(t),
	}
}

// secretKey returns a project key unlikely to appear by chance in any output.
func secretKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "phc_secret" + hex.EncodeToString(b)
}

// startRel writes cfg and starts a collector with it, and waits until it is
// ready. Should a port be taken meanwhile, it tries again with other ports.
func startRel(t *testing.T, bin string, cfg relConfig) *relCollector {
	t.Helper()
	for attempt := 1; ; attempt++ {
		r, err := launchRel(t, bin, cfg)
		if err == nil {
			return r
		}
		if attempt < 5 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("attempt %d: a port was taken, trying others", attempt)
			cfg.HTTPPort, cfg.MetricsPort = freePort(t), freePort(t)
			continue
		}
		t.Fatal(err)
	}
}

// launchRel is startCollectorWith, returning an error instead of failing,
// and waiting for the collector to log that it is ready (the OTLP port
// accepting connections could be another process's).
func launchRel(t *testing.T, bin string, cfg relConfig) (*relCollector, error) {
	t.Helper()
	var b strings.Builder
	if err := relTemplate.Execute(&b, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	otlp := fmt.Sprintf("127.0.0.1:%d", cfg.HTTPPort)
	c := launch(t, bin, otlp, nil, "--config", path)
	r := &relCollector{collector: c, cfg: cfg, otlp: otlp}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if strings.Contains(c.out.String(), "Everything is ready.") {
			conn, err := net.DialTimeout("tcp", otlp, 200*time.Millisecond)
			if err == nil {
				conn.Close()
				return r, nil
			}
		}
		select {
		case <-c.Done():
			return nil, fmt.Errorf("collector exited before it was ready (%w):\n%s", c.Err(), c.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("collector not ready after 60s:\n%s", c.out.String())
		}
	}
}

// restart starts a new collector with the same config (same storage
// directory, same ports unless taken). The previous one must have exited.
func (r *relCollector) restart(t *testing.T, bin string) *relCollector {
	t.Helper()
	select {
	case <-r.Done():
	default:
		t.Fatal("restart: the previous collector is still running")
	}
	return startRel(t, bin, r.cfg)
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *collector) kill(t *testing.T) {
	t.Helper()
	c.Kill()
}

// terminate sends SIGTERM and waits up to timeout for the exit; it returns
// how long the exit took and the exit error, and does not judge the log.
func (c *collector) terminate(t *testing.T, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-c.Done():
		return time.Since(start), c.Err()
	case <-time.After(timeout):
		t.Fatalf("collector did not exit within %s of SIGTERM", timeout)
		return 0, nil
	}
}

// metricsURL is the collector's Prometheus endpoint.
func (r *relCollector) metricsURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", r.cfg.MetricsPort)
}

// scrape returns the collector's metrics in Prometheus text format.
func (r *relCollector) scrape(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.metricsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping %s: %v", r.metricsURL(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %d %v", r.metricsURL(), resp.StatusCode, err)
	}
	return string(b)
}

// metricSum adds up the samples of metric name whose labels include want.
// found is false when no sample matched.
func metricSum(text, name string, want map[string]string) (sum float64, found bool) { //nolint:unparam // found tells a missing metric from a zero one; today's callers treat both alike
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, labels, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		labels = strings.TrimSuffix(labels, "}")
		match := true
		for k, v := range want {
			if !strings.Contains(","+labels+",", ","+k+`="`+v+`",`) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		// The value may be followed by a timestamp.
		value, _, _ = strings.Cut(value, " ")
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		sum += f
		found = true
	}
	return sum, found
}

// waitMetric polls the collector's metrics until metric{labels} == want.
func (r *relCollector) waitMetric(t *testing.T, name string, labels map[string]string, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got float64
	var text string
	for {
		text = r.scrape(t)
		got, _ = metricSum(text, name, labels)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s%v = %v after %s, want %v; posthog metrics:\n%s", name, labels, got, timeout, want, grepLines(text, "otelcol_exporter"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// grepLines keeps the lines of text that contain sub.
func grepLines(text, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// waitUntil polls cond every 50ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relBase is the start time of every span the tests send; a fixed time makes
// span content, hence event uuids, depend on the span id alone.
var relBase = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// relTraces builds one OTLP request: n spans numbered first..first+n-1 (the
// "seq" attribute and the span id). Every noiseEvery-th span (when > 0) is
// named relNoiseName and matches no rule.
func relTraces(first, n, noiseEvery int) (td ptrace.Traces, matching int) {
	td = ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "reliability")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("e2e/reliability")
	spans := ss.Spans()
	spans.EnsureCapacity(n)
	for i := range n {
		seq := first + i
		s := spans.AppendEmpty()
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		binary.BigEndian.PutUint64(tid[8:], uint64(seq/100)+1)
		tid[0] = 0x7e
		binary.BigEndian.PutUint64(sid[:], uint64(seq)+1)
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetKind(ptrace.SpanKindInternal)
		start := relBase.Add(time.Duration(seq) * time.Millisecond)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(5 * time.Millisecond)))
		s.Attributes().PutInt("seq", int64(seq))
		if noiseEvery > 0 && seq%noiseEvery == noiseEvery-1 {
			s.SetName(relNoiseName)
			continue
		}
		s.SetName(relSpanName)
		matching++
	}
	return td, matching
}

// otlpClient posts OTLP/HTTP protobuf traces.
var otlpClient = &http.Client{Timeout: 30 * time.Second}

// postTraces sends td to the collector's OTLP/HTTP receiver and returns the
// HTTP status (0 with an error when there was no answer).
func postTraces(ctx context.Context, otlp string, td ptrace.Traces) (int, error) {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+otlp+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := otlpClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// mustPost sends spans first..first+n-1 and requires the collector to accept
// them (OTLP 200: the data is in the exporter's queue).
func mustPost(t *testing.T, otlp string, first, n int) {
	t.Helper()
	td, _ := relTraces(first, n, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, err := postTraces(ctx, otlp, td)
	if err != nil || status != http.StatusOK {
		t.Fatalf("OTLP export of spans %d..%d: status %d, %v", first, first+n-1, status, err)
	}
}

// seqRange returns first..first+n-1.
func seqRange(first, n int) []int { //nolint:unparam // every test checks from 0 today; the range reads as the events it names
	s := make([]int, n)
	for i := range s {
		s[i] = first + i
	}
	return s
}

// checkDelivered requires events to be exactly one event per seq in want:
// no loss, no duplicate uuid, no stray event.
func checkDelivered(t *testing.T, events []posthogtest.Event, want []int) {
	t.Helper()
	uuids := map[string]int{}
	seqs := map[int]int{}
	for _, e := range events {
		uuids[e.UUID]++
		if e.Name != relEventName {
			t.Errorf("unexpected event %q", e.Name)
			continue
		}
		f, ok := e.Properties["seq"].(float64)
		if !ok {
			t.Errorf("event %s has no seq: %v", e.UUID, e.Properties["seq"])
			continue
		}
		seqs[int(f)]++
	}
	dups := 0
	for _, c := range uuids {
		dups += c - 1
	}
	missing := 0
	wanted := map[int]bool{}
	for _, s := range want {
		wanted[s] = true
		if seqs[s] == 0 {
			missing++
		}
	}
	stray := 0
	for s := range seqs {
		if !wanted[s] {
			stray++
		}
	}
	if dups != 0 || missing != 0 || stray != 0 || len(events) != len(want) {
		t.Errorf("delivered %d events for %d spans: %d distinct uuids, %d duplicates, %d spans missing, %d stray", len(events), len(want), len(uuids), dups, missing, stray)
	}
}

// countStatus counts the requests the stand-in answered with status.
func countStatus(reqs []posthogtest.Request, status int) int {
	n := 0
	for _, r := range reqs {
		if r.Status == status {
			n++
		}
	}
	return n
}

// assertNoSecret fails when key appears in any of the outputs.
func assertNoSecret(t *testing.T, key string, outputs map[string]string) {
	t.Helper()
	for where, out := range outputs {
		if strings.Contains(out, key) {
			t.Errorf("the api_key appears in %s", where)
		}
		// Part of it would be a leak too (a truncated or quoted form).
		if len(key) > 16 && strings.Contains(out, key[4:20]) {
			t.Errorf("part of the api_key appears in %s", where)
		}
	}
}

// errorLines returns the collector's error-level log lines and panics.
func errorLines(out string) []string {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "\terror\t") || strings.HasPrefix(line, "panic:") {
			lines = append(lines, line)
		}
	}
	return lines
}

// logLine returns the first log line containing all of subs, or "".
func logLine(out string, subs ...string) string {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				all = false
				break
			}
		}
		if all {
			return line
		}
	}
	return ""
}
