package client

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/parser"
)

// ErrManagerClosed is returned when dialing through a closed Manager.
var ErrManagerClosed = errors.New("socketio client: manager closed")

type readyState int

const (
	stateClosed readyState = iota
	stateOpening
	stateOpen
)

// Manager is one Engine.IO connection to a server, shared by the sockets of
// several namespaces, and its reconnection. Its methods are safe for
// concurrent use.
//
// Its event handlers (OnOpen, OnClose, OnReconnect...) run on the goroutine
// of the event (the connection's reader or a timer) and must not block.
type Manager struct {
	uri  string // scheme://host[:port], no path
	cfg  managerConfig
	dial *engineio.DialOptions

	mu            sync.Mutex
	state         readyState
	conn          *engineio.ClientConn
	gen           int // connection generation: callbacks of older ones are ignored
	dec           parser.Decoder
	nsps          map[string]*Socket
	reconnecting  bool
	skipReconnect bool
	backoff       *backoff
	timer         *time.Timer // reconnection delay
	closed        bool
	dialing       sync.WaitGroup
	cancelDial    context.CancelFunc

	handlers managerHandlers
}

type managerHandlers struct {
	open             []func()
	errors           []func(error)
	close            []func(reason string, cause error)
	ping             []func()
	reconnectAttempt []func(attempt int)
	reconnect        []func(attempt int)
	reconnectError   []func(error)
	reconnectFailed  []func()
}

// NewManager returns a manager for the server at rawURL (its path and
// query, if any, are ignored: use ManagerOptions.Path and Query). It does
// not connect until a socket does.
func NewManager(rawURL string, opts *ManagerOptions) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, errors.New("socketio client: URL needs a scheme and a host: " + rawURL)
	}
	cfg := newManagerConfig(opts)
	m := &Manager{
		uri:     u.Scheme + "://" + u.Host,
		cfg:     cfg,
		nsps:    make(map[string]*Socket),
		backoff: newBackoff(cfg.ReconnectionDelay, cfg.ReconnectionDelayMax, cfg.RandomizationFactor),
	}
	m.dial = &engineio.DialOptions{
		Path:            cfg.Path,
		Query:           cfg.Query,
		ExtraHeaders:    cfg.ExtraHeaders,
		Transports:      cfg.Transports,
		Upgrade:         cfg.Upgrade,
		RememberUpgrade: cfg.RememberUpgrade,
		HTTPClient:      cfg.HTTPClient,
		Timeout:         cfg.Timeout,
		Logger:          cfg.Logger,
	}
	return m, nil
}

// Socket returns the socket of namespace nsp on this manager, creating it
// (and connecting it when AutoConnect) on first use.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	s := m.nsps[nsp]
	created := s == nil
	if created {
		s = newSocket(m, nsp, opts)
		m.nsps[nsp] = s
	}
	m.mu.Unlock()
	if m.cfg.autoConnect && (created || !s.Active()) {
		s.Connect()
	}
	return s
}

// --- events ----------------------------------------------------------------

// OnOpen registers a handler for each successful (re)connection.
func (m *Manager) OnOpen(fn func()) { m.on(func(h *managerHandlers) { h.open = append(h.open, fn) }) }

// OnError registers a handler for connection errors.
func (m *Manager) OnError(fn func(error)) {
	m.on(func(h *managerHandlers) { h.errors = append(h.errors, fn) })
}

// OnClose registers a handler for the end of each connection, with its
// reason ("transport close", "ping timeout", "forced close"...).
func (m *Manager) OnClose(fn func(reason string, cause error)) {
	m.on(func(h *managerHandlers) { h.close = append(h.close, fn) })
}

// OnPing registers a handler for each server ping.
func (m *Manager) OnPing(fn func()) { m.on(func(h *managerHandlers) { h.ping = append(h.ping, fn) }) }

// OnReconnectAttempt registers a handler called before each reconnection
// attempt, with its number (from 1).
func (m *Manager) OnReconnectAttempt(fn func(attempt int)) {
	m.on(func(h *managerHandlers) { h.reconnectAttempt = append(h.reconnectAttempt, fn) })
}

// OnReconnect registers a handler for a successful reconnection, with the
// number of attempts it took.
func (m *Manager) OnReconnect(fn func(attempt int)) {
	m.on(func(h *managerHandlers) { h.reconnect = append(h.reconnect, fn) })
}

// OnReconnectError registers a handler for each failed attempt.
func (m *Manager) OnReconnectError(fn func(error)) {
	m.on(func(h *managerHandlers) { h.reconnectError = append(h.reconnectError, fn) })
}

// OnReconnectFailed registers a handler called when ReconnectionAttempts
// are exhausted.
func (m *Manager) OnReconnectFailed(fn func()) {
	m.on(func(h *managerHandlers) { h.reconnectFailed = append(h.reconnectFailed, fn) })
}

func (m *Manager) on(add func(*managerHandlers)) {
	m.mu.Lock()
	add(&m.handlers)
	m.mu.Unlock()
}

func (m *Manager) snapshot() managerHandlers {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.handlers
}

// --- connection ------------------------------------------------------------

// open starts a connection attempt unless one is open or under way. done,
// when non-nil, gets the attempt's result instead of the automatic
// reconnection.
func (m *Manager) open(done func(error)) {
	m.mu.Lock()
	if m.closed || m.state != stateClosed {
		m.mu.Unlock()
		return
	}
	m.state = stateOpening
	m.skipReconnect = false
	m.gen++
	gen := m.gen
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Timeout)
	m.cancelDial = cancel
	m.dialing.Add(1)
	m.mu.Unlock()

	go func() {
		defer m.dialing.Done()
		defer cancel()
		h := &engineHandler{m: m, gen: gen}
		conn, err := engineio.Dial(ctx, m.uri, m.dial, h)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = errors.New("timeout")
			}
			m.mu.Lock()
			current := m.gen == gen
			if current {
				m.state = stateClosed
				m.cancelDial = nil
			}
			m.mu.Unlock()
			if !current {
				return
			}
			m.logDebug("connection failed", "err", err)
			for _, fn := range m.snapshot().errors {
				fn(err)
			}
			m.socketsError(err)
			if done != nil {
				done(err)
			} else {
				m.maybeReconnectOnOpen()
			}
			return
		}
		m.mu.Lock()
		current := m.gen == gen && !m.closed
		m.mu.Unlock()
		if !current {
			_ = conn.Close()
			return
		}
		if done != nil {
			done(nil)
		}
	}()
}

// onOpen runs when the Engine.IO handshake of generation gen completes.
func (m *Manager) onOpen(gen int, conn *engineio.ClientConn) {
	m.mu.Lock()
	if m.gen != gen || m.closed {
		m.mu.Unlock()
		_ = conn.Close()
		return
	}
	m.state = stateOpen
	m.conn = conn
	m.cancelDial = nil
	m.dec = m.cfg.Parser.NewDecoder()
	sockets := m.activeSocketsLocked()
	m.mu.Unlock()
	m.logDebug("open", "sid", conn.ID(), "transport", conn.Transport())
	for _, fn := range m.snapshot().open {
		fn()
	}
	for _, s := range sockets {
		s.onOpen()
	}
}

func (m *Manager) maybeReconnectOnOpen() {
	m.mu.Lock()
	ok := !m.reconnecting && m.cfg.reconnection && m.backoff.attempts == 0
	m.mu.Unlock()
	if ok {
		m.reconnect()
	}
}

// onData decodes a message of generation gen and hands its packet to the
// socket of its namespace.
func (m *Manager) onData(gen int, data []byte, binary bool) {
	m.mu.Lock()
	if m.gen != gen || m.dec == nil {
		m.mu.Unlock()
		return
	}
	dec := m.dec
	m.mu.Unlock()
	p, err := dec.Decode(data, binary)
	if err != nil {
		m.onClose(gen, "parse error", err)
		return
	}
	if p == nil {
		return
	}
	m.mu.Lock()
	s := m.nsps[p.Namespace]
	m.mu.Unlock()
	if s != nil && s.Active() {
		s.onPacket(p)
	}
}

// onClose ends connection generation gen: the sockets are told, and
// reconnection starts unless it was Close.
func (m *Manager) onClose(gen int, reason string, cause error) {
	m.mu.Lock()
	if m.gen != gen || m.state == stateClosed {
		m.mu.Unlock()
		return
	}
	conn := m.conn
	m.conn = nil
	m.dec = nil
	m.gen++ // later callbacks of this connection are stale
	m.state = stateClosed
	m.backoff.reset()
	sockets := m.activeSocketsLocked()
	reconnect := m.cfg.reconnection && !m.skipReconnect
	m.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	m.logDebug("close", "reason", reason, "cause", cause)
	for _, fn := range m.snapshot().close {
		fn(reason, cause)
	}
	for _, s := range sockets {
		s.onClose(reason, cause)
	}
	if reconnect {
		m.reconnect()
	}
}

// reconnect schedules the next attempt after the back-off delay.
func (m *Manager) reconnect() {
	m.mu.Lock()
	if m.reconnecting || m.skipReconnect || m.closed {
		m.mu.Unlock()
		return
	}
	if n := m.cfg.ReconnectionAttempts; n > 0 && m.backoff.attempts >= n {
		m.backoff.reset()
		m.reconnecting = false
		m.mu.Unlock()
		for _, fn := range m.snapshot().reconnectFailed {
			fn()
		}
		return
	}
	delay := m.backoff.duration()
	m.reconnecting = true
	m.timer = time.AfterFunc(delay, m.attemptReconnect)
	m.mu.Unlock()
	m.logDebug("reconnecting", "delay", delay)
}

func (m *Manager) attemptReconnect() {
	m.mu.Lock()
	if m.skipReconnect || m.closed {
		m.mu.Unlock()
		return
	}
	attempt := m.backoff.attempts
	m.mu.Unlock()
	for _, fn := range m.snapshot().reconnectAttempt {
		fn(attempt)
	}
	m.open(func(err error) {
		if err != nil {
			m.mu.Lock()
			m.reconnecting = false
			m.mu.Unlock()
			m.reconnect()
			for _, fn := range m.snapshot().reconnectError {
				fn(err)
			}
			return
		}
		m.mu.Lock()
		attempt := m.backoff.attempts
		m.reconnecting = false
		m.backoff.reset()
		m.mu.Unlock()
		for _, fn := range m.snapshot().reconnect {
			fn(attempt)
		}
	})
}

// destroy is called when a socket becomes inactive: the connection closes
// once no socket is active.
func (m *Manager) destroy() {
	m.mu.Lock()
	active := len(m.activeSocketsLocked()) > 0
	m.mu.Unlock()
	if !active {
		m.shutdown()
	}
}

// shutdown closes the connection and stops reconnecting ("forced close").
func (m *Manager) shutdown() {
	m.mu.Lock()
	m.skipReconnect = true
	m.reconnecting = false
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.cancelDial != nil {
		m.cancelDial()
		m.cancelDial = nil
	}
	gen, state := m.gen, m.state
	m.mu.Unlock()
	if state != stateClosed {
		m.onClose(gen, "forced close", nil) // also makes a dial under way stale
	}
}

// Close disconnects every socket of the manager, stops reconnecting and
// waits until no goroutine of the manager is left (except the event
// handlers still running).
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrManagerClosed
	}
	sockets := m.activeSocketsLocked()
	m.mu.Unlock()
	for _, s := range sockets {
		s.Disconnect()
	}
	m.shutdown()
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.dialing.Wait()
	return nil
}

// send encodes and writes a packet on the open connection. It reports
// false when there is none.
func (m *Manager) send(p *parser.Packet) (bool, error) {
	msgs, err := m.cfg.Parser.Encode(p)
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	conn := m.conn
	open := m.state == stateOpen
	m.mu.Unlock()
	if conn == nil || !open {
		return false, nil
	}
	// The messages of one packet go as one batch: a packet with binary
	// attachments must not have another goroutine's packet between its parts.
	if len(msgs) == 1 {
		err = conn.Send(msgs[0].Data, msgs[0].Binary)
	} else {
		batch := make([]engineio.Message, len(msgs))
		for i, msg := range msgs {
			batch[i] = engineio.Message{Data: msg.Data, Binary: msg.Binary}
		}
		err = conn.SendBatch(batch)
	}
	return err == nil, nil
}

// writable reports whether the transport can take a packet right now (for
// volatile packets).
func (m *Manager) writable() bool {
	m.mu.Lock()
	conn := m.conn
	m.mu.Unlock()
	return conn != nil && conn.Writable()
}

// Engine returns the current Engine.IO connection, or nil.
func (m *Manager) Engine() *engineio.ClientConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conn
}

func (m *Manager) activeSocketsLocked() []*Socket {
	out := make([]*Socket, 0, len(m.nsps))
	for _, s := range m.nsps {
		if s.Active() {
			out = append(out, s)
		}
	}
	return out
}

func (m *Manager) socketsError(err error) {
	m.mu.Lock()
	sockets := m.activeSocketsLocked()
	m.mu.Unlock()
	for _, s := range sockets {
		s.onError(err)
	}
}

func (m *Manager) logDebug(msg string, args ...any) {
	if l := m.cfg.Logger; l != nil {
		l.Debug("socketio client: "+msg, args...)
	}
}

// engineHandler receives the events of one Engine.IO connection.
type engineHandler struct {
	m   *Manager
	gen int
}

func (h *engineHandler) OnOpen(c *engineio.ClientConn) { h.m.onOpen(h.gen, c) }
func (h *engineHandler) OnMessage(data []byte, binary bool) {
	h.m.onData(h.gen, data, binary)
}
func (h *engineHandler) OnPing() {
	for _, fn := range h.m.snapshot().ping {
		fn()
	}
}
func (h *engineHandler) OnUpgrade(string) {}
func (h *engineHandler) OnClose(reason string, cause error) {
	h.m.onClose(h.gen, reason, cause)
}
