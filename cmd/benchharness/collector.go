package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// collector is one otelcol-posthog process under test.
type collector struct {
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	done    chan struct{}
	waitErr error
}

// startCollector starts bin with args and extra environment, its output in
// logPath. The process gets SIGKILL if the harness dies (Pdeathsig), and
// SIGTERM when ctx ends.
func startCollector(ctx context.Context, bin string, args, env []string, logPath string) (*collector, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	c := &collector{cmd: cmd, log: f, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *collector) pid() int { return c.cmd.Process.Pid }

func (c *collector) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// waitReady waits until addr accepts TCP connections.
func (c *collector) waitReady(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c.exited() {
			return fmt.Errorf("the collector exited during start-up (%w); see %s:\n%s", c.waitErr, c.logPath, tail(c.logPath, 15))
		}
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the collector did not listen on %s within %s; see %s", addr, timeout, c.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM (a graceful shutdown flushes the exporter's queue) and
// SIGKILL after timeout. It returns an error if the process had to be killed
// or exited with an error.
func (c *collector) stop(timeout time.Duration) error {
	if c.exited() {
		return c.exitErr()
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.exitErr()
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("the collector did not stop within %s of SIGTERM and was killed", timeout)
	}
}

func (c *collector) exitErr() error {
	var ee *exec.ExitError
	if errors.As(c.waitErr, &ee) && ee.Exited() && ee.ExitCode() == 0 {
		return nil
	}
	return c.waitErr
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

func (s *sampler) read() (sample, bool) {
	ticks, err1 := procCPUTicks(s.pid)
	rss, err2 := procRSSKiB(s.pid)
	if err1 != nil || err2 != nil {
		return sample{}, false
	}
	x := sample{t: time.Now(), ticks: ticks, rssKiB: rss}
	s.mu.Lock()
	s.samples = append(s.samples, x)
	s.mu.Unlock()
	return x, true
}

func (s *sampler) stop() []sample {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.samples...)
}
