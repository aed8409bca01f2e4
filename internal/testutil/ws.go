// Package testutil holds the test clients that the tests of the engineio
// and socketio packages share: a raw WebSocket client that sees every
// Engine.IO frame, and bounded HTTP requests. Every wait is bounded by
// WaitTimeout, so a server that misbehaves fails a test instead of hanging
// it.
//
// It knows the Engine.IO wire format (pings, pongs, the JSON errors of
// Node's engine.io) as plain strings, and imports neither engineio nor
// socketio, so that the tests of both can use it.
package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// WaitTimeout bounds every wait of the helpers of this package, and of the
// tests that use them.
const WaitTimeout = 5 * time.Second

// frameBuffer is how many received frames a WSConn holds for the test
// before its read loop waits.
const frameBuffer = 512

// Frame is one WebSocket data frame a test client received.
type Frame struct {
	Binary bool
	Data   []byte
}

// String shows the frame in failure messages: text "…" or binary [xx …].
func (f Frame) String() string {
	if f.Binary {
		return fmt.Sprintf("binary [% x]", f.Data)
	}
	return fmt.Sprintf("text %q", f.Data)
}

// IsPing reports whether f is an Engine.IO ping: the text frame "2".
func (f Frame) IsPing() bool { return !f.Binary && string(f.Data) == "2" }

// WithoutPings returns frames without the Engine.IO pings among them.
func WithoutPings(frames []Frame) []Frame {
	var out []Frame
	for _, f := range frames {
		if !f.IsPing() {
			out = append(out, f)
		}
	}
	return out
}

// DialOptions configure Dial. The zero value, like nil, is a plain client.
type DialOptions struct {
	// PerMessageDeflate offers the permessage-deflate extension, with
	// context takeover in both directions.
	PerMessageDeflate bool
	// AutoPong answers every Engine.IO ping ("2") with a pong ("3") and
	// keeps the ping from the test.
	AutoPong bool
}

// WSConn is a raw WebSocket test client (gws) that sees every Engine.IO
// frame. Frames arrive in order on a buffered channel, from gws's read
// loop; the methods that wait for them fail the test after WaitTimeout.
type WSConn struct {
	t        testing.TB
	conn     *gws.Conn
	frames   chan Frame
	quit     chan struct{} // closed at cleanup, so the read loop never blocks
	ended    chan struct{} // closed when the read loop has returned
	autoPong bool

	mu     sync.Mutex
	reason error // why the connection closed
}

// OnOpen implements gws.Event.
func (c *WSConn) OnOpen(*gws.Conn) {}

// OnPing implements gws.Event: a WebSocket ping is answered at once.
func (c *WSConn) OnPing(conn *gws.Conn, data []byte) { _ = conn.WritePong(data) }

// OnPong implements gws.Event.
func (c *WSConn) OnPong(*gws.Conn, []byte) {}

// OnClose implements gws.Event: it records why the connection closed.
func (c *WSConn) OnClose(_ *gws.Conn, err error) {
	c.mu.Lock()
	c.reason = err
	c.mu.Unlock()
}

// OnMessage implements gws.Event: it queues the frame for the test, or
// answers it when it is a ping and the client answers pings itself.
func (c *WSConn) OnMessage(conn *gws.Conn, m *gws.Message) {
	f := Frame{Binary: m.Opcode == gws.OpcodeBinary, Data: bytes.Clone(m.Bytes())}
	_ = m.Close()
	if c.autoPong && f.IsPing() {
		_ = conn.WriteString("3")
		return
	}
	select {
	case c.frames <- f:
	case <-c.quit:
	}
}

// Dial opens a WebSocket to url with opts (nil: the zero DialOptions). It
// returns the HTTP response of the handshake, and its error when the
// handshake is refused. At cleanup the connection is closed and its read
// loop awaited.
func Dial(t testing.TB, url string, opts *DialOptions) (*WSConn, *http.Response, error) {
	t.Helper()
	if opts == nil {
		opts = &DialOptions{}
	}
	c := &WSConn{
		t:        t,
		frames:   make(chan Frame, frameBuffer),
		quit:     make(chan struct{}),
		ended:    make(chan struct{}),
		autoPong: opts.AutoPong,
	}
	option := &gws.ClientOption{Addr: url, HandshakeTimeout: WaitTimeout}
	if opts.PerMessageDeflate {
		option.PermessageDeflate = gws.PermessageDeflate{Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true}
	}
	conn, resp, err := gws.NewClient(c, option)
	if err != nil {
		return nil, resp, err
	}
	c.conn = conn
	go func() {
		defer close(c.ended)
		conn.ReadLoop()
	}()
	t.Cleanup(func() {
		close(c.quit)
		_ = conn.WriteClose(1000, nil)
		select {
		case <-c.ended:
		case <-time.After(WaitTimeout):
			_ = conn.NetConn().Close()
			<-c.ended
			t.Errorf("websocket client: read loop still running %v after close", WaitTimeout)
		}
	})
	return c, resp, nil
}

// MustDial is Dial that fails the test when the handshake fails.
func MustDial(t testing.TB, url string, opts *DialOptions) *WSConn {
	t.Helper()
	c, resp, err := Dial(t, url, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP status %d)", url, err, status)
	}
	return c
}

// ExpectWSRefused fails the test unless a WebSocket to url is refused: the
// handshake fails (with HTTP 400 when there is an HTTP answer at all), or
// the connection is closed before any frame is sent on it.
func ExpectWSRefused(t testing.TB, url string) {
	t.Helper()
	c, resp, err := Dial(t, url, nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("refused WebSocket to %s: HTTP status %d, want 400", url, resp.StatusCode)
		}
		return
	}
	if frames := c.ExpectClosed(); len(frames) > 0 {
		t.Fatalf("WebSocket to %s received %v before it closed, want nothing", url, frames)
	}
}

// SendText sends the text frame s; a failed write fails the test.
func (c *WSConn) SendText(s string) {
	c.t.Helper()
	if err := c.conn.WriteString(s); err != nil {
		c.t.Fatalf("send text %q: %v", s, err)
	}
}

// SendTextUnlessClosed is SendText for a frame that races with the server
// closing the connection: a write on a connection already closed is no
// failure (ExpectClosed is what checks the close), any other write error
// fails the test.
func (c *WSConn) SendTextUnlessClosed(s string) {
	c.t.Helper()
	if err := c.conn.WriteString(s); err != nil && !errors.Is(err, net.ErrClosed) {
		c.t.Fatalf("send text %q: %v", s, err)
	}
}

// SendBinary sends the binary frame b; a failed write fails the test.
func (c *WSConn) SendBinary(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
		c.t.Fatalf("send binary % x: %v", b, err)
	}
}

// Close closes the client's side of the connection with a WebSocket close
// frame, as a browser tab that goes away. Cleanup still awaits the read
// loop.
func (c *WSConn) Close() { _ = c.conn.WriteClose(1000, nil) }

func (c *WSConn) closeReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Next returns the next frame, pings included. It fails the test when the
// connection closes first or nothing arrives within WaitTimeout.
func (c *WSConn) Next() Frame {
	c.t.Helper()
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	select {
	case f := <-c.frames:
		return f
	case <-c.ended:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("websocket closed while a frame was awaited (%v)", c.closeReason())
	case <-timer.C:
		c.t.Fatalf("no websocket frame within %v", WaitTimeout)
	}
	return Frame{}
}

// NextSkippingPings is Next, but drops Engine.IO pings, whose timing is
// not what the caller checks. It does not answer them.
func (c *WSConn) NextSkippingPings() Frame {
	c.t.Helper()
	for {
		if f := c.Next(); !f.IsPing() {
			return f
		}
	}
}

// ExpectText fails the test unless the next frame is the text frame want.
func (c *WSConn) ExpectText(want string) {
	c.t.Helper()
	if f := c.Next(); f.Binary || string(f.Data) != want {
		c.t.Fatalf("got %v, want text %q", f, want)
	}
}

// ExpectTextSkippingPings is ExpectText, ignoring Engine.IO pings before
// the frame.
func (c *WSConn) ExpectTextSkippingPings(want string) {
	c.t.Helper()
	if f := c.NextSkippingPings(); f.Binary || string(f.Data) != want {
		c.t.Fatalf("got %v, want text %q", f, want)
	}
}

// ExpectBinarySkippingPings fails the test unless the next frame other
// than an Engine.IO ping is the binary frame want.
func (c *WSConn) ExpectBinarySkippingPings(want []byte) {
	c.t.Helper()
	if f := c.NextSkippingPings(); !f.Binary || !bytes.Equal(f.Data, want) {
		c.t.Fatalf("got %v, want binary [% x]", f, want)
	}
}

// ExpectClosed waits until the server closes the connection and returns
// the frames received before that, pings included. It fails the test when
// the connection is still open after WaitTimeout.
func (c *WSConn) ExpectClosed() []Frame {
	c.t.Helper()
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	var got []Frame
	for {
		select {
		case f := <-c.frames:
			got = append(got, f)
		case <-c.ended:
			for {
				select {
				case f := <-c.frames:
					got = append(got, f)
				default:
					return got
				}
			}
		case <-timer.C:
			c.t.Fatalf("websocket still open after %v (frames so far: %v)", WaitTimeout, got)
			return got
		}
	}
}
