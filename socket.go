package socketio

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/serial"
	"github.com/go-sio/socketio/parser"
)

// Disconnect reasons, with Node's strings.
const (
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonForcedServerClose         = "forced server close"
	ReasonTransportClose            = engineio.ReasonTransportClose
	ReasonTransportError            = engineio.ReasonTransportError
	ReasonPingTimeout               = engineio.ReasonPingTimeout
	ReasonParseError                = engineio.ReasonParseError
	ReasonForcedClose               = engineio.ReasonForcedClose
)

// Errors of emitting and acknowledgements.
var (
	// ErrDisconnected is returned when emitting on, or waiting for an
	// acknowledgement of, a socket that is not connected (any more).
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrTimeout is returned when acknowledgements do not arrive within the
	// Timeout set on the emitter ("operation has timed out" in Node).
	ErrTimeout = adapter.ErrTimeout
)

func reservedError(event string) error {
	return fmt.Errorf("socketio: %q is a reserved event name", event)
}

// Socket is one client connected to one namespace. Its methods are safe
// for concurrent use.
//
// Events of a socket reach its handlers one at a time, in arrival order,
// on a goroutine that exists only while there are events to handle. The
// connection handler, event handlers, middlewares and disconnect handlers
// of a socket all run there.
type Socket struct {
	id        string
	nsp       *Namespace
	client    *client
	handshake *Handshake

	connected atomic.Bool
	done      chan struct{} // closed on disconnection
	finished  chan struct{} // closed once the disconnection has been handled
	finishMu  sync.Once

	// connection state recovery
	pid           string
	recovered     bool
	connectOffset string
	resumeFrom    *string    // recovered: replay the packets stored after it
	pendingRooms  []string   // rooms of a recovered session, joined on connect
	takeoverMu    sync.Mutex // orders takeOver and the final leave of the rooms
	takenOver     bool       // a recovered socket has this id now: keep the rooms

	mu              sync.Mutex
	closed          bool
	handlers        map[string][]*listener
	anyIn           []func(*Event)
	anyOut          []func(event string, args []any)
	onDisconnect    []func(reason string)
	onDisconnecting []func(reason string)
	onError         []func(error)
	middlewares     []func(*Event) error
	acks            map[uint64]func(args []any)
	data            any
	inbox           serial.Queue // events and disconnection, one at a time
}

type listener struct {
	fn   func(*Event)
	once bool
}

func newSocket(n *Namespace, c *client, auth map[string]any) *Socket {
	s := &Socket{
		id:        newSocketID(),
		nsp:       n,
		client:    c,
		handshake: buildHandshake(c.conn, auth),
		done:      make(chan struct{}),
		finished:  make(chan struct{}),
	}
	if n.srv.cfg.recovery != nil {
		s.pid = newSocketID()
	}
	return s
}

// Recovered reports whether the socket restored a previous session
// (connection state recovery): same id, rooms and data, missed packets
// replayed.
func (s *Socket) Recovered() bool { return s.recovered }

// takeOver tells a disconnected socket that a recovered one took its id:
// it must not leave the rooms, which are now the new socket's. After it
// returns, the old socket's room cleanup has either run or will not.
func (s *Socket) takeOver() {
	s.takeoverMu.Lock()
	s.takenOver = true
	s.takeoverMu.Unlock()
}

func (s *Socket) finish() { s.finishMu.Do(func() { close(s.finished) }) }

// recoverable are the disconnect reasons after which a session is kept.
var recoverable = map[string]bool{
	ReasonTransportError:     true,
	ReasonTransportClose:     true,
	ReasonForcedClose:        true,
	ReasonPingTimeout:        true,
	ReasonServerShuttingDown: true,
	ReasonForcedServerClose:  true,
}

// ID returns the socket id: 20 characters, distinct from the engine id.
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace of the socket.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the details of the connection request.
func (s *Socket) Handshake() *Handshake { return s.handshake }

// Conn returns the underlying Engine.IO session (shared by the sockets of
// one client in several namespaces).
func (s *Socket) Conn() *engineio.Session { return s.client.conn }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// Data returns the value stored with SetData (nil by default).
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData stores an arbitrary value with the socket (socket.data in Node).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// --- listeners ----------------------------------------------------------

// On registers a handler for an event. Handlers of one event run in the
// order they were added.
func (s *Socket) On(event string, fn func(*Event)) { s.addListener(event, fn, false) }

// Once registers a handler that runs for the next occurrence only.
func (s *Socket) Once(event string, fn func(*Event)) { s.addListener(event, fn, true) }

func (s *Socket) addListener(event string, fn func(*Event), once bool) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string][]*listener)
	}
	s.handlers[event] = append(s.handlers[event], &listener{fn: fn, once: once})
	s.mu.Unlock()
}

// Off removes every handler of event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny registers a handler called for every incoming event, before the
// event's own handlers and the packet middlewares.
func (s *Socket) OnAny(fn func(*Event)) {
	s.mu.Lock()
	s.anyIn = append(s.anyIn, fn)
	s.mu.Unlock()
}

// PrependAny is OnAny, placing fn before the handlers already registered.
func (s *Socket) PrependAny(fn func(*Event)) {
	s.mu.Lock()
	s.anyIn = append([]func(*Event){fn}, s.anyIn...)
	s.mu.Unlock()
}

// OffAny removes every catch-all handler.
func (s *Socket) OffAny() {
	s.mu.Lock()
	s.anyIn = nil
	s.mu.Unlock()
}

// OnAnyOutgoing registers a handler called for every event emitted to this
// socket (by Emit on it or by a broadcast reaching it). It runs on the
// emitting goroutine, inside the delivery of a broadcast: it must be quick
// and must not broadcast itself (with recovery on, the adapter holds its
// delivery lock then).
func (s *Socket) OnAnyOutgoing(fn func(event string, args []any)) {
	s.mu.Lock()
	s.anyOut = append(s.anyOut, fn)
	s.mu.Unlock()
}

// OffAnyOutgoing removes every outgoing catch-all handler.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	s.anyOut = nil
	s.mu.Unlock()
}

// OnDisconnecting registers a handler called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnecting = append(s.onDisconnecting, fn)
	s.mu.Unlock()
}

// OnDisconnect registers a handler called once the socket has disconnected,
// with Node's reason string.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// OnError registers a handler for errors of the socket: a packet
// middleware's refusal, or a handler's panic.
func (s *Socket) OnError(fn func(error)) {
	s.mu.Lock()
	s.onError = append(s.onError, fn)
	s.mu.Unlock()
}

// Use adds a packet middleware, run for every incoming event before its
// handlers; an error stops the event and is reported to OnError handlers.
func (s *Socket) Use(fn func(e *Event) error) {
	s.mu.Lock()
	s.middlewares = append(s.middlewares, fn)
	s.mu.Unlock()
}

// --- emitting -----------------------------------------------------------

// Emit sends an event to this client. Arguments are encoded with the
// server's codec ([]byte values travel as binary); a parser.Raw received
// earlier is relayed as it came.
func (s *Socket) Emit(event string, args ...any) error {
	return s.emitter().Emit(event, args...)
}

// EmitWithAck sends an event and waits for the client's acknowledgement,
// until ctx is done.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.emitter().EmitWithAck(ctx, event, args...)
}

// Timeout returns an emitter whose EmitWithAck fails with ErrTimeout when
// the acknowledgement takes longer than d.
func (s *Socket) Timeout(d time.Duration) *Emitter { return s.emitter().Timeout(d) }

// Volatile returns an emitter whose events are dropped when the transport
// cannot take them right now.
func (s *Socket) Volatile() *Emitter { return s.emitter().Volatile() }

// Compress returns an emitter with the compress flag set to c.
func (s *Socket) Compress(c bool) *Emitter { return s.emitter().Compress(c) }

func (s *Socket) emitter() *Emitter { return &Emitter{s: s} }

// Broadcast returns an operator reaching every socket of the namespace but
// this one.
func (s *Socket) Broadcast() *BroadcastOperator {
	return s.nsp.operator().Except(s.id)
}

// To returns an operator reaching the sockets in rooms, but this one.
func (s *Socket) To(rooms ...string) *BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) *BroadcastOperator { return s.To(rooms...) }

// Except returns an operator reaching every socket but this one and those
// in rooms.
func (s *Socket) Except(rooms ...string) *BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Emitter emits to one socket with flags. It is immutable: each method
// returns a new Emitter.
type Emitter struct {
	s     *Socket
	flags adapter.BroadcastFlags
}

// Timeout sets the acknowledgement timeout of EmitWithAck.
func (e *Emitter) Timeout(d time.Duration) *Emitter {
	c := *e
	c.flags.Timeout = d
	return &c
}

// Volatile marks the event as droppable.
func (e *Emitter) Volatile() *Emitter {
	c := *e
	c.flags.Volatile = true
	return &c
}

// Compress sets the compress flag.
func (e *Emitter) Compress(v bool) *Emitter {
	c := *e
	c.flags.NoCompress = !v
	return &c
}

// Emit sends the event.
func (e *Emitter) Emit(event string, args ...any) error {
	if parser.ReservedEvents[event] {
		return reservedError(event)
	}
	s := e.s
	if !s.connected.Load() {
		return ErrDisconnected
	}
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args}
	if s.nsp.srv.cfg.recovery != nil {
		// As Node: through the adapter, so that the event gets an offset
		// and is kept for replay.
		if h := s.nsp.srv.cfg.hooks.EventOut; h != nil {
			h(s.nsp, s, event, args)
		}
		return s.nsp.adapter.Broadcast(p, adapter.BroadcastOptions{Rooms: []string{s.id}, Flags: e.flags})
	}
	return s.sendPacket(p, e.flags)
}

// EmitWithAck sends the event and waits for its acknowledgement, until ctx
// is done or the Timeout elapses (ErrTimeout).
func (e *Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if parser.ReservedEvents[event] {
		return nil, reservedError(event)
	}
	s := e.s
	if !s.connected.Load() {
		return nil, ErrDisconnected
	}
	id := s.nsp.NextAckID()
	ch := make(chan []any, 1)
	s.ExpectAck(id, func(a []any) { ch <- a })
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args, ID: id, HasID: true}
	if err := s.sendPacket(p, e.flags); err != nil {
		s.cancelAck(id)
		return nil, err
	}
	var timeout <-chan time.Time
	if e.flags.Timeout > 0 {
		t := time.NewTimer(e.flags.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case a := <-ch:
		return toArgs(a), nil
	case <-timeout:
		s.cancelAck(id)
		return nil, ErrTimeout
	case <-ctx.Done():
		s.cancelAck(id)
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrDisconnected
	}
}

// sendPacket encodes p and sends it to this socket alone.
func (s *Socket) sendPacket(p *parser.Packet, flags adapter.BroadcastFlags) error {
	msgs, err := s.nsp.srv.cfg.codec.Encode(p)
	if err != nil {
		return err
	}
	if p.Type == parser.Event {
		s.notifyOutgoing(p.Event, p.Args)
		if h := s.nsp.srv.cfg.hooks.EventOut; h != nil {
			h(s.nsp, s, p.Event, p.Args)
		}
	}
	s.write(msgs, flags)
	return nil
}

func (s *Socket) notifyOutgoing(event string, args []any) {
	s.mu.Lock()
	out := s.anyOut
	s.mu.Unlock()
	for _, fn := range out {
		fn(event, args)
	}
}

// write hands encoded messages to the engine.
func (s *Socket) write(msgs []parser.Message, flags adapter.BroadcastFlags) {
	conn := s.client.conn
	if flags.Volatile && !conn.Writable() {
		return
	}
	sendMessages(conn, msgs)
}

// messageConn is what sendMessages needs of an Engine.IO connection (a
// server session or a client connection).
type messageConn interface {
	Send(data []byte, binary bool) error
	SendBatch(msgs []engineio.Message) error
}

// sendMessages sends the messages of one packet in a row: a packet with
// attachments as one batch, so that another goroutine's packet cannot come
// between its parts.
func sendMessages(conn messageConn, msgs []parser.Message) error {
	if len(msgs) == 1 {
		return conn.Send(msgs[0].Data, msgs[0].Binary)
	}
	batch := make([]engineio.Message, len(msgs))
	for i, m := range msgs {
		batch[i] = engineio.Message{Data: m.Data, Binary: m.Binary}
	}
	return conn.SendBatch(batch)
}

// Send implements adapter.Socket: it writes a broadcast's messages.
func (s *Socket) Send(p *parser.Packet, msgs []parser.Message, flags adapter.BroadcastFlags) {
	if !s.connected.Load() {
		return
	}
	if p.Type == parser.Event {
		s.notifyOutgoing(p.Event, p.Args)
	}
	s.write(msgs, flags)
}

// ExpectAck implements adapter.Socket.
func (s *Socket) ExpectAck(id uint64, fn func(args []any)) {
	s.mu.Lock()
	if !s.closed {
		if s.acks == nil {
			s.acks = make(map[uint64]func([]any))
		}
		s.acks[id] = fn
	}
	s.mu.Unlock()
}

func (s *Socket) cancelAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// Details implements adapter.Socket.
func (s *Socket) Details() adapter.SocketDetails {
	data := s.Data()
	if data == nil {
		data = map[string]any{} // Node's socket.data starts as {}
	}
	return adapter.SocketDetails{ID: s.id, Handshake: s.handshake, Rooms: s.Rooms(), Data: data}
}

// --- rooms --------------------------------------------------------------

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	s.nsp.adapter.AddAll(s.id, rooms)
	if h := s.nsp.srv.cfg.hooks.Join; h != nil {
		for _, r := range rooms {
			h(s, r)
		}
	}
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	s.nsp.adapter.Del(s.id, room)
	if h := s.nsp.srv.cfg.hooks.Leave; h != nil {
		h(s, room)
	}
}

// Rooms returns the rooms of the socket, its own room (its id) first.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// --- disconnection ------------------------------------------------------

// Disconnect disconnects the socket from its namespace ("server namespace
// disconnect"); with close, it closes the whole connection, disconnecting
// the client's sockets in other namespaces too.
func (s *Socket) Disconnect(close bool) {
	if !s.connected.Load() {
		return
	}
	if close {
		s.client.disconnectAll()
		return
	}
	_ = s.sendPacket(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name}, adapter.BroadcastFlags{})
	s.onClose(ReasonServerNamespaceDisconnect, nil)
}

// onClose disconnects the socket with reason. The state changes at once;
// the disconnecting and disconnect handlers run on the socket's event
// goroutine, after the events already received.
func (s *Socket) onClose(reason string, cause error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.acks = nil
	// Under s.mu, as attach's check: a socket is either connected before
	// it closes (and cleaned up here) or never (and attach backs out).
	wasConnected := s.connected.Swap(false)
	s.mu.Unlock()
	close(s.done)
	s.client.remove(s)
	if !wasConnected {
		s.finish()
		return
	}
	if s.nsp.srv.cfg.recovery != nil && recoverable[reason] {
		s.nsp.adapter.PersistSession(&adapter.Session{
			SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: s.Data(), ConnectOffset: s.connectOffset,
		})
	}
	s.nsp.leave(s)
	s.enqueueFinal(func() {
		defer s.finish()
		defer s.nsp.left(s)
		s.mu.Lock()
		disconnecting, disconnect := s.onDisconnecting, s.onDisconnect
		s.mu.Unlock()
		for _, fn := range disconnecting {
			s.safely(func() { fn(reason) })
		}
		s.takeoverMu.Lock()
		if !s.takenOver {
			s.nsp.adapter.DelAll(s.id)
		}
		s.takeoverMu.Unlock()
		if h := s.nsp.srv.cfg.hooks.Disconnect; h != nil {
			h(s, reason)
		}
		for _, fn := range disconnect {
			s.safely(func() { fn(reason) })
		}
	})
	s.nsp.srv.logDebug("socket disconnected", "sid", s.id, "nsp", s.nsp.name, "reason", reason, "cause", cause)
}

// attach makes the socket connected: the rooms of a recovered session, the
// CONNECT answer (with the pid when recovery is on), then the packets it
// missed, then it becomes a broadcast target. With recovery on it runs
// under the adapter's Attach, so no broadcast falls in between; it calls
// no user code. The CONNECT answer goes before the replay (Node sends it
// after): a client whose connection breaks in the middle of the replay
// then knows the offset of each replayed packet it got, and the official
// client does not buffer them unnumbered and receive them twice. It
// reports false when the socket closed meanwhile (its connection did):
// the socket never becomes connected, and the caller undoes the rest.
func (s *Socket) attach(missed []*parser.Packet) bool {
	// Its own room too, as Node joins socket.id: the in-memory index
	// skips it, but an adapter may act on it (the sharded Redis adapter
	// subscribes to private rooms in its dynamic-private mode).
	s.nsp.adapter.AddAll(s.id, append([]string{s.id}, s.pendingRooms...))
	if s.nsp.srv.cfg.recovery != nil && !s.recovered {
		s.connectOffset = s.nsp.adapter.Offset()
	}
	type connectData struct {
		SID string `json:"sid"`
		PID string `json:"pid,omitempty"`
	}
	codec := s.nsp.srv.cfg.codec
	if msgs, err := codec.Encode(&parser.Packet{Type: parser.Connect, Namespace: s.nsp.name, Data: connectData{SID: s.id, PID: s.pid}}); err == nil {
		s.write(msgs, adapter.BroadcastFlags{})
	}
	for _, p := range missed {
		if msgs, err := codec.Encode(p); err == nil {
			s.write(msgs, adapter.BroadcastFlags{})
		}
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.connected.Store(true)
	}
	s.mu.Unlock()
	if closed {
		return false
	}
	s.client.connected()
	return true
}

// onConnected reports the connection to hooks, after attach.
func (s *Socket) onConnected() {
	if h := s.nsp.srv.cfg.hooks.Join; h != nil {
		for _, r := range s.pendingRooms {
			h(s, r)
		}
	}
	s.pendingRooms = nil
	if h := s.nsp.srv.cfg.hooks.Connect; h != nil {
		h(s)
	}
	s.nsp.srv.logDebug("socket connected", "sid", s.id, "nsp", s.nsp.name, "recovered", s.recovered)
}

// --- incoming packets ---------------------------------------------------

// onPacket handles a packet for this socket, on the connection's read
// goroutine: acknowledgements are resolved here, events are queued.
func (s *Socket) onPacket(p *parser.Packet) {
	switch p.Type {
	case parser.Event:
		if !s.enqueue(func() { s.dispatch(p) }) {
			s.client.close()
		}
	case parser.Ack:
		s.mu.Lock()
		fn := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if fn != nil {
			fn(p.Args)
		}
	case parser.Disconnect:
		s.onClose(ReasonClientNamespaceDisconnect, nil)
	}
}

// dispatch runs an event through the catch-all handlers, the packet
// middlewares and its handlers.
func (s *Socket) dispatch(p *parser.Packet) {
	e := &Event{Name: p.Event, Args: toArgs(p.Args), socket: s, bindErr: s.nsp.srv.bindError}
	if p.HasID {
		e.ack = serverAck(s, p.ID)
	}
	if h := s.nsp.srv.cfg.hooks.EventIn; h != nil {
		h(s, e.Name, e.Args)
	}
	s.mu.Lock()
	anyIn, mws := s.anyIn, s.middlewares
	var run []*listener
	if ls := s.handlers[e.Name]; len(ls) > 0 {
		run = ls
		kept := ls[:0:0]
		for _, l := range ls {
			if !l.once {
				kept = append(kept, l)
			}
		}
		if len(kept) != len(ls) {
			s.handlers[e.Name] = kept
		}
	}
	s.mu.Unlock()
	for _, fn := range anyIn {
		s.safely(func() { fn(e) })
	}
	for _, mw := range mws {
		var err error
		s.safely(func() { err = mw(e) })
		if err != nil {
			s.reportError(err)
			return
		}
	}
	if !s.connected.Load() {
		return
	}
	for _, l := range run {
		s.safely(func() { l.fn(e) })
	}
}

func (s *Socket) reportError(err error) {
	s.mu.Lock()
	handlers := s.onError
	s.mu.Unlock()
	for _, fn := range handlers {
		fn(err)
	}
}

// safely runs fn, turning a panic into an error report so that one bad
// handler does not take the server down.
func (s *Socket) safely(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.logError("handler panic", "sid", s.id, "panic", r, "stack", string(debug.Stack()))
			s.reportError(fmt.Errorf("socketio: handler panic: %v", r))
		}
	}()
	fn()
}

// enqueue adds a job to the socket's event queue; it returns false when
// the queue is full.
func (s *Socket) enqueue(job func()) bool {
	return s.inbox.TryPush(job, s.nsp.srv.cfg.maxPendingEvents)
}

// enqueueFinal adds the last job (disconnection), whatever the queue size.
func (s *Socket) enqueueFinal(job func()) { s.inbox.Push(job) }
