package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The goroutines of the process are told apart by a pprof label, "side",
// that every goroutine inherits from the one that started it: the server
// (its listener, so every connection and what they start), the clients,
// the fault proxy and the misbehaving clients each run under their own.
// Goroutines started by timers (time.AfterFunc) take the label of whatever
// goroutine ran the timer, so the split is close, not exact.
const (
	sideServer = "server"
	sideClient = "client"
	sideProxy  = "proxy"
	sideRogue  = "rogue"
)

// goLabeled runs fn on a new goroutine labeled side.
func goLabeled(side string, fn func()) { go doLabeled(side, fn) }

// doLabeled runs fn on this goroutine, labeled side (goroutines it starts
// keep the label).
func doLabeled(side string, fn func()) {
	pprof.Do(context.Background(), pprof.Labels("side", side), func(context.Context) { fn() })
}

// goroutinesBySide counts the goroutines per "side" label ("" for none).
func goroutinesBySide() map[string]int {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return nil
	}
	out := make(map[string]int)
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, side := 0, ""
	flush := func() {
		if n > 0 {
			out[side] += n
		}
		n, side = 0, ""
	}
	for sc.Scan() {
		line := sc.Text()
		if count, rest, ok := strings.Cut(line, " @ "); ok && rest != "" && !strings.HasPrefix(line, "#") {
			flush()
			n, _ = strconv.Atoi(count)
			continue
		}
		if lbl, ok := strings.CutPrefix(line, "# labels: "); ok {
			// {"side":"server"}
			if i := strings.Index(lbl, `"side":"`); i >= 0 {
				v := lbl[i+len(`"side":"`):]
				if j := strings.IndexByte(v, '"'); j >= 0 {
					side = v[:j]
				}
			}
		}
	}
	flush()
	return out
}

// countFDs counts the open file descriptors of the process (-1 where
// /proc is missing).
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

// sample is one row of the CSV.
type sample struct {
	T     time.Duration // since the start of the run
	Phase string

	Goroutines                               int
	GServer, GClient, GProxy, GRogue, GOther int
	HeapInuse, HeapAlloc, Sys                uint64
	NumGC                                    uint32
	FDs                                      int

	EngineClients int // open Engine.IO sessions on the server
	Sockets       int // connected sockets, every namespace
	Namespaces    int // namespaces, dynamic ones included
	ClientsAlive  int // client managers alive (client side)

	counters countersSnapshot
}

// takeSample reads the runtime and the server.
func (r *run) takeSample(phase string) sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := sample{
		T:          time.Since(r.start),
		Phase:      phase,
		Goroutines: runtime.NumGoroutine(),
		HeapInuse:  ms.HeapInuse,
		HeapAlloc:  ms.HeapAlloc,
		Sys:        ms.Sys,
		NumGC:      ms.NumGC,
		FDs:        countFDs(),
	}
	by := goroutinesBySide()
	s.GServer, s.GClient, s.GProxy, s.GRogue = by[sideServer], by[sideClient], by[sideProxy], by[sideRogue]
	s.GOther = by[""]
	if r.app != nil {
		s.EngineClients, s.Sockets, s.Namespaces = r.app.counts()
	}
	s.ClientsAlive = int(r.st.clientsAlive.Load())
	s.counters = r.st.snapshot()
	return s
}

// sampler records a sample every interval until stopped.
type sampler struct {
	r        *run
	interval time.Duration

	mu      sync.Mutex
	phase   string
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

func newSampler(r *run, interval time.Duration) *sampler {
	return &sampler{r: r, interval: interval, phase: "baseline", stop: make(chan struct{}), done: make(chan struct{})}
}

func (sm *sampler) setPhase(p string) {
	sm.mu.Lock()
	sm.phase = p
	sm.mu.Unlock()
}

// now takes a sample at once and records it.
func (sm *sampler) now() sample {
	sm.mu.Lock()
	phase := sm.phase
	sm.mu.Unlock()
	if phase == "cooldown" || phase == "shut down" {
		// Idle, the runtime collects no garbage: collect it, so that
		// memory shows what is still live.
		runtime.GC()
		debug.FreeOSMemory()
	}
	s := sm.r.takeSample(phase)
	sm.mu.Lock()
	sm.samples = append(sm.samples, s)
	sm.mu.Unlock()
	return s
}

func (sm *sampler) run() {
	defer close(sm.done)
	t := time.NewTicker(sm.interval)
	defer t.Stop()
	for {
		select {
		case <-sm.stop:
			return
		case <-t.C:
			s := sm.now()
			sm.r.progress(s)
		}
	}
}

func (sm *sampler) close() {
	close(sm.stop)
	<-sm.done
}

func (sm *sampler) all() []sample {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return slices.Clone(sm.samples)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// writeCSV writes the samples, at most maxRows of them (every k-th row;
// the first and last of each phase are always kept).
func writeCSV(path string, samples []sample, maxRows int) error {
	keep := downsample(samples, maxRows)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"t_s", "phase", "goroutines", "g_server", "g_client", "g_proxy", "g_rogue", "g_other",
		"heap_inuse_mib", "heap_alloc_mib", "sys_mib", "num_gc", "fds",
		"engine_clients", "sockets", "namespaces", "clients_alive"}
	head = append(head, counterNames...)
	_ = w.Write(head)
	for _, s := range keep {
		row := []string{
			strconv.FormatFloat(s.T.Seconds(), 'f', 1, 64), s.Phase,
			strconv.Itoa(s.Goroutines), strconv.Itoa(s.GServer), strconv.Itoa(s.GClient),
			strconv.Itoa(s.GProxy), strconv.Itoa(s.GRogue), strconv.Itoa(s.GOther),
			fmt.Sprintf("%.2f", mib(s.HeapInuse)), fmt.Sprintf("%.2f", mib(s.HeapAlloc)), fmt.Sprintf("%.2f", mib(s.Sys)),
			strconv.FormatUint(uint64(s.NumGC), 10), strconv.Itoa(s.FDs),
			strconv.Itoa(s.EngineClients), strconv.Itoa(s.Sockets), strconv.Itoa(s.Namespaces), strconv.Itoa(s.ClientsAlive),
		}
		for _, v := range s.counters {
			row = append(row, strconv.FormatInt(v, 10))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func downsample(samples []sample, maxRows int) []sample {
	if maxRows <= 0 || len(samples) <= maxRows {
		return samples
	}
	stride := (len(samples) + maxRows - 1) / maxRows
	var out []sample
	for i, s := range samples {
		boundary := i == 0 || i == len(samples)-1 || samples[i-1].Phase != s.Phase ||
			samples[i+1].Phase != s.Phase
		if boundary || i%stride == 0 {
			out = append(out, s)
		}
	}
	return out
}
