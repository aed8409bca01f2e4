package engineio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/go-sio/socketio/engineio"
)

// waitTimeout bounds every wait in these tests, so a misbehaving server
// fails a test instead of hanging it.
const waitTimeout = 5 * time.Second

// The configuration the official Engine.IO protocol test suite expects.
const (
	suitePingInterval = 300 * time.Millisecond
	suitePingTimeout  = 200 * time.Millisecond
	suiteMaxPayload   = 1000000
)

// suiteOptions returns the server options the protocol test suite assumes.
func suiteOptions() *engineio.ServerOptions {
	return &engineio.ServerOptions{
		PingInterval:      suitePingInterval,
		PingTimeout:       suitePingTimeout,
		MaxHTTPBufferSize: suiteMaxPayload,
		CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
	}
}

// testServer is an Engine.IO server that echoes every message back to its
// sender (text as text, binary as binary), served over httptest.
type testServer struct {
	t      *testing.T
	eio    *engineio.Server
	http   *httptest.Server
	client *http.Client

	mu       sync.Mutex
	sessions map[string]*engineio.Session
}

// newEchoServer starts an echo server with opts (nil: suiteOptions) and
// stops it, with every session, when the test ends.
func newEchoServer(t *testing.T, opts *engineio.ServerOptions) *testServer {
	t.Helper()
	if opts == nil {
		opts = suiteOptions()
	}
	ts := &testServer{t: t, sessions: make(map[string]*engineio.Session)}
	echo := engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		ts.mu.Lock()
		ts.sessions[s.ID()] = s
		ts.mu.Unlock()
		return engineio.SessionFuncs{
			Message: func(data []byte, binary bool) { _ = s.Send(data, binary) },
		}
	})
	ts.eio = engineio.NewServer(echo, opts)
	ts.http = httptest.NewServer(ts.eio)
	ts.client = ts.http.Client()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ts.eio.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.http.Close() // waits for pending requests, closes ts.client's idle connections
	})
	return ts
}

// url returns the absolute http URL of the engine path with query q.
func (ts *testServer) url(q string) string { return ts.http.URL + "/engine.io/?" + q }

// wsURL returns the ws:// URL of the engine path with query q.
func (ts *testServer) wsURL(q string) string {
	return "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/engine.io/?" + q
}

// session returns the server side of the session sid.
func (ts *testServer) session(sid string) *engineio.Session {
	ts.t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	s := ts.sessions[sid]
	if s == nil {
		ts.t.Fatalf("no server session %q", sid)
	}
	return s
}

// waitTransport waits until session sid runs on transport name.
func (ts *testServer) waitTransport(sid, name string) {
	ts.t.Helper()
	s := ts.session(sid)
	deadline := time.Now().Add(waitTimeout)
	for s.Transport() != name {
		if time.Now().After(deadline) {
			ts.t.Fatalf("session %s: transport %q, want %q after %v", sid, s.Transport(), name, waitTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// httpResult is the outcome of one HTTP request.
type httpResult struct {
	status int
	header http.Header
	body   string
	err    error // transport-level failure (connection reset, timeout, ...)
}

// do sends one request with a bounded lifetime and reads the whole answer.
func (ts *testServer) do(method, q, body string, header http.Header) httpResult {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var rd io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ts.url(q), rd)
	if err != nil {
		return httpResult{err: err}
	}
	if method == http.MethodPost || method == http.MethodPut {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return httpResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// get sends a GET to the engine path with query q; a transport failure
// fails the test.
func (ts *testServer) get(q string) httpResult {
	ts.t.Helper()
	r := ts.do(http.MethodGet, q, "", nil)
	if r.err != nil {
		ts.t.Fatalf("GET ?%s: %v", q, r.err)
	}
	return r
}

// post sends body to the engine path with query q; a transport failure
// fails the test.
func (ts *testServer) post(q, body string) httpResult {
	ts.t.Helper()
	r := ts.do(http.MethodPost, q, body, nil)
	if r.err != nil {
		ts.t.Fatalf("POST ?%s: %v", q, r.err)
	}
	return r
}

// getAsync starts a GET and returns a channel that yields its result.
func (ts *testServer) getAsync(q string) <-chan httpResult {
	ch := make(chan httpResult, 1)
	go func() { ch <- ts.do(http.MethodGet, q, "", nil) }()
	return ch
}

// await waits for the result of an asynchronous request.
func await(t *testing.T, what string, ch <-chan httpResult) httpResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r
	case <-time.After(waitTimeout + time.Second):
		t.Fatalf("%s: no answer within %v", what, waitTimeout)
		return httpResult{}
	}
}

// sidQuery is the query of a polling request of session sid.
func sidQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// expectResponse fails the test unless r has the given status and body.
func expectResponse(t *testing.T, what string, r httpResult, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Fatalf("%s: got %d %q, want %d %q", what, r.status, r.body, status, body)
	}
}

// expectEngineError fails the test unless r is the JSON error Node's
// engine.io answers: status, Content-Type application/json, exact body.
func expectEngineError(t *testing.T, what string, r httpResult, status int, body string) {
	t.Helper()
	expectResponse(t, what, r, status, body)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want %q", what, ct, "application/json")
	}
}

// The exact error bodies of Node's engine.io.
const (
	errTransportUnknown    = `{"code":0,"message":"Transport unknown"}`
	errSessionIDUnknown    = `{"code":1,"message":"Session ID unknown"}`
	errBadHandshakeMethod  = `{"code":2,"message":"Bad handshake method"}`
	errBadRequest          = `{"code":3,"message":"Bad request"}`
	errUnsupportedProtocol = `{"code":5,"message":"Unsupported protocol version"}`
)

// wsFrame is one WebSocket data frame received by a test client.
type wsFrame struct {
	binary bool
	data   []byte
}

func (f wsFrame) String() string {
	if f.binary {
		return fmt.Sprintf("binary [% x]", f.data)
	}
	return fmt.Sprintf("text %q", f.data)
}

// wsClient is a gws client connection whose frames arrive on a channel.
type wsClient struct {
	t      *testing.T
	conn   *gws.Conn
	frames chan wsFrame
	stop   chan struct{} // closed at cleanup: unblocks a reader stuck on a full channel
	done   chan struct{} // closed when the read loop has ended
	mu     sync.Mutex
	err    error // why the connection closed
}

func (c *wsClient) OnOpen(*gws.Conn)                {}
func (c *wsClient) OnPing(conn *gws.Conn, p []byte) { _ = conn.WritePong(p) }
func (c *wsClient) OnPong(*gws.Conn, []byte)        {}
func (c *wsClient) OnClose(_ *gws.Conn, err error)  { c.mu.Lock(); c.err = err; c.mu.Unlock() }
func (c *wsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	f := wsFrame{binary: m.Opcode == gws.OpcodeBinary, data: bytes.Clone(m.Bytes())}
	_ = m.Close()
	select {
	case c.frames <- f:
	case <-c.stop:
	}
}

// dialWS opens a WebSocket to url. It returns the HTTP response and the
// error when the handshake is refused; the connection is closed at cleanup.
func dialWS(t *testing.T, url string) (*wsClient, *http.Response, error) {
	t.Helper()
	return dialWSWith(t, &gws.ClientOption{Addr: url})
}

// dialWSWith is dialWS with client options (opt.Addr is the URL).
func dialWSWith(t *testing.T, opt *gws.ClientOption) (*wsClient, *http.Response, error) {
	t.Helper()
	c := &wsClient{
		t:      t,
		frames: make(chan wsFrame, 256),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	opt.HandshakeTimeout = waitTimeout
	conn, resp, err := gws.NewClient(c, opt)
	if err != nil {
		return nil, resp, err
	}
	c.conn = conn
	go func() {
		defer close(c.done)
		conn.ReadLoop()
	}()
	t.Cleanup(func() {
		close(c.stop)
		_ = conn.WriteClose(1000, nil)
		select {
		case <-c.done:
		case <-time.After(waitTimeout):
			t.Errorf("websocket read loop did not end within %v", waitTimeout)
		}
	})
	return c, resp, nil
}

// mustDialWS opens a WebSocket to url or fails the test.
func mustDialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	c, resp, err := dialWS(t, url)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP status %d)", url, err, status)
	}
	return c
}

func (c *wsClient) sendText(s string) {
	c.t.Helper()
	if err := c.conn.WriteString(s); err != nil {
		c.t.Fatalf("write text %q: %v", s, err)
	}
}

func (c *wsClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
		c.t.Fatalf("write binary %v: %v", b, err)
	}
}

func (c *wsClient) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// next returns the next frame; it fails the test when the connection closes
// first or nothing comes within waitTimeout.
func (c *wsClient) next() wsFrame {
	c.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("websocket closed while waiting for a frame: %v", c.closeErr())
	case <-timer.C:
		c.t.Fatalf("no websocket frame within %v", waitTimeout)
	}
	return wsFrame{}
}

// expectText fails the test unless the next frame is the text frame want.
func (c *wsClient) expectText(want string) {
	c.t.Helper()
	if f := c.next(); f.binary || string(f.data) != want {
		c.t.Fatalf("got %v, want text %q", f, want)
	}
}

// nextSkippingPings is next, but drops server pings ("2"), whose timing
// is not part of what the caller checks.
func (c *wsClient) nextSkippingPings() wsFrame {
	c.t.Helper()
	for {
		f := c.next()
		if f.binary || string(f.data) != "2" {
			return f
		}
	}
}

// expectTextSkippingPings is expectText, ignoring server pings before it.
func (c *wsClient) expectTextSkippingPings(want string) {
	c.t.Helper()
	if f := c.nextSkippingPings(); f.binary || string(f.data) != want {
		c.t.Fatalf("got %v, want text %q", f, want)
	}
}

// expectClosed waits until the server closes the connection and returns
// the data frames received before that.
func (c *wsClient) expectClosed() []wsFrame {
	c.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var got []wsFrame
	for {
		select {
		case f := <-c.frames:
			got = append(got, f)
		case <-c.done:
			for {
				select {
				case f := <-c.frames:
					got = append(got, f)
				default:
					return got
				}
			}
		case <-timer.C:
			c.t.Fatalf("websocket still open after %v (frames so far: %v)", waitTimeout, got)
			return got
		}
	}
}
