package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/collectortest"
)

// collector is one otelcol-posthog process under test, its output in
// logPath.
type collector struct {
	*collectortest.Process
	logPath string
}

// startCollector starts bin with args and extra environment, its output in
// logPath. The process gets SIGKILL if the harness dies, and SIGTERM when
// ctx ends.
func startCollector(ctx context.Context, bin string, args, env []string, logPath string) (*collector, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p, err := collectortest.Start(ctx, bin, args, env, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	go func() {
		<-p.Done()
		f.Close()
	}()
	return &collector{Process: p, logPath: logPath}, nil
}

// waitReady waits until addr accepts TCP connections; if the collector
// exits first, the error shows the end of its log.
func (c *collector) waitReady(ctx context.Context, addr string, timeout time.Duration) error {
	err := c.WaitListening(ctx, addr, timeout)
	if err != nil && c.Exited() {
		return fmt.Errorf("%w; see %s:\n%s", err, c.logPath, tail(c.logPath, 15))
	}
	if err != nil {
		return fmt.Errorf("%w; see %s", err, c.logPath)
	}
	return nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sample is one reading of the collector's CPU time and memory.
type sample struct {
	t      time.Time
	ticks  int64 // utime+stime
	rssKiB int64
}

// sampler reads the collector's /proc files every interval.
type sampler struct {
	pid     int
	mu      sync.Mutex
	samples []sample
	stopc   chan struct{}
	done    chan struct{}
}

func startSampler(pid int, every time.Duration) *sampler {
	s := &sampler{pid: pid, stopc: make(chan struct{}), done: make(chan struct{})}
	s.read()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
				s.read()
			}
		}
	}()
	return s
}

func (s *sampler) read() {
	ticks, err1 := collectortest.CPUTicks(s.pid)
	rss, err2 := collectortest.RSSKiB(s.pid)
	if err1 != nil || err2 != nil {
		return
	}
	x := sample{t: time.Now(), ticks: ticks, rssKiB: rss}
	s.mu.Lock()
	s.samples = append(s.samples, x)
	s.mu.Unlock()
}

func (s *sampler) stop() []sample {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.samples...)
}
