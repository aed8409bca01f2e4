package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
)

// EchoResult is the results of the echo and polling-echo scenarios.
type EchoResult struct {
	Clients    int     `json:"clients"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error"`
	Acks       uint64  `json:"acks"`
	MeasuredS  float64 `json:"measured_s"`
	AcksPerS   float64 `json:"acks_per_s"`
	Latency    Latency `json:"latency"`
	BadAcks    int64   `json:"bad_acks"`
	Errors     int64   `json:"errors"`
	Unfinished int     `json:"unfinished"`
}

// echoRun is the state the clients of one echo run share. Acks received in
// [startNs, endNs] are counted, and their round trips recorded in h. The
// window is set once every client has sent its first echo.
type echoRun struct {
	g       *gen
	h       hist
	startNs atomic.Int64
	endNs   atomic.Int64
	stop    atomic.Bool
	bad     atomic.Int64
	errors  atomic.Int64
	done    sync.WaitGroup
	active  atomic.Int64 // polling: loops still running
}

// newEchoRun returns the state of an echo run whose window is not set
// yet: no ack is counted before runWindow.
func newEchoRun(g *gen) *echoRun {
	r := &echoRun{g: g}
	r.startNs.Store(math.MaxInt64)
	r.endNs.Store(math.MaxInt64)
	return r
}

// echoClient is one client's closed loop: one echo in flight; its answer,
// on the reader goroutine, sends the next. mu orders the first send (from
// the run's goroutine) before everything the reader does.
type echoClient struct {
	run      *echoRun
	c        *wsClient
	mu       sync.Mutex
	buf      []byte
	id       uint64
	sentAt   int64
	started  bool
	finished bool
}

func (e *echoClient) sendLocked() {
	g := e.run.g
	e.id++
	e.buf = g.codec.echo(e.buf[:0], e.id)
	e.sentAt = g.now()
	if err := e.c.write(e.buf); err != nil {
		e.run.errors.Add(1)
		e.finishLocked()
	}
}

func (e *echoClient) finishLocked() {
	if e.started && !e.finished {
		e.finished = true
		e.run.done.Done()
	}
}

func (e *echoClient) onFrame(_ *wsClient, data []byte) {
	id, same, ok := e.run.g.codec.ack(data)
	if !ok {
		return
	}
	now := e.run.g.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished || !e.started {
		return
	}
	if id != e.id || !same {
		e.run.bad.Add(1)
		if id != e.id {
			return // not the answer in flight: keep waiting for it
		}
	}
	r := e.run
	end := r.endNs.Load()
	if now >= r.startNs.Load() && now <= end {
		r.h.record(now - e.sentAt)
	}
	if now >= end || r.stop.Load() {
		e.finishLocked()
		return
	}
	e.sendLocked()
}

func (e *echoClient) onClose(*wsClient) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started && !e.finished {
		if !e.run.stop.Load() {
			e.run.errors.Add(1)
		}
		e.finishLocked()
	}
}

// runEcho runs c WebSocket clients, each doing echo-with-ack in a closed
// loop for -warmup then -duration.
func runEcho(ctx context.Context, g *gen) (any, error) {
	o := g.opts
	r := newEchoRun(g)
	ecs := make([]*echoClient, o.c)
	d := g.dialMany(ctx, o.c, o.dialConc, func(i int) frameHandler {
		ecs[i] = &echoClient{run: r, buf: make([]byte, 0, 64+o.payload)}
		return ecs[i]
	}, nil, -1, time.Time{})
	defer closeAll(d.clients)
	res := &EchoResult{Clients: d.ok, Failed: d.failed, FirstError: errString(d.firstErr)}
	if d.ok == 0 {
		return res, fmt.Errorf("no client could connect: %v", d.firstErr)
	}
	g.logf("echo: %d clients connected, running %s + %s warm-up", d.ok, o.duration, o.warmup)

	for i, e := range ecs {
		if d.clients[i] == nil {
			continue
		}
		e.mu.Lock()
		e.c = d.clients[i]
		e.started = true
		r.done.Add(1)
		e.sendLocked()
		e.mu.Unlock()
	}
	measured := r.runWindow(ctx, o.warmup, o.duration)
	r.stop.Store(true)
	unfinished := waitTimeout(&r.done, o.timeout+o.drain)
	if unfinished {
		for _, e := range ecs {
			e.mu.Lock()
			if e.started && !e.finished {
				res.Unfinished++
				e.finished = true
				r.done.Done()
			}
			e.mu.Unlock()
		}
	}
	r.fill(res, measured)
	return res, ctx.Err()
}

// runWindow sets the window (warmup from now, then duration), sleeps
// through it recording the CPU use of the measured part, and returns the
// length of that part (shorter if ctx ended first).
func (r *echoRun) runWindow(ctx context.Context, warmup, duration time.Duration) time.Duration {
	g := r.g
	startNs := g.now() + int64(warmup)
	endNs := startNs + int64(duration)
	r.startNs.Store(startNs)
	r.endNs.Store(endNs)
	if !cli.Sleep(ctx, time.Duration(startNs-g.now())) {
		return 0
	}
	cpu := markCPU()
	began := max(g.now(), startNs)
	if late := time.Duration(began - startNs); late > duration/10 {
		g.warn("the generator woke up %s late for the measured window: the machine is overloaded", late.Round(time.Millisecond))
	}
	cli.Sleep(ctx, time.Duration(endNs-g.now()))
	g.measure(cpu)
	return time.Duration(max(min(g.now(), endNs)-began, 0))
}

// fill writes what the run counted into res; measured is the length of
// its measured window.
func (r *echoRun) fill(res *EchoResult, measured time.Duration) {
	res.Latency = r.h.summary()
	res.Acks = res.Latency.Count
	res.MeasuredS = secs(measured)
	res.AcksPerS = perSec(float64(res.Acks), measured)
	res.BadAcks = r.bad.Load()
	res.Errors = r.errors.Load()
}

// waitTimeout waits for wg at most d; it reports whether it gave up.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		return true
	}
}
