package collectortest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports, asked from getconf anyway).
var ClockTicks = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// parseStatCPU returns utime+stime (clock ticks) from the text of
// /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no ')' in %q", stat)
	}
	// After ")": field 3 (state) is index 0, so utime (14) is 11, stime (15) is 12.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the name, want at least 13", len(f))
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat utime: %w", err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat stime: %w", err)
	}
	return ut + st, nil
}

// parseStatusRSS returns VmRSS in KiB from the text of /proc/<pid>/status.
func parseStatusRSS(status string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmRSS:") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, "VmRSS:"))
		if len(f) < 1 {
			break
		}
		kib, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		if len(f) > 1 && f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS: unit %q, want kB", f[1])
		}
		return kib, nil
	}
	return 0, fmt.Errorf("no VmRSS line in /proc status")
}

// parseHostCPU returns busy and total jiffies from the first line of
// /proc/stat ("cpu user nice system idle iowait irq softirq steal ...").
// Idle and iowait count as not busy; guest time is already in user.
func parseHostCPU(stat string) (busy, total uint64, err error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var idle uint64
	for i, s := range f[1:] {
		if i >= 8 { // guest and guest_nice are included in user and nice
			break
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return total - idle, total, nil
}

// CPUTicks is the CPU time (user and system) pid has used, in ClockTicks.
func CPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// CPUTime is the CPU time (user and system) pid has used.
func CPUTime(pid int) (time.Duration, error) {
	ticks, err := CPUTicks(pid)
	return time.Duration(float64(ticks) / ClockTicks * float64(time.Second)), err
}

// RSSKiB is the resident memory of pid in KiB.
func RSSKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusRSS(string(b))
}

// HostCPU returns the busy and total time of all CPUs since boot, in
// ClockTicks.
func HostCPU() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseHostCPU(string(b))
}

// parseIOWrites returns write_bytes and wchar from the text of
// /proc/<pid>/io: the bytes the process caused to be sent to the storage
// layer (a page dirtied again before writeback counts once), and the bytes
// it passed to write system calls (files and sockets alike).
func parseIOWrites(io string) (writeBytes, wchar int64, err error) {
	found := 0
	for _, line := range strings.Split(io, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "write_bytes" && k != "wchar") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc io %s: %w", k, err)
		}
		if k == "wchar" {
			wchar = n
		} else {
			writeBytes = n
		}
		found++
	}
	if found < 2 {
		return 0, 0, fmt.Errorf("no write_bytes and wchar lines in /proc io")
	}
	return writeBytes, wchar, nil
}

// Writes returns the bytes pid caused to be written to storage and the
// bytes it passed to write system calls (see parseIOWrites).
func Writes(pid int) (writeBytes, wchar int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseIOWrites(string(b))
}
