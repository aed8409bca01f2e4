package engineio

// This file is the only one that knows the WebSocket library (lxzan/gws), so
// that it can be swapped without touching the transport logic.

import (
	"bufio"
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

	"github.com/go-sio/socketio/engineio/packet"
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

	// raw, on a server connection without compression: the connection
	// under the library, which writePackets writes gathered frames to.
	raw *rawConn
}

// rawConn is a server's network connection under the library. It notes the
// library's close frame, after which no frame of ours may go out: the
// library checks that itself before a write of its own.
type rawConn struct {
	net.Conn
	mu        sync.Mutex
	closeSent bool
}

// Write is the library's: handshake response, frames, one per call.
func (r *rawConn) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(b) > 0 && b[0] == 0x80|byte(gws.OpcodeCloseConnection) {
		r.closeSent = true
	}
	return r.Conn.Write(b)
}

// writeFrames writes whole frames of ours unless the close frame is out.
func (r *rawConn) writeFrames(b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closeSent {
		return net.ErrClosed
	}
	_, err := r.Conn.Write(b)
	return err
}

// wsReadBufferSize is the read buffer of a server connection.
const wsReadBufferSize = 4096

// wsAcceptor upgrades HTTP requests to WebSocket connections.
type wsAcceptor struct {
	up       *gws.Upgrader
	coalesce bool // no per-message deflate: writePackets gathers frames
}

func newWSAcceptor(cfg *config) *wsAcceptor {
	opt := &gws.ServerOption{
		ReadMaxPayloadSize:  int(cfg.maxHTTPBufferSize),
		WriteMaxPayloadSize: 1 << 30,
		ReadBufferSize:      wsReadBufferSize,
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
	return &wsAcceptor{up: gws.NewUpgrader(wsEvents{}, opt), coalesce: cfg.opts.PerMessageDeflate == nil}
}

// accept completes the WebSocket handshake on w. On failure the library has
// already answered the client.
func (a *wsAcceptor) accept(w http.ResponseWriter, r *http.Request, h wsHandler) (*wsConn, error) {
	if !a.coalesce {
		c, err := a.up.Upgrade(w, r)
		if err != nil {
			return nil, err
		}
		return a.attach(c, h, nil), nil
	}
	// As Upgrade, the connection wrapped.
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("engineio: the response cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	raw := &rawConn{Conn: conn}
	c, err := a.up.UpgradeFromConn(raw, bufio.NewReaderSize(conn, wsReadBufferSize), r)
	if err != nil {
		return nil, err
	}
	return a.attach(c, h, raw), nil
}

func (a *wsAcceptor) attach(c *gws.Conn, h wsHandler, raw *rawConn) *wsConn {
	wc := &wsConn{c: c, h: h, raw: raw}
	c.Session().(*connSlot).conn = wc
	return wc
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

// writePacket writes p as one frame, with the library.
func (c *wsConn) writePacket(p packet.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readClosed {
		return net.ErrClosed
	}
	return c.writePacketLocked(p)
}

// writePacketLocked writes p as one frame, with the library, without
// copying its data: binary, or text made of the type's digit and the data.
// c.mu is held.
func (c *wsConn) writePacketLocked(p packet.Packet) error {
	switch {
	case p.Binary:
		return c.c.WriteMessage(gws.OpcodeBinary, p.Data)
	case len(p.Data) == 0:
		return c.c.WriteMessage(gws.OpcodeText, []byte{'0' + byte(p.Type)})
	}
	return c.c.Writev(gws.OpcodeText, []byte{'0' + byte(p.Type)}, p.Data)
}

// coalesceMax bounds the bytes gathered for one write; a larger payload is
// written on its own, not copied.
const coalesceMax = 32 << 10

// frameBufs holds the buffers writePackets gathers frames in.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writePackets writes pkts, one frame each, in order. On a server
// connection without compression we make the frames (final, unmasked,
// uncompressed, as the library does) and a burst goes out in as few writes
// as coalesceMax allows, instead of a system call each; whole frames per
// write, so that one of the library's own (a pong) never lands inside.
func (c *wsConn) writePackets(pkts []packet.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readClosed {
		return net.ErrClosed
	}
	if c.raw == nil {
		for _, p := range pkts {
			if err := c.writePacketLocked(p); err != nil {
				return err
			}
		}
		return nil
	}
	bp := frameBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 2*coalesceMax {
			*bp = buf[:0]
			frameBufs.Put(bp)
		}
	}()
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := c.raw.writeFrames(buf)
		buf = buf[:0]
		return err
	}
	for _, p := range pkts {
		if len(p.Data) >= coalesceMax {
			if err := flush(); err != nil {
				return err
			}
			if err := c.writePacketLocked(p); err != nil {
				return err
			}
			continue
		}
		buf = appendFrame(buf, p)
		if len(buf) >= coalesceMax {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// appendFrame appends the frame of p to buf: a final unmasked text frame
// of the type's digit and the data, or a binary frame of the data.
func appendFrame(buf []byte, p packet.Packet) []byte {
	opcode, n := byte(gws.OpcodeBinary), len(p.Data)
	if !p.Binary {
		opcode, n = byte(gws.OpcodeText), n+1
	}
	buf = append(buf, 0x80|opcode)
	switch {
	case n < 126:
		buf = append(buf, byte(n))
	case n <= 0xFFFF:
		buf = append(buf, 126, byte(n>>8), byte(n))
	default:
		buf = append(buf, 127, byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if !p.Binary {
		buf = append(buf, '0'+byte(p.Type))
	}
	return append(buf, p.Data...)
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
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody))
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
