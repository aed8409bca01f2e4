package socketio

import (
	"io/fs"
	"log/slog"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/parser"
)

// ServerOptions configures a Server. A nil *ServerOptions, and every zero
// field, means the documented default, which is Node's. Every Engine.IO
// option (PingInterval, PingTimeout, MaxHTTPBufferSize, Transports, CORS,
// Cookie, AllowRequest, ...) is available through the embedded
// engineio.ServerOptions; its Path, Logger and Hooks are replaced by the
// fields of the same name below.
type ServerOptions struct {
	engineio.ServerOptions

	// Path is where the server answers. Default "/socket.io/".
	Path string
	// ClientFiles, when set, serves the client bundle from it under Path:
	// socket.io.js, socket.io.min.js, socket.io.msgpack.min.js,
	// socket.io.esm.min.js and their .map files (serveClient in Node). It
	// is typically os.DirFS("node_modules/socket.io-client/dist"). Nil:
	// no bundle is served.
	ClientFiles fs.FS
	// ConnectTimeout is how long a connection may stay without joining a
	// namespace before it is closed. Default 45s.
	ConnectTimeout time.Duration
	// Parser is the codec of every connection. Default parser.Default
	// (JSON); parser/msgpack provides the msgpack one.
	Parser parser.Codec
	// Adapter creates the adapter of each namespace. Default: the
	// in-memory adapter (adapter.NewMemory).
	Adapter adapter.Factory
	// CleanupEmptyChildNamespaces removes a namespace created by a dynamic
	// parent once its last socket has left. Default false.
	CleanupEmptyChildNamespaces bool
	// ConnectionStateRecovery, when set, keeps the state of a socket that
	// disconnected unexpectedly (id, rooms, data) and the packets it missed,
	// and restores them when its client comes back in time. Off when nil.
	ConnectionStateRecovery *RecoveryOptions
	// MaxPendingEvents bounds the events of one socket that wait for their
	// handlers; a client past it is disconnected (reason "forced server
	// close"). Default 1024.
	MaxPendingEvents int
	// MaxNamespacesPerConnection bounds the distinct dynamic namespaces
	// (those a ParentNamespace of OfFunc or OfRegexp creates on demand)
	// that one connection may join, or try to join, over its life: each
	// such CONNECT may create a namespace and its adapter, so without a
	// bound one client could create them without end. Joining a namespace
	// the connection has joined before is free, and namespaces declared
	// with Of do not count. A CONNECT past the bound is refused with a
	// CONNECT_ERROR {"message":"Too many namespaces"} before any namespace
	// is created; the connection and its other sockets stay open. Default
	// 100; a negative value removes the bound. (Node has no such bound.)
	MaxNamespacesPerConnection int

	// Logger receives logs of both layers. Nil: silent.
	Logger *slog.Logger
	// Hooks observe the server; see Hooks.
	Hooks Hooks
}

// Hooks observe a Server. They are called synchronously, on the goroutine
// of the event they report, and must not block.
type Hooks struct {
	// Engine holds the Engine.IO hooks (connection, close, packets in and
	// out with sizes, upgrade).
	Engine engineio.Hooks
	// NamespaceCreated is called when a namespace is created (dynamic ones
	// included).
	NamespaceCreated func(n *Namespace)
	// Connect is called when a socket has joined its namespace.
	Connect func(s *Socket)
	// Disconnect is called when a socket leaves its namespace.
	Disconnect func(s *Socket, reason string)
	// Join and Leave are called when a socket enters or leaves a room.
	Join  func(s *Socket, room string)
	Leave func(s *Socket, room string)
	// EventIn is called for each event received, before its handlers.
	EventIn func(s *Socket, event string, args []parser.Raw)
	// EventOut is called for each event emitted to one socket (s) or
	// broadcast in a namespace (s nil).
	EventOut func(n *Namespace, s *Socket, event string, args []any)
	// BindError is called when a typed handler's arguments do not decode.
	BindError func(s *Socket, event string, err error)
}

// RecoveryOptions configures connection state recovery, as Node's
// connectionStateRecovery option.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a session is kept. Default 2m.
	MaxDisconnectionDuration time.Duration
	// SkipMiddlewares, when true (nil, the default), does not run the
	// middlewares again for a recovered socket.
	SkipMiddlewares *bool
	// RecoverWithoutOffset also restores a client that comes back with its
	// pid but no offset (it had received no event yet, socket.io#5538):
	// every stored packet addressed to it since it connected is replayed.
	// Node refuses to recover such a client (its new socket gets a new id),
	// which the official client's own tests expect; so the default is
	// false. The trade: with it on, a client that never received an event
	// keeps its id, rooms and data across a drop and misses nothing.
	// It applies to the adapters that keep sessions in memory (the default
	// one, and the classic and sharded Redis adapters, per node); the Redis
	// streams adapter needs an offset, as Node's.
	RecoverWithoutOffset bool
	// MaxPackets bounds the packets kept for replay. Default 10000.
	MaxPackets int
}

type serverConfig struct {
	path             string
	connectTimeout   time.Duration
	codec            parser.Codec
	adapter          adapter.Factory
	cleanupChildren  bool
	maxPendingEvents int
	maxNamespaces    int // dynamic namespaces per connection; <0: no bound
	log              *slog.Logger
	hooks            Hooks
	clientFiles      fs.FS
	recovery         *adapter.RecoveryConfig
	skipMiddlewares  bool
}

func newServerConfig(o *ServerOptions) (serverConfig, engineio.ServerOptions) {
	var opts ServerOptions
	if o != nil {
		opts = *o
	}
	c := serverConfig{
		path:             opts.Path,
		connectTimeout:   opts.ConnectTimeout,
		codec:            opts.Parser,
		adapter:          opts.Adapter,
		cleanupChildren:  opts.CleanupEmptyChildNamespaces,
		maxPendingEvents: opts.MaxPendingEvents,
		maxNamespaces:    opts.MaxNamespacesPerConnection,
		log:              opts.Logger,
		hooks:            opts.Hooks,
		clientFiles:      opts.ClientFiles,
	}
	if c.path == "" {
		c.path = "/socket.io/"
	}
	if c.path[len(c.path)-1] != '/' {
		c.path += "/"
	}
	if c.connectTimeout <= 0 {
		c.connectTimeout = 45 * time.Second
	}
	if c.codec == nil {
		c.codec = parser.Default
	}
	if c.adapter == nil {
		c.adapter = adapter.NewMemory
	}
	if c.maxPendingEvents <= 0 {
		c.maxPendingEvents = 1024
	}
	if c.maxNamespaces == 0 {
		c.maxNamespaces = 100
	}
	if r := opts.ConnectionStateRecovery; r != nil {
		c.recovery = &adapter.RecoveryConfig{
			MaxDisconnectionDuration: r.MaxDisconnectionDuration,
			RecoverWithoutOffset:     r.RecoverWithoutOffset,
			MaxPackets:               r.MaxPackets,
		}
		if c.recovery.MaxDisconnectionDuration <= 0 {
			c.recovery.MaxDisconnectionDuration = 2 * time.Minute
		}
		if c.recovery.MaxPackets <= 0 {
			c.recovery.MaxPackets = 10000
		}
		c.skipMiddlewares = r.SkipMiddlewares == nil || *r.SkipMiddlewares
	}
	eio := opts.ServerOptions
	eio.Path = c.path
	eio.Logger = opts.Logger
	eio.Hooks = opts.Hooks.Engine
	return c, eio
}
