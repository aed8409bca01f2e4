package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/go-sio/socketio/engineio/packet"
)

// The polling side of the client: one GET at a time on the reading
// goroutine (pollLoop), one POST at a time on a writer goroutine that runs
// only while packets are queued (postLoop).

var errStopPayload = errors.New("stop")

// openPolling performs the polling handshake: the first GET, whose payload
// starts with the open packet.
func (c *ClientConn) openPolling(ctx context.Context) error {
	body, err := c.get(ctx, true)
	if err != nil {
		return err
	}
	var pkts []packet.Packet
	derr := packet.DecodePayload(body, func(p packet.Packet) error {
		pkts = append(pkts, p)
		return nil
	})
	if len(pkts) == 0 {
		if derr == nil {
			derr = errNoOpen
		}
		return fmt.Errorf("engineio: bad handshake payload: %w", derr)
	}
	if err := c.applyHandshake(pkts[0]); err != nil {
		return err
	}
	c.mu.Lock()
	c.state = clientOpen
	c.mu.Unlock()
	c.onOpened()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != clientClosed {
		// The rest of the handshake payload, then the next GETs.
		c.polling = true
		rest := pkts[1:]
		c.goLocked(func() { c.pollLoop(rest, derr) })
	}
	return nil
}

// pollLoop is the reading goroutine of a polling connection: it handles
// first (and firstErr, the error that ended its decoding), then polls until
// the connection closes, leaves polling, or an upgrade pauses it.
func (c *ClientConn) pollLoop(first []packet.Packet, firstErr error) {
	for _, p := range first {
		if !c.onPollPacket(p) {
			c.stopPolling()
			return
		}
	}
	if firstErr != nil {
		c.closeWith(ReasonParseError, firstErr)
		c.stopPolling()
		return
	}
	for {
		c.mu.Lock()
		if c.state == clientClosed || c.transport != TransportPolling || c.upgrading {
			c.mu.Unlock()
			c.stopPolling()
			return
		}
		c.mu.Unlock()

		body, err := c.get(c.ctx, false)
		if err != nil {
			c.closeWith(ReasonTransportError, err)
			c.stopPolling()
			return
		}
		err = packet.DecodePayload(body, func(p packet.Packet) error {
			if !c.onPollPacket(p) {
				return errStopPayload
			}
			return nil
		})
		if err == errStopPayload {
			c.stopPolling()
			return
		}
		if err != nil {
			c.closeWith(ReasonParseError, err)
			c.stopPolling()
			return
		}
	}
}

// onPollPacket handles one packet of a polling payload and reports whether
// to go on. A close packet closes the connection with "transport close".
func (c *ClientConn) onPollPacket(p packet.Packet) bool {
	c.mu.Lock()
	stale := c.transport != TransportPolling
	c.mu.Unlock()
	if stale {
		return false
	}
	return c.onPacket(p)
}

// stopPolling records that the GET loop has returned, and completes a
// pending upgrade if polling is now paused.
func (c *ClientConn) stopPolling() {
	c.mu.Lock()
	c.polling = false
	paused := c.pausedLocked()
	c.mu.Unlock()
	if paused {
		c.commitUpgrade()
	}
}

// postLoop is the writer of a polling connection: it POSTs the queued
// packets, one request at a time, until the queue is empty.
func (c *ClientConn) postLoop() {
	for {
		c.mu.Lock()
		if c.state == clientClosed || c.transport != TransportPolling || c.upgrading {
			c.writing = false
			paused := c.pausedLocked()
			c.mu.Unlock()
			if paused {
				c.commitUpgrade()
			}
			return
		}
		batch := c.takeLocked()
		if len(batch) == 0 {
			c.stopWritingLocked()
			return
		}
		c.mu.Unlock()

		if err := c.post(c.ctx, batch); err != nil {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.closeWith(ReasonTransportError, err)
			return
		}
	}
}

// get sends one polling GET and returns its body. A refused handshake is a
// *HandshakeError.
func (c *ClientConn) get(ctx context.Context, handshake bool) ([]byte, error) {
	// net/http silently retries a GET whose reused connection broke before
	// the response: the server may have sent packets on the first attempt,
	// which would then be lost without any sign. Such a retry fails the
	// transport instead, so that the session reconnects (and recovers).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var written atomic.Int32
	var conns atomic.Int32
	var retried atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			if conns.Add(1) > 1 && written.Load() > 0 {
				retried.Store(true)
				cancel()
			}
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written.Add(1)
			}
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, c.requestURL(TransportPolling).String(), nil)
	if err != nil {
		return nil, err
	}
	c.setHeaders(req)
	resp, err := c.client.Do(req)
	if retried.Load() {
		if err == nil {
			resp.Body.Close()
		}
		return nil, errors.New("engineio: polling GET was retried after its first attempt reached the server; packets may have been lost")
	}
	if err != nil {
		return nil, fmt.Errorf("engineio: polling GET: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody))
		if handshake {
			return nil, newHandshakeError(TransportPolling, resp.StatusCode, body)
		}
		return nil, fmt.Errorf("engineio: polling GET: HTTP %d: %q", resp.StatusCode, truncate(body))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, clientMaxRead+1))
	if err != nil {
		return nil, fmt.Errorf("engineio: polling GET: %w", err)
	}
	if len(body) > clientMaxRead {
		return nil, fmt.Errorf("engineio: polling GET: response larger than %d bytes", clientMaxRead)
	}
	return body, nil
}

// post sends packets as one polling payload.
func (c *ClientConn) post(ctx context.Context, pkts []packet.Packet) error {
	body := packet.AppendPayload(make([]byte, 0, packet.PayloadLen(pkts)), pkts)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.requestURL(TransportPolling).String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	c.setHeaders(req)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("engineio: polling POST: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("engineio: polling POST: HTTP %d: %q", resp.StatusCode, truncate(answer))
	}
	return nil
}

// setHeaders adds the extra headers to a request.
func (c *ClientConn) setHeaders(req *http.Request) {
	req.Header.Set("Accept", "*/*")
	for k, v := range c.header {
		if k == "Host" && len(v) > 0 {
			req.Host = v[0]
			continue
		}
		req.Header[k] = v
	}
}

func truncate(b []byte) string {
	if len(b) > 256 {
		b = b[:256]
	}
	return string(b)
}
