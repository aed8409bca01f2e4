package engineio

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-sio/socketio/engineio/packet"
)

// PacketType is the type of an Engine.IO packet, as reported to hooks.
type PacketType = packet.Type

// Errors returned by Session methods.
var (
	// ErrClosed is returned when sending on a session that is closing or closed.
	ErrClosed = errors.New("engineio: session closed")
	// ErrSlowConsumer is the cause given when a session is closed because
	// its send buffer went past ServerOptions.MaxBufferedBytes.
	ErrSlowConsumer = errors.New("engineio: send buffer full (slow consumer)")
)

// Close reasons, with the strings of the Node.js engine.io server.
const (
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	ReasonForcedClose    = "forced close"
)

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // Close was called: flush, then close
	stateClosed
)

// lateGETWindow is how long the id of a session the client closed over
// polling stays known, for one GET that raced the close.
const lateGETWindow = time.Second

// closeTimeout bounds how long a closing polling session waits for the
// client's next GET to hand it the close packet (Node: 30s).
const closeTimeout = 30 * time.Second

// Session is one Engine.IO connection, whatever its transport. Its methods
// are safe for concurrent use.
type Session struct {
	id  string
	srv *Server
	req *http.Request
	h   SessionHandler

	// deliverMu serialises deliveries to h so that messages reach it one
	// at a time, in arrival order, even across a transport upgrade.
	deliverMu   sync.Mutex
	closeReason string // set under deliverMu when the session closes
	closeCause  error

	mu        sync.Mutex
	state     sessionState
	transport string
	queue     []packet.Packet // packets waiting for a transport write
	queued    int             // encoded bytes in queue

	// polling
	poll       chan struct{} // signalled when the pending GET should look again; nil if none
	posting    bool          // a POST is being read
	abortPost  func()        // cuts the read of that POST's body short; nil if none
	finalPkt   packet.Type   // what a pending GET answers once the session is closed
	lateGET    bool          // closed by the client with no GET pending: answer one late GET
	closeTimer *time.Timer

	// websocket
	ws      *wsConn
	writing bool // a writer goroutine owns ws writes

	// upgrade
	upgrading    bool // a WebSocket upgrade candidate exists
	probed       bool // it sent "2probe": pending GETs are answered with noop
	upgraded     bool
	probeConn    *wsConn
	upgradeTimer *time.Timer

	// heartbeat
	pingTimer    *time.Timer
	timeoutTimer *time.Timer
	awaitingPong bool
	hbPaused     bool
	pingSent     time.Time // when the ping awaiting its pong was queued

	closed chan struct{} // closed once the session is closed
}

// ID returns the session id: 20 characters of URL-safe base64.
func (s *Session) ID() string { return s.id }

// Request returns the handshake request. Its body has been consumed.
func (s *Session) Request() *http.Request { return s.req }

// Transport returns the name of the transport in use.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Closed returns a channel closed when the session has closed.
func (s *Session) Closed() <-chan struct{} { return s.closed }

func (s *Session) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// newID returns 15 random bytes in URL-safe base64: 20 characters, as Node.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on platform failure)
	return base64.URLEncoding.EncodeToString(b[:])
}

// Send queues a message for the client. The session owns data afterwards:
// the caller must not change it, though it may share it between sessions.
// It returns ErrClosed when the session is closing or closed.
func (s *Session) Send(data []byte, binary bool) error {
	return s.SendBatch([]Message{{Data: data, Binary: binary}})
}

// Message is one Engine.IO message, for SendBatch.
type Message struct {
	Data   []byte
	Binary bool
}

// SendBatch queues msgs together: no message sent from another goroutine
// comes between them (a Socket.IO packet with binary attachments is
// several messages that must arrive in a row). Past the slow-consumer limit
// none is queued.
func (s *Session) SendBatch(msgs []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return ErrClosed
	}
	return s.enqueueLocked(messagePackets(msgs)...)
}

// messagePackets returns msgs as MESSAGE packets (on the caller's stack for
// the usual one to four).
func messagePackets(msgs []Message) []packet.Packet {
	pkts := make([]packet.Packet, 0, 4)
	for _, m := range msgs {
		pkts = append(pkts, packet.Packet{Type: packet.Message, Data: m.Data, Binary: m.Binary})
	}
	return pkts
}

// Writable reports whether the transport can take a message right now
// without queueing it: a polling GET is pending, or the WebSocket writer is
// idle. Volatile messages are dropped when it is false, as in Node.
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || len(s.queue) > 0 {
		return false
	}
	switch s.transport {
	case TransportPolling:
		return s.poll != nil
	case TransportWebSocket:
		return s.ws != nil && !s.writing
	}
	return false
}

// enqueueLocked queues pkts in a row and wakes the transport. Past the
// slow-consumer limit none is queued and the session closes (a lone packet
// still goes into an empty queue, whatever its size). s.mu is held.
func (s *Session) enqueueLocked(pkts ...packet.Packet) error {
	n := 0
	for _, p := range pkts {
		n += packet.EncodedLen(p)
	}
	if s.queued+n > s.srv.cfg.maxBuffered && (len(s.queue) > 0 || len(pkts) > 1) {
		go s.closeWith(ReasonTransportError, ErrSlowConsumer)
		return ErrSlowConsumer
	}
	s.queue = append(s.queue, pkts...)
	s.queued += n
	s.kickLocked()
	return nil
}

// kickLocked makes the current transport write what is queued. s.mu is held.
func (s *Session) kickLocked() {
	switch s.transport {
	case TransportPolling:
		s.signalPollLocked()
	case TransportWebSocket:
		if !s.writing && s.ws != nil && (len(s.queue) > 0 || s.state == stateClosing) {
			s.writing = true
			go s.wsWriteLoop(s.ws)
		}
	}
}

func (s *Session) signalPollLocked() {
	if s.poll != nil {
		select {
		case s.poll <- struct{}{}:
		default:
		}
	}
}

// takeQueueLocked returns the queued packets and empties the queue.
func (s *Session) takeQueueLocked() []packet.Packet {
	q := s.queue
	s.queue = nil
	s.queued = 0
	return q
}

// Close closes the session from the server side: packets already queued are
// written first, then the client is told to close, and the session ends with
// reason "forced close". It returns ErrClosed if the session is already
// closing or closed.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	s.state = stateClosing
	s.stopHeartbeatLocked()
	if s.transport == TransportPolling {
		// The next GET carries the close packet; give up after closeTimeout.
		s.closeTimer = time.AfterFunc(closeTimeout, func() { s.closeWith(ReasonForcedClose, nil) })
	}
	s.kickLocked()
	s.mu.Unlock()
	return nil
}

// shutdown closes the session for Server.Shutdown, as Node's close(true):
// a WebSocket session flushes its queue first; a polling one ends at once,
// answering a pending GET with a close packet.
func (s *Session) shutdown() {
	if s.Transport() == TransportWebSocket && s.Close() == nil {
		return
	}
	s.closeWith(ReasonForcedClose, nil)
}

// closeWith ends the session at once (queued packets are dropped) and calls
// the handler's OnClose. A pending polling GET is answered with a close
// packet, or a noop when the client itself asked to close.
func (s *Session) closeWith(reason string, cause error) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.stopHeartbeatLocked()
	if s.closeTimer != nil {
		s.closeTimer.Stop()
	}
	s.queue, s.queued = nil, 0
	s.finalPkt = packet.Close
	if reason == ReasonTransportClose {
		s.finalPkt = packet.Noop
		// A client's GET and its closing POST travel on two connections and
		// may arrive in either order; a GET that comes just after the close
		// gets the noop it would have got had it come first.
		s.lateGET = s.transport == TransportPolling && s.poll == nil
	}
	late := s.lateGET
	s.signalPollLocked()
	if s.abortPost != nil {
		// As Node destroys the data request of a closing transport: a
		// body still arriving would hold its request and connection.
		s.abortPost()
		s.abortPost = nil
	}
	ws, probe := s.ws, s.probeConn
	s.endUpgradeLocked()
	s.mu.Unlock()

	close(s.closed)
	s.srv.open.Add(-1)
	for _, c := range []*wsConn{ws, probe} {
		if c != nil {
			c.close()
		}
	}
	if late {
		time.AfterFunc(lateGETWindow, func() { s.srv.removeSession(s) })
	} else {
		s.srv.removeSession(s)
	}
	s.srv.logDebug("session closed", "sid", s.id, "reason", reason, "cause", cause)
	if hook := s.srv.cfg.opts.Hooks.Close; hook != nil {
		hook(s, reason, cause)
	}
	s.deliverMu.Lock()
	s.closeReason, s.closeCause = reason, cause
	if s.h != nil { // else start delivers it once the handler is known
		s.h.OnClose(reason, cause)
	}
	s.deliverMu.Unlock()
}

// onPacket handles one packet from the client, on the goroutine of the
// transport that read it.
func (s *Session) onPacket(p packet.Packet, size int) {
	if hook := s.srv.cfg.opts.Hooks.PacketIn; hook != nil {
		hook(s, p.Type, size)
	}
	switch p.Type {
	case packet.Message:
		s.deliverMu.Lock()
		s.mu.Lock()
		open := s.state == stateOpen
		s.mu.Unlock()
		if open {
			s.h.OnMessage(p.Data, p.Binary)
		}
		s.deliverMu.Unlock()
	case packet.Pong:
		s.onPong()
	case packet.Close:
		s.closeWith(ReasonTransportClose, nil)
	case packet.Ping:
		// A v4 client never pings; Node closes the session.
		s.closeWith(ReasonTransportError, errors.New("invalid heartbeat direction"))
	default:
		// open, upgrade and noop packets from the client are ignored, as Node.
	}
}

func (s *Session) packetOut(pkts []packet.Packet) {
	if hook := s.srv.cfg.opts.Hooks.PacketOut; hook != nil {
		for _, p := range pkts {
			hook(s, p.Type, packet.EncodedLen(p))
		}
	}
}

// --- heartbeat ---------------------------------------------------------------

// startHeartbeatLocked arms the ping timer. s.mu is held.
func (s *Session) startHeartbeatLocked() {
	s.hbPaused = false
	s.awaitingPong = false
	if s.pingTimer == nil {
		s.pingTimer = time.AfterFunc(s.srv.cfg.pingInterval, s.onPingTimer)
	} else {
		s.pingTimer.Reset(s.srv.cfg.pingInterval)
	}
}

func (s *Session) stopHeartbeatLocked() {
	s.hbPaused = true
	s.awaitingPong = false
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	if s.timeoutTimer != nil {
		s.timeoutTimer.Stop()
	}
}

func (s *Session) onPingTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.hbPaused || s.awaitingPong {
		return
	}
	if err := s.enqueueLocked(packet.Packet{Type: packet.Ping}); err != nil {
		return
	}
	s.awaitingPong = true
	s.pingSent = time.Now()
	if s.timeoutTimer == nil {
		s.timeoutTimer = time.AfterFunc(s.srv.cfg.pingTimeout, s.onPingTimeout)
	} else {
		s.timeoutTimer.Reset(s.srv.cfg.pingTimeout)
	}
}

func (s *Session) onPingTimeout() {
	s.mu.Lock()
	expired := s.state == stateOpen && s.awaitingPong && !s.hbPaused
	s.mu.Unlock()
	if expired {
		s.closeWith(ReasonPingTimeout, nil)
	}
}

func (s *Session) onPong() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.hbPaused || !s.awaitingPong {
		return
	}
	s.awaitingPong = false
	s.timeoutTimer.Stop()
	s.pingTimer.Reset(s.srv.cfg.pingInterval)
}

// heartbeatExpired closes the session with "ping timeout" when the pong of
// the last ping is overdue, even if the timeout timer has not fired yet (a
// loaded machine fires timers late), and reports whether it did.
func (s *Session) heartbeatExpired() bool {
	s.mu.Lock()
	expired := s.state == stateOpen && !s.hbPaused && s.awaitingPong &&
		time.Since(s.pingSent) > s.srv.cfg.pingTimeout
	s.mu.Unlock()
	if expired {
		s.closeWith(ReasonPingTimeout, nil)
	}
	return expired
}
