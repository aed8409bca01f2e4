package engineio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-sio/socketio/engineio/packet"
)

// The WebSocket side of the client: the connection's frames are read on
// the library's read loop, run on a goroutine of the connection; a writer
// goroutine runs only while packets are queued. The upgrade probe of a
// polling connection is a WebSocket too, read on its own goroutine, which
// becomes the reading goroutine of the connection once the upgrade is done.

var (
	errProbe        = errors.New("engineio: probe error")
	errProbeTimeout = errors.New("engineio: probe timed out")
	errProbeClosing = errors.New("engineio: connection closing")
	errClosedEarly  = errors.New("engineio: websocket closed before the open packet")
)

// clientWSLink routes the events of a client WebSocket to its connection.
type clientWSLink struct{ c *ClientConn }

func (l clientWSLink) onFrame(conn *wsConn, data []byte, binary bool) {
	l.c.onWSFrame(conn, data, binary)
}

func (l clientWSLink) onClose(conn *wsConn, err error) { l.c.onWSClose(conn, err) }

// dialWebSocket opens a WebSocket for the connection: with the session id
// once known, the extra headers, and the cookies of the HTTP client's jar.
func (c *ClientConn) dialWebSocket(ctx context.Context) (*wsConn, error) {
	u := c.requestURL(TransportWebSocket)
	httpURL := *u
	httpURL.Scheme = c.base.Scheme
	header := c.header.Clone()
	jar := c.client.Jar
	if jar != nil {
		var parts []string
		for _, ck := range jar.Cookies(&httpURL) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
		if len(parts) > 0 {
			header.Add("Cookie", strings.Join(parts, "; "))
		}
	}
	cfg := wsDialConfig{url: u, header: header, maxPayload: clientMaxRead}
	rt := c.client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if tr, ok := rt.(*http.Transport); ok {
		cfg.tls = tr.TLSClientConfig
		cfg.dial = tr.DialContext
	}
	conn, resp, err := dialWS(ctx, cfg, clientWSLink{c})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body)
			return nil, newHandshakeError(TransportWebSocket, resp.StatusCode, body)
		}
		return nil, fmt.Errorf("engineio: websocket: %w", err)
	}
	if jar != nil {
		if cks := resp.Cookies(); len(cks) > 0 {
			jar.SetCookies(&httpURL, cks)
		}
	}
	return conn, nil
}

// openWebSocket performs the WebSocket handshake: the connection, then its
// first frame, the open packet.
func (c *ClientConn) openWebSocket(ctx context.Context) error {
	conn, err := c.dialWebSocket(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ws = conn
	c.goLocked(conn.readLoop)
	c.mu.Unlock()
	select {
	case <-c.opened:
	case <-ctx.Done():
		c.failOpen(context.Cause(ctx))
		<-c.opened
	}
	if c.openErr != nil {
		<-c.done // the read loop ends with the connection
		return c.openErr
	}
	return nil
}

// failOpen ends a connection whose handshake failed.
func (c *ClientConn) failOpen(err error) {
	c.mu.Lock()
	if c.state != clientOpening {
		c.mu.Unlock()
		return
	}
	c.state = clientClosed
	c.openErr = err
	ws := c.ws
	c.maybeDoneLocked()
	c.mu.Unlock()
	close(c.opened)
	c.cancel()
	if ws != nil {
		ws.close()
	}
}

// onWSFrame handles a frame of the connection's WebSocket or of the probe.
func (c *ClientConn) onWSFrame(conn *wsConn, data []byte, binary bool) {
	c.mu.Lock()
	state := c.state
	main, probe := c.ws == conn, c.probeWS == conn
	c.mu.Unlock()
	switch {
	case main && state == clientOpening:
		c.onWSOpen(data, binary)
	case main:
		p, err := packet.Decode(data, binary)
		if err != nil {
			c.closeWith(ReasonParseError, err)
			return
		}
		c.onPacket(p)
	case probe:
		c.onProbeFrame(conn, data, binary)
	}
}

// onWSOpen handles the first frame of a WebSocket connection.
func (c *ClientConn) onWSOpen(data []byte, binary bool) {
	p, err := packet.Decode(data, binary)
	if err == nil {
		c.mu.Lock()
		if c.state != clientOpening {
			c.mu.Unlock()
			return
		}
		if err = c.applyHandshake(p); err == nil {
			c.state = clientOpen
		}
		c.mu.Unlock()
	}
	if err != nil {
		c.failOpen(err)
		return
	}
	c.onOpened()
	close(c.opened)
}

// onWSClose handles the end of the connection's WebSocket or of the probe.
func (c *ClientConn) onWSClose(conn *wsConn, err error) {
	c.mu.Lock()
	state := c.state
	main, probe := c.ws == conn, c.probeWS == conn
	c.mu.Unlock()
	switch {
	case main && state == clientOpening:
		if err == nil {
			err = errClosedEarly
		} else {
			err = fmt.Errorf("%w: %w", errClosedEarly, err)
		}
		c.failOpen(err)
	case main:
		if isNormalClose(err) {
			c.closeWith(ReasonTransportClose, nil)
		} else {
			c.closeWith(ReasonTransportError, err)
		}
	case probe:
		c.abortProbe(conn, fmt.Errorf("%w: transport closed", errProbe))
	}
}

// wsWriteLoop writes the queued packets to conn until the queue is empty.
func (c *ClientConn) wsWriteLoop(conn *wsConn) {
	for {
		c.mu.Lock()
		if c.state == clientClosed || c.ws != conn {
			c.writing = false
			c.mu.Unlock()
			return
		}
		pkts := c.takeLocked()
		if len(pkts) == 0 {
			c.stopWritingLocked()
			return
		}
		c.mu.Unlock()
		for i, p := range pkts {
			if i > 0 && c.isClosed() {
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				return // no frame after the close frame
			}
			if err := conn.writePacket(p); err != nil {
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				c.closeWith(ReasonTransportError, err)
				return
			}
		}
	}
}

// --- upgrade -----------------------------------------------------------------

// probe tries the upgrade of a polling connection to WebSocket, as
// engine.io-client: it opens a WebSocket with the session id and sends
// "2probe"; the answer "3probe" pauses polling (see onProbeFrame), and
// commitUpgrade switches once the GET and POST under way have returned.
// It then reads the WebSocket until it closes.
func (c *ClientConn) probe() {
	priorWebSocket.Store(c.priorKey, false)
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	conn, err := c.dialWebSocket(ctx)
	cancel()
	if err != nil {
		c.logDebug("upgrade probe failed", "err", err)
		return
	}
	c.mu.Lock()
	if c.state != clientOpen || c.transport != TransportPolling || c.probeWS != nil {
		c.mu.Unlock()
		conn.close()
		return
	}
	c.probeWS = conn
	c.probeTimer = time.AfterFunc(c.timeout, func() { c.abortProbe(conn, errProbeTimeout) })
	c.mu.Unlock()
	if err := conn.writePacket(packet.Packet{Type: packet.Ping, Data: []byte("probe")}); err != nil {
		c.abortProbe(conn, err)
	}
	conn.readLoop()
}

// onProbeFrame handles a frame of the probe: only "3probe" is expected.
func (c *ClientConn) onProbeFrame(conn *wsConn, data []byte, binary bool) {
	p, err := packet.Decode(data, binary)
	if err != nil || p.Type != packet.Pong || string(p.Data) != "probe" {
		c.abortProbe(conn, errProbe)
		return
	}
	c.mu.Lock()
	if c.probeWS != conn || c.upgrading {
		c.mu.Unlock()
		return
	}
	if c.state != clientOpen {
		c.mu.Unlock()
		c.abortProbe(conn, errProbeClosing)
		return
	}
	c.probeTimer.Stop()
	c.upgrading = true // polling finishes its requests and starts no new one
	paused := c.pausedLocked()
	c.mu.Unlock()
	c.logDebug("probe answered, pausing polling")
	priorWebSocket.Store(c.priorKey, true)
	if paused {
		c.commitUpgrade()
	}
}

// pausedLocked reports whether an upgrade waits for nothing more: polling
// has neither a GET nor a POST under way. c.mu is held.
func (c *ClientConn) pausedLocked() bool {
	return c.upgrading && !c.polling && !c.writing && c.state != clientClosed && c.probeWS != nil
}

// commitUpgrade moves the connection to the probed WebSocket: the upgrade
// packet goes first, then what was queued meanwhile.
func (c *ClientConn) commitUpgrade() {
	c.mu.Lock()
	conn := c.probeWS
	if !c.pausedLocked() {
		c.mu.Unlock()
		return
	}
	c.probeWS = nil
	c.transport = TransportWebSocket
	c.ws = conn
	c.queue = append([]packet.Packet{{Type: packet.Upgrade}}, c.queue...)
	c.queued++
	c.mu.Unlock()
	c.logDebug("upgraded", "transport", TransportWebSocket)
	c.deliver(func() { c.h.OnUpgrade(TransportWebSocket) })

	c.mu.Lock()
	c.upgrading = false
	c.kickLocked()
	c.mu.Unlock()
}

// abortProbe drops the probe conn; the connection goes on polling.
func (c *ClientConn) abortProbe(conn *wsConn, err error) {
	c.mu.Lock()
	if c.probeWS != conn {
		c.mu.Unlock()
		conn.close()
		return
	}
	c.probeWS = nil
	if c.probeTimer != nil {
		c.probeTimer.Stop()
	}
	wasUpgrading := c.upgrading
	c.upgrading = false
	drained := false
	if wasUpgrading && c.state != clientClosed {
		// Polling was paused: resume it.
		if !c.polling {
			c.polling = true
			c.goLocked(func() { c.pollLoop(nil, nil) })
		}
		c.kickLocked()
		drained = c.drainedLocked()
	}
	c.mu.Unlock()
	priorWebSocket.Store(c.priorKey, false)
	c.logDebug("upgrade failed", "err", err)
	conn.close()
	if drained {
		c.closeWith(ReasonForcedClose, nil)
	}
}
