package socketio

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/engineio"
)

// Server is a Socket.IO server: an http.Handler to mount at its path
// (default "/socket.io/"). The methods it shares with Namespace act on the
// main namespace "/".
type Server struct {
	cfg    serverConfig
	engine *engineio.Server

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	closed  bool

	main *Namespace
}

// NewServer returns a server. opts may be nil.
func NewServer(opts *ServerOptions) *Server {
	cfg, eopts := newServerConfig(opts)
	srv := &Server{cfg: cfg, nsps: make(map[string]*Namespace)}
	srv.engine = engineio.NewServer(engineio.HandlerFunc(srv.onEngineConnection), &eopts)
	srv.main = srv.Of("/")
	return srv
}

// Engine returns the underlying Engine.IO server.
func (srv *Server) Engine() *engineio.Server { return srv.engine }

// Path returns the path the server answers under.
func (srv *Server) Path() string { return srv.cfg.path }

// ServeHTTP answers Socket.IO requests and, when ClientFiles is set, the
// client bundle.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if srv.cfg.clientFiles != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if name, ok := strings.CutPrefix(r.URL.Path, srv.cfg.path); ok && isClientFile(name) {
			serveClientFile(w, r, srv.cfg.clientFiles, name)
			return
		}
	}
	srv.engine.ServeHTTP(w, r)
}

func (srv *Server) onEngineConnection(s *engineio.Session) engineio.SessionHandler {
	return newClient(srv, s)
}

// Of returns the namespace name, creating it when needed. A name without
// a leading slash gets one.
func (srv *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	srv.mu.RLock()
	n := srv.nsps[name]
	srv.mu.RUnlock()
	if n != nil {
		return n
	}
	srv.mu.Lock()
	if n = srv.nsps[name]; n != nil {
		srv.mu.Unlock()
		return n
	}
	n = newNamespace(srv, name, nil)
	srv.nsps[name] = n
	srv.mu.Unlock()
	srv.namespaceCreated(n)
	return n
}

func (srv *Server) namespaceCreated(n *Namespace) {
	srv.logDebug("namespace created", "nsp", n.name)
	if h := srv.cfg.hooks.NamespaceCreated; h != nil {
		h(n)
	}
}

// OfFunc declares dynamic namespaces: a client connecting to a namespace
// that does not exist gets it created as a child of the returned parent when
// accept returns true for its name and auth payload.
func (srv *Server) OfFunc(accept func(name string, auth map[string]any) bool) *ParentNamespace {
	p := newParentNamespace(srv, accept)
	srv.mu.Lock()
	srv.parents = append(srv.parents, p)
	srv.mu.Unlock()
	return p
}

// OfRegexp declares dynamic namespaces whose names match re.
func (srv *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return srv.OfFunc(func(name string, _ map[string]any) bool { return re.MatchString(name) })
}

// errTooManyNamespaces refuses a CONNECT past MaxNamespacesPerConnection.
var errTooManyNamespaces = &ConnectError{Message: "Too many namespaces"}

// lookupNamespace finds the namespace a CONNECT names, creating a dynamic
// child when a parent accepts it. admit is asked before a dynamic
// namespace is joined or created; when it refuses, lookupNamespace
// returns errTooManyNamespaces. A nil namespace and error: no such
// namespace.
func (srv *Server) lookupNamespace(name string, auth map[string]any, admit func(name string) bool) (*Namespace, error) {
	srv.mu.RLock()
	n := srv.nsps[name]
	parents := srv.parents
	srv.mu.RUnlock()
	if n != nil {
		if n.parent != nil && !admit(name) {
			return nil, errTooManyNamespaces
		}
		return n, nil
	}
	for _, p := range parents {
		if p.accept(name, auth) {
			if !admit(name) {
				return nil, errTooManyNamespaces
			}
			return p.child(name), nil
		}
	}
	return nil, nil
}

func (srv *Server) removeNamespace(n *Namespace) {
	srv.mu.Lock()
	if srv.nsps[n.name] == n {
		delete(srv.nsps, n.name)
	}
	srv.mu.Unlock()
}

func (srv *Server) namespaces() []*Namespace {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	out := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		out = append(out, n)
	}
	return out
}

func (srv *Server) logDebug(msg string, args ...any) {
	if srv.cfg.log != nil {
		srv.cfg.log.Debug("socketio: "+msg, args...)
	}
}

// ErrServerClosed is returned by Shutdown when called twice.
var ErrServerClosed = errors.New("socketio: server closed")

// Shutdown disconnects every socket with reason "server shutting down",
// closes the adapters and shuts the Engine.IO server down (see
// engineio.Server.Shutdown for what it waits for).
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	srv.closed = true
	srv.mu.Unlock()
	for _, n := range srv.namespaces() {
		for _, s := range n.Sockets() {
			s.onClose(ReasonServerShuttingDown, nil)
		}
	}
	err := srv.engine.Shutdown(ctx)
	for _, n := range srv.namespaces() {
		_ = n.adapter.Close()
	}
	return err
}

// --- methods of the main namespace --------------------------------------

// OnConnection registers a handler for sockets connecting to "/".
func (srv *Server) OnConnection(fn func(s *Socket)) { srv.main.OnConnection(fn) }

// Use adds a middleware to "/".
func (srv *Server) Use(fn Middleware) { srv.main.Use(fn) }

// Emit sends an event to every socket of "/".
func (srv *Server) Emit(event string, args ...any) error { return srv.main.Emit(event, args...) }

// To selects the sockets of "/" in rooms (In is the same).
func (srv *Server) To(rooms ...string) *BroadcastOperator { return srv.main.To(rooms...) }

// In is To.
func (srv *Server) In(rooms ...string) *BroadcastOperator { return srv.main.In(rooms...) }

// Except excludes the sockets in rooms.
func (srv *Server) Except(rooms ...string) *BroadcastOperator { return srv.main.Except(rooms...) }

// Local restricts a broadcast to this node.
func (srv *Server) Local() *BroadcastOperator { return srv.main.Local() }

// Volatile lets a broadcast drop packets for clients not ready for them.
func (srv *Server) Volatile() *BroadcastOperator { return srv.main.Volatile() }

// Compress sets the compress flag of a broadcast.
func (srv *Server) Compress(c bool) *BroadcastOperator { return srv.main.Compress(c) }

// Timeout sets how long EmitWithAck waits for acknowledgements.
func (srv *Server) Timeout(d time.Duration) *BroadcastOperator { return srv.main.Timeout(d) }

// FetchSockets returns the sockets of "/".
func (srv *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return srv.main.FetchSockets(ctx)
}

// SocketsJoin makes every socket of "/" join rooms.
func (srv *Server) SocketsJoin(rooms ...string) error { return srv.main.SocketsJoin(rooms...) }

// SocketsLeave makes every socket of "/" leave rooms.
func (srv *Server) SocketsLeave(rooms ...string) error { return srv.main.SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of "/".
func (srv *Server) DisconnectSockets(close bool) error { return srv.main.DisconnectSockets(close) }

// ServerSideEmit sends an event to the other nodes of the cluster.
func (srv *Server) ServerSideEmit(event string, args ...any) error {
	return srv.main.ServerSideEmit(event, args...)
}

// Sockets returns the connected sockets of "/" on this node.
func (srv *Server) Sockets() []*Socket { return srv.main.Sockets() }

var _ adapter.Namespace = (*Namespace)(nil)

func (srv *Server) logError(msg string, args ...any) {
	if srv.cfg.log != nil {
		srv.cfg.log.Error("socketio: "+msg, args...)
	}
}

// bindError reports a FuncN handler whose arguments do not decode.
func (srv *Server) bindError(e *Event, err error) {
	s := e.socket
	if h := srv.cfg.hooks.BindError; h != nil {
		h(s, e.Name, err)
	}
	srv.logDebug("arguments do not bind", "sid", s.id, "event", e.Name, "err", err)
}
