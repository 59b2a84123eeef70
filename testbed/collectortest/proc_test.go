package collectortest

import (
	"os"
	"testing"
)

func TestParseProc(t *testing.T) {
	stat := "4242 (otelcol (x) y) S 1 4242 4242 0 -1 4194560 2279 0 0 0 1234 567 0 0 20 0 12 0 98765 1301452800 11364 18446744073709551615"
	ticks, err := parseStatCPU(stat)
	if err != nil || ticks != 1234+567 {
		t.Errorf("parseStatCPU = %d, %v; want 1801", ticks, err)
	}
	if _, err := parseStatCPU("4242 (short) S 1 2"); err == nil {
		t.Error("parseStatCPU accepted a short line")
	}
	status := "Name:\totelcol-posthog\nVmPeak:\t 1301452 kB\nVmHWM:\t   52000 kB\nVmRSS:\t   45456 kB\nRssAnon:\t   30000 kB\n"
	if kib, err := parseStatusRSS(status); err != nil || kib != 45456 {
		t.Errorf("parseStatusRSS = %d, %v; want 45456", kib, err)
	}
	if _, err := parseStatusRSS("Name:\tx\n"); err == nil {
		t.Error("parseStatusRSS accepted a status without VmRSS")
	}
	busy, total, err := parseHostCPU("cpu  100 5 50 800 40 3 2 0 10 0\ncpu0 1 2 3 4\n")
	if err != nil || total != 1000 || busy != 160 {
		t.Errorf("parseHostCPU = %d/%d, %v; want 160/1000", busy, total, err)
	}
}

func TestParseIOWriteBytes(t *testing.T) {
	wb, wc, err := parseIOWrites("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 20975616\ncancelled_write_bytes: 0\n")
	if err != nil || wb != 20975616 || wc != 2 {
		t.Fatalf("got %d %d, %v", wb, wc, err)
	}
	if _, _, err := parseIOWrites("rchar: 1\n"); err == nil {
		t.Fatal("no write_bytes line should be an error")
	}
}

func TestReadsOwnProcess(t *testing.T) {
	pid := os.Getpid()
	if _, err := CPUTime(pid); err != nil {
		t.Error(err)
	}
	if kib, err := RSSKiB(pid); err != nil || kib <= 0 {
		t.Errorf("RSSKiB = %d, %v", kib, err)
	}
	if busy, total, err := HostCPU(); err != nil || total == 0 || busy > total {
		t.Errorf("HostCPU = %d/%d, %v", busy, total, err)
	}
}
