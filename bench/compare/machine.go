package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes the machine: nproc, the CPU model, the memory and the
// kernel.
func machine() string {
	parts := []string{fmt.Sprintf("nproc %d", runtime.NumCPU())}
	if model := procField("/proc/cpuinfo", "model name"); model != "" {
		parts = append(parts, model)
	}
	if mem := procField("/proc/meminfo", "MemTotal"); mem != "" {
		if f := strings.Fields(mem); len(f) > 0 {
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				parts = append(parts, fmt.Sprintf("%.0f GiB", kb/(1<<20)))
			}
		}
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(rel)))
	}
	return strings.Join(parts, ", ")
}

// procField returns the value of the first "name : value" line of a /proc
// file.
func procField(path, name string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + " (1, 5, 15 min)"
}

// versions names the toolchains and libraries compared: Go, gws (from the
// core's go.mod), Node and socket.io (from bench/node's node_modules).
func versions(ctx context.Context, root string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out := func(name string, args ...string) string {
		b, err := exec.CommandContext(ctx, name, args...).Output()
		if err != nil {
			return "unknown"
		}
		return strings.TrimSpace(string(b))
	}
	gov := strings.TrimPrefix(out("go", "version"), "go version go")
	parts := []string{"Go " + gov}
	if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
		if m := regexp.MustCompile(`github\.com/lxzan/gws (v\S+)`).FindSubmatch(data); m != nil {
			parts = append(parts, "gws "+string(m[1]))
		}
	}
	parts = append(parts, "Node "+out("node", "--version"))
	sio := "unknown"
	if data, err := os.ReadFile(filepath.Join(root, "bench", "node", "node_modules", "socket.io", "package.json")); err == nil {
		var p struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(data, &p) == nil && p.Version != "" {
			sio = p.Version
		}
	}
	parts = append(parts, "socket.io "+sio)
	return strings.Join(parts, ", ")
}
