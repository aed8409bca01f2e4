package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// frameHandler receives the frames of one connection once it is ready
// (for Socket.IO: connected to the namespace), on the connection's reader
// goroutine. data is valid only during the call.
type frameHandler interface {
	onFrame(c *wsClient, data []byte)
}

// closeHandler is a frameHandler told when its connection ends, once it
// was ready.
type closeHandler interface {
	onClose(c *wsClient)
}

// wsClient is one virtual client over a WebSocket: gws's read loop is its
// only goroutine, and everything it does in a scenario (answer a ping,
// record a delivery, send the next echo) is done from that loop.
type wsClient struct {
	g     *gen
	conn  *gws.Conn
	h     frameHandler
	state int        // handshake state, reader goroutine only
	ready chan error // handshake outcome, buffered
	// closing is set before we close the connection ourselves, so that
	// OnClose tells our closes from the server's.
	closing atomic.Bool
	closed  atomic.Bool
}

const (
	stateOpen      = iota // waiting for Engine.IO's open packet "0{...}"
	stateConnect          // "40" sent, waiting for "40{...}"
	stateConnected        // frames go to the handler
)

var (
	errClosedEarly = errors.New("connection closed during the handshake")
	sioConnect     = []byte("40")
	sioPong        = []byte("3")
)

// dial opens one connection, and for Socket.IO completes the Engine.IO
// handshake and the connection to the namespace "/", within -timeout.
func (g *gen) dial(ctx context.Context, h frameHandler) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opts.timeout)
	defer cancel()
	c := &wsClient{g: g, h: h, ready: make(chan error, 1)}
	if g.raw {
		c.state = stateConnected
	}
	nc, err := g.dialer.DialContext(ctx, "tcp", g.hostPort)
	if err != nil {
		return nil, err
	}
	// gws's handshake has no context: closing the connection is what cuts
	// it short (its own timeout, longer, would leave its request writer
	// blocked).
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	conn, _, err := gws.NewClientFromConn(c, &gws.ClientOption{
		Addr:               g.wsURL,
		HandshakeTimeout:   g.opts.timeout + 5*time.Second,
		ReadBufferSize:     4096,
		ReadMaxPayloadSize: 16 << 20,
		Logger:             silentLogger{},
		NewSession:         func() gws.SessionStorage { return nopSession{} },
	}, nc)
	if !stop() {
		if err == nil {
			_ = conn.NetConn().Close()
		}
		return nil, fmt.Errorf("websocket handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	c.conn = conn
	g.readers.Add(1)
	go func() {
		defer g.readers.Done()
		conn.ReadLoop()
	}()
	if g.raw {
		return c, nil
	}
	select {
	case err = <-c.ready:
	case <-ctx.Done():
		err = fmt.Errorf("socket.io handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		c.closing.Store(true)
		_ = conn.NetConn().Close()
		return nil, err
	}
	return c, nil
}

// write sends one text frame (gws copies and masks it: data may be reused
// once write returns).
func (c *wsClient) write(data []byte) error {
	return c.conn.WriteMessage(gws.OpcodeText, data)
}

// close ends the connection with a close frame.
func (c *wsClient) close() {
	c.closing.Store(true)
	_ = c.conn.WriteClose(1000, nil)
}

// drop ends the connection abruptly (no close frame), as a network failure.
func (c *wsClient) drop() {
	c.closing.Store(true)
	_ = c.conn.NetConn().Close()
}

// gws.Event

func (c *wsClient) OnOpen(*gws.Conn) {}

func (c *wsClient) OnClose(_ *gws.Conn, err error) {
	c.closed.Store(true)
	if c.state != stateConnected {
		if err == nil {
			err = errClosedEarly
		}
		select {
		case c.ready <- fmt.Errorf("socket.io handshake: %w", err):
		default:
		}
		return
	}
	if !c.closing.Load() {
		c.g.disconnects.Add(1)
	}
	if ch, ok := c.h.(closeHandler); ok {
		ch.onClose(c)
	}
}

func (c *wsClient) OnPing(s *gws.Conn, payload []byte) { _ = s.WritePong(payload) }

func (c *wsClient) OnPong(*gws.Conn, []byte) {}

func (c *wsClient) OnMessage(s *gws.Conn, m *gws.Message) {
	data := m.Bytes()
	switch {
	case c.state == stateConnected:
		if !c.g.raw && len(data) == 1 && data[0] == '2' { // Engine.IO ping
			_ = s.WriteMessage(gws.OpcodeText, sioPong)
		} else {
			c.h.onFrame(c, data)
		}
	case c.state == stateOpen:
		if len(data) > 0 && data[0] == '0' {
			c.state = stateConnect
			if err := s.WriteMessage(gws.OpcodeText, sioConnect); err != nil {
				c.ready <- err
			}
		} else {
			c.fail(s, fmt.Errorf("socket.io handshake: want an open packet, got %q", clip(data)))
		}
	case c.state == stateConnect:
		switch {
		case len(data) >= 2 && data[0] == '4' && data[1] == '0':
			c.state = stateConnected
			c.ready <- nil
		case len(data) == 1 && data[0] == '2':
			_ = s.WriteMessage(gws.OpcodeText, sioPong)
		default:
			c.fail(s, fmt.Errorf("socket.io handshake: want a CONNECT packet, got %q", clip(data)))
		}
	}
	_ = m.Close() // back to gws's pool
}

func (c *wsClient) fail(s *gws.Conn, err error) {
	c.state = stateConnected + 1 // nothing more is handled
	c.ready <- err
	c.closing.Store(true)
	_ = s.NetConn().Close()
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// nopSession is the per-connection storage gws asks for: none is needed,
// so none (no map) is allocated.
type nopSession struct{}

func (nopSession) Len() int                           { return 0 }
func (nopSession) Load(string) (any, bool)            { return nil, false }
func (nopSession) Delete(string)                      {}
func (nopSession) Store(string, any)                  {}
func (nopSession) Range(func(key string, v any) bool) {}

type silentLogger struct{}

func (silentLogger) Error(...any) {}

// netDialer is the TCP dialer of every connection.
func netDialer() *net.Dialer { return &net.Dialer{KeepAlive: -1} }

// isOpen reports whether c (nil: a failed dial) is connected.
func (c *wsClient) isOpen() bool { return c != nil && !c.closed.Load() }
