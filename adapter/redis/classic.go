package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// NewAdapter returns the factory of the classic Redis adapter, for
// socketio.ServerOptions.Adapter: the adapter of @socket.io/redis-adapter
// 8.3 (createAdapter(pubClient, subClient, opts)), on the wire byte for
// byte, so Go and Node.js nodes can share a cluster.
//
// d publishes and answers NUMSUB; the factory opens one subscription
// connection with it for all the namespaces of the server, when the first
// namespace's adapter starts, and closes it when the last one closes. Use
// one factory per server: nodes are counted by their subscriptions.
func NewAdapter(d Driver, opts *Options) adapter.Factory {
	f := &classicFactory{
		d:        d,
		cfg:      newClassicConfig(opts),
		channels: make(map[string][]*ClassicAdapter),
		patterns: make(map[string][]*ClassicAdapter),
	}
	f.pub.d, f.pub.log, f.pub.timeout = d, f.cfg.log, f.cfg.timeout
	return func(nsp adapter.Namespace) adapter.Adapter { return f.newAdapter(nsp) }
}

// ErrClassicClosed is returned by the requests of an adapter that was
// closed while they waited.
var ErrClassicClosed = errors.New("socketio: redis adapter closed")

// RequestTimeoutError is returned when the other nodes do not all answer
// a FetchSockets or AllRooms request within Options.RequestTimeout; its
// text is that of Node.js. It wraps adapter.ErrTimeout (socketio.ErrTimeout).
// ServerSideEmit returns *adapter.ErrTimeoutReached instead, as Node.js.
type RequestTimeoutError struct {
	Op        string // "fetchSockets" or "allRooms"
	Got, Want int    // answers received and expected
}

func (e *RequestTimeoutError) Error() string {
	return "timeout reached while waiting for " + e.Op + " response"
}

func (e *RequestTimeoutError) Unwrap() error { return adapter.ErrTimeout }

// --- the factory: one subscription, one publishing queue --------------------

type classicFactory struct {
	d   Driver
	cfg classicConfig
	pub classicPublisher

	// subMu orders the (un)subscriptions of Init and Close.
	subMu sync.Mutex
	sub   Subscription
	open  int // adapters initialised and not closed

	// mu guards the routing tables, replaced (never changed in place) so
	// that a message is routed on a snapshot.
	mu       sync.Mutex
	channels map[string][]*ClassicAdapter
	patterns map[string][]*ClassicAdapter
}

func (f *classicFactory) newAdapter(nsp adapter.Namespace) *ClassicAdapter {
	mem, ok := adapter.NewMemory(nsp).(*adapter.Memory)
	if !ok {
		panic("socketio: redis: adapter.NewMemory is not *adapter.Memory")
	}
	uid := classicUID()
	name := nsp.Name()
	a := &ClassicAdapter{
		Memory:          mem,
		f:               f,
		nsp:             nsp,
		uid:             uid,
		channel:         f.cfg.key + "#" + name + "#",
		requestChannel:  f.cfg.key + "-request#" + name + "#",
		responseChannel: f.cfg.key + "-response#" + name + "#",
		requests:        make(map[string]*classicPending),
		acks:            make(map[string]*classicAckRequest),
		closed:          make(chan struct{}),
	}
	a.specificChannel = a.responseChannel + uid + "#"
	a.events.log = f.cfg.log
	return a
}

func (a *ClassicAdapter) subscriptions() (pattern string, channels []string) {
	return a.channel + "*", []string{a.requestChannel, a.responseChannel, a.specificChannel}
}

// attach routes a's channels to it and subscribes to them, opening the
// subscription connection for the first adapter.
func (f *classicFactory) attach(a *ClassicAdapter) error {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	if f.open == 0 {
		f.pub.start()
	}
	f.open++
	pattern, channels := a.subscriptions()
	f.mu.Lock()
	f.patterns = classicRoute(f.patterns, []string{pattern}, a, true)
	f.channels = classicRoute(f.channels, channels, a, true)
	f.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.timeout)
	defer cancel()
	patterns := []string{pattern}
	if f.sub == nil {
		sub, err := f.d.Subscribe(ctx, false, f.onMessage, f.onState)
		if err != nil {
			f.cfg.log.Warn("socketio: redis subscription failed", "nsp", a.nsp.Name(), "err", err)
			return fmt.Errorf("socketio: redis: subscribe: %w", err)
		}
		f.sub = sub
		// Adapters attached while the connection could not be opened
		// subscribe now.
		f.mu.Lock()
		patterns = slices.Sorted(maps.Keys(f.patterns))
		channels = slices.Sorted(maps.Keys(f.channels))
		f.mu.Unlock()
	}
	// The driver keeps the subscriptions of a failed call and makes them
	// when it reconnects: an error here is reported, not fatal.
	err := errors.Join(f.sub.PSubscribe(ctx, patterns...), f.sub.Subscribe(ctx, channels...))
	if err != nil {
		f.cfg.log.Warn("socketio: redis subscription failed", "nsp", a.nsp.Name(), "err", err)
		return fmt.Errorf("socketio: redis: subscribe: %w", err)
	}
	return nil
}

// classicPUnsubscriber is implemented by the subscriptions that can drop
// a pattern (the go-redis driver's does).
type classicPUnsubscriber interface {
	PUnsubscribe(ctx context.Context, patterns ...string) error
}

// detach unroutes a and unsubscribes from the channels no other adapter
// uses; the last adapter closes the subscription and flushes the
// publishing queue (for at most the request timeout).
func (f *classicFactory) detach(a *ClassicAdapter) error {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	pattern, channels := a.subscriptions()
	f.mu.Lock()
	f.patterns = classicRoute(f.patterns, []string{pattern}, a, false)
	f.channels = classicRoute(f.channels, channels, a, false)
	var unused []string
	for _, c := range channels {
		if len(f.channels[c]) == 0 && !slices.Contains(unused, c) {
			unused = append(unused, c)
		}
	}
	patternUnused := len(f.patterns[pattern]) == 0
	f.mu.Unlock()
	f.open--
	sub := f.sub
	if f.open > 0 {
		if sub == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.cfg.timeout)
		defer cancel()
		var errs []error
		if len(unused) > 0 {
			errs = append(errs, sub.Unsubscribe(ctx, unused...))
		}
		if pu, ok := sub.(classicPUnsubscriber); ok && patternUnused {
			errs = append(errs, pu.PUnsubscribe(ctx, pattern))
		}
		if err := errors.Join(errs...); err != nil {
			f.cfg.log.Debug("socketio: redis unsubscription failed", "nsp", a.nsp.Name(), "err", err)
		}
		return nil
	}
	f.sub = nil
	var err error
	if sub != nil {
		err = sub.Close()
	}
	f.pub.stop(f.cfg.timeout)
	return err
}

// classicRoute returns table with a added to (or removed from) the lists
// of keys, copying what it changes.
func classicRoute(table map[string][]*ClassicAdapter, keys []string, a *ClassicAdapter, add bool) map[string][]*ClassicAdapter {
	out := make(map[string][]*ClassicAdapter, len(table)+len(keys))
	maps.Copy(out, table)
	for _, k := range keys {
		list := out[k]
		if add {
			if !slices.Contains(list, a) {
				out[k] = append(slices.Clip(list), a)
			}
			continue
		}
		list = slices.DeleteFunc(slices.Clone(list), func(x *ClassicAdapter) bool { return x == a })
		if len(list) == 0 {
			delete(out, k)
		} else {
			out[k] = list
		}
	}
	return out
}

// onMessage routes a message of the subscription (one at a time, in
// order, on the driver's goroutine).
func (f *classicFactory) onMessage(m Message) {
	f.mu.Lock()
	var targets []*ClassicAdapter
	if m.Pattern != "" {
		targets = f.patterns[m.Pattern]
	} else {
		targets = f.channels[m.Channel]
	}
	f.mu.Unlock()
	for _, a := range targets {
		a.handle(m)
	}
}

func (f *classicFactory) onState(err error) {
	if err != nil {
		f.cfg.log.Warn("socketio: redis subscription lost", "err", err)
	} else {
		f.cfg.log.Info("socketio: redis subscription restored")
	}
	if f.cfg.onState != nil {
		f.cfg.onState(err == nil, err)
	}
}

// --- the adapter -----------------------------------------------------------

// ClassicAdapter is the adapter of one namespace made by NewAdapter. It
// embeds the in-memory adapter, which keeps the local rooms (and the
// local connection state recovery, when on). Its methods are safe for
// concurrent use.
type ClassicAdapter struct {
	*adapter.Memory
	f   *classicFactory
	nsp adapter.Namespace
	uid string

	channel, requestChannel, responseChannel, specificChannel string

	events classicHandlers // server-side events, off the subscription goroutine

	mu       sync.Mutex
	state    int // 0 new, 1 started, 2 closed
	requests map[string]*classicPending
	acks     map[string]*classicAckRequest
	closed   chan struct{} // closed by Close
}

const (
	classicNew = iota
	classicStarted
	classicClosed
)

// classicPending is a request waiting for the answers of the other nodes.
type classicPending struct {
	typ       classicType
	want, got int
	sockets   []adapter.SocketDetails // REMOTE_FETCH
	rooms     []string                // ALL_ROOMS
	onReply   func(args []any)        // SERVER_SIDE_EMIT
	done      chan struct{}           // closed when got reaches want
}

// classicAckRequest takes the counts and acknowledgements of the other
// nodes for a broadcast, until its timer forgets it.
type classicAckRequest struct {
	clientCount func(int)
	ack         func([]any)
	timer       *time.Timer
}

// UID returns the 6-character id of this node's adapter, in its messages.
func (a *ClassicAdapter) UID() string { return a.uid }

// Init subscribes to the namespace's channels. A Redis error is returned
// (the server logs it) but the adapter works: the subscriptions are made
// when Redis is back.
func (a *ClassicAdapter) Init() error {
	a.mu.Lock()
	if a.state != classicNew {
		a.mu.Unlock()
		return nil
	}
	a.state = classicStarted
	a.mu.Unlock()
	return a.f.attach(a)
}

// Close unsubscribes, ends the requests waiting (with ErrClassicClosed)
// and the acknowledgement bookkeeping, and waits for the server-side event
// handlers it started. The last adapter of the factory closes the
// subscription connection.
func (a *ClassicAdapter) Close() error {
	a.mu.Lock()
	if a.state == classicClosed {
		a.mu.Unlock()
		return nil
	}
	started := a.state == classicStarted
	a.state = classicClosed
	close(a.closed)
	for id, r := range a.acks {
		r.timer.Stop()
		delete(a.acks, id)
	}
	a.mu.Unlock()
	// The handlers' replies are queued before the last adapter flushes
	// the publishing queue.
	a.events.close()
	if started {
		return a.f.detach(a)
	}
	return nil
}

func (a *ClassicAdapter) isOpen() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state == classicStarted
}

func (a *ClassicAdapter) publish(channel string, payload []byte) {
	a.f.pub.push(channel, payload)
}

// publishValue encodes v (JSON, or MessagePack when binary) and publishes
// it; an encoding error is logged.
func (a *ClassicAdapter) publishValue(channel string, v any, binary bool) {
	b, err := classicEncode(v, binary)
	if err != nil {
		a.f.cfg.log.Warn("socketio: redis message not encodable", "nsp", a.nsp.Name(), "err", err)
		return
	}
	a.publish(channel, b)
}

// Broadcast publishes p to the other nodes (unless Local) on the channel
// of the namespace, or of the room when it targets exactly one, then
// sends it to the local sockets. Publishing never blocks: Redis errors,
// and a packet MessagePack cannot hold, are logged and local delivery goes
// on (as the cluster adapters do).
func (a *ClassicAdapter) Broadcast(p *parser.Packet, opts adapter.BroadcastOptions) error {
	if !opts.Flags.Local {
		b, err := classicEncodeBroadcast(a.uid, p, a.nsp.Name(), opts)
		if err != nil {
			a.f.cfg.log.Warn("socketio: redis message not encodable", "nsp", a.nsp.Name(), "err", err)
		} else {
			channel := a.channel
			if rooms := classicUnique(opts.Rooms); len(rooms) == 1 {
				channel += rooms[0] + "#"
			}
			a.publish(channel, b)
		}
	}
	return a.Memory.Broadcast(p, opts)
}

// BroadcastWithAck publishes p as a BROADCAST request (MessagePack) and
// sends it to the local sockets; the other nodes answer with their client
// counts and their clients' acknowledgements (the first argument of each,
// as Node.js), taken until opts.Flags.Timeout (Options.RequestTimeout
// when it is 0).
func (a *ClassicAdapter) BroadcastWithAck(p *parser.Packet, opts adapter.BroadcastOptions, clientCount func(int), ack func([]any)) error {
	if !opts.Flags.Local {
		id := classicUID()
		b, err := msgpack.Marshal(&classicBroadcastRequest{
			UID: a.uid, RequestID: id, Type: classicBroadcast,
			Packet: classicWirePacket(p, a.nsp.Name()), Opts: classicWireOptions(opts),
		})
		if err != nil {
			return fmt.Errorf("socketio: redis: broadcast: %w", err)
		}
		wait := opts.Flags.Timeout
		if wait <= 0 {
			wait = a.f.cfg.timeout
		}
		a.mu.Lock()
		if a.state != classicClosed {
			a.acks[id] = &classicAckRequest{clientCount: clientCount, ack: ack, timer: time.AfterFunc(wait, func() {
				a.mu.Lock()
				delete(a.acks, id)
				a.mu.Unlock()
			})}
		}
		a.mu.Unlock()
		a.publish(a.requestChannel, b)
	}
	return a.Memory.BroadcastWithAck(p, opts, clientCount, ack)
}

// ServerCount returns the number of subscribers of the namespace's
// request channel (PUBSUB NUMSUB): one per node.
func (a *ClassicAdapter) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.f.cfg.timeout)
	defer cancel()
	n, err := a.f.d.NumSub(ctx, a.requestChannel, false)
	if err != nil {
		return 0, fmt.Errorf("socketio: redis: serverCount: %w", err)
	}
	return n, nil
}

// AddSockets makes the selected sockets of every node join rooms. The
// local ones join at once (a Node.js node waits for its own request to
// come back from Redis).
func (a *ClassicAdapter) AddSockets(opts adapter.BroadcastOptions, rooms []adapter.Room) error {
	if !opts.Flags.Local {
		a.publishValue(a.requestChannel, &classicRoomsRequest{UID: a.uid, Type: classicRemoteJoin, Opts: classicOpts(opts), Rooms: classicNonNil(rooms)}, false)
	}
	return a.Memory.AddSockets(opts, rooms)
}

// DelSockets makes the selected sockets of every node leave rooms.
func (a *ClassicAdapter) DelSockets(opts adapter.BroadcastOptions, rooms []adapter.Room) error {
	if !opts.Flags.Local {
		a.publishValue(a.requestChannel, &classicRoomsRequest{UID: a.uid, Type: classicRemoteLeave, Opts: classicOpts(opts), Rooms: classicNonNil(rooms)}, false)
	}
	return a.Memory.DelSockets(opts, rooms)
}

// DisconnectSockets disconnects the selected sockets of every node.
func (a *ClassicAdapter) DisconnectSockets(opts adapter.BroadcastOptions, close bool) error {
	if !opts.Flags.Local {
		a.publishValue(a.requestChannel, &classicDisconnectRequest{UID: a.uid, Type: classicRemoteDisconnect, Opts: classicOpts(opts), Close: close}, false)
	}
	return a.Memory.DisconnectSockets(opts, close)
}

// FetchSockets returns the selected sockets of every node. It waits for
// an answer from each other node for opts.Flags.Timeout, or
// Options.RequestTimeout when that is 0, and returns what it got with a
// *RequestTimeoutError when some are missing.
func (a *ClassicAdapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketDetails, error) {
	local, _ := a.Memory.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	r := &classicPending{typ: classicRemoteFetch, sockets: local}
	err := a.request(ctx, opts.Flags.Timeout, r, func(id string) ([]byte, error) {
		return classicJSON(&classicFetchRequest{UID: a.uid, RequestID: id, Type: classicRemoteFetch, Opts: classicOpts(opts)})
	}, func(got, want int) error {
		return &RequestTimeoutError{Op: "fetchSockets", Got: got, Want: want}
	})
	a.mu.Lock()
	out := slices.Clone(r.sockets)
	a.mu.Unlock()
	return out, err
}

// AllRooms returns the rooms of every node, as allRooms() of Node.js:
// with the sockets' own rooms (their ids), unlike Rooms.
func (a *ClassicAdapter) AllRooms(ctx context.Context) ([]adapter.Room, error) {
	r := &classicPending{typ: classicAllRooms, rooms: a.localRooms()}
	err := a.request(ctx, 0, r, func(id string) ([]byte, error) {
		return classicJSON(&classicAllRoomsRequest{UID: a.uid, RequestID: id, Type: classicAllRooms})
	}, func(got, want int) error {
		return &RequestTimeoutError{Op: "allRooms", Got: got, Want: want}
	})
	a.mu.Lock()
	out := slices.Clone(r.rooms)
	a.mu.Unlock()
	slices.Sort(out)
	return slices.Compact(out), err
}

// localRooms returns the local rooms, the sockets' own included.
func (a *ClassicAdapter) localRooms() []adapter.Room {
	rooms := a.Memory.Rooms()
	for _, s := range a.nsp.LocalSockets() {
		rooms = append(rooms, s.ID())
	}
	slices.Sort(rooms)
	return slices.Compact(rooms)
}

// ServerSideEmit sends an event to the other nodes. With ack, it waits for
// one reply from each (ack gets each as a one-element slice, nil when the
// reply has no argument) for Options.RequestTimeout, bounded by ctx, and
// returns *adapter.ErrTimeoutReached when some are missing.
func (a *ClassicAdapter) ServerSideEmit(ctx context.Context, event string, args []any, ack func([]any)) error {
	data := append([]any{event}, args...)
	binary := adapter.HasBinary(args)
	if ack == nil {
		a.publishValue(a.requestChannel, &classicEmitRequest{UID: a.uid, Type: classicServerSideEmit, Data: data}, binary)
		return nil
	}
	r := &classicPending{typ: classicServerSideEmit, onReply: ack}
	return a.request(ctx, 0, r, func(id string) ([]byte, error) {
		b, err := classicEncode(&classicEmitRequest{UID: a.uid, RequestID: id, Type: classicServerSideEmit, Data: data}, binary)
		if err != nil {
			return nil, fmt.Errorf("socketio: redis: serverSideEmit: %w", err)
		}
		return b, nil
	}, func(got, want int) error {
		return &adapter.ErrTimeoutReached{Got: got, Want: want}
	})
}

// request asks every other node: it publishes the request encode makes
// with a new id and waits for their answers, the timeout
// (Options.RequestTimeout when 0), ctx or Close. Alone in the cluster, it
// returns at once; so it does when the nodes cannot be counted, with the
// error of ServerCount.
func (a *ClassicAdapter) request(ctx context.Context, timeout time.Duration, r *classicPending, encode func(id string) ([]byte, error), timedOut func(got, want int) error) error {
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return err
	}
	id := classicUID()
	payload, err := encode(id)
	if err != nil {
		return err
	}
	r.want = n - 1
	if timeout <= 0 {
		timeout = a.f.cfg.timeout
	}
	r.done = make(chan struct{})
	a.mu.Lock()
	if a.state == classicClosed {
		a.mu.Unlock()
		return ErrClassicClosed
	}
	a.requests[id] = r
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.requests, id)
		a.mu.Unlock()
	}()
	a.publish(a.requestChannel, payload)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-r.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
		err = ctx.Err()
	case <-a.closed:
		err = ErrClassicClosed
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.got >= r.want {
		return nil
	}
	if err == nil {
		err = timedOut(r.got, r.want)
	}
	return err
}

// --- receiving ---------------------------------------------------------------

// handle processes a message routed to a. A panic of the application's
// code it reaches (hooks) is logged, not propagated to the subscription.
func (a *ClassicAdapter) handle(m Message) {
	if !a.isOpen() {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			a.f.cfg.log.Error("socketio: redis message handler panic", "nsp", a.nsp.Name(), "channel", m.Channel, "panic", v)
		}
	}()
	switch {
	case m.Pattern != "":
		a.onBroadcast(m.Channel, m.Payload)
	case m.Channel == a.requestChannel:
		a.onRequest(m.Payload)
	case strings.HasPrefix(m.Channel, a.responseChannel):
		a.onResponse(m.Payload)
	}
}

func (a *ClassicAdapter) drop(what string, err error) {
	a.f.cfg.log.Debug("socketio: redis message dropped", "nsp", a.nsp.Name(), "kind", what, "err", err)
}

// onBroadcast handles a message of the namespace's pattern: a broadcast
// from another node, sent to the local sockets.
func (a *ClassicAdapter) onBroadcast(channel string, payload []byte) {
	rest, ok := strings.CutPrefix(channel, a.channel)
	if !ok {
		return
	}
	if rest != "" {
		room := rest[:len(rest)-1] // the trailing '#'
		if room != "" && !a.Memory.HasRoom(room) {
			return // no local member: nothing to decode
		}
	}
	uid, p, opts, err := classicDecodeBroadcast(payload)
	if err != nil {
		a.drop("broadcast", err)
		return
	}
	if uid == a.uid || p == nil || p.Namespace != a.nsp.Name() {
		return
	}
	o := opts.Options()
	o.Flags.Local, o.Flags.Timeout = false, 0
	_ = a.Memory.Broadcast(p, o)
}

// respond publishes the answer to req on the shared response channel, or
// on the requester's own with PublishOnSpecificResponseChannel.
func (a *ClassicAdapter) respond(req *classicRequest, v any, binary bool) {
	channel := a.responseChannel
	if a.f.cfg.specificChannel && req.UID != "" {
		channel += req.UID + "#"
	}
	a.publishValue(channel, v, binary)
}

// classicRequestOptions returns the rooms and except of a request's
// options: Node.js ignores the flags of requests.
func classicRequestOptions(w *adapter.WireOptions) adapter.BroadcastOptions {
	return adapter.BroadcastOptions{Rooms: w.Rooms, Except: w.Except}
}

func (a *ClassicAdapter) hasRequest(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[id] != nil || a.acks[id] != nil
}

// onRequest handles a message of the request channel.
func (a *ClassicAdapter) onRequest(payload []byte) {
	req, err := classicDecodeRequest(payload)
	if err != nil {
		a.drop("request", err)
		return
	}
	if req.Type == nil {
		a.drop("request", classicBad("request without a type"))
		return
	}
	// Requests of this node were carried out when made; Node.js does
	// some of them only when they come back.
	if req.UID == a.uid || (req.RequestID != "" && a.hasRequest(req.RequestID)) {
		return
	}
	switch t := classicType(*req.Type); t {
	case classicSockets:
		ids := a.Memory.Sockets(req.Rooms)
		a.respond(req, &classicSocketIDsResponse{RequestID: req.RequestID, Sockets: classicNonNil(ids)}, false)

	case classicAllRooms:
		a.respond(req, &classicRoomsResponse{RequestID: req.RequestID, Rooms: classicNonNil(a.localRooms())}, false)

	case classicRemoteJoin, classicRemoteLeave, classicRemoteDisconnect:
		if req.Opts != nil {
			opts := classicRequestOptions(req.Opts)
			switch t {
			case classicRemoteJoin:
				_ = a.Memory.AddSockets(opts, req.Rooms)
			case classicRemoteLeave:
				_ = a.Memory.DelSockets(opts, req.Rooms)
			default:
				_ = a.Memory.DisconnectSockets(opts, req.Close)
			}
			return
		}
		// The legacy form: one socket by id, and an answer.
		s, ok := a.nsp.LocalSocket(req.SID)
		if !ok {
			return
		}
		switch t {
		case classicRemoteJoin:
			a.nsp.Join(req.SID, []adapter.Room{req.Room})
		case classicRemoteLeave:
			a.nsp.Leave(req.SID, req.Room)
		default:
			s.Disconnect(req.Close)
		}
		a.respond(req, &classicDoneResponse{RequestID: req.RequestID}, false)

	case classicRemoteFetch:
		if req.Opts == nil {
			a.drop("request", classicBad("REMOTE_FETCH without options"))
			return
		}
		local, _ := a.Memory.FetchSockets(context.Background(), classicRequestOptions(req.Opts))
		binary := slices.ContainsFunc(local, func(s adapter.SocketDetails) bool { return adapter.HasBinary(s.Data) })
		a.respond(req, &classicFetchResponse{RequestID: req.RequestID, Sockets: classicNonNil(local)}, binary)

	case classicServerSideEmit:
		a.onServerSideEmit(req)

	case classicBroadcast:
		a.onBroadcastWithAck(req)

	default:
		a.drop("request", classicBad("request of type %d", t))
	}
}

// onServerSideEmit hands an event of another node to the namespace, on a
// goroutine (its handlers may wait for the cluster).
func (a *ClassicAdapter) onServerSideEmit(req *classicRequest) {
	data, err := req.Data.args()
	if err != nil {
		a.drop("request", err)
		return
	}
	ev, args, err := classicEvent(data)
	if err != nil {
		a.drop("request", err)
		return
	}
	var reply func([]any)
	if req.RequestID != "" {
		var once sync.Once
		id := req.RequestID
		reply = func(r []any) {
			once.Do(func() {
				// As Node.js: always on the shared response channel.
				var v any = &classicEmitResponseEmpty{Type: classicServerSideEmit, RequestID: id}
				binary := false
				if len(r) > 0 {
					v = &classicEmitResponse{Type: classicServerSideEmit, RequestID: id, Data: r[0]}
					binary = adapter.HasBinary(r[0])
				}
				a.publishValue(a.responseChannel, v, binary)
			})
		}
	}
	a.events.do(func() { a.nsp.HandleServerSideEmit(ev, args, reply) })
}

// onBroadcastWithAck sends the packet of another node's BROADCAST request
// to the local sockets, with a local ack id, and answers with the client
// count then each acknowledgement's first argument.
func (a *ClassicAdapter) onBroadcastWithAck(req *classicRequest) {
	if req.Opts == nil {
		a.drop("request", classicBad("BROADCAST without options"))
		return
	}
	p, err := req.Packet.packet()
	if err != nil {
		a.drop("request", err)
		return
	}
	p.Namespace = a.nsp.Name()
	p.ID, p.HasID = a.nsp.NextAckID(), true
	_ = a.Memory.BroadcastWithAck(p, classicRequestOptions(req.Opts),
		func(n int) {
			a.respond(req, &classicClientCountResponse{Type: classicBroadcastClientCount, RequestID: req.RequestID, ClientCount: n}, false)
		},
		func(args []any) {
			var v any = &classicAckResponseEmpty{Type: classicBroadcastAck, RequestID: req.RequestID}
			if len(args) > 0 {
				v = &classicAckResponse{Type: classicBroadcastAck, RequestID: req.RequestID, Packet: args[0]}
			}
			a.respond(req, v, true)
		})
}

// onResponse handles a message of a response channel: the answers to
// this node's requests (those of others are ignored).
func (a *ClassicAdapter) onResponse(payload []byte) {
	res, err := classicDecodeResponse(payload)
	if err != nil {
		a.drop("response", err)
		return
	}
	if res.RequestID == "" {
		return
	}
	a.mu.Lock()
	if ack := a.acks[res.RequestID]; ack != nil {
		a.mu.Unlock()
		if res.Type == nil {
			return
		}
		switch classicType(*res.Type) {
		case classicBroadcastClientCount:
			if res.ClientCount != nil && *res.ClientCount >= 0 {
				ack.clientCount(*res.ClientCount)
			}
		case classicBroadcastAck:
			if v := res.Packet.value(); v != nil {
				ack.ack([]any{v})
			} else {
				ack.ack([]any{})
			}
		}
		return
	}
	r := a.requests[res.RequestID]
	if r == nil {
		a.mu.Unlock()
		return
	}
	typ := r.typ
	a.mu.Unlock()

	// Decode outside the lock, then count the answer.
	var (
		sockets []adapter.SocketDetails
		reply   []any
	)
	switch typ {
	case classicRemoteFetch:
		if !res.Sockets.null() {
			if err := res.Sockets.decode(&sockets); err != nil {
				a.drop("response", classicBad("sockets: %v", err))
				sockets = nil
			}
		}
	case classicServerSideEmit:
		reply = []any{res.Data.value()}
	}

	a.mu.Lock()
	if a.requests[res.RequestID] != r || r.got >= r.want {
		a.mu.Unlock()
		return
	}
	r.got++
	r.sockets = append(r.sockets, sockets...)
	if typ == classicAllRooms {
		r.rooms = append(r.rooms, res.Rooms...)
	}
	complete := r.got == r.want
	a.mu.Unlock()
	if reply != nil && r.onReply != nil {
		r.onReply(reply)
	}
	if complete {
		close(r.done)
	}
}

// --- the server-side event handlers ---------------------------------------------

// classicMaxHandlers bounds the server-side event handlers running at
// once; past it events are dropped (and logged).
const classicMaxHandlers = 1024

// classicHandlers runs each server-side event handler on a goroutine of
// its own: a handler may wait for the cluster (ServerSideEmitWithAck,
// FetchSockets) whose answers come on the subscription's goroutine, and
// for another node's handler that waits too. They start in the order the
// events came but may run in any order.
type classicHandlers struct {
	log *slog.Logger

	mu      sync.Mutex
	running int
	closed  bool
	wg      sync.WaitGroup
}

func (h *classicHandlers) do(fn func()) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	if h.running >= classicMaxHandlers {
		h.mu.Unlock()
		h.log.Warn("socketio: redis server-side event dropped: too many handlers running")
		return
	}
	h.running++
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		defer func() {
			if v := recover(); v != nil {
				h.log.Error("socketio: redis server-side event handler panic", "panic", v)
			}
			h.mu.Lock()
			h.running--
			h.mu.Unlock()
		}()
		fn()
	}()
}

// close refuses new handlers and waits for the running ones.
func (h *classicHandlers) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.wg.Wait()
}

// --- the publishing queue ---------------------------------------------------------

// classicMaxPending bounds the bytes waiting to be published; past it
// messages are dropped (and logged), as during a long Redis outage.
const classicMaxPending = 16 << 20

type classicOutgoing struct {
	channel string
	payload []byte
}

// classicPublisher publishes messages in order on a goroutine that exists
// only while some wait, so that no caller (a broadcast, an acknowledgement
// on a client's read loop, the subscription's goroutine) ever waits for
// Redis.
type classicPublisher struct {
	d       Driver
	log     *slog.Logger
	timeout time.Duration

	mu       sync.Mutex
	stopped  bool
	queue    []classicOutgoing
	bytes    int
	running  bool
	idle     chan struct{} // closed when the running goroutine ends
	ctx      context.Context
	cancel   context.CancelFunc
	failing  bool // the last publish failed
	dropping bool // the last push was dropped
}

// start makes the publisher take messages (again).
func (p *classicPublisher) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = false
	if p.ctx == nil {
		p.ctx, p.cancel = context.WithCancel(context.Background())
	}
}

func (p *classicPublisher) push(channel string, payload []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.ctx == nil {
		return
	}
	if p.bytes+len(payload) > classicMaxPending {
		if !p.dropping {
			p.log.Warn("socketio: redis messages dropped: too many waiting to be published", "channel", channel)
		}
		p.dropping = true
		return
	}
	p.dropping = false
	p.queue = append(p.queue, classicOutgoing{channel, payload})
	p.bytes += len(payload)
	if !p.running {
		p.running = true
		p.idle = make(chan struct{})
		go p.run(p.ctx, p.idle)
	}
}

func (p *classicPublisher) run(ctx context.Context, idle chan struct{}) {
	defer close(idle)
	for {
		p.mu.Lock()
		if len(p.queue) == 0 || ctx.Err() != nil {
			p.running = false
			p.queue, p.bytes = nil, 0
			p.mu.Unlock()
			return
		}
		m := p.queue[0]
		p.queue[0] = classicOutgoing{}
		p.queue = p.queue[1:]
		p.bytes -= len(m.payload)
		p.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		err := p.d.Publish(cctx, m.channel, m.payload, false)
		cancel()

		p.mu.Lock()
		switch {
		case err != nil && !p.failing:
			p.failing = true
			p.log.Warn("socketio: redis publish failed", "channel", m.channel, "err", err)
		case err != nil:
			p.log.Debug("socketio: redis publish failed", "channel", m.channel, "err", err)
		case p.failing:
			p.failing = false
			p.log.Info("socketio: redis publish works again")
		}
		p.mu.Unlock()
	}
}

// stop refuses new messages and waits for the queued ones to be
// published, for at most wait; then it gives up on them.
func (p *classicPublisher) stop(wait time.Duration) {
	p.mu.Lock()
	p.stopped = true
	running, idle, cancel := p.running, p.idle, p.cancel
	p.ctx, p.cancel = nil, nil
	p.mu.Unlock()
	if cancel == nil {
		return
	}
	if running {
		t := time.NewTimer(wait)
		select {
		case <-idle:
		case <-t.C:
			cancel()
			<-idle
		}
		t.Stop()
	}
	cancel()
}

var _ adapter.Adapter = (*ClassicAdapter)(nil)
