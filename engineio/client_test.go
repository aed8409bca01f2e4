package engineio_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/engineio/packet"
	"github.com/go-sio/socketio/internal/testutil"
)

// Tests of the Engine.IO client (Dial, ClientConn) against our own server,
// and against raw handlers where the server must misbehave.

// clientMode is a way for the client to reach the server.
type clientMode struct {
	name       string
	transports []string
	final      string // transport once settled
}

var clientModes = []clientMode{
	{name: "polling", transports: []string{"polling"}, final: "polling"},
	{name: "websocket", transports: []string{"websocket"}, final: "websocket"},
	{name: "upgrade", final: "websocket"},
}

// clientMsg is a message the client or the server received.
type clientMsg struct {
	data   string
	binary bool
}

func (m clientMsg) String() string {
	if m.binary {
		return fmt.Sprintf("binary [% x]", m.data)
	}
	return fmt.Sprintf("text %q", m.data)
}

type closeInfo struct {
	reason string
	cause  error
}

// recorder is a ClientHandler that records what it is called with, and
// checks the order of the calls.
type recorder struct {
	t        testing.TB
	msgs     chan clientMsg
	upgrades chan string
	closed   chan closeInfo

	mu       sync.Mutex
	opened   bool
	isClosed bool
	pings    int
	inCall   bool

	onMessage func(data []byte, binary bool) // optional, called after recording
	onOpen    func(c *engineio.ClientConn)
	onClose   func() // optional, called before recording
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{
		t:        t,
		msgs:     make(chan clientMsg, 4096),
		upgrades: make(chan string, 4),
		closed:   make(chan closeInfo, 4),
	}
}

// enter checks that calls never overlap and that nothing follows OnClose.
func (r *recorder) enter(what string, needOpen bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inCall {
		r.t.Errorf("%s called while another handler call runs", what)
	}
	if r.isClosed {
		r.t.Errorf("%s called after OnClose", what)
	}
	if needOpen && !r.opened {
		r.t.Errorf("%s called before OnOpen", what)
	}
	r.inCall = true
}

func (r *recorder) leave() {
	r.mu.Lock()
	r.inCall = false
	r.mu.Unlock()
}

func (r *recorder) OnOpen(c *engineio.ClientConn) {
	r.enter("OnOpen", false)
	defer r.leave()
	r.mu.Lock()
	if r.opened {
		r.t.Errorf("OnOpen called twice")
	}
	r.opened = true
	r.mu.Unlock()
	if c.ID() == "" {
		r.t.Errorf("OnOpen: no session id")
	}
	if r.onOpen != nil {
		r.onOpen(c)
	}
}

func (r *recorder) OnMessage(data []byte, binary bool) {
	r.enter("OnMessage", true)
	defer r.leave()
	select {
	case r.msgs <- clientMsg{string(data), binary}:
	default:
		r.t.Errorf("recorder: too many messages")
	}
	if r.onMessage != nil {
		r.onMessage(data, binary)
	}
}

func (r *recorder) OnPing() {
	r.enter("OnPing", true)
	defer r.leave()
	r.mu.Lock()
	r.pings++
	r.mu.Unlock()
}

func (r *recorder) OnUpgrade(transport string) {
	r.enter("OnUpgrade", true)
	defer r.leave()
	r.upgrades <- transport
}

func (r *recorder) OnClose(reason string, cause error) {
	r.enter("OnClose", false)
	if r.onClose != nil {
		r.onClose()
	}
	r.mu.Lock()
	r.isClosed = true
	r.inCall = false
	r.mu.Unlock()
	r.closed <- closeInfo{reason, cause}
}

func (r *recorder) pingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pings
}

// next returns the next message the client received.
func (r *recorder) next() clientMsg {
	r.t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case ci := <-r.closed:
		r.closed <- ci
		r.t.Fatalf("connection closed (%s, %v) while a message was awaited", ci.reason, ci.cause)
	case <-time.After(testutil.WaitTimeout):
		r.t.Fatalf("no message within %v", testutil.WaitTimeout)
	}
	return clientMsg{}
}

func (r *recorder) expect(want clientMsg) {
	r.t.Helper()
	if got := r.next(); got != want {
		r.t.Fatalf("client got %v, want %v", got, want)
	}
}

// waitClose waits for OnClose.
func (r *recorder) waitClose() closeInfo {
	r.t.Helper()
	select {
	case ci := <-r.closed:
		r.closed <- ci
		return ci
	case <-time.After(testutil.WaitTimeout):
		r.t.Fatalf("OnClose not called within %v", testutil.WaitTimeout)
		return closeInfo{}
	}
}

func (r *recorder) expectClose(reason string) closeInfo {
	r.t.Helper()
	ci := r.waitClose()
	if ci.reason != reason {
		r.t.Fatalf("OnClose(%q, %v), want reason %q", ci.reason, ci.cause, reason)
	}
	return ci
}

func (r *recorder) waitUpgrade() {
	r.t.Helper()
	select {
	case tr := <-r.upgrades:
		if tr != "websocket" {
			r.t.Fatalf("OnUpgrade(%q), want websocket", tr)
		}
	case ci := <-r.closed:
		r.closed <- ci
		r.t.Fatalf("connection closed (%s, %v) while the upgrade was awaited", ci.reason, ci.cause)
	case <-time.After(testutil.WaitTimeout):
		r.t.Fatalf("no upgrade within %v", testutil.WaitTimeout)
	}
}

// --- the server side ---------------------------------------------------------

// seenRequest is a request the test server received.
type seenRequest struct {
	method  string
	sid     string
	upgrade bool
	cookie  string
	xtest   string
	length  int64
}

type serverSession struct {
	s      *engineio.Session
	closed chan closeInfo

	mu   sync.Mutex
	msgs []clientMsg
}

func (ss *serverSession) received() []clientMsg {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]clientMsg(nil), ss.msgs...)
}

// clientTestServer is our engine.io server, echoing every message, over
// httptest. It also understands "close-me" (the session is closed),
// "burst:N" (N numbered messages are sent back) and "quiet:..." (not
// echoed).
type clientTestServer struct {
	t    *testing.T
	eio  *engineio.Server
	http *httptest.Server
	URL  string

	mu       sync.Mutex
	sessions map[string]*serverSession
	reqs     []seenRequest
	refuseWS bool // refuse WebSocket upgrades of existing sessions (probes)
	holdWS   bool // never answer them
}

func newClientTestServer(t *testing.T, opts *engineio.ServerOptions) *clientTestServer {
	t.Helper()
	if opts == nil {
		opts = suiteOptions()
	}
	ts := &clientTestServer{t: t, sessions: make(map[string]*serverSession)}
	ts.eio = engineio.NewServer(engineio.HandlerFunc(ts.onConnection), opts)
	ts.http = httptest.NewServer(http.HandlerFunc(ts.serveHTTP))
	ts.URL = ts.http.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		if err := ts.eio.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.http.Close()
	})
	return ts
}

func (ts *clientTestServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	ts.mu.Lock()
	ts.reqs = append(ts.reqs, seenRequest{
		method:  r.Method,
		sid:     q.Get("sid"),
		upgrade: upgrade,
		cookie:  r.Header.Get("Cookie"),
		xtest:   r.Header.Get("X-Test"),
		length:  r.ContentLength,
	})
	refuse, hold := ts.refuseWS, ts.holdWS
	ts.mu.Unlock()
	if upgrade && q.Get("sid") != "" {
		if refuse {
			http.Error(w, "no upgrade here", http.StatusBadRequest)
			return
		}
		if hold {
			<-r.Context().Done()
			return
		}
	}
	ts.eio.ServeHTTP(w, r)
}

func (ts *clientTestServer) onConnection(s *engineio.Session) engineio.SessionHandler {
	ss := &serverSession{s: s, closed: make(chan closeInfo, 1)}
	ts.mu.Lock()
	ts.sessions[s.ID()] = ss
	ts.mu.Unlock()
	return engineio.SessionFuncs{
		Message: func(data []byte, binary bool) {
			ss.mu.Lock()
			ss.msgs = append(ss.msgs, clientMsg{string(data), binary})
			ss.mu.Unlock()
			switch {
			case !binary && string(data) == "close-me":
				_ = s.Close()
			case !binary && strings.HasPrefix(string(data), "quiet:"):
				// not echoed
			case !binary && strings.HasPrefix(string(data), "burst:"):
				n, _ := strconv.Atoi(strings.TrimPrefix(string(data), "burst:"))
				for i := range n {
					_ = s.Send([]byte(strconv.Itoa(i)), false)
				}
			default:
				_ = s.Send(data, binary)
			}
		},
		Close: func(reason string, cause error) { ss.closed <- closeInfo{reason, cause} },
	}
}

// session returns the server side of session sid.
func (ts *clientTestServer) session(sid string) *serverSession {
	ts.t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ss := ts.sessions[sid]
	if ss == nil {
		ts.t.Fatalf("no server session %q", sid)
	}
	return ss
}

func (ts *clientTestServer) requests() []seenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]seenRequest(nil), ts.reqs...)
}

func (ss *serverSession) waitClose(t testing.TB) closeInfo {
	t.Helper()
	select {
	case ci := <-ss.closed:
		ss.closed <- ci
		return ci
	case <-time.After(testutil.WaitTimeout):
		t.Fatalf("server session %s not closed within %v", ss.s.ID(), testutil.WaitTimeout)
		return closeInfo{}
	}
}

// waitFor polls cond until it holds, failing the test after WaitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testutil.WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, testutil.WaitTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// --- dialing -----------------------------------------------------------------

// dialOptions returns the options of mode for a client of ts.
func (ts *clientTestServer) dialOptions(mode clientMode) *engineio.DialOptions {
	return &engineio.DialOptions{
		Transports: mode.transports,
		HTTPClient: ts.http.Client(),
	}
}

// dial connects a recorder to url with opts. At cleanup the connection is
// closed and its goroutines awaited.
func dial(t *testing.T, url string, opts *engineio.DialOptions, rec *recorder) *engineio.ClientConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	c, err := engineio.Dial(ctx, url, opts, rec)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		awaitDone(t, c)
	})
	return c
}

// awaitDone waits until every goroutine of c has returned.
func awaitDone(t testing.TB, c *engineio.ClientConn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(testutil.WaitTimeout):
		t.Errorf("client goroutines still running %v after close", testutil.WaitTimeout)
	}
}

// dialMode connects a recorder to ts in mode; in upgrade mode it waits for
// the upgrade when settle is true.
func (ts *clientTestServer) dialMode(t *testing.T, mode clientMode, settle bool) (*engineio.ClientConn, *recorder) {
	t.Helper()
	rec := newRecorder(t)
	c := dial(t, ts.URL, ts.dialOptions(mode), rec)
	if mode.name == "upgrade" && settle {
		rec.waitUpgrade()
	}
	if settle && c.Transport() != mode.final {
		t.Fatalf("transport %q, want %q", c.Transport(), mode.final)
	}
	return c, rec
}

func forModes(t *testing.T, f func(t *testing.T, mode clientMode)) {
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) { f(t, mode) })
	}
}

// --- tests -------------------------------------------------------------------

func TestClientEcho(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		c, rec := ts.dialMode(t, mode, true)
		ss := ts.session(c.ID())
		waitFor(t, "server session on "+mode.final, func() bool { return ss.s.Transport() == mode.final })
		if c.PingInterval() != suitePingInterval || c.PingTimeout() != suitePingTimeout || c.MaxPayload() != suiteMaxPayload {
			t.Fatalf("handshake values %v %v %d", c.PingInterval(), c.PingTimeout(), c.MaxPayload())
		}
		msgs := []clientMsg{
			{"hello", false},
			{"\x00\x01\x02\xff", true},
			{"", false},
			{"", true},
			{"héllo 🌍", false},
		}
		for _, m := range msgs {
			if err := c.Send([]byte(m.data), m.binary); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		for _, m := range msgs {
			rec.expect(m)
		}
		if got := ss.received(); len(got) != len(msgs) {
			t.Fatalf("server received %v, want %v", got, msgs)
		}
	})
}

func TestClientOrder(t *testing.T) {
	const n = 1000
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		// In upgrade mode the messages are sent before and during the upgrade.
		c, rec := ts.dialMode(t, mode, false)
		for i := range n {
			var err error
			if i%7 == 0 {
				err = c.Send([]byte{byte(i), byte(i >> 8)}, true)
			} else {
				err = c.Send([]byte(strconv.Itoa(i)), false)
			}
			if err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		for i := range n {
			if i%7 == 0 {
				rec.expect(clientMsg{string([]byte{byte(i), byte(i >> 8)}), true})
			} else {
				rec.expect(clientMsg{strconv.Itoa(i), false})
			}
		}
		// And n messages the server sends at once.
		if err := c.Send([]byte("burst:"+strconv.Itoa(n)), false); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			rec.expect(clientMsg{strconv.Itoa(i), false})
		}
		if mode.name == "upgrade" {
			rec.waitUpgrade()
		}
		if got := c.Transport(); got != mode.final {
			t.Fatalf("transport %q, want %q", got, mode.final)
		}
	})
}

func TestClientServerClose(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		c, rec := ts.dialMode(t, mode, true)
		if err := c.Send([]byte("close-me"), false); err != nil {
			t.Fatal(err)
		}
		ci := rec.expectClose("transport close")
		if ci.cause != nil {
			t.Errorf("cause %v, want nil", ci.cause)
		}
		if got := ts.session(c.ID()).waitClose(t).reason; got != "forced close" {
			t.Errorf("server reason %q, want forced close", got)
		}
		awaitDone(t, c)
		if err := c.Send([]byte("x"), false); !errors.Is(err, engineio.ErrClosed) {
			t.Errorf("Send after close: %v, want ErrClosed", err)
		}
		if err := c.Close(); !errors.Is(err, engineio.ErrClosed) {
			t.Errorf("Close after close: %v, want ErrClosed", err)
		}
	})
}

func TestClientClose(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		c, rec := ts.dialMode(t, mode, true)
		ss := ts.session(c.ID())
		// What is queued before Close is written before the close. (The
		// server does not echo these: our server closes a WebSocket
		// session with "transport error" when an echo races with the
		// client's close frame.)
		for i := range 20 {
			if err := c.Send([]byte("quiet:"+strconv.Itoa(i)), false); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := c.Send([]byte("late"), false); !errors.Is(err, engineio.ErrClosed) {
			t.Errorf("Send after Close: %v, want ErrClosed", err)
		}
		ci := rec.expectClose("forced close")
		if ci.cause != nil {
			t.Errorf("cause %v, want nil", ci.cause)
		}
		if got := ss.waitClose(t); got.reason != "transport close" {
			t.Errorf("server reason %q (%v), want transport close", got.reason, got.cause)
		}
		if got := len(ss.received()); got != 20 {
			t.Errorf("server received %d messages before the close, want 20", got)
		}
		awaitDone(t, c)
	})
}

func TestClientCloseFromHandler(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		rec := newRecorder(t)
		var conn *engineio.ClientConn
		returned := make(chan struct{})
		rec.onOpen = func(c *engineio.ClientConn) { conn = c }
		rec.onMessage = func([]byte, bool) {
			if err := conn.Close(); err != nil {
				t.Errorf("Close from OnMessage: %v", err)
			}
			select {
			case <-rec.closed:
				t.Errorf("OnClose ran inside OnMessage")
			default:
			}
			close(returned)
		}
		c := dial(t, ts.URL, ts.dialOptions(mode), rec)
		if err := c.Send([]byte("hi"), false); err != nil {
			t.Fatal(err)
		}
		rec.expectClose("forced close")
		<-returned
		if got := ts.session(c.ID()).waitClose(t).reason; got != "transport close" {
			t.Errorf("server reason %q, want transport close", got)
		}
		awaitDone(t, c)
	})
}

func TestClientCloseFromOnOpen(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		rec := newRecorder(t)
		rec.onOpen = func(c *engineio.ClientConn) {
			if err := c.Close(); err != nil {
				t.Errorf("Close from OnOpen: %v", err)
			}
		}
		c := dial(t, ts.URL, ts.dialOptions(mode), rec)
		rec.expectClose("forced close")
		if got := ts.session(c.ID()).waitClose(t).reason; got != "transport close" {
			t.Errorf("server reason %q, want transport close", got)
		}
		awaitDone(t, c)
	})
}

func TestClientHeartbeat(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		c, rec := ts.dialMode(t, mode, true)
		// Four ping intervals: the client must answer every ping in time.
		time.Sleep(4 * suitePingInterval)
		select {
		case ci := <-rec.closed:
			t.Fatalf("closed: %s (%v)", ci.reason, ci.cause)
		default:
		}
		if got := rec.pingCount(); got < 2 {
			t.Fatalf("%d pings, want at least 2", got)
		}
		if ts.eio.Session(c.ID()) == nil {
			t.Fatalf("server session closed")
		}
		if err := c.Send([]byte("still here"), false); err != nil {
			t.Fatal(err)
		}
		rec.expect(clientMsg{"still here", false})
	})
}

func TestClientUpgrade(t *testing.T) {
	ts := newClientTestServer(t, nil)
	rec := newRecorder(t)
	opts := ts.dialOptions(clientModes[2])
	c := dial(t, ts.URL, opts, rec)
	if got := c.Transport(); got != "polling" {
		t.Fatalf("first transport %q, want polling", got)
	}
	rec.waitUpgrade()
	if got := c.Transport(); got != "websocket" {
		t.Fatalf("transport after OnUpgrade %q, want websocket", got)
	}
	ts.session(c.ID())
	waitFor(t, "server session on websocket", func() bool { return ts.session(c.ID()).s.Transport() == "websocket" })
	var upgrades, probes int
	for _, r := range ts.requests() {
		if r.upgrade {
			upgrades++
			if r.sid == c.ID() {
				probes++
			}
		}
	}
	if upgrades != 1 || probes != 1 {
		t.Fatalf("%d WebSocket requests (%d with the sid), want 1 probe", upgrades, probes)
	}
	select {
	case tr := <-rec.upgrades:
		t.Fatalf("second OnUpgrade(%q)", tr)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestClientNoUpgrade(t *testing.T) {
	cases := []struct {
		name   string
		server *engineio.ServerOptions
		opts   func(o *engineio.DialOptions)
	}{
		{"Upgrade false", nil, func(o *engineio.DialOptions) { o.Upgrade = engineio.Bool(false) }},
		{"polling only", nil, func(o *engineio.DialOptions) { o.Transports = []string{"polling"} }},
		{"server refuses upgrades", func() *engineio.ServerOptions {
			o := suiteOptions()
			o.AllowUpgrades = engineio.Bool(false)
			return o
		}(), func(*engineio.DialOptions) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newClientTestServer(t, tc.server)
			rec := newRecorder(t)
			opts := ts.dialOptions(clientMode{})
			tc.opts(opts)
			c := dial(t, ts.URL, opts, rec)
			if err := c.Send([]byte("a"), false); err != nil {
				t.Fatal(err)
			}
			rec.expect(clientMsg{"a", false})
			time.Sleep(200 * time.Millisecond)
			if got := c.Transport(); got != "polling" {
				t.Fatalf("transport %q, want polling", got)
			}
			for _, r := range ts.requests() {
				if r.upgrade {
					t.Fatalf("a WebSocket request was made")
				}
			}
		})
	}
}

// A probe that fails leaves the connection on polling, working.
func TestClientUpgradeFailure(t *testing.T) {
	for _, how := range []string{"refused", "unanswered"} {
		t.Run(how, func(t *testing.T) {
			ts := newClientTestServer(t, nil)
			ts.refuseWS = how == "refused"
			ts.holdWS = how == "unanswered"
			rec := newRecorder(t)
			opts := ts.dialOptions(clientMode{})
			opts.Timeout = time.Second // bounds the probe too
			c := dial(t, ts.URL, opts, rec)
			for i := range 50 {
				if err := c.Send([]byte(strconv.Itoa(i)), false); err != nil {
					t.Fatal(err)
				}
				if i == 25 {
					time.Sleep(1200 * time.Millisecond) // the probe has failed
				}
			}
			for i := range 50 {
				rec.expect(clientMsg{strconv.Itoa(i), false})
			}
			if got := c.Transport(); got != "polling" {
				t.Fatalf("transport %q, want polling", got)
			}
			select {
			case tr := <-rec.upgrades:
				t.Fatalf("OnUpgrade(%q)", tr)
			default:
			}
		})
	}
}

func TestClientRememberUpgrade(t *testing.T) {
	ts := newClientTestServer(t, nil)
	rec := newRecorder(t)
	c := dial(t, ts.URL, ts.dialOptions(clientMode{}), rec)
	rec.waitUpgrade()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	awaitDone(t, c)

	opts := ts.dialOptions(clientMode{})
	opts.RememberUpgrade = true
	c2 := dial(t, ts.URL, opts, newRecorder(t))
	if got := c2.Transport(); got != "websocket" {
		t.Fatalf("transport %q with RememberUpgrade, want websocket", got)
	}
	if got := ts.session(c2.ID()).s.Request().URL.Query().Get("transport"); got != "websocket" {
		t.Fatalf("handshake transport %q, want websocket", got)
	}

	// Without RememberUpgrade: polling first.
	c3 := dial(t, ts.URL, ts.dialOptions(clientMode{}), newRecorder(t))
	if got := ts.session(c3.ID()).s.Request().URL.Query().Get("transport"); got != "polling" {
		t.Fatalf("handshake transport %q, want polling", got)
	}
}

func TestClientHandshakeErrors(t *testing.T) {
	wsOnly := suiteOptions()
	wsOnly.Transports = []string{"websocket"}
	pollingOnly := suiteOptions()
	pollingOnly.Transports = []string{"polling"}
	forbidden := suiteOptions()
	forbidden.AllowRequest = func(*http.Request) error { return errors.New("go away") }

	cases := []struct {
		name       string
		server     *engineio.ServerOptions
		transports []string
		path       string
		want       engineio.HandshakeError
	}{
		{"polling unknown transport", wsOnly, []string{"polling"}, "", engineio.HandshakeError{Transport: "polling", Status: 400, Code: 0, Message: "Transport unknown"}},
		{"websocket unknown transport", pollingOnly, []string{"websocket"}, "", engineio.HandshakeError{Transport: "websocket", Status: 400, Code: 0, Message: "Transport unknown"}},
		{"polling forbidden", forbidden, []string{"polling"}, "", engineio.HandshakeError{Transport: "polling", Status: 403, Code: 4, Message: "go away"}},
		{"polling wrong path", nil, []string{"polling"}, "/nope", engineio.HandshakeError{Transport: "polling", Status: 404, Code: -1, Message: "404 page not found\n"}},
		{"websocket wrong path", nil, []string{"websocket"}, "/nope", engineio.HandshakeError{Transport: "websocket", Status: 404, Code: -1, Message: "404 page not found\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newClientTestServer(t, tc.server)
			rec := newRecorder(t)
			opts := ts.dialOptions(clientMode{transports: tc.transports})
			opts.Path = tc.path
			c, err := engineio.Dial(context.Background(), ts.URL, opts, rec)
			if err == nil {
				_ = c.Close()
				t.Fatalf("Dial succeeded")
			}
			var he *engineio.HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("Dial error %v (%T), want a *HandshakeError", err, err)
			}
			if *he != tc.want {
				t.Fatalf("HandshakeError %+v, want %+v", *he, tc.want)
			}
			rec.mu.Lock()
			opened := rec.opened
			rec.mu.Unlock()
			if opened {
				t.Fatalf("OnOpen called")
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		for _, tr := range []string{"polling", "websocket"} {
			_, err := engineio.Dial(context.Background(), "http://"+addr, &engineio.DialOptions{Transports: []string{tr}, HTTPClient: &http.Client{Transport: &http.Transport{}}}, nil)
			var he *engineio.HandshakeError
			if err == nil || errors.As(err, &he) {
				t.Fatalf("%s: Dial error %v, want a connection error", tr, err)
			}
		}
	})

	t.Run("bad url", func(t *testing.T) {
		for _, u := range []string{"ftp://x", "http://", "::"} {
			if _, err := engineio.Dial(context.Background(), u, nil, nil); err == nil {
				t.Errorf("Dial(%q) succeeded", u)
			}
		}
		if _, err := engineio.Dial(context.Background(), "http://127.0.0.1:1", &engineio.DialOptions{Transports: []string{"carrier-pigeon"}}, nil); err == nil {
			t.Errorf("Dial with no known transport succeeded")
		}
	})
}

// A server that never finishes the handshake: Dial gives up at the
// context's deadline, or at DialOptions.Timeout.
func TestClientHandshakeTimeout(t *testing.T) {
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			conn := acceptRawWS(t, w, r) // accepted, but no open packet
			defer conn.Close()
		}
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(func() { close(quit); srv.Close() })
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr+" context", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := engineio.Dial(ctx, srv.URL, &engineio.DialOptions{Transports: []string{tr}, HTTPClient: srv.Client()}, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial error %v, want DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Dial returned after %v", d)
			}
		})
		t.Run(tr+" Timeout", func(t *testing.T) {
			_, err := engineio.Dial(context.Background(), srv.URL, &engineio.DialOptions{Transports: []string{tr}, HTTPClient: srv.Client(), Timeout: 200 * time.Millisecond}, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial error %v, want DeadlineExceeded", err)
			}
		})
	}
}

func TestClientCookies(t *testing.T) {
	opts := suiteOptions()
	opts.Cookie = &engineio.CookieOptions{}
	for _, name := range []string{"polling", "upgrade"} {
		t.Run(name, func(t *testing.T) {
			ts := newClientTestServer(t, opts)
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			hc := *ts.http.Client()
			hc.Jar = jar
			rec := newRecorder(t)
			o := &engineio.DialOptions{HTTPClient: &hc}
			if name == "polling" {
				o.Transports = []string{"polling"}
			}
			c := dial(t, ts.URL, o, rec)
			if err := c.Send([]byte("a"), false); err != nil {
				t.Fatal(err)
			}
			rec.expect(clientMsg{"a", false})
			if name == "upgrade" {
				rec.waitUpgrade()
			}
			want := "io=" + c.ID()
			var posts, gets, ws int
			for _, r := range ts.requests() {
				if r.sid == "" {
					continue // the handshake
				}
				if r.cookie != want {
					t.Errorf("%s request (upgrade %v) with Cookie %q, want %q", r.method, r.upgrade, r.cookie, want)
				}
				switch {
				case r.upgrade:
					ws++
				case r.method == http.MethodPost:
					posts++
				default:
					gets++
				}
			}
			// (In upgrade mode, polling may pause before its first GET.)
			if (name == "polling" && (gets == 0 || posts == 0)) || (name == "upgrade" && ws != 1) {
				t.Fatalf("%d GETs, %d POSTs, %d WebSockets after the handshake", gets, posts, ws)
			}
		})
	}
}

func TestClientHeadersAndQuery(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		ts := newClientTestServer(t, nil)
		opts := ts.dialOptions(mode)
		opts.ExtraHeaders = http.Header{"X-Test": {"yes"}}
		opts.Query = map[string][]string{"foo": {"bar"}, "EIO": {"3"}}
		rec := newRecorder(t)
		c := dial(t, ts.URL+"/ignored/path?a=1", opts, rec)
		if err := c.Send([]byte("a"), false); err != nil {
			t.Fatal(err)
		}
		rec.expect(clientMsg{"a", false})
		if mode.name == "upgrade" {
			rec.waitUpgrade()
		}
		req := ts.session(c.ID()).s.Request()
		if got := req.Header.Get("X-Test"); got != "yes" {
			t.Errorf("handshake X-Test %q, want yes", got)
		}
		q := req.URL.Query()
		if q.Get("foo") != "bar" || q.Get("a") != "1" || q.Get("EIO") != "4" {
			t.Errorf("handshake query %v", q)
		}
		if mode.transports == nil || mode.transports[0] == "polling" {
			if q.Get("t") == "" {
				t.Errorf("polling handshake without t: %v", q)
			}
		}
		for _, r := range ts.requests() {
			if r.xtest != "yes" {
				t.Errorf("%s request (sid %q, upgrade %v) without X-Test", r.method, r.sid, r.upgrade)
			}
		}
	})
}

// On polling, a POST never carries more than the server's maxPayload.
func TestClientMaxPayload(t *testing.T) {
	opts := suiteOptions()
	opts.MaxHTTPBufferSize = 1000
	ts := newClientTestServer(t, opts)
	c, rec := ts.dialMode(t, clientModes[0], true)
	msg := strings.Repeat("x", 90)
	for i := range 100 {
		if err := c.Send([]byte(msg+strconv.Itoa(i)), false); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		rec.expect(clientMsg{msg + strconv.Itoa(i), false})
	}
	var posts int
	for _, r := range ts.requests() {
		if r.method == http.MethodPost {
			posts++
			if r.length > 1000 {
				t.Errorf("POST of %d bytes, maxPayload 1000", r.length)
			}
		}
	}
	if posts < 10 {
		t.Errorf("%d POSTs for 100 messages of ~93 bytes, want at least 10", posts)
	}
}

// --- raw servers -------------------------------------------------------------

// rawOpen is the open packet the raw servers send: a short heartbeat.
const rawOpen = `0{"sid":"raw-session-id-00000","upgrades":[],"pingInterval":100,"pingTimeout":100,"maxPayload":1000000}`

// rawServer answers the polling handshake with rawOpen, then each GET with
// what next returns (blocking until the request ends when it returns ""),
// POSTs with "ok" after post returns, and WebSockets with rawOpen and then
// silence.
type rawServer struct {
	*httptest.Server
	quit chan struct{}
}

func newRawServer(t *testing.T, next func() string, post func(body string)) *rawServer {
	rs := &rawServer{quit: make(chan struct{})}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			conn := acceptRawWS(t, w, r)
			if conn == nil {
				return
			}
			defer conn.Close()
			writeRawWSText(conn, rawOpen)
			go func() {
				select {
				case <-rs.quit:
					conn.Close()
				case <-r.Context().Done():
				}
			}()
			_, _ = io.Copy(io.Discard, conn) // until the client closes
		case q.Get("sid") == "":
			_, _ = io.WriteString(w, rawOpen)
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			if post != nil {
				post(string(body))
			}
			_, _ = io.WriteString(w, "ok")
		default:
			if body := next(); body != "" {
				_, _ = io.WriteString(w, body)
				return
			}
			select {
			case <-r.Context().Done():
			case <-rs.quit:
			}
		}
	}))
	t.Cleanup(func() {
		close(rs.quit)
		rs.Close()
	})
	return rs
}

// acceptRawWS completes a WebSocket handshake by hand and returns the
// connection.
func acceptRawWS(t testing.TB, w http.ResponseWriter, r *http.Request) net.Conn {
	h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return nil
	}
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
	_ = brw.Flush()
	return conn
}

// writeRawWSText writes one short unmasked text frame.
func writeRawWSText(conn net.Conn, s string) {
	var b bytes.Buffer
	b.WriteByte(0x81)
	if len(s) < 126 {
		b.WriteByte(byte(len(s)))
	} else {
		b.WriteByte(126)
		b.WriteByte(byte(len(s) >> 8))
		b.WriteByte(byte(len(s)))
	}
	b.WriteString(s)
	_, _ = conn.Write(b.Bytes())
}

// A server that stops pinging: the client closes with "ping timeout" once
// pingInterval + pingTimeout (200 ms) have passed without a ping.
func TestClientPingTimeout(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, func() string { return "" }, nil)
			rec := newRecorder(t)
			start := time.Now()
			c := dial(t, rs.URL, &engineio.DialOptions{Transports: []string{tr}, HTTPClient: rs.Client()}, rec)
			ci := rec.expectClose("ping timeout")
			if ci.cause != nil {
				t.Errorf("cause %v", ci.cause)
			}
			if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
				t.Errorf("closed after %v, want about 200ms", d)
			}
			awaitDone(t, c)
		})
	}
}

// Done is closed only once OnClose has returned, even when the close
// comes from the heartbeat's timer and OnClose is slow.
func TestClientDoneAfterOnClose(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, func() string { return "" }, nil)
			rec := newRecorder(t)
			rec.onClose = func() { time.Sleep(100 * time.Millisecond) }
			c := dial(t, rs.URL, &engineio.DialOptions{Transports: []string{tr}, HTTPClient: rs.Client()}, rec)
			awaitDone(t, c)
			select {
			case ci := <-rec.closed:
				if ci.reason != "ping timeout" {
					t.Errorf("closed with %q, want ping timeout", ci.reason)
				}
			default:
				t.Fatal("Done closed before OnClose returned")
			}
		})
	}
}

// Pings reset the watchdog, and each is answered with a pong.
func TestClientPingPong(t *testing.T) {
	var mu sync.Mutex
	var gets int
	var posted []string
	rs := newRawServer(t, func() string {
		mu.Lock()
		defer mu.Unlock()
		gets++
		if gets <= 5 {
			time.Sleep(80 * time.Millisecond)
			return "2"
		}
		return ""
	}, func(body string) {
		mu.Lock()
		posted = append(posted, body)
		mu.Unlock()
	})
	rec := newRecorder(t)
	c := dial(t, rs.URL, &engineio.DialOptions{Transports: []string{"polling"}, HTTPClient: rs.Client()}, rec)
	rec.expectClose("ping timeout")
	if got := rec.pingCount(); got != 5 {
		t.Errorf("%d OnPing, want 5", got)
	}
	awaitDone(t, c)
	// Five pongs, then the close packet engine.io-client sends on polling
	// whatever the reason.
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(posted, "|"); strings.Count(got, "3") != 5 || !strings.HasSuffix(got, "1") {
		t.Errorf("POST bodies %q, want five pongs then a close packet", posted)
	}
}

// A malformed payload closes the connection with "parse error", after the
// packets before it were delivered.
func TestClientParseError(t *testing.T) {
	var once sync.Once
	rs := newRawServer(t, func() string {
		body := ""
		once.Do(func() { body = "4hello\x1egarbage" })
		return body
	}, nil)
	rec := newRecorder(t)
	c := dial(t, rs.URL, &engineio.DialOptions{Transports: []string{"polling"}, HTTPClient: rs.Client()}, rec)
	rec.expect(clientMsg{"hello", false})
	ci := rec.expectClose("parse error")
	if !errors.Is(ci.cause, packet.ErrInvalidPacket) {
		t.Errorf("cause %v, want ErrInvalidPacket", ci.cause)
	}
	awaitDone(t, c)
}

// The send queue is bounded; Writable is false while a POST is in flight.
func TestClientSendBufferFull(t *testing.T) {
	release := make(chan struct{})
	posting := make(chan struct{}, 10)
	rs := newRawServer(t, func() string { return "" }, func(string) {
		posting <- struct{}{}
		<-release
	})
	rec := newRecorder(t)
	c := dial(t, rs.URL, &engineio.DialOptions{Transports: []string{"polling"}, HTTPClient: rs.Client(), MaxBufferedBytes: 100}, rec)
	if !c.Writable() {
		t.Fatalf("not writable after open")
	}
	msg := []byte(strings.Repeat("x", 50)) // 51 bytes encoded
	if err := c.Send(msg, false); err != nil {
		t.Fatal(err)
	}
	<-posting
	if c.Writable() {
		t.Fatalf("writable while a POST is in flight")
	}
	if err := c.Send(msg, false); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	if err := c.Send(msg, false); !errors.Is(err, engineio.ErrSendBufferFull) {
		t.Fatalf("third Send: %v, want ErrSendBufferFull", err)
	}
	close(release)
	waitFor(t, "writable again", c.Writable)
}

// The text of the typed handshake error.
func TestHandshakeErrorText(t *testing.T) {
	e := &engineio.HandshakeError{Transport: "polling", Status: 400, Code: 0, Message: "Transport unknown"}
	if got, want := e.Error(), "engineio: polling handshake refused: HTTP 400, code 0: Transport unknown"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// readRawWSFrame reads one short masked frame from a client and returns its
// payload.
func readRawWSFrame(r io.Reader) (string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", err
	}
	n := int(hdr[1] & 0x7f)
	if n >= 126 {
		return "", fmt.Errorf("frame too long for this test helper")
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return "", err
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return "", err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return string(payload), nil
}

// The probe answers "3probe", polling pauses (its GET ends, a POST is
// still in flight), then the probe WebSocket closes: the upgrade is
// abandoned and polling resumes, as if nothing happened.
func TestClientUpgradeAbortedWhilePaused(t *testing.T) {
	const open = `0{"sid":"raw-session-id-00000","upgrades":["websocket"],"pingInterval":10000,"pingTimeout":5000,"maxPayload":1000000}`
	quit := make(chan struct{})
	probed := make(chan struct{})      // the server answered the probe
	releasePost := make(chan struct{}) // the first POST may end
	postArrived := make(chan struct{})
	var mu sync.Mutex
	var gets int
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			conn := acceptRawWS(t, w, r)
			if conn == nil {
				return
			}
			defer conn.Close()
			if got, err := readRawWSFrame(conn); err != nil || got != "2probe" {
				t.Errorf("probe frame %q (%v), want 2probe", got, err)
				return
			}
			select { // answer once the client's POST is in flight
			case <-postArrived:
			case <-quit:
				return
			}
			writeRawWSText(conn, "3probe")
			close(probed)
			time.Sleep(100 * time.Millisecond) // the client pauses polling
			// Then the probe is closed (deferred), before the client could
			// send its upgrade packet.
		case q.Get("sid") == "":
			_, _ = io.WriteString(w, open)
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			posts = append(posts, string(body))
			first := len(posts) == 1
			mu.Unlock()
			if first {
				close(postArrived)
				select {
				case <-releasePost:
				case <-quit:
				}
			}
			_, _ = io.WriteString(w, "ok")
		default:
			mu.Lock()
			gets++
			n := gets
			mu.Unlock()
			switch n {
			case 1: // pending while the probe runs, ended by it as Node does
				select {
				case <-probed:
					_, _ = io.WriteString(w, "6")
				case <-quit:
				}
			case 2: // the poll resumed after the failed upgrade
				_, _ = io.WriteString(w, "4resumed")
			default:
				select {
				case <-r.Context().Done():
				case <-quit:
				}
			}
		}
	}))
	t.Cleanup(func() { close(quit); srv.Close() })

	rec := newRecorder(t)
	c := dial(t, srv.URL, &engineio.DialOptions{HTTPClient: srv.Client()}, rec)
	if err := c.Send([]byte("a"), false); err != nil { // the POST held by the server
		t.Fatal(err)
	}
	<-probed
	time.Sleep(300 * time.Millisecond) // the probe has closed meanwhile
	if err := c.Send([]byte("b"), false); err != nil {
		ci := rec.waitClose()
		t.Fatalf("Send: %v; %s: %v", err, ci.reason, ci.cause)
	}
	close(releasePost)
	rec.expect(clientMsg{"resumed", false})
	waitFor(t, "second POST", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(posts) == 2
	})
	mu.Lock()
	if posts[0] != "4a" || posts[1] != "4b" {
		t.Errorf("POST bodies %q, want 4a then 4b", posts)
	}
	mu.Unlock()
	if got := c.Transport(); got != "polling" {
		t.Fatalf("transport %q, want polling", got)
	}
	select {
	case tr := <-rec.upgrades:
		t.Fatalf("OnUpgrade(%q)", tr)
	default:
	}
}

// Dial a server, send a message, print its echo, close.
func ExampleDial() {
	// An echo server, for the example.
	echo := engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{Message: func(data []byte, binary bool) { _ = s.Send(data, binary) }}
	})
	srv := engineio.NewServer(echo, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	got := make(chan string, 1)
	closed := make(chan string, 1)
	c, err := engineio.Dial(context.Background(), hs.URL, &engineio.DialOptions{HTTPClient: hs.Client()}, engineio.ClientFuncs{
		Message: func(data []byte, binary bool) { got <- string(data) },
		Close:   func(reason string, cause error) { closed <- reason },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.Send([]byte("hello"), false)
	fmt.Println(<-got)
	_ = c.Close()
	fmt.Println(<-closed)
	<-c.Done()
	// Output:
	// hello
	// forced close
}

// Over TLS: https polling and wss, with the HTTP client's TLS settings.
func TestClientTLS(t *testing.T) {
	forModes(t, func(t *testing.T, mode clientMode) {
		srv := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
			return engineio.SessionFuncs{Message: func(data []byte, binary bool) { _ = s.Send(data, binary) }}
		}), suiteOptions())
		hs := httptest.NewTLSServer(srv)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			_ = srv.Shutdown(ctx)
			hs.Close()
		})
		rec := newRecorder(t)
		c := dial(t, hs.URL, &engineio.DialOptions{Transports: mode.transports, HTTPClient: hs.Client()}, rec)
		if mode.name == "upgrade" {
			rec.waitUpgrade()
		}
		if err := c.Send([]byte("secret"), false); err != nil {
			t.Fatal(err)
		}
		rec.expect(clientMsg{"secret", false})
		if got := c.Transport(); got != mode.final {
			t.Fatalf("transport %q, want %q", got, mode.final)
		}
	})
}
