package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// cpuMark is a point in the process's CPU use (getrusage: user and system
// time of every thread) and in wall time.
type cpuMark struct {
	user, sys time.Duration
	wall      time.Time
}

func markCPU() cpuMark {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return cpuMark{
		user: time.Duration(ru.Utime.Nano()),
		sys:  time.Duration(ru.Stime.Nano()),
		wall: time.Now(),
	}
}

// CPU is the generator's own CPU use between two marks. Cores is
// (user+sys)/wall: 1.0 is one core busy all the time.
type CPU struct {
	UserS float64 `json:"user_s"`
	SysS  float64 `json:"sys_s"`
	WallS float64 `json:"wall_s"`
	Cores float64 `json:"cores"`
}

func cpuSince(from cpuMark) CPU {
	to := markCPU()
	wall := to.wall.Sub(from.wall)
	busy := (to.user - from.user) + (to.sys - from.sys)
	c := CPU{UserS: secs(to.user - from.user), SysS: secs(to.sys - from.sys), WallS: secs(wall)}
	if wall > 0 {
		c.Cores = round3(float64(busy) / float64(wall))
	}
	return c
}

// fdLimit raises the soft limit on open files to the hard one and returns
// it (0 if unknown).
func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	return rl.Cur
}

// readRSS returns VmRSS of process pid in bytes, from /proc/<pid>/status.
func readRSS(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("VmRSS:")) {
			continue
		}
		f := bytes.Fields(line[len("VmRSS:"):])
		if len(f) < 1 {
			break
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, err
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
