// Command crossnode measures broadcasts across two Socket.IO nodes that
// share a Redis adapter (two bench/server processes, siobench, started
// with the same -redis and -redis-mode).
//
//	crossnode [flags] http://127.0.0.1:3000 http://127.0.0.1:3001
//
// It connects R receivers (-receivers, default 100), half to each node,
// all joined to one room, and one sender to node A that emits
// bcast(room, payload): the node broadcasts the payload to the room, its
// own receivers directly and node B's through Redis. Each payload carries
// a sequence number and the time it was sent, so every receiver counts
// what it lost and what it got twice, and measures the latency (sender
// and receivers are in this process: one monotonic clock).
//
// Two phases, each -duration long: the sender emits at a fixed rate
// (-rate per second), then as fast as the receivers keep up (at most
// -window broadcasts sent and not yet received by every receiver). It
// prints a markdown table: per phase, the receivers on node A (same node
// as the sender) and on node B (across Redis).
//
// bench/crossnode/run.sh starts redis-server and the two nodes, runs this
// for each adapter and stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/bench/internal/cli"
	"github.com/go-sio/socketio/client"
)

type config struct {
	urls      [2]string
	receivers int
	rate      int
	maxRate   bool
	duration  time.Duration
	window    int
	payload   int
	room      string
	transport string
	label     string
	header    bool
	drain     time.Duration
}

func main() { cli.Main("crossnode", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fset := flag.NewFlagSet("crossnode", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: crossnode [flags] URL-of-node-A URL-of-node-B")
		fset.PrintDefaults()
	}
	fset.IntVar(&c.receivers, "receivers", 100, "receivers, split evenly over the two nodes, all in one room")
	fset.IntVar(&c.rate, "rate", 500, "broadcasts per second of the fixed-rate phase (0: skip it)")
	fset.BoolVar(&c.maxRate, "max", true, "run the max-rate phase")
	fset.DurationVar(&c.duration, "duration", 10*time.Second, "sending time of each phase")
	fset.IntVar(&c.window, "window", 32, "max-rate phase: broadcasts sent and not yet received by every receiver")
	fset.IntVar(&c.payload, "payload", 64, "bytes of padding in each payload (besides sequence number and time)")
	fset.StringVar(&c.room, "room", "bench", "the room")
	fset.StringVar(&c.transport, "transport", "websocket", "client transport: websocket or polling")
	fset.StringVar(&c.label, "label", "", "first column of the table (the adapter, say)")
	fset.BoolVar(&c.header, "header", true, "print the table's header")
	fset.DurationVar(&c.drain, "drain", 5*time.Second, "how long to wait, after sending, for the last deliveries")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() != 2 {
		fset.Usage()
		return errors.New("want two URLs: node A (the sender's) and node B")
	}
	c.urls = [2]string{fset.Arg(0), fset.Arg(1)}
	if c.receivers < 2 || c.duration <= 0 || c.window < 1 || c.rate < 0 || c.payload < 0 {
		return errors.New("want -receivers >= 2, -duration > 0, -window >= 1, -rate >= 0, -payload >= 0")
	}
	if c.transport != "websocket" && c.transport != "polling" {
		return fmt.Errorf("-transport %q: want websocket or polling", c.transport)
	}

	b := &bench{cfg: c, t0: time.Now(), progress: stderr}
	defer b.close()
	if err := b.connect(ctx); err != nil {
		return err
	}
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	if c.header {
		fmt.Fprintln(stdout, "| adapter | phase | sent/s | receivers | deliveries/s | latency p50 | latency p99 | lost | duplicated |")
		fmt.Fprintln(stdout, "|---|---|---:|---|---:|---:|---:|---:|---:|")
	}
	phase := 0
	if c.rate > 0 {
		phase++
		r := b.runPhase(ctx, phase, fmt.Sprintf("%d/s for %s", c.rate, c.duration), c.rate)
		r.print(stdout, c.label)
	}
	if c.maxRate && ctx.Err() == nil {
		phase++
		r := b.runPhase(ctx, phase, fmt.Sprintf("max (window %d) for %s", c.window, c.duration), 0)
		r.print(stdout, c.label)
	}
	return ctx.Err()
}

// bench is the sender and the receivers.
type bench struct {
	cfg      config
	t0       time.Time // the clock of the payloads' send times
	progress io.Writer

	sender    *client.Socket
	receivers []*receiver
	notify    chan struct{} // a receiver got a message (max-rate phase)
}

// receiver is one client in the room.
type receiver struct {
	node int // 0: A, the sender's node; 1: B
	s    *client.Socket

	phase atomic.Int64
	last  atomic.Int64 // highest sequence number of the phase received, -1 none

	mu          sync.Mutex
	seen        []byte // by sequence number: 1 when received
	unique, dup int
	latencies   []time.Duration
	lastAt      time.Duration // since t0, of the last delivery
}

// payload is what the sender broadcasts; Pad makes it -payload bytes
// bigger, and the receivers skip it.
type payload struct {
	Phase int64  `json:"ph"`
	Seq   int64  `json:"s"`
	Sent  int64  `json:"t"` // ns since t0
	Pad   string `json:"pad,omitempty"`
}

func (b *bench) now() time.Duration { return time.Since(b.t0) }

func (b *bench) clientOptions() *client.Options {
	return &client.Options{
		ForceNew: true,
		ManagerOptions: client.ManagerOptions{
			Transports:   []string{b.cfg.transport},
			Reconnection: client.Bool(false),
			AutoConnect:  client.Bool(false),
		},
	}
}

// dial connects a client to url, within 10 s.
func (b *bench) dial(ctx context.Context, url string) (*client.Socket, error) {
	s, err := client.Connect(url, b.clientOptions())
	if err != nil {
		return nil, err
	}
	s.Connect()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.WaitConnected(cctx); err != nil {
		_ = s.Manager().Close()
		return nil, fmt.Errorf("connect to %s: %w", url, err)
	}
	return s, nil
}

// connect connects the receivers (joined to the room) and the sender.
func (b *bench) connect(ctx context.Context) error {
	b.notify = make(chan struct{}, 1)
	b.receivers = make([]*receiver, b.cfg.receivers)
	for i := range b.receivers {
		r := &receiver{node: i % 2}
		r.last.Store(-1)
		b.receivers[i] = r
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		sem      = make(chan struct{}, 16)
	)
	for _, r := range b.receivers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := b.connectReceiver(ctx, r)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	s, err := b.dial(ctx, b.cfg.urls[0])
	if err != nil {
		return err
	}
	b.sender = s
	fmt.Fprintf(b.progress, "crossnode: %d receivers in room %q (%d on %s, %d on %s), sender on %s, transport %s\n",
		len(b.receivers), b.cfg.room, (len(b.receivers)+1)/2, b.cfg.urls[0], len(b.receivers)/2, b.cfg.urls[1], b.cfg.urls[0], b.cfg.transport)
	return nil
}

// connectReceiver connects r to its node and joins the room, within 10 s.
func (b *bench) connectReceiver(ctx context.Context, r *receiver) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := b.dial(cctx, b.cfg.urls[r.node])
	if err != nil {
		return err
	}
	r.s = s
	// Before the join: no "msg" comes to a socket in no room.
	s.On("msg", func(e *socketio.Event) {
		at := b.now()
		var p payload
		if len(e.Args) == 0 || e.Args[0].Decode(&p) != nil {
			return
		}
		r.deliver(p, at)
		select {
		case b.notify <- struct{}{}:
		default:
		}
	})
	if res, err := s.EmitWithAck(cctx, "join", b.cfg.room); err != nil || len(res) != 0 {
		return fmt.Errorf("join on %s: %v %v (is it a siobench server?)", b.cfg.urls[r.node], res, err)
	}
	return nil
}

func (r *receiver) deliver(p payload, at time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.Phase != r.phase.Load() || p.Seq < 0 {
		return // late, of an earlier phase
	}
	if n := int(p.Seq) + 1; n > len(r.seen) {
		r.seen = append(r.seen, make([]byte, n-len(r.seen)+1024)...)
	}
	if r.seen[p.Seq] != 0 {
		r.dup++
		return
	}
	r.seen[p.Seq] = 1
	r.unique++
	r.latencies = append(r.latencies, at-time.Duration(p.Sent))
	r.lastAt = at
	if p.Seq > r.last.Load() {
		r.last.Store(p.Seq)
	}
}

// startPhase resets the receivers for phase.
func (b *bench) startPhase(phase int) {
	for _, r := range b.receivers {
		r.mu.Lock()
		r.phase.Store(int64(phase))
		r.last.Store(-1)
		r.seen, r.latencies = r.seen[:0], r.latencies[:0]
		r.unique, r.dup, r.lastAt = 0, 0, 0
		r.mu.Unlock()
	}
}

func (b *bench) send(phase int, seq int64, pad string) error {
	return b.sender.Emit("bcast", b.cfg.room, payload{Phase: int64(phase), Seq: seq, Sent: int64(b.now()), Pad: pad})
}

// warmUp broadcasts (phase 0) until every receiver, on both nodes, has
// received one: the nodes' subscriptions are up.
func (b *bench) warmUp(ctx context.Context) error {
	b.startPhase(0)
	deadline := time.Now().Add(10 * time.Second)
	for seq := int64(0); ; seq++ {
		if err := b.send(0, seq, ""); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		missing := 0
		for _, r := range b.receivers {
			if r.last.Load() < 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after 10 s of broadcasts, %d of %d receivers got none (do both nodes use the same -redis and -redis-mode?)", missing, len(b.receivers))
		}
	}
}

// minLast is the highest sequence number every receiver has reached.
func (b *bench) minLast() int64 {
	m := int64(1 << 62)
	for _, r := range b.receivers {
		m = min(m, r.last.Load())
	}
	return m
}

// phaseResult is what runPhase measured.
type phaseResult struct {
	name    string
	sent    int64
	sendFor time.Duration
	stalled bool
	nodes   [2]nodeResult
}

type nodeResult struct {
	url               string
	receivers         int
	unique, dup, lost int64
	elapsed           time.Duration // from the first send to the last delivery
	p50, p99          time.Duration
	deliveriesPerSec  float64
}

// runPhase sends for the phase's duration, at rate per second (0: as fast
// as the window allows), waits for the last deliveries and collects.
func (b *bench) runPhase(ctx context.Context, phase int, name string, rate int) phaseResult {
	b.startPhase(phase)
	pad := strings.Repeat("x", b.cfg.payload)
	res := phaseResult{name: name}
	fmt.Fprintf(b.progress, "crossnode: phase %d, %s\n", phase, name)
	start := b.now()
	var seq int64
	if rate > 0 {
		interval := time.Second / time.Duration(rate)
		next := start
		for ; b.now()-start < b.cfg.duration && ctx.Err() == nil; seq++ {
			if d := next - b.now(); d > 0 {
				time.Sleep(d)
			}
			if err := b.send(phase, seq, pad); err != nil {
				fmt.Fprintf(b.progress, "crossnode: send: %v\n", err)
				break
			}
			next += interval
		}
	} else {
		stallAt := b.now()
		done := b.minLast()
		for ; b.now()-start < b.cfg.duration && ctx.Err() == nil; seq++ {
			for seq-1-done >= int64(b.cfg.window) {
				select {
				case <-b.notify:
				case <-time.After(10 * time.Millisecond):
				}
				if d := b.minLast(); d != done {
					done, stallAt = d, b.now()
				} else if b.now()-stallAt > 2*time.Second {
					res.stalled = true // a receiver stopped receiving: stop sending
					break
				}
			}
			if res.stalled {
				break
			}
			if err := b.send(phase, seq, pad); err != nil {
				fmt.Fprintf(b.progress, "crossnode: send: %v\n", err)
				break
			}
		}
	}
	res.sent, res.sendFor = seq, b.now()-start

	// Drain: until every receiver has every message, or -drain passes.
	for deadline := b.now() + b.cfg.drain; b.now() < deadline; time.Sleep(10 * time.Millisecond) {
		complete := true
		for _, r := range b.receivers {
			r.mu.Lock()
			n := r.unique
			r.mu.Unlock()
			if int64(n) < res.sent {
				complete = false
				break
			}
		}
		if complete {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // a late duplicate, if any
	for _, r := range b.receivers {
		r.mu.Lock()
		r.phase.Store(-1) // ignore whatever comes now: the counts below are final
		r.mu.Unlock()
	}

	for node := range 2 {
		nr := &res.nodes[node]
		nr.url = b.cfg.urls[node]
		var lat []time.Duration
		var last time.Duration
		for _, r := range b.receivers {
			if r.node != node {
				continue
			}
			nr.receivers++
			r.mu.Lock()
			nr.unique += int64(r.unique)
			nr.dup += int64(r.dup)
			lat = append(lat, r.latencies...)
			last = max(last, r.lastAt)
			r.mu.Unlock()
		}
		nr.lost = res.sent*int64(nr.receivers) - nr.unique
		nr.elapsed = last - start
		if nr.elapsed > 0 {
			nr.deliveriesPerSec = float64(nr.unique) / nr.elapsed.Seconds()
		}
		slices.Sort(lat)
		if len(lat) > 0 {
			nr.p50 = lat[len(lat)*50/100]
			nr.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		}
	}
	return res
}

func (r phaseResult) print(w io.Writer, label string) {
	name := r.name
	if r.stalled {
		name += " (stopped: a receiver stalled)"
	}
	rate := float64(r.sent) / r.sendFor.Seconds()
	for node, nr := range r.nodes {
		where := "same node as sender"
		if node == 1 {
			where = "other node, via Redis"
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %d on %s (%s) | %.0f | %s | %s | %d | %d |\n",
			label, name, rate, nr.receivers, string(rune('A'+node)), where, nr.deliveriesPerSec,
			ms(nr.p50), ms(nr.p99), nr.lost, nr.dup)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// close disconnects every client.
func (b *bench) close() {
	if b.sender != nil {
		_ = b.sender.Manager().Close()
	}
	for _, r := range b.receivers {
		if r != nil && r.s != nil {
			_ = r.s.Manager().Close()
		}
	}
}
