package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/go-sio/socketio/internal/faultproxy"
)

// config is the size and shape of a run (flags in main.go).
type config struct {
	Duration      time.Duration // of the traffic
	Clients       int           // client slots
	Rate          float64       // actions per client and second
	FaultedShare  float64       // share of the clients behind the fault proxy
	FaultRate     float64       // faults per second, over all the proxy's connections
	StallMax      time.Duration // longest stall of the proxy
	Rogues        int           // misbehaving clients at once
	ResidentShare float64       // share of the clients that stay until the end
	LifeMin       time.Duration // lifetime of the others
	LifeMax       time.Duration
	RampUp        time.Duration // the first connections are spread over it

	PingInterval     time.Duration
	PingTimeout      time.Duration
	RecoveryDuration time.Duration // MaxDisconnectionDuration

	Sample   time.Duration // sampling interval
	Progress time.Duration // interval of the progress lines
	Cooldown time.Duration // sampling after the traffic stopped, before the drain check
	Seed     uint64

	CSV, PNG, MD string // outputs ("": not written)
	CSVMaxRows   int
	Command      string // how the run was started, for the summary

	HeapSlackMiB   float64 // allowed heap growth over the baseline, after the traffic
	GoroutineSlack int
	FDSlack        int
}

func (c *config) fill() {
	if c.RampUp <= 0 {
		c.RampUp = min(30*time.Second, c.Duration/10)
	}
	if c.LifeMax < c.LifeMin {
		c.LifeMax = c.LifeMin
	}
	if c.Progress <= 0 {
		c.Progress = time.Minute
	}
	if c.StallMax <= 0 {
		c.StallMax = 8 * time.Second
	}
}

// run is one soak run: the server, the proxy, the clients and what was
// measured.
type run struct {
	cfg   *config
	st    *stats
	app   *app
	proxy *faultproxy.Proxy
	start time.Time
	log   io.Writer
	sm    *sampler

	clientDisconnects tally // unexpected disconnection reasons seen by clients
	lifeProfiles      tally
	rogues            rogueTally
	faults            tally // by kind, from the proxy

	mu           sync.Mutex
	marks        []mark
	lastProgress time.Time

	base0, base, drained, final sample
	ended                       time.Time
	checks                      []check
	proxyStats                  faultproxy.Stats
}

// mark is a moment of the run: the plot draws it.
type mark struct {
	T    time.Duration
	Name string
}

// check is one of the final checks.
type check struct {
	Name   string
	OK     bool
	Detail string
}

func (r *run) mark(name string) {
	r.mu.Lock()
	r.marks = append(r.marks, mark{T: time.Since(r.start), Name: name})
	r.mu.Unlock()
	r.sm.setPhase(name)
	r.logf("%s", name)
}

func (r *run) logf(format string, args ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "%9s  %s\n", time.Since(r.start).Round(time.Second), fmt.Sprintf(format, args...))
	}
}

// progress prints a line per Progress interval.
func (r *run) progress(s sample) {
	r.mu.Lock()
	due := time.Since(r.lastProgress) >= r.cfg.Progress
	if due {
		r.lastProgress = time.Now()
	}
	r.mu.Unlock()
	if due {
		r.logf("%s", describe(s))
	}
}

func describe(s sample) string {
	c := s.counters
	return fmt.Sprintf("[%s] clients %d, sessions %d, sockets %d, goroutines %d, heap %.1f MiB, fds %d; echo %d ok/%d failed, room msgs %d, lost %d clean/%d faulted, faults %d, rogues %d cut/%d failed, anomalies %d",
		s.Phase, s.ClientsAlive, s.EngineClients, s.Sockets, s.Goroutines, mib(s.HeapInuse), s.FDs,
		c[cEchoOK], c[cEchoFail], c[cRoomMsgs], c[cLostClean], c[cLostFaulted], c[cFaults], c[cRogueCut], c[cRogueFailed], c[cAnomalies])
}

// soak runs the whole thing: baseline, traffic, cooldown and drain check,
// shutdown and final check. It returns the run for the reports; its
// failed method says whether an invariant or a check broke.
func soak(cfg *config, logw io.Writer) (*run, error) {
	cfg.fill()
	r := &run{cfg: cfg, st: newStats(), start: time.Now(), log: logw}
	r.sm = newSampler(r, cfg.Sample)
	settle()
	r.base0 = r.sm.now() // before anything starts

	var err error
	doLabeled(sideServer, func() { r.app, err = startApp(cfg, r.st) })
	if err != nil {
		return nil, err
	}
	doLabeled(sideProxy, func() {
		r.proxy, err = faultproxy.New(strings.TrimPrefix(r.app.url, "http://"), &faultproxy.Options{
			MaxConns: 4 * (cfg.Clients + 16),
			StallMin: 100 * time.Millisecond,
			StallMax: cfg.StallMax,
			CutWait:  time.Second,
			OnFault: func(_ *faultproxy.Conn, f faultproxy.Fault) {
				r.faults.add(f.String())
				if f == faultproxy.Drop || f == faultproxy.Cut || f == faultproxy.Stall {
					r.st.inc(cFaults)
				}
			},
		})
	})
	if err != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.app.shutdown(shutdownCtx)
		return nil, err
	}
	r.logf("server %s, fault proxy %s; %d clients (%.0f%% behind the proxy, %.1f faults/s), %d misbehaving, %v of traffic",
		r.app.url, r.proxy.Addr(), cfg.Clients, 100*cfg.FaultedShare, cfg.FaultRate, cfg.Rogues, cfg.Duration)
	settle()
	r.base = r.sm.now() // the server idle
	r.mark("traffic")
	go r.sm.run()

	// Traffic.
	r.app.startTicks()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	goLabeled(sideProxy, func() {
		defer wg.Done()
		r.proxy.Chaos(ctx, cfg.FaultRate, cfg.Seed)
	})
	for i := range cfg.Clients {
		wg.Add(1)
		goLabeled(sideClient, func() {
			defer wg.Done()
			r.clientSlot(ctx, i)
		})
	}
	for i := range cfg.Rogues {
		wg.Add(1)
		goLabeled(sideRogue, func() {
			defer wg.Done()
			r.rogueWorker(ctx, i)
		})
	}
	<-ctx.Done()

	// Every client leaves (and checks its rooms), then the proxy closes.
	r.mark("winding down")
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Minute):
		r.st.anomaly("clients do not stop", "still running 2 minutes after the end of the traffic")
		<-stopped
	}
	r.app.stopTicks()
	r.proxyStats = r.proxy.Stats()
	_ = r.proxy.Close()

	// Cooldown: nothing runs but the server, idle; it must come back to
	// its baseline.
	r.mark("cooldown")
	time.Sleep(cfg.Cooldown)
	r.drainCheck()

	// Shutdown: then the process must be back to where it started.
	r.mark("shutdown")
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	if err := r.app.shutdown(sctx); err != nil {
		r.st.anomaly("server: shutdown", "%v", err)
	}
	scancel()
	r.finalCheck()
	r.sm.close()
	r.ended = time.Now()
	return r, nil
}

// settle collects garbage and returns memory, so that heap figures
// compare.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(100 * time.Millisecond)
}

// drainCheck waits (up to 30s more) until the server is idle again and the
// process is back near the baseline: no session, no socket, no dynamic
// namespace, goroutines, fds and heap within their slack.
func (r *run) drainCheck() {
	c := r.cfg
	deadline := time.Now().Add(30 * time.Second)
	for {
		settle()
		s := r.sm.now()
		checks := []check{
			{Name: "no Engine.IO session left", OK: s.EngineClients == 0, Detail: fmt.Sprintf("%d open %v", s.EngineClients, r.app.lingering())},
			{Name: "no socket left", OK: s.Sockets == 0, Detail: fmt.Sprintf("%d connected %v", s.Sockets, r.app.lingeringSockets())},
			{Name: "dynamic namespaces removed", OK: s.Namespaces == r.base.Namespaces, Detail: fmt.Sprintf("%d namespaces, %d at the baseline", s.Namespaces, r.base.Namespaces)},
			{Name: "goroutines back to the baseline", OK: s.Goroutines <= r.base.Goroutines+c.GoroutineSlack,
				Detail: fmt.Sprintf("%d, baseline %d (+%d allowed)", s.Goroutines, r.base.Goroutines, c.GoroutineSlack)},
			{Name: "file descriptors back to the baseline", OK: s.FDs <= r.base.FDs+c.FDSlack,
				Detail: fmt.Sprintf("%d, baseline %d (+%d allowed)", s.FDs, r.base.FDs, c.FDSlack)},
			{Name: "heap back near the baseline", OK: mib(s.HeapAlloc) <= mib(r.base.HeapAlloc)+c.HeapSlackMiB,
				Detail: fmt.Sprintf("%.1f MiB allocated, baseline %.1f MiB (+%.0f MiB allowed); in use %.1f MiB", mib(s.HeapAlloc), mib(r.base.HeapAlloc), c.HeapSlackMiB, mib(s.HeapInuse))},
		}
		ok := allOK(checks)
		if !ok {
			r.logf("not drained yet: sessions %v, sockets %v", r.app.lingering(), r.app.lingeringSockets())
			if os.Getenv("SOAK_DEBUG_DRAIN") != "" {
				_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			}
		}
		if ok || time.Now().After(deadline) {
			r.drained = s
			r.checks = append(r.checks, prefixChecks("after the traffic, server still up: ", checks)...)
			r.logf("drained: %s", describe(s))
			return
		}
		time.Sleep(time.Second)
	}
}

// finalCheck waits (up to 15s) until goroutines and fds are back to what
// they were before the server started.
func (r *run) finalCheck() {
	c := r.cfg
	deadline := time.Now().Add(15 * time.Second)
	r.sm.setPhase("shut down")
	for {
		settle()
		s := r.sm.now()
		// The sampler's own goroutine runs now, not at the first baseline.
		checks := []check{
			{Name: "goroutines back to the start", OK: s.Goroutines <= r.base0.Goroutines+1+c.GoroutineSlack,
				Detail: fmt.Sprintf("%d, %d before the server started (+%d allowed)", s.Goroutines, r.base0.Goroutines, 1+c.GoroutineSlack)},
			{Name: "file descriptors back to the start", OK: s.FDs <= r.base0.FDs+c.FDSlack,
				Detail: fmt.Sprintf("%d, %d before the server started (+%d allowed)", s.FDs, r.base0.FDs, c.FDSlack)},
		}
		if allOK(checks) || time.Now().After(deadline) {
			r.final = s
			r.checks = append(r.checks, prefixChecks("after shutdown: ", checks)...)
			r.logf("shut down: %d goroutines, %d fds", s.Goroutines, s.FDs)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// allOK reports whether every check of cs passed.
func allOK(cs []check) bool {
	for _, c := range cs {
		if !c.OK {
			return false
		}
	}
	return true
}

func prefixChecks(p string, cs []check) []check {
	out := make([]check, len(cs))
	for i, c := range cs {
		c.Name = p + c.Name
		out[i] = c
	}
	return out
}

// failed reports whether an invariant or a check broke.
func (r *run) failed() bool {
	return r.st.get(cAnomalies) > 0 || !allOK(r.checks)
}

// failures lists what broke, for the exit message.
func (r *run) failures() []string {
	var out []string
	for _, c := range r.checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	for _, p := range r.st.problemList() {
		if p.Fatal {
			s := fmt.Sprintf("%s (%d)", p.Kind, p.Count)
			if len(p.Samples) > 0 {
				s += ": " + p.Samples[0]
			}
			out = append(out, s)
		}
	}
	return out
}
