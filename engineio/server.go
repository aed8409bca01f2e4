package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/engineio/packet"
)

// Error codes and messages of the Node.js engine.io server.
const (
	CodeUnknownTransport    = 0
	CodeUnknownSID          = 1
	CodeBadHandshakeMethod  = 2
	CodeBadRequest          = 3
	CodeForbidden           = 4
	CodeUnsupportedProtocol = 5
)

var errorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// requestError is a refused request: an engine.io error code.
type requestError int

func (e requestError) Error() string { return "engineio: " + errorMessages[e] }

var (
	errUnknownTransport = requestError(CodeUnknownTransport)
	errUnknownSID       = requestError(CodeUnknownSID)
	errBadMethod        = requestError(CodeBadHandshakeMethod)
	errBadRequest       = requestError(CodeBadRequest)
	errBadProtocol      = requestError(CodeUnsupportedProtocol)
)

// ErrServerClosed is returned by Shutdown when called twice, and refused
// handshakes after Shutdown get HTTP 503.
var ErrServerClosed = errors.New("engineio: server closed")

// Server is an Engine.IO v4 server. It is an http.Handler.
type Server struct {
	cfg     config
	handler Handler
	log     *slog.Logger
	ws      *wsAcceptor

	mu       sync.Mutex
	sessions map[string]*Session // open sessions, and closed ones kept for a late GET
	open     atomic.Int64
	closing  bool
	active   sync.WaitGroup // requests being served, WebSocket read loops included
	loops    atomic.Int64   // WebSocket read loops running
}

// NewServer returns a server that hands its sessions to h. opts may be nil.
func NewServer(h Handler, opts *ServerOptions) *Server {
	srv := &Server{
		cfg:      newConfig(opts),
		handler:  h,
		sessions: make(map[string]*Session),
	}
	srv.log = srv.cfg.opts.Logger
	if srv.cfg.websocket {
		srv.ws = newWSAcceptor(&srv.cfg)
	}
	return srv
}

// Path returns the path the server answers under, with a trailing slash.
func (srv *Server) Path() string { return srv.cfg.path }

// ClientsCount returns the number of open sessions.
func (srv *Server) ClientsCount() int {
	return int(srv.open.Load())
}

// Session returns the open session with the given id, or nil.
func (srv *Server) Session(id string) *Session {
	srv.mu.Lock()
	s := srv.sessions[id]
	srv.mu.Unlock()
	if s != nil && s.isClosed() {
		return nil
	}
	return s
}

func (srv *Server) logDebug(msg string, args ...any) {
	if srv.log != nil {
		srv.log.Debug("engineio: "+msg, args...)
	}
}

// ServeHTTP answers Engine.IO requests: handshakes, polling GET and POST, and
// WebSocket connections and upgrades.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, srv.cfg.path) && r.URL.Path+"/" != srv.cfg.path {
		http.NotFound(w, r)
		return
	}
	// Requests are tracked for Shutdown until it starts (a WaitGroup may not
	// grow from zero while it is waited on).
	srv.mu.Lock()
	tracked := !srv.closing
	if tracked {
		srv.active.Add(1)
	}
	srv.mu.Unlock()
	if tracked {
		defer srv.active.Done()
	}

	if srv.applyCORS(w, r) {
		return // preflight answered
	}

	q := r.URL.Query()
	transport := q.Get("transport")
	upgrade := isWebSocketRequest(r)

	var s *Session
	if err := srv.verify(r, q, transport, upgrade, &s); err != nil {
		srv.abort(w, r, err, upgrade)
		return
	}
	var ws *wsConn
	switch {
	case s == nil:
		ws = srv.handshake(w, r, q, transport, upgrade)
	case upgrade:
		ws = srv.upgrade(w, r, s)
	case r.Method == http.MethodGet:
		s.servePoll(w, r, jsonpParam(q))
	case r.Method == http.MethodPost:
		s.servePost(w, r, q.Has("j"))
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
	if ws != nil {
		// The connection is hijacked: its read loop goes on a goroutine of
		// its own, whose stack starts small, and this one ends with its
		// stack grown by the handshake (about half of the memory of an
		// idle WebSocket connection otherwise).
		if tracked {
			srv.active.Add(1) // not from zero: this request still counts
		}
		srv.loops.Add(1)
		go func() {
			defer srv.loops.Add(-1)
			if tracked {
				defer srv.active.Done()
			}
			ws.readLoop()
		}()
	}
}

func jsonpParam(q map[string][]string) string {
	if j, ok := q["j"]; ok && len(j) > 0 {
		return jsonpIndex(j[0])
	}
	return ""
}

// verify checks a request as Node's engine.io does, in the same order, and
// finds its session when it names one.
func (srv *Server) verify(r *http.Request, q map[string][]string, transport string, upgrade bool, out **Session) error {
	if !(transport == TransportPolling && srv.cfg.polling) && !(transport == TransportWebSocket && srv.cfg.websocket) {
		return errUnknownTransport
	}
	if upgrade && transport != TransportWebSocket {
		return errBadRequest
	}
	if !validHeaderValue(r.Header.Get("Origin")) {
		return errBadRequest
	}
	if sids := q["sid"]; len(sids) > 0 && sids[0] != "" {
		srv.mu.Lock()
		s := srv.sessions[sids[0]]
		srv.mu.Unlock()
		if s == nil {
			return errUnknownSID
		}
		if !upgrade && s.Transport() != transport {
			return errBadRequest
		}
		*out = s
		return nil
	}
	if r.Method != http.MethodGet {
		return errBadMethod
	}
	if transport == TransportWebSocket && !upgrade {
		return errBadRequest
	}
	if allow := srv.cfg.opts.AllowRequest; allow != nil {
		if err := allow(r); err != nil {
			return &forbiddenError{msg: err.Error()}
		}
	}
	return nil
}

type forbiddenError struct{ msg string }

func (e *forbiddenError) Error() string { return "engineio: forbidden: " + e.msg }

// errorInfo maps a refusal to Node's code, HTTP status and message.
func errorInfo(err error) (code, status int, msg string) {
	var fe *forbiddenError
	if errors.As(err, &fe) {
		return CodeForbidden, http.StatusForbidden, fe.msg
	}
	code = CodeBadRequest
	var re requestError
	if errors.As(err, &re) {
		code = int(re)
	}
	status = http.StatusBadRequest
	if code == CodeForbidden {
		status = http.StatusForbidden
	}
	return code, status, errorMessages[code]
}

// abort refuses a request the way Node does: a JSON error body for plain
// HTTP requests, a plain-text 400 for WebSocket upgrades.
func (srv *Server) abort(w http.ResponseWriter, r *http.Request, err error, upgrade bool) {
	code, status, msg := errorInfo(err)
	if hook := srv.cfg.opts.Hooks.ConnectionError; hook != nil {
		hook(r, code, msg)
	}
	srv.logDebug("request refused", "code", code, "message", msg, "url", r.URL.String())
	h := w.Header()
	body := msg
	if upgrade {
		h.Set("Connection", "close")
		h.Set("Content-Type", "text/html")
		status = http.StatusBadRequest
	} else {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}{code, msg})
		body = strings.TrimSuffix(b.String(), "\n")
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// newSession creates, registers and announces a session. The open packet
// (and the initial packet) are queued before the handler runs.
func (srv *Server) newSession(r *http.Request, transport string) (*Session, error) {
	s := &Session{
		id:        newID(),
		srv:       srv,
		req:       stripRequest(r),
		transport: transport,
		closed:    make(chan struct{}),
	}
	open, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}{s.id, srv.cfg.upgrades(transport), srv.cfg.pingInterval.Milliseconds(), srv.cfg.pingTimeout.Milliseconds(), srv.cfg.maxHTTPBufferSize})
	s.queue = append(s.queue, packet.Packet{Type: packet.Open, Data: open})
	if ip := srv.cfg.opts.InitialPacket; ip != nil {
		s.queue = append(s.queue, packet.Packet{Type: packet.Message, Data: ip})
	}

	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		return nil, ErrServerClosed
	}
	srv.sessions[s.id] = s
	srv.mu.Unlock()
	srv.open.Add(1)
	return s, nil
}

// start hands the session to the handler and starts its heartbeat.
func (srv *Server) start(s *Session) {
	srv.logDebug("session opened", "sid", s.id, "transport", s.transport)
	if hook := srv.cfg.opts.Hooks.Connection; hook != nil {
		hook(s)
	}
	s.deliverMu.Lock()
	s.h = srv.handler.OnConnection(s)
	if s.h == nil {
		s.h = SessionFuncs{}
	}
	if s.isClosed() && s.closeReason != "" {
		// Closed (by Shutdown) before the handler was known.
		s.h.OnClose(s.closeReason, s.closeCause)
	}
	s.deliverMu.Unlock()
	s.mu.Lock()
	if s.state == stateOpen {
		s.startHeartbeatLocked()
	}
	s.mu.Unlock()
}

// handshake opens a session. For a WebSocket it returns the connection,
// whose read loop the caller runs.
func (srv *Server) handshake(w http.ResponseWriter, r *http.Request, q map[string][]string, transport string, upgrade bool) *wsConn {
	if eio := q["EIO"]; len(eio) == 0 || eio[0] != "4" {
		srv.abort(w, r, errBadProtocol, upgrade)
		return nil
	}
	if transport == TransportPolling {
		s, err := srv.newSession(r, transport)
		if err != nil {
			http.Error(w, "server shutting down", http.StatusServiceUnavailable)
			return nil
		}
		srv.setCookie(w, s.id)
		// The handler runs before the first GET is answered, so that what it
		// sends rides along with the open packet.
		srv.start(s)
		s.servePoll(w, r, jsonpParam(q))
		return nil
	}

	s, err := srv.newSession(r, transport)
	if err != nil {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil
	}
	link := &wsLink{s: s}
	c, err := srv.ws.accept(w, r, link)
	if err != nil {
		srv.discard(s)
		return nil
	}
	s.mu.Lock()
	s.ws = c
	s.mu.Unlock()
	srv.start(s)
	s.mu.Lock()
	s.kickLocked()
	s.mu.Unlock()
	return c
}

// upgrade accepts a WebSocket for an existing polling session. As in Node,
// a refused upgrade is accepted and closed at once. It returns the
// connection, whose read loop the caller runs.
func (srv *Server) upgrade(w http.ResponseWriter, r *http.Request, s *Session) *wsConn {
	link := &wsLink{s: s, probe: true}
	c, err := srv.ws.accept(w, r, link)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	ok := srv.cfg.allowUpgrades && s.state == stateOpen && !s.upgrading && !s.upgraded && s.transport == TransportPolling
	if ok {
		s.beginUpgradeLocked(c)
	}
	s.mu.Unlock()
	if !ok {
		c.close() // link's events are no-ops: c is not s's probe
	}
	return c
}

// discard drops a session whose WebSocket handshake failed. It never
// opened: no hook or handler hears of it, but it no longer counts as a
// client and a Shutdown waiting for it is released.
func (srv *Server) discard(s *Session) {
	s.mu.Lock()
	wasClosed := s.state == stateClosed
	s.state = stateClosed
	s.mu.Unlock()
	if !wasClosed {
		close(s.closed)
		srv.open.Add(-1)
	}
	srv.removeSession(s)
}

func (srv *Server) removeSession(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

func (srv *Server) setCookie(w http.ResponseWriter, sid string) {
	co := srv.cfg.opts.Cookie
	if co == nil {
		return
	}
	c := &http.Cookie{
		Name:     co.Name,
		Value:    sid,
		Path:     co.Path,
		Domain:   co.Domain,
		MaxAge:   co.MaxAge,
		Secure:   co.Secure,
		HttpOnly: !co.NoHTTPOnly,
		SameSite: co.SameSite,
	}
	if c.Name == "" {
		c.Name = "io"
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	w.Header().Add("Set-Cookie", c.String())
}

// Shutdown closes every session as Session.Close does (queued packets are
// flushed, then reason "forced close") and refuses new ones. It waits until
// every session has closed and every request has returned, or until ctx is
// done, in which case the remaining sessions are closed at once and ctx's
// error is returned.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	srv.closing = true
	all := make([]*Session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		all = append(all, s)
	}
	srv.mu.Unlock()

	for _, s := range all {
		s.shutdown()
	}
	done := make(chan struct{})
	go func() {
		for _, s := range all {
			<-s.closed
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, s := range all {
			s.closeWith(ReasonForcedClose, nil)
		}
		<-done
	}
	// Requests still in flight end quickly now that no session is open.
	waited := make(chan struct{})
	go func() { srv.active.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(time.Second):
	}
	return err
}

// stripRequest keeps what a handler may want of the handshake request, and
// drops its body so that it can be retained for the session's life.
func stripRequest(r *http.Request) *http.Request {
	c := r.WithContext(context.Background())
	c.Body = http.NoBody
	c.GetBody = nil
	return c
}

func isWebSocketRequest(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// validHeaderValue reports whether v has only characters allowed in an HTTP
// header value (Node refuses an Origin with others).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
