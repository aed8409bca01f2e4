package client

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-sio/socketio/parser"
)

// ManagerOptions configures a Manager: the Engine.IO connection and the
// reconnection. Zero fields take the defaults of socket.io-client, named
// after its options (reconnectionDelay -> ReconnectionDelay).
type ManagerOptions struct {
	// Path of the server. Default "/socket.io/".
	Path string
	// Query is added to every request's query string.
	Query url.Values
	// ExtraHeaders are sent with every request, the WebSocket handshake
	// included.
	ExtraHeaders http.Header
	// Transports to use, the first tried first. Default
	// ["polling", "websocket"].
	Transports []string
	// Upgrade, when false, stays on the first transport. Default true.
	Upgrade *bool
	// RememberUpgrade starts with WebSocket when a previous connection to
	// the same server upgraded successfully.
	RememberUpgrade bool
	// HTTPClient carries TLS settings and, with a Jar, cookies (the
	// equivalent of withCredentials). Default http.DefaultClient.
	HTTPClient *http.Client

	// Reconnection, when false, never reconnects. Default true.
	Reconnection *bool
	// ReconnectionAttempts bounds the attempts; 0 means no bound.
	ReconnectionAttempts int
	// ReconnectionDelay is the first delay between attempts. Default 1s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps the delay. Default 5s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor spreads the delays: each is moved by up to that
	// fraction, up or down. Default 0.5; a negative value means 0.
	RandomizationFactor float64
	// Timeout bounds each connection attempt. Default 20s.
	Timeout time.Duration
	// AutoConnect, when false, waits for Socket.Connect. Default true.
	AutoConnect *bool
	// Parser is the codec; it must match the server's. Default JSON.
	Parser parser.Codec
	// MaxBufferedBytes bounds what a socket buffers while disconnected;
	// past it Emit fails with ErrBufferFull. Default 16 MiB.
	MaxBufferedBytes int
	// Logger receives debug logs. Nil: silent.
	Logger *slog.Logger
}

// SocketOptions configures one Socket (one namespace).
type SocketOptions struct {
	// Auth is sent with every CONNECT: a map or a struct (encoded as an
	// object). Ignored when AuthFunc is set.
	Auth any
	// AuthFunc is called before every connection attempt; its value is
	// sent as Auth.
	AuthFunc func() any
	// AckTimeout is the default acknowledgement timeout of EmitWithAck
	// (and of the retries). 0: none.
	AckTimeout time.Duration
	// Retries makes every Emit wait for an acknowledgement, retried up to
	// this many times (each after AckTimeout), one packet in flight at a
	// time, in order: at-least-once delivery.
	Retries int
}

// Options are those of Connect: the manager's and the socket's, plus
// whether to share a manager.
type Options struct {
	ManagerOptions
	SocketOptions
	// ForceNew creates a new Manager (connection) instead of reusing the
	// cached one for the same server.
	ForceNew bool
	// Multiplex, when false, is ForceNew. Default true.
	Multiplex *bool
}

type managerConfig struct {
	ManagerOptions
	reconnection bool
	autoConnect  bool
}

func newManagerConfig(o *ManagerOptions) managerConfig {
	var c managerConfig
	if o != nil {
		c.ManagerOptions = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	c.reconnection = c.Reconnection == nil || *c.Reconnection
	c.autoConnect = c.AutoConnect == nil || *c.AutoConnect
	if c.ReconnectionDelay <= 0 {
		c.ReconnectionDelay = time.Second
	}
	if c.ReconnectionDelayMax <= 0 {
		c.ReconnectionDelayMax = 5 * time.Second
	}
	if c.RandomizationFactor == 0 {
		c.RandomizationFactor = 0.5
	} else if c.RandomizationFactor < 0 {
		c.RandomizationFactor = 0
	}
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	if c.Parser == nil {
		c.Parser = parser.Default
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = 16 << 20
	}
	return c
}

// Bool returns a pointer to v, for the optional boolean fields.
func Bool(v bool) *bool { return &v }
