package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posthogexporter/posthogexporter/testbed/collectortest"
)

// collector is one collector process under test, started for one run with
// the command line that run needs, its output in logPath.
type collector struct {
	*collectortest.Process
	logPath  string
	httpAddr string // its OTLP/HTTP receiver
}

// startCollector starts the collector of spec, delivering to sinkURL, and
// waits until its receiver listens. The process gets SIGKILL if the harness
// dies, and SIGTERM when ctx ends.
func (s settings) startCollector(ctx context.Context, spec runSpec, sinkURL string) (*collector, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var args, env []string
	switch spec.exporter {
	case expPostHog:
		config := filepath.Join(s.configDir, "tl-engine.yaml")
		if !spec.traceContext {
			if config, err = withoutTraceContext(config, s.workDir); err != nil {
				return nil, err
			}
		}
		args = []string{
			"--config", config,
			"--set=receivers::otlp::protocols::grpc::endpoint=" + grpcAddr,
			"--set=receivers::otlp::protocols::http::endpoint=" + httpAddr,
			"--set=service::telemetry::metrics::level=none",
		}
		env = []string{"POSTHOG_API_KEY=" + benchAPIKey, "POSTHOG_HOST=" + sinkURL}
	case expOTLPHTTP:
		args = []string{"--config", filepath.Join(s.configDir, "bench-otlphttp.yaml")}
		env = []string{"BENCH_OTLP_GRPC_ENDPOINT=" + grpcAddr, "BENCH_OTLP_HTTP_ENDPOINT=" + httpAddr, "BENCH_SINK_ENDPOINT=" + sinkURL}
	case expNop:
		args = []string{"--config", filepath.Join(s.configDir, "bench-nop.yaml")}
		env = []string{"BENCH_OTLP_GRPC_ENDPOINT=" + grpcAddr, "BENCH_OTLP_HTTP_ENDPOINT=" + httpAddr}
	}
	if spec.storage {
		dir := filepath.Join(s.workDir, spec.slug()+"-queue")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		args = append(args,
			"--set=extensions::file_storage::directory="+dir,
			"--set=service::extensions=[file_storage]",
			"--set=exporters::posthog::sending_queue::storage=file_storage")
	}
	if spec.gomaxprocs != "" {
		env = append(env, "GOMAXPROCS="+spec.gomaxprocs)
	}
	args = append(args, spec.args...)
	// BENCH_COLLECTOR_ARGS adds arguments to every collector, for experiments
	// ("--set=processors::batch::send_batch_size=2000"); the report names them.
	args = append(args, s.collectorArgs...)

	logPath := filepath.Join(s.workDir, spec.slug()+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p, err := collectortest.Start(ctx, s.bin, args, env, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	go func() {
		<-p.Done()
		f.Close()
	}()
	c := &collector{Process: p, logPath: logPath, httpAddr: httpAddr}
	if err := p.WaitListening(ctx, httpAddr, 30*time.Second); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, c.withLog(err)
	}
	return c, nil
}

// withLog adds where to look to err, and the end of the log if the collector
// has exited.
func (c *collector) withLog(err error) error {
	if !c.Exited() {
		return fmt.Errorf("%w; see %s", err, c.logPath)
	}
	b, _ := os.ReadFile(c.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return fmt.Errorf("%w; see %s:\n%s", err, c.logPath, strings.Join(lines[max(0, len(lines)-15):], "\n"))
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// sample is one reading of the collector's CPU time and memory.
type sample struct {
	t      time.Time
	ticks  int64 // utime+stime
	rssKiB int64
}

func readSample(pid int) (sample, error) {
	ticks, err1 := collectortest.CPUTicks(pid)
	rss, err2 := collectortest.RSSKiB(pid)
	return sample{t: time.Now(), ticks: ticks, rssKiB: rss}, errors.Join(err1, err2)
}

// writeSamples keeps the readings beside the collector's log, for a look at
// how CPU and memory moved during a run.
func writeSamples(path string, samples []sample, t0 time.Time) {
	var b strings.Builder
	b.WriteString("seconds_from_warmup_end,cpu_ticks,rss_kib\n")
	for _, x := range samples {
		fmt.Fprintf(&b, "%.2f,%d,%d\n", x.t.Sub(t0).Seconds(), x.ticks, x.rssKiB)
	}
	_ = os.WriteFile(path, []byte(b.String()), 0o644)
}
