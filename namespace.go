package socketio

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
)

// Middleware runs when a socket connects to a namespace, before the
// connection handlers, in the order added. An error refuses the connection:
// the client gets a connect_error with err.Error() as message, and the data
// of a *ConnectError.
type Middleware func(s *Socket) error

// ConnectError refuses a connection with a message and data, which the
// client receives in its connect_error event.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Namespace is a communication channel that groups sockets; "/" is the
// main one. Its methods are safe for concurrent use.
type Namespace struct {
	name    string
	srv     *Server
	adapter adapter.Adapter
	parent  *ParentNamespace // nil unless created dynamically

	ids atomic.Uint64 // acknowledgement ids

	mu          sync.RWMutex
	sockets     map[string]*Socket
	leaving     map[string]*Socket // disconnected, their disconnect handlers not done yet
	pids        map[string]*Socket // connected sockets by private session id (recovery)
	middlewares []Middleware
	onConnect   []func(*Socket)
	serverSide  map[string][]func(*ServerSideEvent)
}

func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{name: name, srv: srv, parent: parent, sockets: make(map[string]*Socket)}
	n.adapter = srv.cfg.adapter(n)
	if err := n.adapter.Init(); err != nil {
		srv.logError("adapter init failed", "nsp", name, "err", err)
	}
	return n
}

// Name returns the namespace name, with its leading slash.
func (n *Namespace) Name() string { return n.name }

// Server returns the server of the namespace.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the adapter of the namespace.
func (n *Namespace) Adapter() adapter.Adapter { return n.adapter }

// Recovery implements adapter.Namespace.
func (n *Namespace) Recovery() *adapter.RecoveryConfig { return n.srv.cfg.recovery }

// Codec returns the codec of the server (adapter.Namespace).
func (n *Namespace) Codec() parser.Codec { return n.srv.cfg.codec }

// Use adds a connection middleware.
func (n *Namespace) Use(fn Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, fn)
	n.mu.Unlock()
}

// OnConnection registers a handler called for each socket that connects,
// after the middlewares, on that socket's event goroutine.
func (n *Namespace) OnConnection(fn func(s *Socket)) {
	n.mu.Lock()
	n.onConnect = append(n.onConnect, fn)
	n.mu.Unlock()
}

// Sockets returns the connected sockets of this namespace on this node.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// Socket returns the connected local socket with the given id.
func (n *Namespace) Socket(id string) (*Socket, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	s, ok := n.sockets[id]
	return s, ok
}

// SocketsCount returns the number of connected sockets on this node.
func (n *Namespace) SocketsCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// LocalSocket implements adapter.Namespace.
func (n *Namespace) LocalSocket(id string) (adapter.Socket, bool) {
	s, ok := n.Socket(id)
	if !ok {
		return nil, false
	}
	return s, true
}

// LocalSockets implements adapter.Namespace.
func (n *Namespace) LocalSockets() []adapter.Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]adapter.Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// Join implements adapter.Namespace.
func (n *Namespace) Join(id string, rooms []string) {
	if s, ok := n.Socket(id); ok {
		s.Join(rooms...)
	}
}

// NextAckID implements adapter.Namespace.
func (n *Namespace) NextAckID() uint64 { return n.ids.Add(1) - 1 }

// Leave implements adapter.Namespace.
func (n *Namespace) Leave(id string, room string) {
	if s, ok := n.Socket(id); ok {
		s.Leave(room)
	}
}

// ServerSideEvent is an event sent by another node with ServerSideEmit.
type ServerSideEvent struct {
	Name string
	Args []any
	// reply, when set, sends the acknowledgement back.
	reply func(args []any)
}

// Ack answers the event when its sender asked for a reply.
func (e *ServerSideEvent) Ack(args ...any) {
	if e.reply != nil {
		e.reply(args)
		e.reply = nil
	}
}

// OnServerSideEmit registers a handler for events that other nodes send
// with ServerSideEmit.
func (n *Namespace) OnServerSideEmit(event string, fn func(e *ServerSideEvent)) {
	n.mu.Lock()
	if n.serverSide == nil {
		n.serverSide = make(map[string][]func(*ServerSideEvent))
	}
	n.serverSide[event] = append(n.serverSide[event], fn)
	n.mu.Unlock()
}

// HandleServerSideEmit implements adapter.Namespace: it delivers an event
// from another node to the handlers registered with OnServerSideEmit.
func (n *Namespace) HandleServerSideEmit(event string, args []any, reply func(args []any)) {
	n.mu.RLock()
	handlers := n.serverSide[event]
	n.mu.RUnlock()
	e := &ServerSideEvent{Name: event, Args: args, reply: reply}
	for _, h := range handlers {
		h(e)
	}
}

// ServerSideEmit sends an event to the other nodes of the cluster (none
// with the in-memory adapter). Reserved event names are refused.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if parser.ReservedEvents[event] {
		return reservedError(event)
	}
	return n.adapter.ServerSideEmit(context.Background(), event, args, nil)
}

// ServerSideEmitWithAck sends an event to the other nodes and waits, until
// ctx is done, for one reply from each.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([][]any, error) {
	if parser.ReservedEvents[event] {
		return nil, reservedError(event)
	}
	var mu sync.Mutex
	var replies [][]any
	err := n.adapter.ServerSideEmit(ctx, event, args, func(a []any) {
		mu.Lock()
		replies = append(replies, a)
		mu.Unlock()
	})
	mu.Lock()
	defer mu.Unlock()
	return replies, err
}

// --- broadcasting -------------------------------------------------------

func (n *Namespace) operator() *BroadcastOperator { return &BroadcastOperator{nsp: n} }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.operator().Emit(event, args...) }

// To selects the sockets in rooms.
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.operator().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.operator().In(rooms...) }

// Except excludes the sockets in rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return n.operator().Except(rooms...)
}

// Local restricts a broadcast to this node.
func (n *Namespace) Local() *BroadcastOperator { return n.operator().Local() }

// Volatile lets a broadcast drop packets for clients not ready for them.
func (n *Namespace) Volatile() *BroadcastOperator { return n.operator().Volatile() }

// Compress sets the compress flag of a broadcast.
func (n *Namespace) Compress(c bool) *BroadcastOperator { return n.operator().Compress(c) }

// Timeout sets how long EmitWithAck waits for acknowledgements.
func (n *Namespace) Timeout(d time.Duration) *BroadcastOperator { return n.operator().Timeout(d) }

// FetchSockets returns the sockets of the namespace, on every node.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.operator().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.operator().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(close bool) error {
	return n.operator().DisconnectSockets(close)
}

// --- connection ---------------------------------------------------------

// add runs the connection of s: recovery of its previous session when its
// client asks and it can be found, middlewares (unless skipped for a
// recovered socket), then the CONNECT answer and the connection handlers.
// It runs on the socket's event goroutine.
func (n *Namespace) add(s *Socket, auth map[string]any) {
	if n.srv.cfg.recovery != nil {
		n.recover(s, auth)
	}
	if !s.recovered || !n.srv.cfg.skipMiddlewares {
		n.mu.RLock()
		mws := slices.Clone(n.middlewares)
		n.mu.RUnlock()
		for _, mw := range mws {
			if err := runMiddleware(mw, s); err != nil {
				s.client.connectError(n.name, err)
				s.client.remove(s)
				n.remove(s) // a refused child namespace may be cleaned up
				s.finish()
				return
			}
		}
	}
	if s.client.isClosed() {
		s.client.remove(s)
		n.remove(s)
		s.finish()
		return
	}
	attached := false
	attach := func(missed []*parser.Packet) {
		n.mu.Lock()
		n.sockets[s.id] = s
		if s.pid != "" {
			if n.pids == nil {
				n.pids = make(map[string]*Socket)
			}
			n.pids[s.pid] = s
		}
		n.mu.Unlock()
		attached = s.attach(missed)
	}
	if n.srv.cfg.recovery != nil {
		rooms := append([]string{s.id}, s.pendingRooms...)
		n.adapter.Attach(s.resumeFrom, rooms, attach)
	} else {
		attach(nil)
	}
	if !attached {
		// The connection closed during the attach, and the socket's
		// onClose found it not connected yet: undo the registration.
		n.remove(s)
		n.adapter.DelAll(s.id)
		s.finish()
		return
	}
	s.onConnected()
	n.mu.RLock()
	handlers := slices.Clone(n.onConnect)
	n.mu.RUnlock()
	for _, h := range handlers {
		s.safely(func() { h(s) })
	}
}

// recover restores the session named by auth's pid (and offset) into s.
// A socket still connected with that pid (its transport died without the
// server noticing yet) is closed first, so that its session can be taken
// over; its late timeout then finds nothing to destroy.
func (n *Namespace) recover(s *Socket, auth map[string]any) {
	pid, ok := auth["pid"].(string)
	if !ok || pid == "" {
		return
	}
	var offset *string
	if o, ok := auth["offset"].(string); ok {
		offset = &o
	}
	if offset == nil && !n.srv.cfg.recovery.RecoverWithoutOffset {
		return
	}
	n.mu.RLock()
	stale := n.pids[pid]
	n.mu.RUnlock()
	if stale != nil {
		stale.client.close() // persists its session ("forced server close")
	}
	session, err := n.adapter.RestoreSession(pid, offset)
	if err != nil || session == nil {
		if err != nil {
			n.srv.logError("session restore failed", "nsp", n.name, "err", err)
		}
		return
	}
	// The previous socket of this session may still be running its
	// disconnect handlers, after which it leaves its rooms: mark it taken
	// over, so that it leaves them to the recovered socket.
	n.mu.RLock()
	old := n.leaving[session.SID]
	n.mu.RUnlock()
	if old != nil {
		old.takeOver()
	}
	s.id, s.pid, s.recovered = session.SID, session.PID, true
	s.connectOffset = session.ConnectOffset
	s.SetData(session.Data)
	rooms := make([]string, 0, len(session.Rooms))
	for _, r := range session.Rooms {
		if r != s.id {
			rooms = append(rooms, r)
		}
	}
	from := session.ResumeFrom
	s.resumeFrom = &from
	s.pendingRooms = rooms
	n.srv.logDebug("connection state recovered", "sid", s.id)
}

// runMiddleware calls mw, turning a panic into a refusal.
func runMiddleware(mw Middleware, s *Socket) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.logError("middleware panic", "nsp", s.nsp.name, "panic", r)
			err = &ConnectError{Message: "middleware error"}
		}
	}()
	return mw(s)
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	if n.pids[s.pid] == s {
		delete(n.pids, s.pid)
	}
	empty := len(n.sockets) == 0
	n.mu.Unlock()
	if empty && n.parent != nil && n.srv.cfg.cleanupChildren {
		n.parent.removeChild(n)
		n.srv.removeNamespace(n)
		_ = n.adapter.Close()
	}
}

// ParentNamespace creates child namespaces on demand (dynamic namespaces).
// Handlers and middlewares registered on it apply to every child.
type ParentNamespace struct {
	srv    *Server
	accept func(name string, auth map[string]any) bool

	mu          sync.Mutex
	children    map[string]*Namespace
	middlewares []Middleware
	onConnect   []func(*Socket)
}

func newParentNamespace(srv *Server, accept func(string, map[string]any) bool) *ParentNamespace {
	return &ParentNamespace{srv: srv, accept: accept, children: make(map[string]*Namespace)}
}

// Use adds a middleware to every child, present and future.
func (p *ParentNamespace) Use(fn Middleware) {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, fn)
	children := p.childList()
	p.mu.Unlock()
	for _, c := range children {
		c.Use(fn)
	}
}

// OnConnection registers a connection handler on every child.
func (p *ParentNamespace) OnConnection(fn func(s *Socket)) {
	p.mu.Lock()
	p.onConnect = append(p.onConnect, fn)
	children := p.childList()
	p.mu.Unlock()
	for _, c := range children {
		c.OnConnection(fn)
	}
}

// Emit sends an event to every socket of every child.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	p.mu.Lock()
	children := p.childList()
	p.mu.Unlock()
	for _, c := range children {
		if err := c.Emit(event, args...); err != nil {
			return err
		}
	}
	return nil
}

// Children returns the namespaces created so far.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.childList()
}

func (p *ParentNamespace) childList() []*Namespace {
	out := make([]*Namespace, 0, len(p.children))
	for _, c := range p.children {
		out = append(out, c)
	}
	return out
}

// child returns the child name, creating and registering it.
func (p *ParentNamespace) child(name string) *Namespace {
	srv := p.srv
	srv.mu.Lock()
	if n := srv.nsps[name]; n != nil {
		srv.mu.Unlock()
		return n
	}
	n := newNamespace(srv, name, p)
	p.mu.Lock()
	n.middlewares = append(n.middlewares, p.middlewares...)
	n.onConnect = append(n.onConnect, p.onConnect...)
	p.children[name] = n
	p.mu.Unlock()
	srv.nsps[name] = n
	srv.mu.Unlock()
	srv.namespaceCreated(n)
	return n
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
}

// leave records a disconnected socket until its disconnection has been
// handled (left), and removes it from the connected sockets.
func (n *Namespace) leave(s *Socket) {
	n.mu.Lock()
	if n.leaving == nil {
		n.leaving = make(map[string]*Socket)
	}
	n.leaving[s.id] = s
	n.mu.Unlock()
	n.remove(s)
}

// left forgets a socket whose disconnection has been handled.
func (n *Namespace) left(s *Socket) {
	n.mu.Lock()
	if n.leaving[s.id] == s {
		delete(n.leaving, s.id)
	}
	n.mu.Unlock()
}
