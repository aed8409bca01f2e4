package faultproxy

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by the methods of a closed Proxy.
var ErrClosed = errors.New("faultproxy: proxy closed")

// Fault is a kind of fault.
type Fault int

// The faults.
const (
	// Drop closes both sides of a connection abruptly (TCP reset).
	Drop Fault = iota
	// Cut forwards part of the next bytes read, then drops the connection.
	Cut
	// Stall stops forwarding both ways, without closing, for a while.
	Stall
	// StallResume is the end of a stall that resumes forwarding (reported
	// to Options.OnFault only).
	StallResume
	// StallDrop is the end of a stall that drops the connection (reported
	// to Options.OnFault only).
	StallDrop
)

func (f Fault) String() string {
	switch f {
	case Drop:
		return "drop"
	case Cut:
		return "cut"
	case Stall:
		return "stall"
	case StallResume:
		return "stall-resume"
	case StallDrop:
		return "stall-drop"
	}
	return "fault?"
}

// Options configure a Proxy. Nil, and every zero field, means the default.
type Options struct {
	// MaxConns bounds the connections open at once; one past it is closed
	// as soon as accepted. Default 1024.
	MaxConns int
	// BufferSize is the read buffer of each direction of a connection.
	// Default 32 KiB.
	BufferSize int
	// DialTimeout bounds the connection to the target. Default 5s.
	DialTimeout time.Duration
	// CutWait is how long an armed Cut waits for bytes to cut; when none
	// come, it drops the connection. Default 1s.
	CutWait time.Duration

	// Weights of the faults Chaos picks: Drop, Cut, Stall. All zero: equal
	// weights.
	DropWeight, CutWeight, StallWeight int
	// StallMin and StallMax bound the duration of the stalls Chaos
	// injects. Defaults 100ms and 1s.
	StallMin, StallMax time.Duration
	// StallDropProbability is the chance that a stall of Chaos ends with a
	// drop rather than resuming. Default (0) 0.5; a negative value means
	// never.
	StallDropProbability float64

	// OnFault, when set, is called for every fault applied to a
	// connection (Chaos's and the explicit ones) and for the end of every
	// stall, synchronously; it must not block nor call the Proxy.
	OnFault func(c *Conn, f Fault)
}

// Stats counts what a Proxy did.
type Stats struct {
	Accepted int64 // connections accepted and forwarded
	Refused  int64 // connections closed because of MaxConns or a failed dial
	Drops    int64 // Drop faults (DropAll counts each connection)
	Cuts     int64 // Cut faults applied (bytes cut, or CutWait elapsed)
	Stalls   int64 // stalls started
	Resumed  int64 // stalls that resumed
	// StallDrops are the stalls that ended with a drop.
	StallDrops int64
}

// Proxy is a fault-injecting TCP proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	target string
	opts   Options
	ln     net.Listener
	done   chan struct{}
	ctx    context.Context // canceled by Close: ends dials under way
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[uint64]*Conn
	nextID uint64
	closed bool
	wg     sync.WaitGroup

	accepted, refused, drops, cuts, stalls, resumed, stallDrops atomic.Int64
}

// New starts a proxy listening on 127.0.0.1 (a free port) that forwards
// every connection to target (host:port).
func New(target string, opts *Options) (*Proxy, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.BufferSize <= 0 {
		o.BufferSize = 32 << 10
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.CutWait <= 0 {
		o.CutWait = time.Second
	}
	if o.DropWeight <= 0 && o.CutWeight <= 0 && o.StallWeight <= 0 {
		o.DropWeight, o.CutWeight, o.StallWeight = 1, 1, 1
	}
	if o.StallMin <= 0 {
		o.StallMin = 100 * time.Millisecond
	}
	if o.StallMax <= 0 {
		o.StallMax = time.Second
	}
	if o.StallMax < o.StallMin {
		o.StallMax = o.StallMin
	}
	if o.StallDropProbability == 0 {
		o.StallDropProbability = 0.5
	} else if o.StallDropProbability < 0 {
		o.StallDropProbability = 0
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, opts: o, ln: ln, done: make(chan struct{}), conns: make(map[uint64]*Conn)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address the proxy listens on (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address connections are forwarded to.
func (p *Proxy) Target() string { return p.target }

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	return Stats{
		Accepted: p.accepted.Load(), Refused: p.refused.Load(),
		Drops: p.drops.Load(), Cuts: p.cuts.Load(), Stalls: p.stalls.Load(),
		Resumed: p.resumed.Load(), StallDrops: p.stallDrops.Load(),
	}
}

// Conns returns the open connections, oldest first.
func (p *Proxy) Conns() []*Conn {
	p.mu.Lock()
	out := make([]*Conn, 0, len(p.conns))
	for _, c := range p.conns {
		out = append(out, c)
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b *Conn) int { return cmp.Compare(a.id, b.id) })
	return out
}

// DropAll drops every open connection and returns how many there were.
func (p *Proxy) DropAll() int {
	conns := p.Conns()
	for _, c := range conns {
		c.Drop()
	}
	return len(conns)
}

// Close stops accepting, closes every connection and waits until every
// goroutine of the proxy (a Chaos loop included) has returned.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	close(p.done)
	p.cancel()
	conns := make([]*Conn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close(true)
	}
	p.wg.Wait()
	return err
}

// goTracked runs fn on a new goroutine that Close waits for; it does not
// when the proxy is closed, and reports whether it did.
func (p *Proxy) goTracked(fn func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn()
	}()
	return true
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(5 * time.Millisecond) // e.g. too many open files
			continue
		}
		if !p.goTracked(func() { p.serve(nc) }) {
			_ = nc.Close()
			return
		}
	}
}

// serve dials the target for the client connection cc and forwards.
func (p *Proxy) serve(cc net.Conn) {
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.DialTimeout)
	var d net.Dialer
	sc, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		p.refused.Add(1)
		abort(cc)
		return
	}
	p.mu.Lock()
	if p.closed || len(p.conns) >= p.opts.MaxConns {
		p.mu.Unlock()
		p.refused.Add(1)
		abort(cc)
		abort(sc)
		return
	}
	p.nextID++
	c := &Conn{p: p, id: p.nextID, client: cc, server: sc, started: time.Now(), done: make(chan struct{})}
	p.conns[c.id] = c
	p.wg.Add(1) // the second direction
	p.mu.Unlock()
	p.accepted.Add(1)

	finished := make(chan struct{})
	go func() {
		defer p.wg.Done()
		c.pump(sc, cc, &c.up)
		close(finished)
	}()
	c.pump(cc, sc, &c.down)
	<-finished
	c.close(false)
}

// Chaos injects random faults into random open connections until ctx is
// done or the proxy is closed: on average rate faults per second (the
// intervals are exponential), each a Drop, Cut or Stall chosen with the
// weights of Options, stalls lasting between StallMin and StallMax. The
// choices come from a generator seeded with seed. It runs on the caller's
// goroutine and returns what it injected: its Cuts are the cuts armed (a
// cut armed on a connection that closes first is not applied), its Resumed
// and StallDrops how its stalls were set to end; Accepted and Refused are
// zero.
func (p *Proxy) Chaos(ctx context.Context, rate float64, seed uint64) Stats {
	var st Stats
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return st
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	if rate <= 0 {
		select {
		case <-ctx.Done():
		case <-p.done:
		}
		return st
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	o := p.opts
	total := o.DropWeight + o.CutWeight + o.StallWeight
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return st
		case <-p.done:
			return st
		case <-timer.C:
		}
		conns := p.Conns()
		if len(conns) == 0 {
			continue
		}
		c := conns[rng.IntN(len(conns))]
		switch k := rng.IntN(total); {
		case k < o.DropWeight:
			if c.Drop() {
				st.Drops++
			}
		case k < o.DropWeight+o.CutWeight:
			if c.Cut() {
				st.Cuts++
			}
		default:
			d := o.StallMin + time.Duration(rng.Int64N(int64(o.StallMax-o.StallMin)+1))
			drop := rng.Float64() < o.StallDropProbability
			if c.Stall(d, drop) {
				st.Stalls++
				if drop {
					st.StallDrops++
				} else {
					st.Resumed++
				}
			}
		}
	}
}

func (p *Proxy) report(c *Conn, f Fault) {
	if fn := p.opts.OnFault; fn != nil {
		fn(c, f)
	}
}

// abort closes nc with a TCP reset.
func abort(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}

// Conn is one proxied connection.
type Conn struct {
	p              *Proxy
	id             uint64
	client, server net.Conn
	started        time.Time
	up, down       atomic.Int64
	done           chan struct{}

	mu     sync.Mutex
	closed bool
	gate   chan struct{} // non-nil while stalled; closed when it resumes
	cut    bool          // armed: the next bytes read are cut
}

// ID numbers the connections of a proxy from 1, in accept order.
func (c *Conn) ID() uint64 { return c.id }

// Started is when the connection was accepted.
func (c *Conn) Started() time.Time { return c.started }

// BytesUp and BytesDown count the bytes forwarded to the target and to
// the client.
func (c *Conn) BytesUp() int64   { return c.up.Load() }
func (c *Conn) BytesDown() int64 { return c.down.Load() }

// Done is closed when the connection is closed (by a fault or by either
// end).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Drop closes both sides of the connection at once, with a TCP reset. It
// reports false when the connection was already closed.
func (c *Conn) Drop() bool { return c.fail(Drop) }

// Cut arms a cut: the next bytes read from either side are forwarded only
// in part (half of them, rounded down), then the connection is dropped.
// When no byte comes within Options.CutWait the connection is dropped
// all the same. It reports false when the connection is closed or a cut
// is already armed.
func (c *Conn) Cut() bool {
	c.mu.Lock()
	if c.closed || c.cut {
		c.mu.Unlock()
		return false
	}
	c.cut = true
	c.mu.Unlock()
	c.p.goTracked(func() {
		t := time.NewTimer(c.p.opts.CutWait)
		defer t.Stop()
		select {
		case <-t.C:
			c.mu.Lock()
			armed := c.cut
			c.cut = false
			c.mu.Unlock()
			if armed {
				c.fail(Cut)
			}
		case <-c.done:
		}
	})
	return true
}

// takeCut disarms a cut and reports whether one was armed.
func (c *Conn) takeCut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	armed := c.cut && !c.closed
	c.cut = false
	return armed
}

// Stall stops forwarding both ways for d; then the connection resumes or,
// with drop, is dropped. It reports false when the connection is closed
// or already stalled.
func (c *Conn) Stall(d time.Duration, drop bool) bool {
	c.mu.Lock()
	if c.closed || c.gate != nil {
		c.mu.Unlock()
		return false
	}
	gate := make(chan struct{})
	c.gate = gate
	c.mu.Unlock()
	c.p.stalls.Add(1)
	c.p.report(c, Stall)
	started := c.p.goTracked(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.done:
			return
		}
		if drop {
			c.fail(StallDrop)
			return
		}
		c.Resume()
	})
	if !started { // the proxy is closing: it closes the connection
		c.close(true)
	}
	return true
}

// Resume ends a stall at once. It reports false when there was none.
func (c *Conn) Resume() bool {
	c.mu.Lock()
	if c.gate == nil {
		c.mu.Unlock()
		return false
	}
	c.p.resumed.Add(1) // counted before anything moves again
	close(c.gate)
	c.gate = nil
	c.mu.Unlock()
	c.p.report(c, StallResume)
	return true
}

// Stalled reports whether the connection is stalled.
func (c *Conn) Stalled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gate != nil
}

// pass waits while the connection is stalled; it reports false once it is
// closed.
func (c *Conn) pass() bool {
	for {
		c.mu.Lock()
		gate, closed := c.gate, c.closed
		c.mu.Unlock()
		if closed {
			return false
		}
		if gate == nil {
			return true
		}
		select {
		case <-gate:
		case <-c.done:
			return false
		}
	}
}

// pump forwards src to dst until either fails. An EOF from src is passed
// on as a half close of dst; any other end closes the connection.
func (c *Conn) pump(dst, src net.Conn, counter *atomic.Int64) {
	buf := make([]byte, c.p.opts.BufferSize)
	for {
		n, err := src.Read(buf)
		if !c.pass() {
			return
		}
		if n > 0 {
			if c.takeCut() {
				_, _ = dst.Write(buf[:n/2])
				counter.Add(int64(n / 2))
				c.fail(Cut)
				return
			}
			w, werr := dst.Write(buf[:n])
			counter.Add(int64(w))
			if werr != nil {
				c.close(true)
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if c.halfClose(dst) {
					return
				}
			}
			c.close(true)
			return
		}
	}
}

// halfClose passes an EOF on to dst. It reports false when dst cannot be
// half closed: the caller then closes the connection.
func (c *Conn) halfClose(dst net.Conn) bool {
	cw, ok := dst.(interface{ CloseWrite() error })
	return ok && cw.CloseWrite() == nil
}

// fail closes the connection with a reset because of fault f, counted and
// reported before either end can see it. It reports false when the
// connection was already closed.
func (c *Conn) fail(f Fault) bool { return c.closeFor(true, f) }

// close closes both sides (with a reset when hard) and forgets the
// connection. It reports false when it was already closed.
func (c *Conn) close(hard bool) bool { return c.closeFor(hard, -1) }

func (c *Conn) closeFor(hard bool, f Fault) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	c.cut = false
	if c.gate != nil {
		close(c.gate)
		c.gate = nil
	}
	c.mu.Unlock()
	switch f {
	case Drop:
		c.p.drops.Add(1)
	case Cut:
		c.p.cuts.Add(1)
	case StallDrop:
		c.p.stallDrops.Add(1)
	}
	if f >= 0 {
		c.p.report(c, f)
	}
	close(c.done)
	if hard {
		abort(c.client)
		abort(c.server)
	} else {
		_ = c.client.Close()
		_ = c.server.Close()
	}
	c.p.mu.Lock()
	delete(c.p.conns, c.id)
	c.p.mu.Unlock()
	return true
}
