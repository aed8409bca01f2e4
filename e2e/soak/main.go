// Command soak runs our Socket.IO server in-process for a long time under
// mixed traffic with random faults, samples its memory, goroutines and
// file descriptors, and checks that nothing leaks and no message is lost
// or corrupted. It is run by `make soak` (SOAK_DURATION, default 2h), not
// in CI; soak_test.go runs its core for a few seconds so that it keeps
// working.
//
// The server (socketio.NewServer on 127.0.0.1, connection state recovery
// on) serves "/", "/chat", dynamic "/dyn-<n>" namespaces and "/auth" (a
// middleware). Client slots (github.com/go-sio/socketio/client) connect
// over WebSocket, polling, or polling then upgrade; a share of them
// through internal/faultproxy, which drops, cuts (half-written frames) and
// stalls their connections at random. Each client lives a random time:
// echoes with acknowledgements (text and binary), room joins, leaves and
// numbered broadcasts, server-to-client acknowledgements, dynamic
// namespaces, refused and accepted middleware connections; then it leaves.
// A few misbehaving raw clients send malformed packets, oversized frames,
// half frames, garbage, floods; each must be cut off.
//
// Every -sample interval it records, in-process, goroutines (split by
// pprof label: server, clients, proxy, misbehaving clients), heap in use
// and allocated, Sys, open fds, Engine.IO sessions, sockets, namespaces and
// the cumulative counters into a CSV. At the end it writes a PNG plot and a
// markdown summary.
//
// It exits non-zero when an invariant broke (an acknowledged echo came back
// different, a client without faults lost or got twice a room message or
// was disconnected, a misbehaving client was not cut off, the server
// logged an error) or when, after the traffic and the cooldown, the idle
// server is not back near its baseline (sessions, sockets, namespaces,
// goroutines, fds, heap), or, after its shutdown, the process is not back
// to where it started.
//
// To dig: SOAK_DEBUG_LOG=1 prints every log of the server on stderr;
// SOAK_DEBUG_DRAIN=1 dumps the goroutines while the drain check waits.
// The bugs it found have regression tests: bugs_test.go, and the root
// package's TestConnectionClosedDuringAttach.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	cfg := &config{}
	flag.DurationVar(&cfg.Duration, "duration", 2*time.Hour, "how long the traffic runs (the cooldown and the checks come after)")
	flag.IntVar(&cfg.Clients, "clients", 200, "client slots: each runs one client after another")
	flag.Float64Var(&cfg.Rate, "rate", 1, "actions per client and second (echo, broadcast, join/leave, ask, namespace switch)")
	flag.Float64Var(&cfg.FaultedShare, "faulted", 0.25, "share of the clients that connect through the fault proxy")
	flag.Float64Var(&cfg.FaultRate, "fault-rate", 1, "faults per second injected over all the proxy's connections")
	flag.DurationVar(&cfg.StallMax, "stall-max", 8*time.Second, "longest stall the proxy injects")
	flag.IntVar(&cfg.Rogues, "rogues", 4, "misbehaving raw clients at once")
	flag.Float64Var(&cfg.ResidentShare, "resident", 0.2, "share of the clients that stay until the end")
	flag.DurationVar(&cfg.LifeMin, "life-min", 10*time.Second, "shortest lifetime of the other clients")
	flag.DurationVar(&cfg.LifeMax, "life-max", 3*time.Minute, "longest lifetime of the other clients")
	flag.DurationVar(&cfg.RampUp, "ramp-up", 0, "the first connections are spread over it (default min(30s, duration/10))")
	flag.DurationVar(&cfg.PingInterval, "ping-interval", 10*time.Second, "server PingInterval")
	flag.DurationVar(&cfg.PingTimeout, "ping-timeout", 5*time.Second, "server PingTimeout")
	flag.DurationVar(&cfg.RecoveryDuration, "recovery", 30*time.Second, "connection state recovery: MaxDisconnectionDuration")
	flag.DurationVar(&cfg.Sample, "sample", 5*time.Second, "sampling interval")
	flag.DurationVar(&cfg.Progress, "progress", time.Minute, "interval of the progress lines on stderr")
	flag.DurationVar(&cfg.Cooldown, "cooldown", time.Minute, "idle time after the traffic, before the drain check")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of every random choice")
	flag.StringVar(&cfg.CSV, "csv", "docs/soak.csv", "samples (CSV); empty: not written")
	flag.IntVar(&cfg.CSVMaxRows, "csv-max-rows", 1500, "the CSV is downsampled to at most this many rows")
	flag.StringVar(&cfg.PNG, "png", "docs/soak.png", "plot (PNG); empty: not written")
	flag.StringVar(&cfg.MD, "md", "docs/soak.md", "summary (markdown); empty: not written")
	flag.Float64Var(&cfg.HeapSlackMiB, "heap-slack", 16, "allowed growth of the allocated heap over the baseline after the traffic, in MiB")
	flag.IntVar(&cfg.GoroutineSlack, "goroutine-slack", 10, "allowed goroutines over the baseline after the traffic")
	flag.IntVar(&cfg.FDSlack, "fd-slack", 10, "allowed file descriptors over the baseline after the traffic")
	flag.Parse()

	args := []string{"go run ./e2e/soak"}
	flag.Visit(func(f *flag.Flag) { args = append(args, "-"+f.Name+"="+f.Value.String()) })
	cfg.Command = strings.Join(args, " ")

	r, err := soak(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if err := r.writeOutputs(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if r.failed() {
		fmt.Fprintln(os.Stderr, "soak: FAILED")
		for _, f := range r.failures() {
			fmt.Fprintln(os.Stderr, "  -", f)
		}
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "soak: ok")
}
