package engineio

import (
	"log/slog"
	"net/http"
	"time"
)

// Transport names as they appear in the "transport" query parameter.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// ServerOptions configures a Server. A nil *ServerOptions, and every zero
// field, means the documented default, which is the default of the Node.js
// engine.io server unless said otherwise. Field names follow the Node option
// names (pingInterval -> PingInterval).
type ServerOptions struct {
	// Path is the URL path the server answers under. Default "/engine.io/".
	// A trailing slash is added when missing.
	Path string

	// PingInterval is the time between two server pings. Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong after a ping
	// before it closes the session with "ping timeout". Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout is how long an upgrade to WebSocket may take before the
	// new transport is abandoned. Default 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize bounds a polling POST body and a WebSocket frame, in
	// bytes. A larger POST is answered 413; a larger frame closes the
	// session. Default 1e6.
	MaxHTTPBufferSize int64

	// Transports lists the transports a client may use. Default
	// ["polling", "websocket"].
	Transports []string
	// AllowUpgrades, when false, offers no upgrade in the handshake and
	// refuses upgrade requests. Default true (nil).
	AllowUpgrades *bool

	// AllowRequest, when set, is called for every handshake request before
	// a session exists. A non-nil error rejects it with HTTP 403 and
	// {"code":4,"message":<the error text>}.
	AllowRequest func(r *http.Request) error

	// CORS configures cross-origin access. Nil (the default) sends no CORS
	// header, so browsers on other origins are refused.
	CORS *CORSOptions

	// Cookie, when set, makes the handshake response set a cookie holding
	// the session id (for sticky load balancing). Off by default. It is set
	// on polling handshakes; a WebSocket-only handshake does not carry it.
	Cookie *CookieOptions

	// HTTPCompression configures gzip/deflate of polling responses. Nil
	// means on, for bodies of 1024 bytes or more, as in Node.
	HTTPCompression *HTTPCompressionOptions

	// PerMessageDeflate configures WebSocket compression. Nil (the default)
	// disables it.
	PerMessageDeflate *PerMessageDeflateOptions

	// InitialPacket, when non-nil, is sent as a message right after the
	// open packet.
	InitialPacket []byte

	// MaxBufferedBytes bounds the bytes queued for one session and not yet
	// written. A session past it is closed with reason "transport error"
	// and cause ErrSlowConsumer. Default 8 MiB. (Node has no such bound.)
	MaxBufferedBytes int

	// Logger receives debug and error logs. Nil means silent.
	Logger *slog.Logger

	// Hooks observe the server. Each may be nil.
	Hooks Hooks
}

// CORSOptions mirrors the options of the "cors" package Node's engine.io uses.
type CORSOptions struct {
	// Origins lists the allowed origins; "*" allows any (and is sent as "*"
	// unless Credentials is true, in which case the request's origin is
	// echoed). Ignored when AllowOrigin is set.
	Origins []string
	// AllowOrigin decides per request. Ignored when nil.
	AllowOrigin func(origin string, r *http.Request) bool
	// Methods sent in Access-Control-Allow-Methods on preflight. Default
	// GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders sent on preflight. Default: the request's
	// Access-Control-Request-Headers echoed.
	AllowedHeaders []string
	// ExposedHeaders sent in Access-Control-Expose-Headers.
	ExposedHeaders []string
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
	// MaxAge, when positive, is sent in Access-Control-Max-Age on preflight.
	MaxAge time.Duration
}

// CookieOptions describes the session cookie. Zero fields take the Node
// defaults: Name "io", Path "/", HttpOnly, SameSite=Lax.
type CookieOptions struct {
	Name     string
	Path     string
	Domain   string
	MaxAge   int
	Secure   bool
	SameSite http.SameSite
	// NoHTTPOnly clears the HttpOnly attribute, which is on by default.
	NoHTTPOnly bool
}

// HTTPCompressionOptions configures polling response compression.
type HTTPCompressionOptions struct {
	// Disabled turns compression off.
	Disabled bool
	// Threshold is the smallest body, in bytes, that is compressed.
	// Default 1024.
	Threshold int
}

// PerMessageDeflateOptions configures WebSocket per-message deflate.
type PerMessageDeflateOptions struct {
	// Threshold is the smallest message, in bytes, that is compressed.
	// Default 1024.
	Threshold int
}

// Hooks observe a Server; admin UI, metrics and logs are built on them.
// They are called synchronously and must not block.
type Hooks struct {
	// Connection is called when a session opens.
	Connection func(s *Session)
	// Close is called when a session closes, with Node's reason string.
	Close func(s *Session, reason string, cause error)
	// PacketIn is called for each packet received, with its encoded size.
	PacketIn func(s *Session, typ PacketType, size int)
	// PacketOut is called for each packet written, with its encoded size.
	PacketOut func(s *Session, typ PacketType, size int)
	// Upgrade is called when a session moves to another transport.
	Upgrade func(s *Session, transport string)
	// ConnectionError is called when a request is refused, with the
	// engine.io error code and message.
	ConnectionError func(r *http.Request, code int, message string)
}

// Bool returns a pointer to v, for optional boolean fields.
func Bool(v bool) *bool { return &v }

type config struct {
	path              string
	pingInterval      time.Duration
	pingTimeout       time.Duration
	upgradeTimeout    time.Duration
	maxHTTPBufferSize int64
	polling           bool
	websocket         bool
	allowUpgrades     bool
	compressThreshold int // 0: compression off
	maxBuffered       int
	opts              ServerOptions
}

func newConfig(o *ServerOptions) config {
	var c config
	if o != nil {
		c.opts = *o
	}
	o = &c.opts
	c.path = o.Path
	if c.path == "" {
		c.path = "/engine.io/"
	}
	if c.path[len(c.path)-1] != '/' {
		c.path += "/"
	}
	c.pingInterval = orDuration(o.PingInterval, 25*time.Second)
	c.pingTimeout = orDuration(o.PingTimeout, 20*time.Second)
	c.upgradeTimeout = orDuration(o.UpgradeTimeout, 10*time.Second)
	c.maxHTTPBufferSize = o.MaxHTTPBufferSize
	if c.maxHTTPBufferSize <= 0 {
		c.maxHTTPBufferSize = 1e6
	}
	if len(o.Transports) == 0 {
		c.polling, c.websocket = true, true
	}
	for _, t := range o.Transports {
		switch t {
		case TransportPolling:
			c.polling = true
		case TransportWebSocket:
			c.websocket = true
		}
	}
	c.allowUpgrades = o.AllowUpgrades == nil || *o.AllowUpgrades
	c.compressThreshold = 1024
	if hc := o.HTTPCompression; hc != nil {
		if hc.Disabled {
			c.compressThreshold = 0
		} else if hc.Threshold > 0 {
			c.compressThreshold = hc.Threshold
		}
	}
	c.maxBuffered = o.MaxBufferedBytes
	if c.maxBuffered <= 0 {
		c.maxBuffered = 8 << 20
	}
	return c
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// upgrades returns the transports a session on transport t may upgrade to.
func (c *config) upgrades(t string) []string {
	if t == TransportPolling && c.allowUpgrades && c.websocket {
		return []string{TransportWebSocket}
	}
	return []string{}
}
