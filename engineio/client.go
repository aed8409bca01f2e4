package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/engineio/packet"
)

// DialOptions configures Dial. A nil *DialOptions, and every zero field,
// means the documented default, which is the default of the Node.js
// engine.io-client unless said otherwise.
type DialOptions struct {
	// Path is the URL path of the server. Default "/engine.io/" (the
	// Socket.IO client passes "/socket.io/"). A trailing slash is added
	// when missing.
	Path string
	// Query holds extra query parameters, sent on every request. They are
	// added to the query of the URL given to Dial; the Engine.IO
	// parameters (EIO, transport, sid, t) cannot be overridden.
	Query url.Values
	// ExtraHeaders are sent on every polling request and on the WebSocket
	// handshakes.
	ExtraHeaders http.Header
	// Transports lists the transports to use; the first is tried first.
	// Default ["polling", "websocket"]. Unknown names are ignored.
	Transports []string
	// Upgrade, when true, upgrades a polling connection to WebSocket when
	// the server offers it and "websocket" is in Transports. Default true
	// (nil).
	Upgrade *bool
	// RememberUpgrade starts with WebSocket when a previous connection to
	// the same server (scheme, host and path), in this process, opened on
	// WebSocket or upgraded to it, and its last attempt did not fail.
	// Default false.
	RememberUpgrade bool
	// HTTPClient sends the polling requests; its Jar (cookies set by the
	// server, for sticky sessions), its TLS configuration and its dialer
	// (when its Transport is an *http.Transport) are used for the
	// WebSocket connections too. Default: a client of the connection's own
	// with the settings of http.DefaultClient, whose idle connections are
	// closed when the connection closes.
	HTTPClient *http.Client
	// Timeout bounds the handshake, and each WebSocket upgrade probe.
	// Default 20s.
	Timeout time.Duration
	// MaxBufferedBytes bounds the encoded bytes queued by Send and not yet
	// written; past it Send returns ErrSendBufferFull. Default 8 MiB.
	// (engine.io-client has no such bound.)
	MaxBufferedBytes int
	// Logger receives debug logs. Nil means silent.
	Logger *slog.Logger
}

// ClientHandler receives the events of a client connection. Its methods are
// called one at a time, never concurrently, in this order: OnOpen once, then
// OnMessage, OnPing and OnUpgrade as things happen, then OnClose once, last.
// They may call any ClientConn method, Close included.
type ClientHandler interface {
	// OnOpen is called after the handshake, before any message and before
	// Dial returns.
	OnOpen(c *ClientConn)
	// OnMessage is called for each message, in arrival order. data belongs
	// to the callee.
	OnMessage(data []byte, binary bool)
	// OnPing is called for each ping of the server, after the pong has
	// been queued.
	OnPing()
	// OnUpgrade is called when the connection has moved to transport.
	OnUpgrade(transport string)
	// OnClose is called exactly once, last, with the reason of
	// engine.io-client: "transport close", "transport error", "ping
	// timeout", "parse error" or "forced close" (Close was called), and
	// the error behind it, if any.
	OnClose(reason string, cause error)
}

// ClientFuncs is a ClientHandler made of optional functions.
type ClientFuncs struct {
	Open    func(c *ClientConn)
	Message func(data []byte, binary bool)
	Ping    func()
	Upgrade func(transport string)
	Close   func(reason string, cause error)
}

// OnOpen calls f.Open when it is set.
func (f ClientFuncs) OnOpen(c *ClientConn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnMessage calls f.Message when it is set.
func (f ClientFuncs) OnMessage(data []byte, binary bool) {
	if f.Message != nil {
		f.Message(data, binary)
	}
}

// OnPing calls f.Ping when it is set.
func (f ClientFuncs) OnPing() {
	if f.Ping != nil {
		f.Ping()
	}
}

// OnUpgrade calls f.Upgrade when it is set.
func (f ClientFuncs) OnUpgrade(transport string) {
	if f.Upgrade != nil {
		f.Upgrade(transport)
	}
}

// OnClose calls f.Close when it is set.
func (f ClientFuncs) OnClose(reason string, cause error) {
	if f.Close != nil {
		f.Close(reason, cause)
	}
}

// ErrSendBufferFull is returned by ClientConn.Send when the message would
// take the send queue past DialOptions.MaxBufferedBytes. The connection
// stays open.
var ErrSendBufferFull = errors.New("engineio: send buffer full")

// HandshakeError is a handshake the server refused with an HTTP error.
type HandshakeError struct {
	// Transport is the transport of the refused request.
	Transport string
	// Status is the HTTP status code.
	Status int
	// Code is the engine.io error code of the answer ({"code":N,...} for a
	// polling request; for a WebSocket, the code whose message the plain
	// text answer is), or -1 when the answer holds none.
	Code int
	// Message is the engine.io error message, or the start of the body
	// when it is not an engine.io error.
	Message string
}

func (e *HandshakeError) Error() string {
	if e.Code >= 0 {
		return fmt.Sprintf("engineio: %s handshake refused: HTTP %d, code %d: %s", e.Transport, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("engineio: %s handshake refused: HTTP %d: %q", e.Transport, e.Status, e.Message)
}

// maxRefusalBody is how much the client reads of a body that carries no
// packets (a refusal, a POST's "ok"): an error body is a short JSON
// object, anything longer is cut.
const maxRefusalBody = 4096

// newHandshakeError reads the engine.io error out of a refusal's body.
func newHandshakeError(transport string, status int, body []byte) *HandshakeError {
	e := &HandshakeError{Transport: transport, Status: status, Code: -1}
	var je struct {
		Code    *int    `json:"code"`
		Message *string `json:"message"`
	}
	if json.Unmarshal(body, &je) == nil && je.Code != nil && je.Message != nil {
		e.Code, e.Message = *je.Code, *je.Message
		return e
	}
	e.Message = string(body)
	if len(e.Message) > 256 {
		e.Message = e.Message[:256]
	}
	for code, msg := range errorMessages {
		if msg == e.Message {
			e.Code = code
		}
	}
	return e
}

// Client-side limits.
const (
	// clientMaxRead bounds a polling response body and a WebSocket frame
	// (the default maxPayload of Node's ws).
	clientMaxRead = 100 << 20
	// closeRequestTimeout bounds the POST that carries the close packet.
	closeRequestTimeout = 2 * time.Second
	// wsCloseGrace bounds the wait for the server's answer to the client's
	// WebSocket close frame.
	wsCloseGrace = time.Second
)

type clientState uint8

const (
	clientOpening clientState = iota
	clientOpen
	clientClosing // Close was called: the queue drains, then the connection closes
	clientClosed
)

// priorWebSocket remembers, per server, whether the last connection opened
// on or upgraded to WebSocket (engine.io-client's priorWebsocketSuccess,
// which is process-wide; here it is per server).
var priorWebSocket sync.Map // string -> bool

// ClientConn is a client Engine.IO connection, made by Dial. Its methods
// are safe for concurrent use.
//
// Goroutines and ordering: a polling connection reads on one goroutine of
// its own, which sends one GET at a time; a WebSocket connection reads on
// one goroutine running the WebSocket read loop (while an upgrade is probed,
// both run). A writer goroutine runs only while messages are queued, and
// sends one POST at a time, or the WebSocket frames. The heartbeat watchdog
// is a runtime timer. The ClientHandler is called one call at a time: OnOpen
// on the goroutine of Dial (polling) or on the reading one (WebSocket), the
// messages and pings on the reading goroutine in arrival order, OnUpgrade
// on the goroutine that completes the upgrade, and OnClose on the goroutine
// that closes the connection (Close, the watchdog, a reader or writer), or
// right after the handler call under way returns. A handler may call any
// method but must not wait for Done.
type ClientConn struct {
	h          ClientHandler
	log        *slog.Logger
	base       *url.URL // http(s) URL of the engine path, without query
	query      url.Values
	header     http.Header
	client     *http.Client
	ownClient  bool // client is ours: its idle connections are closed at the end
	transports []string
	upgrade    bool
	timeout    time.Duration
	maxQueued  int
	priorKey   string

	// Set by the handshake, before the connection is handed out.
	id           string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int64
	upgrades     []string

	ctx    context.Context // every request of the connection; cancelled at the end
	cancel context.CancelFunc

	// deliverMu serialises the calls to h.
	deliverMu sync.Mutex

	mu        sync.Mutex
	state     clientState
	transport string
	queue     []packet.Packet
	queued    int  // encoded bytes in queue
	writing   bool // a writer goroutine (POST or WebSocket frames) is running
	polling   bool // the polling GET loop is running
	ws        *wsConn
	watchdog  *time.Timer

	// upgrade
	probeWS    *wsConn     // the WebSocket being probed
	probeTimer *time.Timer // abandons a probe that gets no answer
	upgrading  bool        // the probe answered: polling pauses, then the switch

	// close
	delivering   bool // a call to h is running
	closePending bool // OnClose waits for that call to return
	closeReason  string
	closeCause   error

	// Dial waits for opened; openErr is why the handshake failed.
	opened  chan struct{}
	openErr error

	active int           // goroutines running, under mu
	done   chan struct{} // closed when closed and active == 0
}

// ID returns the session id the server gave.
func (c *ClientConn) ID() string { return c.id }

// PingInterval returns the server's ping interval.
func (c *ClientConn) PingInterval() time.Duration { return c.pingInterval }

// PingTimeout returns the server's ping timeout.
func (c *ClientConn) PingTimeout() time.Duration { return c.pingTimeout }

// MaxPayload returns the largest polling payload the server accepts, in bytes.
func (c *ClientConn) MaxPayload() int64 { return c.maxPayload }

// Transport returns the name of the transport in use.
func (c *ClientConn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

func (c *ClientConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == clientClosed
}

// Done returns a channel closed when the connection has closed, OnClose
// has returned and every goroutine it started has returned.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// Dial connects to the Engine.IO server at rawURL (http, https, ws or wss;
// its scheme, host and query are used, its path is not: see
// DialOptions.Path) and returns once the server's open packet has arrived
// and h.OnOpen has returned (even if OnOpen closed the connection). opts
// may be nil. ctx bounds the handshake only, as does DialOptions.Timeout. A
// refused handshake returns an error wrapping a *HandshakeError; a timeout
// one wrapping context.DeadlineExceeded.
func Dial(ctx context.Context, rawURL string, opts *DialOptions, h ClientHandler) (*ClientConn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	if h == nil {
		h = ClientFuncs{}
	}
	c, err := newClientConn(rawURL, opts, h)
	if err != nil {
		return nil, err
	}
	first := c.transports[0]
	if opts.RememberUpgrade && slices.Contains(c.transports, TransportWebSocket) {
		if v, ok := priorWebSocket.Load(c.priorKey); ok && v.(bool) {
			first = TransportWebSocket
		}
	}
	c.transport = first

	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if first == TransportPolling {
		err = c.openPolling(hctx)
	} else {
		err = c.openWebSocket(hctx)
	}
	if err != nil {
		priorWebSocket.Store(c.priorKey, false)
		c.cancel()
		if c.ownClient {
			c.client.CloseIdleConnections()
		}
		return nil, fmt.Errorf("engineio: dial %s: %w", c.base.Redacted(), err)
	}
	return c, nil
}

func newClientConn(rawURL string, opts *DialOptions, h ClientHandler) (*ClientConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engineio: dial: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("engineio: dial %q: unsupported scheme", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("engineio: dial %q: no host", rawURL)
	}
	path := opts.Path
	if path == "" {
		path = "/engine.io/"
	}
	path = strings.TrimSuffix(path, "/") + "/"
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	query := u.Query()
	for k, v := range opts.Query {
		query[k] = slices.Clone(v)
	}
	for _, k := range []string{"EIO", "transport", "sid", "t"} {
		query.Del(k)
	}
	base := &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: path}

	c := &ClientConn{
		h:         h,
		log:       opts.Logger,
		base:      base,
		query:     query,
		header:    opts.ExtraHeaders.Clone(),
		client:    opts.HTTPClient,
		upgrade:   opts.Upgrade == nil || *opts.Upgrade,
		timeout:   orDuration(opts.Timeout, 20*time.Second),
		maxQueued: opts.MaxBufferedBytes,
		priorKey:  base.Scheme + "://" + base.Host + base.Path,
		opened:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	if c.header == nil {
		c.header = http.Header{}
	}
	if c.maxQueued <= 0 {
		c.maxQueued = 8 << 20
	}
	transports := opts.Transports
	if len(transports) == 0 {
		transports = []string{TransportPolling, TransportWebSocket}
	}
	for _, t := range transports {
		if (t == TransportPolling || t == TransportWebSocket) && !slices.Contains(c.transports, t) {
			c.transports = append(c.transports, t)
		}
	}
	if len(c.transports) == 0 {
		return nil, fmt.Errorf("engineio: dial %s: no transports available", base.Redacted())
	}
	if c.client == nil {
		c.ownClient = true
		c.client = &http.Client{}
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			c.client.Transport = t.Clone()
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

func (c *ClientConn) logDebug(msg string, args ...any) {
	if c.log != nil {
		c.log.Debug("engineio client: "+msg, append(args, "sid", c.id)...)
	}
}

// requestURL is the URL of a request on transport, with the session id once
// known and, for polling, a cache-busting "t".
func (c *ClientConn) requestURL(transport string) *url.URL {
	q := make(url.Values, len(c.query)+4)
	for k, v := range c.query {
		q[k] = v
	}
	q.Set("EIO", "4")
	q.Set("transport", transport)
	if c.id != "" {
		q.Set("sid", c.id)
	}
	u := *c.base
	if transport == TransportPolling {
		q.Set("t", timestamp())
	} else {
		u.Scheme = "ws"
		if c.base.Scheme == "https" {
			u.Scheme = "wss"
		}
	}
	u.RawQuery = q.Encode()
	return &u
}

var timestampSeq atomic.Uint32

// timestamp returns the cache-busting "t" parameter of a polling request:
// as engine.io-client's, the time in base 36 without its first three
// digits, then a few more characters (here a counter, so that two requests
// of one millisecond differ).
func timestamp() string {
	ms := strconv.FormatInt(time.Now().UnixMilli(), 36)
	return ms[min(3, len(ms)):] + strconv.FormatUint(uint64(timestampSeq.Add(1)%46656), 36)
}

// handshake is the JSON of the open packet.
// handshake is the open packet's JSON. Its numbers are read as JavaScript
// reads them (25000, 25000.0 and 2.5e4 alike).
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval float64  `json:"pingInterval"`
	PingTimeout  float64  `json:"pingTimeout"`
	MaxPayload   float64  `json:"maxPayload"`
}

// decodeHandshake reads the open packet's JSON as JavaScript does: by the
// exact names of its keys (encoding/json would take "MAXPAYLOAD" for
// maxPayload), the last of duplicates winning.
func decodeHandshake(b []byte) (handshake, error) {
	var hs handshake
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return hs, err
	}
	for key, dst := range map[string]any{"sid": &hs.SID, "upgrades": &hs.Upgrades,
		"pingInterval": &hs.PingInterval, "pingTimeout": &hs.PingTimeout, "maxPayload": &hs.MaxPayload} {
		if raw, ok := fields[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return hs, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return hs, nil
}

// millis turns a number of milliseconds into a duration, 0 for what is not
// a positive number of a sane size.
func millis(ms float64) time.Duration {
	if !(ms > 0) || ms > 1e12 { // beyond 30 years: not a setting
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

var errNoOpen = errors.New("engineio: the server's first packet is not an open packet")

// applyHandshake records the open packet p. c.mu is held, or the connection
// is not shared yet.
func (c *ClientConn) applyHandshake(p packet.Packet) error {
	if p.Type != packet.Open {
		return errNoOpen
	}
	hs, err := decodeHandshake(p.Data)
	if err != nil {
		return fmt.Errorf("engineio: bad open packet: %w", err)
	}
	if hs.SID == "" {
		return errors.New("engineio: bad open packet: no sid")
	}
	c.id = hs.SID
	c.pingInterval = millis(hs.PingInterval)
	c.pingTimeout = millis(hs.PingTimeout)
	c.maxPayload = 0
	if hs.MaxPayload > 0 && hs.MaxPayload < math.MaxInt64 {
		c.maxPayload = int64(hs.MaxPayload)
	}
	for _, t := range hs.Upgrades {
		if slices.Contains(c.transports, t) {
			c.upgrades = append(c.upgrades, t)
		}
	}
	return nil
}

// onOpened runs once the handshake is applied and the state is open: it
// calls OnOpen, arms the heartbeat watchdog and starts the upgrade probe.
// Dial returns after it.
func (c *ClientConn) onOpened() {
	c.mu.Lock()
	transport := c.transport
	c.mu.Unlock()
	priorWebSocket.Store(c.priorKey, transport == TransportWebSocket)
	c.logDebug("open", "transport", transport)
	c.deliver(func() { c.h.OnOpen(c) })

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == clientClosed {
		return
	}
	c.watchdog = time.AfterFunc(c.pingInterval+c.pingTimeout, c.onWatchdog)
	if c.state == clientOpen && c.upgrade && transport == TransportPolling && slices.Contains(c.upgrades, TransportWebSocket) {
		c.goLocked(c.probe)
	}
}

func (c *ClientConn) onWatchdog() { c.closeWith(ReasonPingTimeout, nil) }

// goLocked runs f on a new goroutine counted in c.active. c.mu is held.
func (c *ClientConn) goLocked(f func()) {
	c.active++
	go func() {
		defer c.goEnd()
		f()
	}()
}

func (c *ClientConn) goEnd() {
	c.mu.Lock()
	c.active--
	c.maybeDoneLocked()
	c.mu.Unlock()
}

func (c *ClientConn) maybeDoneLocked() {
	if c.state == clientClosed && c.active == 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
			if c.ownClient {
				c.client.CloseIdleConnections()
			}
		}
	}
}

// deliver calls f, which calls c.h, unless the connection is closed. An
// OnClose due meanwhile is delivered right after f returns, so that a
// handler may call Close. It reports whether f ran.
func (c *ClientConn) deliver(f func()) bool {
	c.deliverMu.Lock()
	defer c.deliverMu.Unlock()
	c.mu.Lock()
	if c.state == clientClosed {
		c.mu.Unlock()
		return false
	}
	c.delivering = true
	c.mu.Unlock()

	defer func() {
		c.mu.Lock()
		c.delivering = false
		pending := c.closePending
		c.closePending = false
		reason, cause := c.closeReason, c.closeCause
		c.mu.Unlock()
		if pending {
			c.h.OnClose(reason, cause)
			c.goEnd() // counted by closeWith
		}
	}()
	f()
	return true
}

// Send queues a message for the server. It never blocks on the network.
// The connection owns data afterwards: the caller must not change it. It
// returns ErrClosed once Close was called or the connection closed, and
// ErrSendBufferFull when the queue is full.
func (c *ClientConn) Send(data []byte, binary bool) error {
	return c.SendBatch([]Message{{Data: data, Binary: binary}})
}

// SendBatch queues msgs together: no message sent from another goroutine
// comes between them (a Socket.IO packet with binary attachments is
// several messages that must arrive in a row). When they do not fit in the
// queue, none is queued (ErrSendBufferFull).
func (c *ClientConn) SendBatch(msgs []Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != clientOpen {
		return ErrClosed
	}
	pkts := messagePackets(msgs)
	n := 0
	for _, p := range pkts {
		n += packet.EncodedLen(p)
	}
	if c.queued+n > c.maxQueued && (len(c.queue) > 0 || len(pkts) > 1) {
		return ErrSendBufferFull
	}
	c.enqueueLocked(n, pkts...)
	return nil
}

// Writable reports whether the transport can take a message at once, with
// nothing in flight or queued: engine.io-client's transport.writable, which
// decides whether a volatile packet is sent or dropped.
func (c *ClientConn) Writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == clientOpen && !c.writing && len(c.queue) == 0
}

// enqueueLocked queues pkts, of n bytes in all, and wakes the writer.
// c.mu is held.
func (c *ClientConn) enqueueLocked(n int, pkts ...packet.Packet) {
	c.queue = append(c.queue, pkts...)
	c.queued += n
	c.kickLocked()
}

// kickLocked starts the writer of the current transport when something is
// queued and no writer runs. Nothing is written while an upgrade pauses
// polling. c.mu is held.
func (c *ClientConn) kickLocked() {
	if c.state == clientClosed || c.state == clientOpening || c.upgrading || c.writing || len(c.queue) == 0 {
		return
	}
	switch c.transport {
	case TransportPolling:
		c.writing = true
		c.goLocked(c.postLoop)
	case TransportWebSocket:
		if ws := c.ws; ws != nil {
			c.writing = true
			c.goLocked(func() { c.wsWriteLoop(ws) })
		}
	}
}

// takeLocked empties the queue, or, on polling, takes as many packets as
// fit in the server's maxPayload (at least one), as engine.io-client does.
func (c *ClientConn) takeLocked() []packet.Packet {
	n := len(c.queue)
	if c.transport == TransportPolling && c.maxPayload > 0 && n > 1 {
		size := 0
		for i, p := range c.queue {
			s := packet.EncodedLen(p)
			if i > 0 {
				s++ // separator
				if int64(size+s) > c.maxPayload {
					n = i
					break
				}
			}
			size += s
		}
	}
	batch := c.queue[:n:n]
	if n == len(c.queue) {
		c.queue = nil
		c.queued = 0
	} else {
		c.queue = slices.Clone(c.queue[n:])
		for _, p := range batch {
			c.queued -= packet.EncodedLen(p)
		}
	}
	return batch
}

// onPacket handles one packet of the current transport, on its reading
// goroutine. It reports whether reading should go on.
func (c *ClientConn) onPacket(p packet.Packet) bool {
	switch p.Type {
	case packet.Message:
		c.deliver(func() { c.h.OnMessage(p.Data, p.Binary) })
	case packet.Ping:
		c.mu.Lock()
		if c.state == clientOpen {
			c.enqueueLocked(1, packet.Packet{Type: packet.Pong})
		}
		if c.watchdog != nil && c.state != clientClosed {
			c.watchdog.Reset(c.pingInterval + c.pingTimeout)
		}
		c.mu.Unlock()
		c.deliver(c.h.OnPing)
	case packet.Close:
		c.closeWith(ReasonTransportClose, nil)
	default:
		// open, pong, upgrade and noop are ignored.
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != clientClosed
}

// Close closes the connection as engine.io-client's close(): queued
// messages are written first (and a running upgrade completes), then the
// server is told (a close packet on polling, a WebSocket close on
// WebSocket) and OnClose("forced close") is called. It does not wait for
// the connection's goroutines: see Done. It returns ErrClosed when the
// connection is already closing or closed.
func (c *ClientConn) Close() error {
	c.mu.Lock()
	if c.state != clientOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	c.state = clientClosing
	now := c.drainedLocked()
	c.mu.Unlock()
	if now {
		c.closeWith(ReasonForcedClose, nil)
	}
	return nil
}

// stopWritingLocked ends a writer whose queue is empty: it releases c.mu
// and finishes a Close that was waiting for the queue to drain.
func (c *ClientConn) stopWritingLocked() {
	c.writing = false
	drained := c.drainedLocked()
	c.mu.Unlock()
	if drained {
		c.closeWith(ReasonForcedClose, nil)
	}
}

// drainedLocked reports whether a closing connection has nothing left to
// write and no upgrade under way.
func (c *ClientConn) drainedLocked() bool {
	return c.state == clientClosing && len(c.queue) == 0 && !c.writing && !c.upgrading
}

// closeWith ends the connection: OnClose(reason, cause) is called (after
// the handler call under way, if any) and the transports are closed.
// Queued messages are dropped. On polling, unless the server closed the
// session, a close packet is sent, as engine.io-client does.
func (c *ClientConn) closeWith(reason string, cause error) {
	c.mu.Lock()
	switch c.state {
	case clientClosed:
		c.mu.Unlock()
		return
	case clientOpening:
		c.mu.Unlock()
		if cause == nil {
			cause = errors.New("engineio: " + reason)
		}
		c.failOpen(cause)
		return
	}
	c.state = clientClosed
	if c.watchdog != nil {
		c.watchdog.Stop()
	}
	if c.probeTimer != nil {
		c.probeTimer.Stop()
	}
	c.queue, c.queued = nil, 0
	ws, probe := c.ws, c.probeWS
	c.probeWS = nil
	sendClose := c.transport == TransportPolling && reason != ReasonTransportClose && !c.writing
	c.closeReason, c.closeCause = reason, cause
	deliverNow := !c.delivering
	c.closePending = c.delivering
	c.active++ // Done waits for OnClose to return
	if sendClose {
		c.goLocked(c.sendClosePacket)
	}
	c.maybeDoneLocked()
	c.mu.Unlock()

	c.logDebug("close", "reason", reason, "cause", cause)
	if reason == ReasonTransportError || reason == ReasonParseError {
		priorWebSocket.Store(c.priorKey, false) // as engine.io-client's onError
	}
	if !sendClose {
		c.cancel()
	}
	for _, conn := range []*wsConn{probe, ws} {
		if conn != nil {
			conn.closeGracefully(wsCloseGrace)
		}
	}
	if deliverNow {
		c.deliverMu.Lock() // a delivery that saw the state open has returned
		c.deliverMu.Unlock()
		c.h.OnClose(reason, cause)
		c.goEnd()
	}
}

// sendClosePacket posts the close packet, then ends the pending requests.
func (c *ClientConn) sendClosePacket() {
	ctx, cancel := context.WithTimeout(c.ctx, closeRequestTimeout)
	err := c.post(ctx, []packet.Packet{{Type: packet.Close}})
	cancel()
	if err != nil {
		c.logDebug("close packet not sent", "err", err)
	}
	c.cancel()
}
