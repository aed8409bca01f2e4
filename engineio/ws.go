package engineio

// This file is the only one that knows the WebSocket library (lxzan/gws), so
// that it can be swapped without touching the transport logic.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// wsHandler receives the frames of one WebSocket connection, in order, on
// the goroutine running readLoop.
type wsHandler interface {
	onFrame(c *wsConn, data []byte, binary bool)
	onClose(c *wsConn, err error)
}

// wsConn is one server-side WebSocket connection.
type wsConn struct {
	c *gws.Conn
	h wsHandler

	// After the read loop reports the close, gws reclaims the connection's
	// buffers (the compression window among them) without a lock: no write
	// may follow. mu orders our writes before that point.
	mu         sync.Mutex
	readClosed bool
}

// wsAcceptor upgrades HTTP requests to WebSocket connections.
type wsAcceptor struct {
	up *gws.Upgrader
}

func newWSAcceptor(cfg *config) *wsAcceptor {
	opt := &gws.ServerOption{
		ReadMaxPayloadSize:  int(cfg.maxHTTPBufferSize),
		WriteMaxPayloadSize: 1 << 30,
		ReadBufferSize:      4096,
		HandshakeTimeout:    10 * time.Second,
		Logger:              silentLogger{},
		NewSession:          func() gws.SessionStorage { return &connSlot{} },
	}
	if pmd := cfg.opts.PerMessageDeflate; pmd != nil {
		opt.PermessageDeflate = gws.PermessageDeflate{
			Enabled:               true,
			Threshold:             pmd.Threshold,
			ServerContextTakeover: true,
			ClientContextTakeover: true,
		}
		if opt.PermessageDeflate.Threshold <= 0 {
			opt.PermessageDeflate.Threshold = 1024
		}
	}
	return &wsAcceptor{up: gws.NewUpgrader(wsEvents{}, opt)}
}

// accept completes the WebSocket handshake on w. On failure the library has
// already answered the client.
func (a *wsAcceptor) accept(w http.ResponseWriter, r *http.Request, h wsHandler) (*wsConn, error) {
	c, err := a.up.Upgrade(w, r)
	if err != nil {
		return nil, err
	}
	wc := &wsConn{c: c, h: h}
	c.Session().(*connSlot).conn = wc
	return wc, nil
}

// errMalformedFrame ends a connection whose frame made the library panic.
var errMalformedFrame = errors.New("engineio: malformed WebSocket frame")

// readLoop reads frames until the connection ends. It blocks.
//
// gws v1.9.1 panics on a frame whose 64-bit length has its top bit set
// (it allocates the length, negative as an int): one 14-byte frame from a
// peer. Such a panic ends this connection alone, as a protocol error,
// instead of the process (the client's read loop runs on a goroutine of
// its own) or, on a server, a session that would never close.
func (c *wsConn) readLoop() {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		_ = c.c.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
		c.mu.Lock()
		reported := c.readClosed
		c.readClosed = true
		if !reported {
			_ = c.c.WriteClose(1002, nil) // protocol error
		}
		c.mu.Unlock()
		_ = c.c.NetConn().Close()
		if !reported {
			c.h.onClose(c, fmt.Errorf("%w: %v", errMalformedFrame, r))
		}
	}()
	c.c.ReadLoop()
}

// writeText writes one text frame made of a one-byte prefix and data, without
// copying data.
func (c *wsConn) writeText(prefix byte, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readClosed {
		return net.ErrClosed
	}
	if len(data) == 0 {
		return c.c.WriteMessage(gws.OpcodeText, []byte{prefix})
	}
	return c.c.Writev(gws.OpcodeText, []byte{prefix}, data)
}

// writeBinary writes one binary frame.
func (c *wsConn) writeBinary(data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readClosed {
		return net.ErrClosed
	}
	return c.c.WriteMessage(gws.OpcodeBinary, data)
}

// close sends a close frame and closes the connection. A write blocked on a
// dead peer is cut short so that close never waits long.
func (c *wsConn) close() {
	// First, outside the lock: a write blocked on a dead peer (holding the
	// lock) fails within the deadline and lets us in.
	_ = c.c.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readClosed {
		_ = c.c.WriteClose(1000, nil)
	}
	_ = c.c.NetConn().Close()
}

// isNormalClose reports whether err ends a connection the way a peer
// closing it normally does (for a write: the peer is already gone).
func isNormalClose(err error) bool {
	var ce *gws.CloseError
	return err == nil || errors.As(err, &ce) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

type wsEvents struct{}

func slotOf(c *gws.Conn) *wsConn { return c.Session().(*connSlot).conn }

func (wsEvents) OnOpen(*gws.Conn) {}

func (wsEvents) OnClose(c *gws.Conn, err error) {
	if wc := slotOf(c); wc != nil {
		wc.mu.Lock()
		wc.readClosed = true // gws reclaims the buffers once this returns
		wc.mu.Unlock()
		wc.h.onClose(wc, err)
	}
}

func (wsEvents) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (wsEvents) OnPong(*gws.Conn, []byte) {}

func (wsEvents) OnMessage(c *gws.Conn, m *gws.Message) {
	wc := slotOf(c)
	if wc == nil {
		return
	}
	// The buffer is handed on and never returned to the library's pool.
	wc.h.onFrame(wc, m.Bytes(), m.Opcode == gws.OpcodeBinary)
}

// connSlot is the per-connection storage gws asks for; it only holds our
// connection, so no map is allocated per connection.
type connSlot struct{ conn *wsConn }

func (*connSlot) Len() int                           { return 0 }
func (*connSlot) Load(string) (any, bool)            { return nil, false }
func (*connSlot) Delete(string)                      {}
func (*connSlot) Store(string, any)                  {}
func (*connSlot) Range(func(key string, v any) bool) {}

type silentLogger struct{}

func (silentLogger) Error(...any) {}

// --- client side -------------------------------------------------------------

// wsDialConfig describes one client WebSocket connection.
type wsDialConfig struct {
	url        *url.URL // ws or wss
	header     http.Header
	tls        *tls.Config // for wss; nil: defaults
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
	maxPayload int // largest frame read
}

// dialWS opens a client WebSocket and returns it with the handshake
// response. ctx bounds the connection and the handshake and must have a
// deadline; a cancelled ctx closes the connection at once. The caller
// starts readLoop. A refused handshake returns its response too, with the
// part of its body that could be read (at most 4 KiB) in Body.
func dialWS(ctx context.Context, cfg wsDialConfig, h wsHandler) (*wsConn, *http.Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, nil, errors.New("engineio: dialWS needs a deadline")
	}
	u := cfg.url
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	dial := cfg.dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, nil, err
	}
	// The library's handshake has no context: closing the connection is
	// what cuts it short.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	if u.Scheme == "wss" {
		tc := cfg.tls.Clone()
		if tc == nil {
			tc = &tls.Config{}
		}
		if tc.ServerName == "" {
			tc.ServerName = u.Hostname()
		}
		tlsConn := tls.Client(conn, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			stop()
			_ = conn.Close()
			return nil, nil, err
		}
		conn = tlsConn
	}
	opt := &gws.ClientOption{
		Addr:                u.String(),
		RequestHeader:       cfg.header.Clone(),
		ReadMaxPayloadSize:  cfg.maxPayload,
		WriteMaxPayloadSize: 1 << 30,
		ReadBufferSize:      4096,
		// Longer than ctx, so that ctx (closing the connection) is what
		// ends a slow handshake: the library's own timeout would leave its
		// request writer blocked.
		HandshakeTimeout: time.Until(deadline) + 5*time.Second,
		Logger:           silentLogger{},
		NewSession:       func() gws.SessionStorage { return &connSlot{} },
	}
	c, resp, err := gws.NewClientFromConn(wsEvents{}, opt, conn)
	if !stop() {
		// ctx ended during the handshake: the connection is closed.
		if err == nil {
			_ = c.NetConn().Close()
		}
		return nil, nil, context.Cause(ctx)
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		_ = conn.Close()
		return nil, resp, err
	}
	wc := &wsConn{c: c, h: h}
	c.Session().(*connSlot).conn = wc
	return wc, resp, nil
}

// closeGracefully starts the WebSocket closing handshake, as a client does:
// it sends a close frame and leaves the connection to the read loop, which
// ends when the peer answers with its own close frame and closes the TCP
// connection. Closing at once would reset a connection with unread frames
// on it and lose what the peer had not read yet. After grace the read
// loop is cut short.
func (c *wsConn) closeGracefully(grace time.Duration) {
	_ = c.c.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readClosed {
		_ = c.c.NetConn().Close()
		return
	}
	if err := c.c.WriteMessage(gws.OpcodeCloseConnection, []byte{0x03, 0xe8}); err != nil { // 1000: normal closure
		_ = c.c.NetConn().Close()
		return
	}
	_ = c.c.SetReadDeadline(time.Now().Add(grace))
}
