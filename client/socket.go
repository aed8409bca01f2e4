package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/internal/serial"
	"github.com/go-sio/socketio/parser"
)

// Errors of emitting and acknowledgements.
var (
	// ErrTimeout: the acknowledgement did not come in time ("operation has
	// timed out" in socket.io-client).
	ErrTimeout = errors.New("socketio client: operation has timed out")
	// ErrDisconnected: the socket disconnected before the acknowledgement
	// came ("socket has been disconnected").
	ErrDisconnected = errors.New("socketio client: socket has been disconnected")
	// ErrBufferFull: the packets buffered while disconnected passed
	// ManagerOptions.MaxBufferedBytes.
	ErrBufferFull = errors.New("socketio client: send buffer full")
	// ErrNotActive: WaitConnected on a socket that is not connecting (call
	// Connect first).
	ErrNotActive = errors.New("socketio client: socket is not connecting")
)

// ConnectError is the refusal of a connection by the server (a middleware
// error, or "Invalid namespace"), as the connect_error event carries it.
type ConnectError struct {
	Message string
	Data    json.RawMessage // raw JSON of the error's data, nil if none
}

func (e *ConnectError) Error() string { return e.Message }

// Socket is a client's connection to one namespace, over its Manager's
// connection. Its methods are safe for concurrent use.
//
// Event, connect, connect_error and disconnect handlers of a socket run one
// at a time, in order, on a goroutine that exists only while there is
// something to handle. Acknowledgements are resolved on the connection's
// reader, so a handler waiting in EmitWithAck blocks nothing else.
type Socket struct {
	m    *Manager
	nsp  string
	opts SocketOptions

	wmu sync.Mutex // held while deciding to send or buffer, and while flushing

	mu            sync.Mutex
	id            string
	connected     bool
	active        bool
	recovered     bool
	connectGen    int // manager generation the CONNECT was sent on (0: none)
	pid           string
	lastOffset    *string
	ids           uint64
	acks          map[uint64]*pendingAck
	sendBuffer    []*parser.Packet
	bufferedBytes int
	receiveBuffer []*parser.Packet
	queue         []*queued
	waiters       []chan error
	lastErr       error // the last connect_error, for WaitConnected on an inactive socket

	handlers        map[string][]func(*socketio.Event)
	anyIn           []func(*socketio.Event)
	anyOut          []func(event string, args []any)
	connectHandlers []func()
	onConnectError  []func(error)
	onDisconnect    []func(reason string, cause error)

	inbox serial.Queue // events and notifications, one at a time
}

type pendingAck struct {
	fn    func(Args, error)
	timer *time.Timer
}

// queued is a packet of the retry queue.
type queued struct {
	event    string
	args     []any
	flags    emitFlags
	tries    int
	pending  bool
	callback func(Args, error)
}

// Args are the arguments of an acknowledgement, still encoded.
type Args = socketio.Args

func newSocket(m *Manager, nsp string, opts *SocketOptions) *Socket {
	s := &Socket{m: m, nsp: nsp}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// ID returns the socket id given by the server, "" while disconnected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Namespace returns the namespace name.
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the socket's manager.
func (s *Socket) Manager() *Manager { return s.m }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket will (re)connect by itself: it was
// connected with Connect and not disconnected by Disconnect, by the server
// or by a connect_error.
func (s *Socket) Active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Recovered reports whether the last connection restored the previous
// session (connection state recovery on the server).
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// --- listeners ----------------------------------------------------------------

// On registers a handler for an event from the server. The handler types
// are the server's: socketio.Func1 and friends work here too.
func (s *Socket) On(event string, fn func(*socketio.Event)) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string][]func(*socketio.Event))
	}
	s.handlers[event] = append(s.handlers[event], fn)
	s.mu.Unlock()
}

// Off removes every handler of event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny registers a handler for every incoming event, called first.
func (s *Socket) OnAny(fn func(*socketio.Event)) {
	s.mu.Lock()
	s.anyIn = append(s.anyIn, fn)
	s.mu.Unlock()
}

// OnAnyOutgoing registers a handler for every event sent.
func (s *Socket) OnAnyOutgoing(fn func(event string, args []any)) {
	s.mu.Lock()
	s.anyOut = append(s.anyOut, fn)
	s.mu.Unlock()
}

// OnConnect registers a handler for each connection (and reconnection).
func (s *Socket) OnConnect(fn func()) {
	s.mu.Lock()
	s.connectHandlers = append(s.connectHandlers, fn)
	s.mu.Unlock()
}

// OnConnectError registers a handler for failed connections: a
// *ConnectError from the server, or the connection's error.
func (s *Socket) OnConnectError(fn func(error)) {
	s.mu.Lock()
	s.onConnectError = append(s.onConnectError, fn)
	s.mu.Unlock()
}

// OnDisconnect registers a handler for disconnections, with
// socket.io-client's reason: "io server disconnect", "io client
// disconnect", "ping timeout", "transport close", "transport error",
// "parse error" or "forced close".
func (s *Socket) OnDisconnect(fn func(reason string, cause error)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// --- connection ---------------------------------------------------------------

// Connect connects the socket (it is called by Manager.Socket unless
// AutoConnect is false). It returns at once; see WaitConnected.
func (s *Socket) Connect() {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return
	}
	s.active = true
	s.mu.Unlock()
	m := s.m
	m.mu.Lock()
	reconnecting, gen, open := m.reconnecting, m.gen, m.state == stateOpen
	m.mu.Unlock()
	if !reconnecting {
		m.open(nil)
	}
	if open {
		s.sendConnect(gen)
	}
}

// WaitConnected waits until the socket is connected, or until ctx is done,
// or until a connection attempt fails (it then returns the
// connect_error). On a socket that is not connecting (refused by the
// server, or disconnected) it returns the last connect_error, or
// ErrNotActive, at once.
func (s *Socket) WaitConnected(ctx context.Context) error {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	if !s.active {
		// Refused (or disconnected) and not connecting: nothing will come.
		err := s.lastErr
		s.mu.Unlock()
		if err == nil {
			err = ErrNotActive
		}
		return err
	}
	ch := make(chan error, 1)
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Socket) wakeWaitersLocked(err error) {
	if err != nil {
		s.lastErr = err
	}
	for _, ch := range s.waiters {
		ch <- err
	}
	s.waiters = nil
}

// Disconnect disconnects the socket ("io client disconnect"); it will not
// reconnect until Connect. The manager's connection closes when no socket
// uses it.
func (s *Socket) Disconnect() {
	s.mu.Lock()
	wasConnected := s.connected
	s.mu.Unlock()
	if wasConnected {
		_, _ = s.m.send(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp})
	}
	s.destroy()
	if wasConnected {
		s.onClose("io client disconnect", nil)
	}
}

// Close is Disconnect.
func (s *Socket) Close() { s.Disconnect() }

func (s *Socket) destroy() {
	s.mu.Lock()
	s.active = false
	s.connectGen = 0 // a later Connect sends CONNECT again, even on this connection
	s.mu.Unlock()
	s.m.destroy()
}

// onOpen runs when the manager's connection opens.
func (s *Socket) onOpen() {
	s.m.mu.Lock()
	gen := s.m.gen
	s.m.mu.Unlock()
	s.sendConnect(gen)
}

// sendConnect sends the CONNECT packet once per connection generation,
// with the auth payload and, to recover the session, pid and offset.
func (s *Socket) sendConnect(gen int) {
	s.mu.Lock()
	if s.connectGen == gen || s.connected {
		s.mu.Unlock()
		return
	}
	s.connectGen = gen
	pid, offset := s.pid, s.lastOffset
	s.mu.Unlock()

	var auth any = s.opts.Auth
	if s.opts.AuthFunc != nil {
		auth = s.opts.AuthFunc()
	}
	if pid != "" {
		merged := map[string]any{}
		if auth != nil {
			b, err := json.Marshal(auth)
			if err == nil {
				_ = json.Unmarshal(b, &merged)
			}
		}
		merged["pid"] = pid
		if offset != nil {
			merged["offset"] = *offset
		}
		auth = merged
	}
	_, err := s.m.send(&parser.Packet{Type: parser.Connect, Namespace: s.nsp, Data: auth})
	if err != nil {
		s.onError(fmt.Errorf("socketio client: cannot encode auth: %w", err))
	}
}

// onConnect completes a connection: buffered events are handled, buffered
// packets sent, the retry queue resumed, then connect handlers run.
func (s *Socket) onConnect(sid, pid string) {
	s.wmu.Lock()
	s.mu.Lock()
	s.id = sid
	s.recovered = pid != "" && pid == s.pid
	s.pid = pid
	s.connected = true
	received := s.receiveBuffer
	s.receiveBuffer = nil
	buffered := s.sendBuffer
	s.sendBuffer, s.bufferedBytes = nil, 0
	s.wakeWaitersLocked(nil)
	s.mu.Unlock()
	for _, p := range received {
		s.enqueue(func() { s.dispatch(p) })
	}
	for _, p := range buffered {
		if p.Type == parser.Event {
			s.notifyOutgoing(p.Event, p.Args)
		}
		_, _ = s.m.send(p)
	}
	s.wmu.Unlock()
	s.drainQueue(true)
	s.enqueue(func() {
		s.mu.Lock()
		handlers := s.connectHandlers
		s.mu.Unlock()
		for _, fn := range handlers {
			fn()
		}
	})
}

// onClose marks the socket disconnected: acknowledgements of packets
// already sent fail with ErrDisconnected, disconnect handlers run.
func (s *Socket) onClose(reason string, cause error) {
	s.mu.Lock()
	s.connected = false
	s.id = ""
	s.connectGen = 0
	var failed []*pendingAck
	for id, a := range s.acks {
		if !s.isBufferedLocked(id) {
			delete(s.acks, id)
			if a.timer != nil {
				a.timer.Stop()
			}
			failed = append(failed, a)
		}
	}
	s.mu.Unlock()
	for _, a := range failed {
		a.fn(nil, ErrDisconnected)
	}
	s.enqueue(func() {
		s.mu.Lock()
		handlers := s.onDisconnect
		s.mu.Unlock()
		for _, fn := range handlers {
			fn(reason, cause)
		}
	})
}

// onError reports a failed connection attempt to a socket not connected.
func (s *Socket) onError(err error) {
	s.mu.Lock()
	connected := s.connected
	if !connected {
		s.wakeWaitersLocked(err)
	}
	s.mu.Unlock()
	if !connected {
		s.emitConnectError(err)
	}
}

func (s *Socket) emitConnectError(err error) {
	s.enqueue(func() {
		s.mu.Lock()
		handlers := s.onConnectError
		s.mu.Unlock()
		for _, fn := range handlers {
			fn(err)
		}
	})
}

func (s *Socket) isBufferedLocked(id uint64) bool {
	for _, p := range s.sendBuffer {
		if p.HasID && p.ID == id {
			return true
		}
	}
	return false
}

// --- incoming -----------------------------------------------------------------

// onPacket handles a packet of this namespace on the connection's reader.
func (s *Socket) onPacket(p *parser.Packet) {
	switch p.Type {
	case parser.Connect:
		var data struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if r, ok := p.Data.(parser.Raw); ok {
			_ = r.Decode(&data)
		}
		if data.SID == "" {
			s.emitConnectError(errors.New("It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)"))
			return
		}
		s.onConnect(data.SID, data.PID)
	case parser.Event:
		s.mu.Lock()
		if s.pid != "" && len(p.Args) > 0 {
			if r, ok := p.Args[len(p.Args)-1].(parser.Raw); ok {
				var offset string
				if r.Decode(&offset) == nil {
					s.lastOffset = &offset
				}
			}
		}
		connected := s.connected
		if !connected {
			s.receiveBuffer = append(s.receiveBuffer, p)
		}
		s.mu.Unlock()
		if connected {
			s.enqueue(func() { s.dispatch(p) })
		}
	case parser.Ack:
		if !p.HasID {
			return // acks[undefined] in socket.io-client: no ack of ours (ours start at 0)
		}
		s.mu.Lock()
		a := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if a != nil {
			if a.timer != nil {
				a.timer.Stop()
			}
			a.fn(toArgs(p.Args), nil)
		}
	case parser.Disconnect:
		s.destroy()
		s.onClose("io server disconnect", nil)
	case parser.ConnectError:
		s.destroy()
		ce := &ConnectError{}
		if r, ok := p.Data.(parser.Raw); ok {
			var obj struct {
				Message string          `json:"message"`
				Data    json.RawMessage `json:"data"`
			}
			if r.Decode(&obj) == nil {
				ce.Message, ce.Data = obj.Message, obj.Data
			} else {
				_ = r.Decode(&ce.Message)
			}
		}
		s.mu.Lock()
		s.wakeWaitersLocked(ce)
		s.mu.Unlock()
		s.emitConnectError(ce)
	}
}

// dispatch runs an event through the catch-all handlers and its own.
func (s *Socket) dispatch(p *parser.Packet) {
	var ack func([]any) error
	if p.HasID {
		id := p.ID
		ack = func(args []any) error {
			_, err := s.m.send(&parser.Packet{Type: parser.Ack, Namespace: s.nsp, ID: id, HasID: true, Args: args})
			return err
		}
	}
	e := socketio.NewEvent(p.Event, toArgs(p.Args), ack, nil)
	s.mu.Lock()
	anyIn, handlers := s.anyIn, s.handlers[p.Event]
	s.mu.Unlock()
	for _, fn := range anyIn {
		fn(e)
	}
	for _, fn := range handlers {
		fn(e)
	}
}

func toArgs(v []any) Args {
	out := make(Args, 0, len(v))
	for _, x := range v {
		if r, ok := x.(parser.Raw); ok {
			out = append(out, r)
		}
	}
	return out
}

// enqueue runs job on the socket's event goroutine, after those queued.
func (s *Socket) enqueue(job func()) { s.inbox.Push(job) }

// --- emitting ----------------------------------------------------------------

type emitFlags struct {
	timeout   time.Duration
	volatile  bool
	fromQueue bool
}

// Emitter emits with flags; each method returns a new Emitter.
type Emitter struct {
	s     *Socket
	flags emitFlags
}

// Timeout sets the acknowledgement timeout of EmitWithAck (ErrTimeout).
func (s *Socket) Timeout(d time.Duration) *Emitter { return (&Emitter{s: s}).Timeout(d) }

// Volatile returns an emitter whose events are dropped, not buffered, when
// the connection cannot take them now (disconnected included).
func (s *Socket) Volatile() *Emitter { return (&Emitter{s: s}).Volatile() }

// Timeout sets the acknowledgement timeout.
func (e *Emitter) Timeout(d time.Duration) *Emitter {
	c := *e
	c.flags.timeout = d
	return &c
}

// Volatile marks events as droppable.
func (e *Emitter) Volatile() *Emitter {
	c := *e
	c.flags.volatile = true
	return &c
}

// Emit sends an event. While disconnected it is buffered and sent, in
// order, once connected (unless volatile). With SocketOptions.Retries it
// is queued until the server acknowledges it.
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(event, args, emitFlags{}, nil)
}

// EmitWithAck sends an event and waits for its acknowledgement, until ctx
// is done, the timeout (Timeout or SocketOptions.AckTimeout) elapses
// (ErrTimeout) or the socket disconnects after sending it
// (ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return (&Emitter{s: s}).EmitWithAck(ctx, event, args...)
}

// Emit sends an event with the emitter's flags.
func (e *Emitter) Emit(event string, args ...any) error {
	return e.s.emit(event, args, e.flags, nil)
}

// EmitWithAck sends an event with the emitter's flags and waits for its
// acknowledgement.
func (e *Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	if err := e.s.emit(event, args, e.flags, func(a Args, err error) { ch <- result{a, err} }); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Socket) emit(event string, args []any, flags emitFlags, callback func(Args, error)) error {
	if parser.ReservedEvents[event] {
		return fmt.Errorf("socketio client: %q is a reserved event name", event)
	}
	if s.opts.Retries > 0 && !flags.fromQueue && !flags.volatile {
		s.addToQueue(event, args, flags, callback)
		return nil
	}
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp, Event: event, Args: args}
	if callback != nil {
		timeout := flags.timeout
		if timeout == 0 {
			timeout = s.opts.AckTimeout
		}
		s.mu.Lock()
		p.ID, p.HasID = s.ids, true
		s.ids++
		s.registerAckLocked(p.ID, callback, timeout)
		s.mu.Unlock()
	}

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if flags.volatile && !s.m.writable() {
		return nil // dropped, as socket.io-client does
	}
	s.mu.Lock()
	connected := s.connected
	s.mu.Unlock()
	if connected {
		s.notifyOutgoing(event, args)
		sent, err := s.m.send(p)
		if err != nil {
			s.cancelAck(p)
			return err
		}
		if sent {
			return nil
		}
	}
	return s.buffer(p)
}

// buffer keeps a packet for the next connection, within the byte bound.
func (s *Socket) buffer(p *parser.Packet) error {
	msgs, err := s.m.cfg.Parser.Encode(p)
	if err != nil {
		s.cancelAck(p)
		return err
	}
	n := 0
	for _, m := range msgs {
		n += len(m.Data)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bufferedBytes+n > s.m.cfg.MaxBufferedBytes {
		if p.HasID {
			if a := s.acks[p.ID]; a != nil && a.timer != nil {
				a.timer.Stop()
			}
			delete(s.acks, p.ID)
		}
		return ErrBufferFull
	}
	s.sendBuffer = append(s.sendBuffer, p)
	s.bufferedBytes += n
	return nil
}

func (s *Socket) cancelAck(p *parser.Packet) {
	if !p.HasID {
		return
	}
	s.mu.Lock()
	if a := s.acks[p.ID]; a != nil && a.timer != nil {
		a.timer.Stop()
	}
	delete(s.acks, p.ID)
	s.mu.Unlock()
}

// registerAckLocked records the callback of ack id, with its timeout: when
// it elapses the packet leaves the buffer and the callback gets ErrTimeout.
func (s *Socket) registerAckLocked(id uint64, fn func(Args, error), timeout time.Duration) {
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	a := &pendingAck{fn: fn}
	if timeout > 0 {
		a.timer = time.AfterFunc(timeout, func() {
			s.mu.Lock()
			current := s.acks[id] == a
			if current {
				delete(s.acks, id)
				for i, p := range s.sendBuffer {
					if p.HasID && p.ID == id {
						s.sendBuffer = append(s.sendBuffer[:i], s.sendBuffer[i+1:]...)
						break
					}
				}
			}
			s.mu.Unlock()
			if current {
				fn(nil, ErrTimeout)
			}
		})
	}
	s.acks[id] = a
}

func (s *Socket) notifyOutgoing(event string, args []any) {
	s.mu.Lock()
	out := s.anyOut
	s.mu.Unlock()
	for _, fn := range out {
		fn(event, args)
	}
}

// --- retries --------------------------------------------------------------------

func (s *Socket) addToQueue(event string, args []any, flags emitFlags, callback func(Args, error)) {
	q := &queued{event: event, args: args, flags: flags, callback: callback}
	q.flags.fromQueue = true
	s.mu.Lock()
	s.queue = append(s.queue, q)
	s.mu.Unlock()
	s.drainQueue(false)
}

// drainQueue sends the head of the retry queue unless it is already in
// flight (force: resend it, after a reconnection).
func (s *Socket) drainQueue(force bool) {
	s.mu.Lock()
	if !s.connected || len(s.queue) == 0 {
		s.mu.Unlock()
		return
	}
	q := s.queue[0]
	if q.pending && !force {
		s.mu.Unlock()
		return
	}
	q.pending = true
	q.tries++
	s.mu.Unlock()
	err := s.emit(q.event, q.args, q.flags, func(a Args, err error) { s.onQueueAck(q, a, err) })
	if err != nil {
		s.onQueueAck(q, nil, err)
	}
}

func (s *Socket) onQueueAck(q *queued, args Args, err error) {
	s.mu.Lock()
	if len(s.queue) == 0 || s.queue[0] != q {
		s.mu.Unlock()
		return // already settled
	}
	var done bool
	if err == nil || q.tries > s.opts.Retries {
		s.queue = s.queue[1:]
		done = true
	}
	q.pending = false
	s.mu.Unlock()
	if done && q.callback != nil {
		q.callback(args, err)
	}
	s.drainQueue(false)
}
