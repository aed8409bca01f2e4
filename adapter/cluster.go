package adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-sio/socketio/internal/serial"
	"github.com/go-sio/socketio/parser"
)

// Bus carries the messages of a Cluster adapter between nodes: Redis
// sharded pub/sub, Redis streams... It encodes them as its Node.js
// counterpart does, and hands what it receives to Cluster.OnMessage.
type Bus interface {
	// Publish sends m to every node of the namespace. It returns the
	// offset of m when the bus keeps messages (streams), "" otherwise.
	Publish(ctx context.Context, m *ClusterMessage) (offset string, err error)
	// PublishResponse sends m to the node uid only.
	PublishResponse(ctx context.Context, uid string, m *ClusterMessage) error
	// ServerCount returns the number of nodes, this one included.
	ServerCount(ctx context.Context) (int, error)
}

// ClusterOptions configure a Cluster adapter; the zero value is valid.
type ClusterOptions struct {
	// UID identifies this node. Default: 16 random hex characters, as Node.
	UID string
	// RequestTimeout bounds FetchSockets and ServerSideEmit when neither
	// the flags nor the context do. Default: 5s.
	RequestTimeout time.Duration
	// BusOffsets is set by buses whose Publish returns offsets (streams):
	// broadcasts are then tagged with them for connection state recovery,
	// and the bus keeps the sessions (the in-memory store is off).
	BusOffsets bool
	// Logger receives the errors of publishing (Warn) and the messages
	// dropped as invalid (Debug). Nil: silent.
	Logger *slog.Logger
}

// Cluster is the base of the adapters that spread a namespace over nodes,
// with the messages and semantics of socket.io-adapter's ClusterAdapter:
// local delivery through the in-memory adapter it embeds, the rest through
// a Bus. It ignores its own messages and those of other namespaces.
type Cluster struct {
	*Memory
	bus     Bus
	uid     string
	timeout time.Duration
	offsets bool
	log     *slog.Logger

	// dmu orders bus-offset broadcasts and the attachment of sockets
	// (recovery with BusOffsets only).
	dmu sync.Mutex

	// sse runs the handlers of server-side events one at a time, in
	// order, off the bus's goroutine (a handler may wait for the bus).
	sse serial.Queue

	mu        sync.Mutex
	requests  map[string]*clusterRequest
	acks      map[string]*ackRequest
	lastCount int // the last server count the bus gave
	closed    bool
}

type clusterRequest struct {
	expected, current int
	sockets           []SocketDetails
	onReply           func(args []any)
	done              chan struct{}
}

type ackRequest struct {
	clientCount func(int)
	ack         func([]any)
	timer       *time.Timer
}

// RandomID returns n random bytes in hex.
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewCluster returns the cluster adapter of nsp over bus.
func NewCluster(nsp Namespace, bus Bus, opts *ClusterOptions) *Cluster {
	var o ClusterOptions
	if opts != nil {
		o = *opts
	}
	if o.UID == "" {
		o.UID = RandomID(8)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := newMemory(nsp)
	if o.BusOffsets {
		m.store = nil
	}
	return &Cluster{
		Memory: m, bus: bus, uid: o.UID, timeout: o.RequestTimeout, offsets: o.BusOffsets,
		log:       o.Logger,
		requests:  make(map[string]*clusterRequest),
		acks:      make(map[string]*ackRequest),
		lastCount: 1,
	}
}

// UID returns the id of this node.
func (c *Cluster) UID() string { return c.uid }

// Close forgets the pending acknowledgements and ends the pending
// requests (they return what they have, with *ErrTimeoutReached).
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for id, a := range c.acks {
		a.timer.Stop()
		delete(c.acks, id)
	}
	for id, r := range c.requests {
		close(r.done)
		delete(c.requests, id)
	}
	return nil
}

// publish sends a message to the other nodes, bounded by the request
// timeout; a failure is logged and returned.
func (c *Cluster) publish(t MessageType, d *MessageData) (string, error) {
	m := &ClusterMessage{UID: c.uid, Nsp: c.nsp.Name(), Type: t, Data: d}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	off, err := c.bus.Publish(ctx, m)
	if err != nil {
		c.log.Warn("socketio: cluster publish failed", "nsp", m.Nsp, "type", int(t), "err", err)
	}
	return off, err
}

func (c *Cluster) respond(to string, t MessageType, d *MessageData) {
	m := &ClusterMessage{UID: c.uid, Nsp: c.nsp.Name(), Type: t, Data: d}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := c.bus.PublishResponse(ctx, to, m); err != nil {
		c.log.Warn("socketio: cluster response failed", "nsp", m.Nsp, "type", int(t), "err", err)
	}
}

// recovering reports whether broadcasts carry bus offsets.
func (c *Cluster) recovering() bool { return c.offsets && c.nsp.Recovery() != nil }

// tag appends offset to an EVENT without acknowledgement that is not
// volatile, as Node's ClusterAdapter does when recovery is on.
func (c *Cluster) tag(p *parser.Packet, opts BroadcastOptions, offset string) *parser.Packet {
	if !c.recovering() || offset == "" || p.Type != parser.Event || p.HasID || opts.Flags.Volatile {
		return p
	}
	tagged := *p
	tagged.Args = append(slices.Clip(p.Args), offset)
	return &tagged
}

// Broadcast publishes p to the other nodes (unless Local), then sends it
// to the local sockets; a publishing error is logged, local delivery goes
// on (a bus outage must not stop a node).
func (c *Cluster) Broadcast(p *parser.Packet, opts BroadcastOptions) error {
	if c.recovering() {
		c.dmu.Lock()
		defer c.dmu.Unlock()
	}
	if !opts.Flags.Local {
		off, _ := c.publish(MsgBroadcast, &MessageData{Packet: EncodePacket(p), Opts: EncodeOptions(opts)})
		p = c.tag(p, opts, off)
	}
	return c.Memory.Broadcast(p, opts)
}

// BroadcastWithAck publishes p with a request id; the other nodes answer
// with their client counts and the acknowledgements, which are taken until
// the broadcast's timeout (the request timeout when it has none).
func (c *Cluster) BroadcastWithAck(p *parser.Packet, opts BroadcastOptions, clientCount func(int), ack func([]any)) error {
	if !opts.Flags.Local {
		id := RandomID(8)
		wait := opts.Flags.Timeout
		if wait <= 0 {
			wait = c.timeout
		}
		c.mu.Lock()
		c.acks[id] = &ackRequest{clientCount: clientCount, ack: ack, timer: time.AfterFunc(wait, func() {
			c.mu.Lock()
			delete(c.acks, id)
			c.mu.Unlock()
		})}
		c.mu.Unlock()
		_, _ = c.publish(MsgBroadcast, &MessageData{Packet: EncodePacket(p), Opts: EncodeOptions(opts), RequestID: id})
	}
	return c.Memory.BroadcastWithAck(p, opts, clientCount, ack)
}

// ServerCount asks the bus. When the bus cannot tell (an outage), it
// logs the error and returns the last count it gave, so that requests
// and broadcasts with acknowledgements time out instead of failing at once.
func (c *Cluster) ServerCount(ctx context.Context) (int, error) {
	n, err := c.bus.ServerCount(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.log.Warn("socketio: cluster server count failed", "nsp", c.nsp.Name(), "err", err, "assumed", c.lastCount)
		return c.lastCount, nil
	}
	n = max(n, 1) // this node counts, even when not subscribed yet
	c.lastCount = n
	return n, nil
}

func (c *Cluster) relay(t MessageType, opts BroadcastOptions, d *MessageData) {
	if !opts.Flags.Local {
		d.Opts = EncodeOptions(opts)
		_, _ = c.publish(t, d)
	}
}

// AddSockets makes the selected sockets of every node join rooms.
func (c *Cluster) AddSockets(opts BroadcastOptions, rooms []Room) error {
	c.relay(MsgSocketsJoin, opts, &MessageData{Rooms: nonNil(rooms)})
	return c.Memory.AddSockets(opts, rooms)
}

// DelSockets makes the selected sockets of every node leave rooms.
func (c *Cluster) DelSockets(opts BroadcastOptions, rooms []Room) error {
	c.relay(MsgSocketsLeave, opts, &MessageData{Rooms: nonNil(rooms)})
	return c.Memory.DelSockets(opts, rooms)
}

// DisconnectSockets disconnects the selected sockets of every node.
func (c *Cluster) DisconnectSockets(opts BroadcastOptions, close bool) error {
	c.relay(MsgDisconnectSockets, opts, &MessageData{Close: &close})
	return c.Memory.DisconnectSockets(opts, close)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ErrTimeoutReached reports a cluster request that did not get every
// answer; it wraps ErrTimeout.
type ErrTimeoutReached struct{ Got, Want int }

func (e *ErrTimeoutReached) Error() string {
	return fmt.Sprintf("timeout reached: only %d responses received out of %d", e.Got, e.Want)
}

func (e *ErrTimeoutReached) Unwrap() error { return ErrTimeout }

// request publishes a request that expects one response from each other
// node and waits for them, the timeout or ctx. A request that cannot be
// published ends at once with *ErrTimeoutReached.
func (c *Cluster) request(ctx context.Context, timeout time.Duration, t MessageType, d *MessageData, r *clusterRequest) error {
	n, _ := c.ServerCount(ctx)
	if r.expected = n - 1; r.expected <= 0 {
		return nil
	}
	if timeout <= 0 {
		timeout = c.timeout
	}
	id := RandomID(8)
	d.RequestID = id
	r.done = make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return &ErrTimeoutReached{Got: 0, Want: r.expected}
	}
	c.requests[id] = r
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.requests[id] == r {
			delete(c.requests, id)
		}
		c.mu.Unlock()
	}()
	if _, err := c.publish(t, d); err != nil {
		return &ErrTimeoutReached{Got: 0, Want: r.expected}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-r.done: // complete, or the adapter closed
	case <-timer.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	complete := r.current >= r.expected
	got := r.current
	c.mu.Unlock()
	if complete {
		<-r.done // the last response is being handled
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &ErrTimeoutReached{Got: got, Want: r.expected}
}

// FetchSockets returns the selected sockets of every node.
func (c *Cluster) FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketDetails, error) {
	local, _ := c.Memory.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	r := &clusterRequest{sockets: local}
	err := c.request(ctx, opts.Flags.Timeout, MsgFetchSockets, &MessageData{Opts: EncodeOptions(opts)}, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(r.sockets), err
}

// ServerSideEmit sends an event to the other nodes; with ack, it waits
// for one reply from each (ack gets each reply as a one-element slice).
func (c *Cluster) ServerSideEmit(ctx context.Context, event string, args []any, ack func([]any)) error {
	packet := append([]any{event}, args...)
	if ack == nil {
		_, err := c.publish(MsgServerSideEmit, &MessageData{Packet: packet})
		return err
	}
	return c.request(ctx, 0, MsgServerSideEmit, &MessageData{Packet: packet}, &clusterRequest{onReply: ack})
}

// Exclusive runs fn while no bus-offset broadcast is stored or delivered
// here (buses that keep sessions use it to attach a recovered socket).
func (c *Cluster) Exclusive(fn func()) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	fn()
}

// OnMessage handles a message from the bus; offset is its position in
// the bus ("" when the bus has none). The bus calls it for one message at
// a time, in order.
func (c *Cluster) OnMessage(m *ClusterMessage, offset string) { c.onMessage(m, offset, nil) }

// OnMessageSeen is OnMessage for a bus that keeps messages (streams):
// seen runs once the message is handled, in the same section as the
// delivery of a broadcast and exclusive with Exclusive, so that a bus
// attaching a socket in Exclusive knows exactly which of its messages
// were delivered before (those seen) and which will be after.
func (c *Cluster) OnMessageSeen(m *ClusterMessage, offset string, seen func()) {
	c.onMessage(m, offset, seen)
}

func (c *Cluster) onMessage(m *ClusterMessage, offset string, seen func()) {
	if seen != nil {
		isBroadcast := m.Type == MsgBroadcast && m.UID != c.uid && m.Nsp == c.nsp.Name() &&
			(m.Data == nil || m.Data.RequestID == "")
		if !isBroadcast || !c.recovering() {
			// Nothing to order with the attachment of sockets but seen.
			defer c.Exclusive(seen)
		} else {
			c.dmu.Lock()
			defer c.dmu.Unlock()
			defer seen()
		}
	}
	if m.UID == c.uid || m.Nsp != c.nsp.Name() {
		return
	}
	d := m.Data
	if d == nil {
		d = &MessageData{}
	}
	opts := d.Opts.Options()
	switch m.Type {
	case MsgBroadcast:
		wp, ok := d.Packet.(*WirePacket)
		if !ok {
			return
		}
		p, err := wp.Packet()
		if err != nil {
			c.log.Debug("socketio: cluster message dropped", "err", err)
			return
		}
		p.Namespace = c.nsp.Name()
		if d.RequestID == "" {
			p.HasID = false
			if c.recovering() && seen == nil {
				c.dmu.Lock()
				defer c.dmu.Unlock()
			}
			_ = c.Memory.Broadcast(c.tag(p, opts, offset), opts)
			return
		}
		p.ID, p.HasID = c.nsp.NextAckID(), true
		req, from := d.RequestID, m.UID
		_ = c.Memory.BroadcastWithAck(p, opts,
			func(n int) { c.respond(from, MsgBroadcastClientCount, &MessageData{RequestID: req, ClientCount: &n}) },
			func(args []any) { c.respond(from, MsgBroadcastAck, &MessageData{RequestID: req, Packet: first(args)}) })
	case MsgSocketsJoin:
		_ = c.Memory.AddSockets(opts, d.Rooms)
	case MsgSocketsLeave:
		_ = c.Memory.DelSockets(opts, d.Rooms)
	case MsgDisconnectSockets:
		_ = c.Memory.DisconnectSockets(opts, d.Close != nil && *d.Close)
	case MsgFetchSockets:
		local, _ := c.Memory.FetchSockets(context.Background(), opts)
		c.respond(m.UID, MsgFetchSocketsResponse, &MessageData{RequestID: d.RequestID, Sockets: nonNil(local)})
	case MsgServerSideEmit:
		data, _ := d.Packet.([]any)
		ev, args, err := splitEvent(data)
		if err != nil {
			return
		}
		var reply func([]any)
		if d.RequestID != "" {
			var once sync.Once
			req, from := d.RequestID, m.UID
			reply = func(a []any) {
				once.Do(func() { c.respond(from, MsgServerSideEmitResponse, &MessageData{RequestID: req, Packet: first(a)}) })
			}
		}
		c.sse.Push(func() { c.nsp.HandleServerSideEmit(ev, args, reply) })
	case MsgBroadcastClientCount, MsgBroadcastAck, MsgFetchSocketsResponse, MsgServerSideEmitResponse:
		c.onResponse(m.Type, d)
	}
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

func (c *Cluster) onResponse(t MessageType, d *MessageData) {
	c.mu.Lock()
	switch t {
	case MsgBroadcastClientCount, MsgBroadcastAck:
		a := c.acks[d.RequestID]
		c.mu.Unlock()
		if a == nil {
			return
		}
		if t == MsgBroadcastClientCount {
			if d.ClientCount != nil {
				a.clientCount(*d.ClientCount)
			}
		} else {
			a.ack([]any{d.Packet})
		}
		return
	}
	r := c.requests[d.RequestID]
	if r == nil || r.current >= r.expected {
		c.mu.Unlock()
		return
	}
	r.current++
	if t == MsgFetchSocketsResponse {
		r.sockets = append(r.sockets, d.Sockets...)
	}
	complete := r.current == r.expected
	if complete {
		// From now on only this call ends the request (not Close).
		delete(c.requests, d.RequestID)
	}
	onReply := r.onReply
	c.mu.Unlock()
	if t == MsgServerSideEmitResponse && onReply != nil {
		onReply([]any{d.Packet})
	}
	if complete {
		close(r.done)
	}
}

var _ Adapter = (*Cluster)(nil)
