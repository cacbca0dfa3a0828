package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc (100 on Linux).
const clockTicks = 100

// cpuTime returns the user+system CPU a process used so far; with
// children, that of its waited-for children too (PostgreSQL's backends).
func cpuTime(pid int, children bool) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command, which is in parentheses and may hold spaces.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	get := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	ticks := get(11) + get(12) // utime, stime
	if children {
		ticks += get(13) + get(14) // cutime, cstime
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// childPIDs lists the live children of pid.
func childPIDs(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 1 {
			if pp, _ := strconv.Atoi(f[1]); pp == pid {
				c, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(d, "/proc/"), "/")[0])
				out = append(out, c)
			}
		}
	}
	return out
}

// treeCPU is the CPU of pid and all its children, live or gone.
func treeCPU(pid int) time.Duration {
	t := cpuTime(pid, true)
	for _, c := range childPIDs(pid) {
		t += cpuTime(c, false)
	}
	return t
}

// rss returns a process's resident set size in bytes.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// threadCPU is the CPU time of the calling OS thread (lock it first).
// It reads CLOCK_THREAD_CPUTIME_ID, which counts nanoseconds; getrusage
// counts in scheduler ticks (4 ms here), as long as a whole verification.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// raiseFileLimit lifts the soft limit on open files to the hard limit, for
// 10,000 streams (replicas started afterwards inherit it).
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// loadAverage is the 1-minute load average, to say how quiet the machine was.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
