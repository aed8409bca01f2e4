package redis

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-sio/socketio/adapter"
)

// SubscriptionMode is how many sharded channels the sharded adapter
// subscribes to, as the subscriptionMode option of createShardedAdapter.
type SubscriptionMode int

const (
	// Dynamic (the default) adds to the two channels of each namespace
	// one channel per public room (a room that is not a socket id): a
	// broadcast to one such room reaches only the nodes that have it.
	Dynamic SubscriptionMode = iota
	// DynamicPrivate also has a channel per socket id room, for much 1:1
	// messaging (socket.to(id).emit).
	DynamicPrivate
	// Static has only the two channels of each namespace (fit for
	// dynamic namespaces).
	Static
)

// String returns the name Node uses for the mode.
func (m SubscriptionMode) String() string {
	switch m {
	case DynamicPrivate:
		return "dynamic-private"
	case Static:
		return "static"
	}
	return "dynamic"
}

// ShardedOptions configure the sharded adapter (NewShardedAdapter), as the
// options of createShardedAdapter in @socket.io/redis-adapter. A nil
// *ShardedOptions, or a zero field, means the default the field names.
type ShardedOptions struct {
	// ChannelPrefix starts every channel: "<prefix>#<nsp>#". Default
	// "socket.io".
	ChannelPrefix string
	// SubscriptionMode: Dynamic (default), DynamicPrivate or Static.
	SubscriptionMode SubscriptionMode
	// RequestTimeout bounds FetchSockets and ServerSideEmit with an
	// acknowledgement (when neither the flags nor the context do), keeps
	// the acknowledgements of a BroadcastWithAck without a timeout of its
	// own, and bounds each command sent to Redis. Default 5s.
	RequestTimeout time.Duration
	// Logger receives the publishing failures and the loss of the
	// subscription (Warn), its return (Info), and the messages dropped
	// because they do not decode (Debug). Default: nothing is logged.
	Logger *slog.Logger
	// OnRedisState, when set, is called when the subscription connection
	// is lost (false, with the error) and when it is back and subscribed
	// again (true, nil). It must not block. Default: none.
	OnRedisState func(up bool, err error)
}

const (
	shardedDefaultPrefix  = "socket.io"
	shardedDefaultTimeout = 5 * time.Second
)

// NewShardedAdapter returns the factory of the adapter that spreads
// namespaces over nodes with Redis sharded pub/sub (Redis 7 or later),
// wire-compatible with createShardedAdapter of @socket.io/redis-adapter
// 8.3: Go and Node.js nodes can share a cluster.
//
// The namespaces of a factory share one subscription connection, opened
// with the first namespace and closed with the last.
func NewShardedAdapter(d Driver, opts *ShardedOptions) adapter.Factory {
	var o ShardedOptions
	if opts != nil {
		o = *opts
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = shardedDefaultPrefix
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = shardedDefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &shardedFactory{d: d, o: o}
	f.hubs = hubRef{
		open: func() *subHub {
			return newSubHub(d, true, o.RequestTimeout, o.Logger, newStateReporter(o.Logger, o.OnRedisState).report)
		},
	}
	return func(nsp adapter.Namespace) adapter.Adapter { return f.newAdapter(nsp) }
}

type shardedFactory struct {
	d    Driver
	o    ShardedOptions
	hubs hubRef
}

// ShardedAdapter is the adapter of one namespace made by
// NewShardedAdapter: the cluster adapter of the core over sharded pub/sub.
type ShardedAdapter struct {
	*adapter.Cluster
	f        *shardedFactory
	nsp      adapter.Namespace
	hub      *subHub
	channel  string // <prefix>#<nsp>#
	response string // <prefix>#<nsp>#<uid>#

	// rmu orders the room changes, and guards what follows: the local
	// members of each room and the room channels subscribed.
	rmu     sync.Mutex
	members map[adapter.Room]int
	subs    map[string]bool // room channels subscribed
	closed  bool
}

func (f *shardedFactory) newAdapter(nsp adapter.Namespace) *ShardedAdapter {
	a := &ShardedAdapter{
		f:       f,
		nsp:     nsp,
		channel: f.o.ChannelPrefix + "#" + nsp.Name() + "#",
		members: make(map[adapter.Room]int),
		subs:    make(map[string]bool),
	}
	a.Cluster = adapter.NewCluster(nsp, shardedBus{a}, &adapter.ClusterOptions{
		RequestTimeout: f.o.RequestTimeout,
		Logger:         f.o.Logger,
	})
	a.response = a.channel + a.UID() + "#"
	return a
}

// Init subscribes to the channels of the namespace. It waits, at most
// the request timeout, for Redis to confirm; without Redis it logs the
// failure and returns nil: the subscription is made when Redis is back.
func (a *ShardedAdapter) Init() error {
	a.rmu.Lock()
	if a.hub != nil || a.closed {
		a.rmu.Unlock()
		return nil
	}
	a.hub = a.f.hubs.acquire()
	a.rmu.Unlock()
	a.hub.add(a, a.onRaw, a.channel, a.response)
	ctx, cancel := context.WithTimeout(context.Background(), a.f.o.RequestTimeout)
	defer cancel()
	if err := a.hub.flush(ctx); err != nil {
		a.f.o.Logger.Warn("socketio: redis sharded subscription not confirmed", "nsp", a.nsp.Name(), "err", err)
	}
	return nil
}

// Close unsubscribes the namespace's channels (the connection closes
// with the last namespace of the factory) and ends pending requests.
func (a *ShardedAdapter) Close() error {
	a.rmu.Lock()
	if a.closed {
		a.rmu.Unlock()
		return nil
	}
	a.closed = true
	hub := a.hub
	a.rmu.Unlock()
	err := a.Cluster.Close()
	if hub != nil {
		a.f.hubs.release(hub, a)
	}
	return err
}

// --- rooms -------------------------------------------------------------------

// roomChannel returns the channel of a room.
func (a *ShardedAdapter) roomChannel(room adapter.Room) string { return a.channel + room + "#" }

// ownChannel reports whether room gets a channel of its own, in a mode
// that has room channels: every room in DynamicPrivate, the rooms that
// are not a local socket's id in Dynamic (as Node decides it).
func (a *ShardedAdapter) ownChannel(room adapter.Room, sid adapter.SocketID) bool {
	switch a.f.o.SubscriptionMode {
	case DynamicPrivate:
		return true
	case Dynamic:
		if room == sid {
			return false
		}
		_, isSocket := a.nsp.LocalSocket(room)
		return !isSocket
	}
	return false
}

// created and deleted follow the life of a room (rmu held).
func (a *ShardedAdapter) created(room adapter.Room, sid adapter.SocketID) {
	if a.closed || a.hub == nil || !a.ownChannel(room, sid) {
		return
	}
	ch := a.roomChannel(room)
	if !a.subs[ch] {
		a.subs[ch] = true
		a.hub.add(a, a.onRaw, ch)
	}
}

func (a *ShardedAdapter) deleted(room adapter.Room) {
	ch := a.roomChannel(room)
	if a.subs[ch] {
		delete(a.subs, ch)
		if a.hub != nil {
			a.hub.remove(a, ch)
		}
	}
}

// AddAll puts a local socket in rooms, subscribing to the channel of each
// room it creates (Dynamic, DynamicPrivate). In DynamicPrivate a socket's
// own room counts as a room: it is created when the namespace adds the
// socket to it, or when the socket first joins a room.
func (a *ShardedAdapter) AddAll(id adapter.SocketID, rooms []adapter.Room) {
	if a.f.o.SubscriptionMode == Static {
		a.Cluster.AddAll(id, rooms)
		return
	}
	a.rmu.Lock()
	defer a.rmu.Unlock()
	before := a.Cluster.SocketRooms(id)[1:]
	var added []adapter.Room
	for _, r := range rooms {
		if r == id || slices.Contains(before, r) || slices.Contains(added, r) {
			continue
		}
		added = append(added, r)
	}
	a.Cluster.AddAll(id, rooms)
	if a.f.o.SubscriptionMode == DynamicPrivate {
		a.created(id, id)
	}
	for _, r := range added {
		a.members[r]++
		if a.members[r] == 1 {
			a.created(r, id)
		}
	}
}

// Del takes a local socket out of room, unsubscribing from the room's
// channel when it was its last member.
func (a *ShardedAdapter) Del(id adapter.SocketID, room adapter.Room) {
	if a.f.o.SubscriptionMode == Static {
		a.Cluster.Del(id, room)
		return
	}
	a.rmu.Lock()
	defer a.rmu.Unlock()
	if room == id {
		a.deleted(id)
		return
	}
	was := slices.Contains(a.Cluster.SocketRooms(id)[1:], room)
	a.Cluster.Del(id, room)
	if was {
		a.leftRoom(room)
	}
}

func (a *ShardedAdapter) leftRoom(room adapter.Room) {
	if a.members[room]--; a.members[room] <= 0 {
		delete(a.members, room)
		a.deleted(room)
	}
}

// DelAll takes a local socket out of all its rooms.
func (a *ShardedAdapter) DelAll(id adapter.SocketID) {
	if a.f.o.SubscriptionMode == Static {
		a.Cluster.DelAll(id)
		return
	}
	a.rmu.Lock()
	defer a.rmu.Unlock()
	rooms := a.Cluster.SocketRooms(id)[1:]
	a.Cluster.DelAll(id)
	for _, r := range rooms {
		a.leftRoom(r)
	}
	a.deleted(id)
}

// --- the bus -----------------------------------------------------------------

// shardedBus is the adapter.Bus of a ShardedAdapter.
type shardedBus struct{ a *ShardedAdapter }

// Publish sends m with SPUBLISH: to the channel of its room for a
// broadcast without acknowledgement to exactly one room (when the mode
// has room channels for it), to the namespace's channel otherwise.
func (b shardedBus) Publish(ctx context.Context, m *adapter.ClusterMessage) (string, error) {
	payload, err := shardedEncode(m)
	if err != nil {
		return "", err
	}
	return "", b.a.f.d.Publish(ctx, b.a.publishChannel(m), payload, true)
}

// PublishResponse sends m to the channel of the node uid.
func (b shardedBus) PublishResponse(ctx context.Context, uid string, m *adapter.ClusterMessage) error {
	payload, err := shardedEncode(m)
	if err != nil {
		return err
	}
	return b.a.f.d.Publish(ctx, b.a.channel+uid+"#", payload, true)
}

// ServerCount is the number of subscribers of the namespace's channel
// (PUBSUB SHARDNUMSUB): one connection per node.
func (b shardedBus) ServerCount(ctx context.Context) (int, error) {
	return b.a.f.d.NumSub(ctx, b.a.channel, true)
}

func (a *ShardedAdapter) publishChannel(m *adapter.ClusterMessage) string {
	if m.Type != adapter.MsgBroadcast || m.Data == nil || m.Data.RequestID != "" ||
		m.Data.Opts == nil || len(m.Data.Opts.Rooms) != 1 {
		return a.channel
	}
	room := m.Data.Opts.Rooms[0]
	switch a.f.o.SubscriptionMode {
	case DynamicPrivate:
		return a.roomChannel(room)
	case Dynamic:
		if !looksLikeSocketID(room) {
			return a.roomChannel(room)
		}
	}
	return a.channel
}

// looksLikeSocketID is Node's test: a string of 20 UTF-16 code units.
func looksLikeSocketID(room string) bool {
	n := 0
	for _, r := range room {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		if n > 20 {
			return false
		}
	}
	return n == 20
}

// shardedEncode writes m as the sharded adapter of Node does: JSON, but
// MessagePack when m may carry binary (BROADCAST, BROADCAST_ACK,
// FETCH_SOCKETS_RESPONSE, SERVER_SIDE_EMIT, SERVER_SIDE_EMIT_RESPONSE)
// and its data does.
func shardedEncode(m *adapter.ClusterMessage) ([]byte, error) {
	if shardedMayHoldBinary(m.Type) && adapter.HasBinary(m.Data) {
		return adapter.Marshal(m, adapter.FormatMsgPack)
	}
	return adapter.Marshal(m, adapter.FormatJSON)
}

func shardedMayHoldBinary(t adapter.MessageType) bool {
	switch t {
	case adapter.MsgBroadcast, adapter.MsgBroadcastAck, adapter.MsgFetchSocketsResponse,
		adapter.MsgServerSideEmit, adapter.MsgServerSideEmitResponse:
		return true
	}
	return false
}

// isResponse reports whether t is a response type.
func isResponse(t adapter.MessageType) bool {
	switch t {
	case adapter.MsgFetchSocketsResponse, adapter.MsgServerSideEmitResponse,
		adapter.MsgBroadcastClientCount, adapter.MsgBroadcastAck:
		return true
	}
	return false
}

// onRaw handles a message of one of the adapter's channels: what does not
// decode is dropped; on the node's own channel only responses count.
func (a *ShardedAdapter) onRaw(channel string, payload []byte) {
	m, err := adapter.DecodeMessage(payload)
	if err != nil {
		a.f.o.Logger.Debug("socketio: redis message dropped", "channel", channel, "err", err)
		return
	}
	if channel == a.response && !isResponse(m.Type) {
		a.f.o.Logger.Debug("socketio: redis message dropped", "channel", channel, "type", int(m.Type))
		return
	}
	a.OnMessage(m, "")
}

var _ adapter.Adapter = (*ShardedAdapter)(nil)

// --- the subscription, shared by the namespaces of a factory ------------------

// hubRef opens the hub of a factory with its first user and closes it
// with its last.
type hubRef struct {
	open  func() *subHub
	mu    sync.Mutex
	hub   *subHub
	users int
}

func (r *hubRef) acquire() *subHub {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hub == nil {
		r.hub = r.open()
	}
	r.users++
	return r.hub
}

// release stops routing h's channels to owner, and closes h with its last
// user.
func (r *hubRef) release(h *subHub, owner any) {
	h.removeAll(owner)
	r.mu.Lock()
	last := false
	if r.hub == h {
		r.users--
		if r.users == 0 {
			r.hub = nil
			last = true
		}
	}
	r.mu.Unlock()
	if last {
		h.close()
	}
}

// subHub is one subscription connection shared by adapters: it routes
// each message to the handlers of its channel, and (un)subscribes, on a
// goroutine of its own, the channels the adapters want, so that a room
// change never waits for Redis.
type subHub struct {
	d       Driver
	sharded bool
	timeout time.Duration
	log     *slog.Logger
	onState func(error)

	ctx    context.Context // canceled by close
	cancel context.CancelFunc
	kick   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	sub     Subscription
	subErr  error
	routes  map[string]map[any]func(channel string, payload []byte)
	have    map[string]bool // channels subscribed (or being)
	dirty   map[string]bool // channels whose subscription may have to change
	waiters []chan struct{} // flush callers, woken when nothing is dirty
	busy    bool            // the worker is applying changes
	closed  bool
}

func newSubHub(d Driver, sharded bool, timeout time.Duration, log *slog.Logger, onState func(error)) *subHub {
	h := &subHub{
		d: d, sharded: sharded, timeout: timeout, log: log, onState: onState,
		kick:   make(chan struct{}, 1),
		routes: make(map[string]map[any]func(string, []byte)),
		have:   make(map[string]bool),
		dirty:  make(map[string]bool),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go h.run()
	return h
}

// add routes the messages of channels to fn for owner.
func (h *subHub) add(owner any, fn func(string, []byte), channels ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range channels {
		r := h.routes[ch]
		if r == nil {
			r = make(map[any]func(string, []byte))
			h.routes[ch] = r
		}
		r[owner] = fn
		h.dirty[ch] = true
	}
	h.wakeLocked()
}

// remove stops routing channels to owner.
func (h *subHub) remove(owner any, channels ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range channels {
		if r := h.routes[ch]; r != nil {
			delete(r, owner)
			if len(r) == 0 {
				delete(h.routes, ch)
			}
			h.dirty[ch] = true
		}
	}
	h.wakeLocked()
}

// removeAll stops routing every channel to owner.
func (h *subHub) removeAll(owner any) {
	h.mu.Lock()
	var chs []string
	for ch, r := range h.routes {
		if _, ok := r[owner]; ok {
			chs = append(chs, ch)
		}
	}
	h.mu.Unlock()
	h.remove(owner, chs...)
}

func (h *subHub) wakeLocked() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// flush waits until the changes asked so far are applied, returning the
// error of the last attempt to subscribe, or ctx's.
func (h *subHub) flush(ctx context.Context) error {
	h.mu.Lock()
	if len(h.dirty) == 0 && !h.busy {
		err := h.subErr
		h.mu.Unlock()
		return err
	}
	w := make(chan struct{})
	h.waiters = append(h.waiters, w)
	h.mu.Unlock()
	select {
	case <-w:
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.subErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run applies the subscription changes until close.
func (h *subHub) run() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.kick:
		}
		for h.apply() {
		}
	}
}

// apply makes one round of changes; it reports whether more are pending.
func (h *subHub) apply() bool {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false
	}
	var on, off []string
	for ch := range h.dirty {
		want := len(h.routes[ch]) > 0
		switch {
		case want && !h.have[ch]:
			on = append(on, ch)
			h.have[ch] = true
		case !want && h.have[ch]:
			off = append(off, ch)
			delete(h.have, ch)
		}
	}
	clear(h.dirty)
	h.busy = true
	sub := h.sub
	h.mu.Unlock()

	var err error
	if sub == nil && (len(on) > 0 || len(off) > 0) {
		ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
		sub, err = h.d.Subscribe(ctx, h.sharded, h.onMessage, h.onState)
		cancel()
		if err != nil {
			h.log.Warn("socketio: redis subscription failed", "err", err)
			h.mu.Lock()
			// Try again with the next change.
			for _, ch := range on {
				delete(h.have, ch)
				h.dirty[ch] = true
			}
			h.subErr = err
			h.busy = false
			h.wakeWaitersLocked()
			h.mu.Unlock()
			return false
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			_ = sub.Close()
			return false
		}
		h.sub = sub
		h.mu.Unlock()
	}
	if len(on) > 0 {
		slices.Sort(on)
		ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
		// Kept by the driver even on error: subscribed again on reconnection.
		if err = sub.Subscribe(ctx, on...); err != nil {
			h.log.Warn("socketio: redis subscribe failed", "channels", on, "err", err)
		}
		cancel()
	}
	if len(off) > 0 {
		slices.Sort(off)
		ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
		if uerr := sub.Unsubscribe(ctx, off...); uerr != nil {
			h.log.Warn("socketio: redis unsubscribe failed", "channels", off, "err", uerr)
		}
		cancel()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy = false
	if len(on) > 0 {
		h.subErr = err
	}
	if len(h.dirty) > 0 && !h.closed {
		return true
	}
	h.wakeWaitersLocked()
	return false
}

func (h *subHub) wakeWaitersLocked() {
	for _, w := range h.waiters {
		close(w)
	}
	h.waiters = nil
}

// onMessage routes a message (on the driver's goroutine, in order).
func (h *subHub) onMessage(m Message) {
	h.mu.Lock()
	r := h.routes[m.Channel]
	fns := make([]func(string, []byte), 0, len(r))
	for _, fn := range r {
		fns = append(fns, fn)
	}
	h.mu.Unlock()
	for _, fn := range fns {
		fn(m.Channel, m.Payload)
	}
}

// close stops the worker and closes the subscription connection.
func (h *subHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.wakeWaitersLocked()
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	h.mu.Lock()
	sub := h.sub
	h.sub = nil
	h.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
}

// stateReporter turns the state changes of the connections an adapter
// factory holds (subscription, stream readers) into logs and calls of
// OnRedisState: down when the first is lost, up when all are back.
type stateReporter struct {
	log *slog.Logger
	fn  func(up bool, err error)

	mu   sync.Mutex
	down map[any]bool
}

func newStateReporter(log *slog.Logger, fn func(bool, error)) *stateReporter {
	return &stateReporter{log: log, fn: fn, down: make(map[any]bool)}
}

// report is the onState of the subscription.
func (s *stateReporter) report(err error) { s.set("subscription", err) }

// set records the state of one connection (err nil: up). OnRedisState
// is called under the reporter's lock, so that its calls keep their order.
func (s *stateReporter) set(who any, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasDown := len(s.down) > 0
	if err != nil {
		if s.down[who] {
			return
		}
		s.down[who] = true
		s.log.Warn("socketio: redis connection lost", "conn", who, "err", err)
	} else {
		if !s.down[who] {
			return
		}
		delete(s.down, who)
		s.log.Info("socketio: redis connection back", "conn", who)
	}
	if isDown := len(s.down) > 0; s.fn != nil && wasDown != isDown {
		s.fn(!isDown, err)
	}
}
